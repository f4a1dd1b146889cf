"""Every broker's view of the cluster, fed by ZooKeeper watches: live brokers, the controller,
each topic's id, replica assignment and config, and each partition's state (leader, leader
epoch, ISR, with the znode version an ISR change is conditional on).

The controller writes partition states and leaders write ISR changes to ZooKeeper; every broker
learns them by watching the znodes themselves (kazoo ``DataWatch`` / ``ChildrenWatch``) instead of
Kafka's LeaderAndIsr / UpdateMetadata requests: ZooKeeper stays the one source of truth, a state is
applied only when its znode version is newer than the one held, and there is no second channel to
keep consistent.

Threads: kazoo runs watch callbacks on its own thread; they only read ZooKeeper and hand the
result to the event loop (``call_soon_threadsafe``), where the cache is changed and the listeners
(the replica manager) are called.  ``load()`` reads the whole tree synchronously at start, before
the listener accepts connections.

A lost session (expired; kazoo's LOST) takes every server-side watch with it.  kazoo's recipes
set theirs again on the new session by themselves — a ``DataWatch`` reads its node again at every
CONNECTED and calls back only when the node's mzxid differs from the last one it delivered, a
``ChildrenWatch`` reads the children again after SUSPENDED or LOST and calls back only when they
differ — so a node that did not change while the session was gone is never delivered again.
``resync(token)`` therefore reads the whole tree once more (on the caller's thread: the broker's
re-registration, once the new session exists), applies it like the watches would (a state only when
its version is not older than the one held) and then tells every listener ``on_resync(token)``.

kazoo's recipes remember what they delivered *before* calling back, so a callback that raised would
lose that change for good (a broker missing from ``brokers`` until the next change, say). Every read
here therefore goes through ``zk.retry`` (tried again once the connection is back on another server,
zk.COMMAND_RETRY), and a callback that still fails schedules its read again instead of raising.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionClosedError, NoNodeError

from kbroker.cluster import zkdata as zd

log = logging.getLogger("kbroker.cluster.metadata")


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition as the cluster sees it (what Metadata answers)."""

    topic: str
    index: int
    replicas: tuple[int, ...]
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    version: int  # the state znode's version (-1: no state yet)


class Listener:
    """What the replica manager is told; every method runs on the event loop."""

    def on_state(self, topic: str, index: int) -> None: ...
    def on_topic(self, topic: str) -> None: ...
    def on_topic_deleted(self, topic: str) -> None: ...
    def on_config(self, topic: str) -> None: ...
    def on_brokers(self) -> None: ...
    def on_resync(self, token: object) -> None: ...


@dataclass(slots=True)
class _Snapshot:
    brokers: dict[int, zd.BrokerInfo]
    controller_id: int
    assignments: dict[str, zd.TopicAssignment]
    configs: dict[str, dict[str, str]]
    states: dict[tuple[str, int], tuple[zd.PartitionState, int]]


class ClusterMetadata:
    def __init__(self, zk: KazooClient, loop: asyncio.AbstractEventLoop) -> None:
        self.zk = zk
        self._loop = loop
        self.brokers: dict[int, zd.BrokerInfo] = {}
        self.controller_id = -1
        self.assignments: dict[str, zd.TopicAssignment] = {}
        self.configs: dict[str, dict[str, str]] = {}
        self._states: dict[tuple[str, int], tuple[zd.PartitionState, int]] = {}
        self._state_watched: set[tuple[str, int]] = set()
        self._topic_watched: set[str] = set()
        self.listeners: list[Listener] = []
        self._stopped = False

    # -- reading ------------------------------------------------------------------------------------

    def topic_names(self) -> list[str]:
        return sorted(self.assignments)

    def partition(self, topic: str, index: int) -> PartitionInfo | None:
        a = self.assignments.get(topic)
        if a is None or index not in a.partitions:
            return None
        st = self._states.get((topic, index))
        if st is None:
            return PartitionInfo(topic, index, a.partitions[index], zd.NO_LEADER, -1, (), -1)
        s, version = st
        return PartitionInfo(topic, index, a.partitions[index], s.leader, s.leader_epoch, s.isr, version)

    def partitions(self, topic: str) -> list[PartitionInfo]:
        a = self.assignments.get(topic)
        if a is None:
            return []
        return [p for i in sorted(a.partitions) if (p := self.partition(topic, i)) is not None]

    def alive(self, broker_id: int) -> bool:
        return broker_id in self.brokers

    # -- loading and watching ---------------------------------------------------------------------

    def read_tree(self) -> _Snapshot:
        """The whole tree as it is now (blocking reads: not on the event loop), nothing applied."""
        snap = _Snapshot({}, -1, {}, {}, {})
        for bid in self._children(zd.BROKER_IDS):
            info = self._read_broker(int(bid))
            if info is not None:
                snap.brokers[int(bid)] = info
        try:
            snap.controller_id = zd.decode_controller(self._get(zd.CONTROLLER)[0])
        except NoNodeError:
            snap.controller_id = -1
        for topic in self._children(zd.BROKER_TOPICS):
            got = self._read_topic(topic)
            if got is None:
                continue
            snap.assignments[topic] = got
            snap.configs[topic] = self._read_config(topic)
            for p in got.partitions:
                st = self._read_state(topic, p)
                if st is not None:
                    snap.states[topic, p] = st
        return snap

    def load(self) -> None:
        """The whole tree, synchronously (start), then the watches that keep it current."""
        snap = self.read_tree()
        self.brokers, self.controller_id = snap.brokers, snap.controller_id
        self.assignments, self.configs, self._states = snap.assignments, snap.configs, snap.states
        self.zk.ChildrenWatch(zd.BROKER_IDS, self._brokers_changed)
        self.zk.DataWatch(zd.CONTROLLER, self._controller_changed)
        self.zk.ChildrenWatch(zd.BROKER_TOPICS, self._topics_changed)

    def stop(self) -> None:
        self._stopped = True

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        if not self._stopped:
            try:
                self._loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop is closed: shutting down
                pass

    def resync(self, token: object) -> None:
        """Reads the whole tree again (blocking: not on the event loop) and applies it on the loop,
        then ``on_resync(token)`` to every listener.  After a new session (see the module docstring)."""
        snap = self.read_tree()
        log.info("metadata read again: %d brokers, %d topics, %d partition states", len(snap.brokers),
                 len(snap.assignments), len(snap.states))
        self._post(self._apply_snapshot, snap, token)

    def _get(self, path: str) -> tuple[bytes, Any]:
        """``zk.get``, tried again after a lost connection (zk.COMMAND_RETRY)."""
        return self.zk.retry(self.zk.get, path)  # type: ignore[no-any-return]

    def _children(self, path: str) -> list[str]:
        return self.zk.retry(self.zk.get_children, path)  # type: ignore[no-any-return]

    def _later(self, what: str, fn: Callable[[], None], error: BaseException) -> None:
        """A read in a watch callback failed in spite of the retries: tried again in a second
        (kazoo has already recorded the change as delivered, so it would not come again)."""
        if self._stopped or isinstance(error, ConnectionClosedError):
            return
        log.warning("reading %s after a ZooKeeper change failed (%r): trying again", what, error)
        t = threading.Timer(1.0, fn)
        t.daemon = True
        t.start()

    def _read_broker(self, bid: int) -> zd.BrokerInfo | None:
        try:
            data, _ = self._get(zd.broker_path(bid))
            return zd.decode_broker(bid, data)
        except NoNodeError:
            return None
        except (ValueError, KeyError) as e:
            log.warning("broker %d: unreadable registration (%s)", bid, e)
            return None

    def _read_topic(self, topic: str) -> zd.TopicAssignment | None:
        try:
            data, _ = self._get(zd.topic_path(topic))
        except NoNodeError:
            return None
        try:
            return zd.decode_assignment(data)
        except (ValueError, KeyError) as e:
            log.warning("topic %s: unreadable assignment (%s)", topic, e)
            return None

    def _read_config(self, topic: str) -> dict[str, str]:
        try:
            return zd.decode_config(self._get(zd.topic_config_path(topic))[0])
        except NoNodeError:
            return {}
        except ValueError:
            return {}

    def _read_state(self, topic: str, p: int) -> tuple[zd.PartitionState, int] | None:
        try:
            data, stat = self._get(zd.state_path(topic, p))
        except NoNodeError:
            return None
        try:
            return zd.decode_state(data), stat.version
        except (ValueError, KeyError) as e:
            log.warning("%s-%d: unreadable state (%s)", topic, p, e)
            return None

    # -- watch callbacks (kazoo's thread) -----------------------------------------------------------

    def _brokers_changed(self, children: list[str]) -> bool:
        if self._stopped:
            return False
        found: dict[int, zd.BrokerInfo] = {}
        try:
            for c in children:
                try:
                    bid = int(c)
                except ValueError:
                    continue
                info = self._read_broker(bid)
                if info is not None:
                    found[bid] = info
        except Exception as e:  # noqa: BLE001 - raising would lose this change (module docstring)
            self._later("the live brokers", self._reread_brokers, e)
            return True
        self._post(self._apply_brokers, found)
        return True

    def _reread_brokers(self) -> None:
        self._reread_children("the live brokers", zd.BROKER_IDS, self._brokers_changed, self._reread_brokers)

    def _reread_children(self, what: str, path: str, changed: Callable[[list[str]], bool],
                         again: Callable[[], None]) -> None:
        """A ChildrenWatch callback's work done again (``_later``): the children read, ``changed`` called."""
        try:
            children = self._children(path)
        except Exception as e:  # noqa: BLE001 - see _later
            self._later(what, again, e)
            return
        changed(children)

    def _controller_changed(self, data: bytes | None, stat: Any, *event: Any) -> bool:
        if self._stopped:
            return False
        self._post(self._apply_controller, zd.decode_controller(data) if data else -1)
        return True

    def _topics_changed(self, children: list[str]) -> bool:
        if self._stopped:
            return False
        for topic in children:
            if topic not in self._topic_watched:
                self._topic_watched.add(topic)
                try:
                    self._watch_topic(topic)
                except Exception as e:  # noqa: BLE001 - raising would lose this change (module docstring)
                    self._topic_watched.discard(topic)
                    self._later("the topics", self._reread_topics, e)
        return True

    def _reread_topics(self) -> None:
        self._reread_children("the topics", zd.BROKER_TOPICS, self._topics_changed, self._reread_topics)

    def _watch_topic(self, topic: str) -> None:
        def assignment(data: bytes | None, stat: Any, *event: Any) -> bool:
            if self._stopped:
                return False
            if data is None:  # deleted
                self._topic_watched.discard(topic)
                self._post(self._apply_topic_deleted, topic)
                return False
            try:
                a = zd.decode_assignment(data)
            except (ValueError, KeyError) as e:
                log.warning("topic %s: unreadable assignment (%s)", topic, e)
                return True
            self._take_assignment(topic, a)
            return True

        def config(data: bytes | None, stat: Any, *event: Any) -> bool:
            if self._stopped or topic not in self._topic_watched:
                return False
            if data is not None:
                try:
                    self._post(self._apply_config, topic, zd.decode_config(data))
                except ValueError as e:
                    log.warning("topic %s: unreadable config (%s)", topic, e)
            return True

        self.zk.DataWatch(zd.topic_path(topic), assignment)
        self.zk.DataWatch(zd.topic_config_path(topic), config)

    def _take_assignment(self, topic: str, a: zd.TopicAssignment) -> None:
        """A topic's new assignment with its config (kazoo's thread): applied, its states watched."""
        try:
            cfg = self._read_config(topic)
        except Exception as e:  # noqa: BLE001 - raising would lose this change (module docstring)
            self._later(f"the config of {topic}", lambda: self._reread_topic(topic), e)
            return
        # the assignment first: the state watches below deliver their first value at once, and
        # the loop applies posts in order
        self._post(self._apply_topic, topic, a, cfg)
        for p in a.partitions:
            if (topic, p) not in self._state_watched:
                self._state_watched.add((topic, p))
                self._watch_state(topic, p)

    def _reread_topic(self, topic: str) -> None:
        if self._stopped or topic not in self._topic_watched:
            return
        try:
            a = self._read_topic(topic)
        except Exception as e:  # noqa: BLE001 - see _later
            self._later(f"the assignment of {topic}", lambda: self._reread_topic(topic), e)
            return
        if a is not None:  # gone: its watch reports the deletion
            self._take_assignment(topic, a)

    def _watch_state(self, topic: str, p: int) -> None:
        def state(data: bytes | None, stat: Any, *event: Any) -> bool:
            if self._stopped or topic not in self._topic_watched:
                self._state_watched.discard((topic, p))
                return False
            if data is None:
                return True  # not created yet (the controller writes it), or the topic is going
            try:
                s = zd.decode_state(data)
            except (ValueError, KeyError) as e:
                log.warning("%s-%d: unreadable state (%s)", topic, p, e)
                return True
            self._post(self._apply_state, topic, p, s, stat.version)
            return True

        self.zk.DataWatch(zd.state_path(topic, p), state)

    # -- applying (the event loop) ------------------------------------------------------------------

    def _apply_brokers(self, found: dict[int, zd.BrokerInfo]) -> None:
        if found == self.brokers:
            return
        log.info("live brokers %s", sorted(found))
        self.brokers = found
        for li in self.listeners:
            li.on_brokers()

    def _apply_controller(self, cid: int) -> None:
        if cid != self.controller_id:
            log.info("controller is broker %d", cid)
        self.controller_id = cid

    def _apply_topic(self, topic: str, a: zd.TopicAssignment, cfg: dict[str, str]) -> None:
        old = self.assignments.get(topic)
        if old is not None and old.topic_id != a.topic_id:  # deleted and created again meanwhile
            self._apply_topic_deleted(topic)
        self.assignments[topic] = a
        changed_cfg = self.configs.get(topic) != cfg
        self.configs[topic] = cfg
        if old != a:
            for li in self.listeners:
                li.on_topic(topic)
        elif changed_cfg:
            for li in self.listeners:
                li.on_config(topic)

    def _apply_config(self, topic: str, cfg: dict[str, str]) -> None:
        if topic not in self.assignments or self.configs.get(topic) == cfg:
            return
        self.configs[topic] = cfg
        for li in self.listeners:
            li.on_config(topic)

    def _apply_topic_deleted(self, topic: str) -> None:
        if self.assignments.pop(topic, None) is None:
            return
        self.configs.pop(topic, None)
        for key in [k for k in self._states if k[0] == topic]:
            del self._states[key]
        for li in self.listeners:
            li.on_topic_deleted(topic)

    def _apply_state(self, topic: str, p: int, s: zd.PartitionState, version: int) -> None:
        if topic not in self.assignments:
            return  # deleted meanwhile (the assignment is always applied before its states)
        held = self._states.get((topic, p))
        if held is not None and held[1] >= version:
            return  # older news than what is held (watch callbacks may arrive after a direct read)
        self._states[topic, p] = (s, version)
        for li in self.listeners:
            li.on_state(topic, p)

    def _apply_snapshot(self, snap: _Snapshot, token: object) -> None:
        self._apply_brokers(snap.brokers)
        self._apply_controller(snap.controller_id)
        for topic in [t for t in self.assignments if t not in snap.assignments]:
            self._apply_topic_deleted(topic)
        for topic, a in snap.assignments.items():
            old = self.assignments.get(topic)
            if old is not None and old.topic_id != a.topic_id:  # deleted and created again meanwhile
                self._apply_topic_deleted(topic)
            for p in a.partitions:
                st = snap.states.get((topic, p))
                held = self._states.get((topic, p))
                if st is not None and (held is None or held[1] <= st[1]):
                    self._states[topic, p] = st
            self._apply_topic(topic, a, snap.configs.get(topic, {}))
        for li in self.listeners:
            li.on_resync(token)

    def note_state(self, topic: str, p: int, s: zd.PartitionState, version: int) -> None:
        """A state this broker wrote itself (an ISR change), known before its watch fires."""
        self._apply_state(topic, p, s, version)
