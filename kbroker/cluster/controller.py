"""The cluster controller (Kafka's ZooKeeper mode): one broker at a time decides partition leaders.

Every broker runs a ``Controller``; the one that creates the ephemeral /controller is active.  On
election it increments /controller_epoch (in the same ZooKeeper transaction as the create) and
remembers that znode's version: every partition state it writes afterwards is a transaction that
checks that version, so a deposed controller's writes fail.  It resigns at once when its session is
lost or /controller stops being its own, and runs for election again after reconnecting.

One event queue, one thread: ZooKeeper watch callbacks and the public methods only enqueue.  Events:
a full scan when elected, broker set changes (/brokers/ids), topic set changes (/brokers/topics),
a topic's assignment changes (added partitions), topic deletions (/admin/delete_topics), ISR change
notifications (/isr_change_notification), controlled shutdown requests (/admin/controlled_shutdown),
the periodic preferred-leader check, and ``elect_preferred`` / ``elect_unclean`` requests (ElectLeaders).

Decisions (each logged at INFO), written to /brokers/topics/<t>/partitions/<p>/state conditionally on
the state znode's version; a failed condition means someone else (the partition leader changing the
ISR) wrote first: the state is read again and the decision made again, never retried blindly.

- New partition: leader = the first replica (assignment order) that is alive, ISR = the alive
  replicas, leader epoch 0; no alive replica → leader -1, ISR [] (offline, elected when one appears).
- Leader gone: the first replica that is alive and in the ISR leads, ISR minus the dead, epoch + 1.
  None: with unclean.leader.election.enable (the topic's override, else the broker's) the first alive
  replica leads alone; otherwise leader -1 and the ISR keeps its last member, epoch + 1.
- Follower gone: out of the ISR; leader and epoch unchanged.
- Broker back: an offline partition whose ISR holds an alive broker elects it (epoch + 1); unclean:
  any alive replica.  A returning follower rejoins the ISR through its leader.
- Preferred leaders (auto.leader.rebalance.enable): every leader.imbalance.check.interval.seconds,
  for each broker whose share of preferred partitions led by others exceeds
  leader.imbalance.per.broker.percentage, leadership moves back to it where it is alive and in sync.
- Controlled shutdown of broker b (its /admin/controlled_shutdown/<b>, attempt N): leaderships of b move
  to another alive ISR member (epoch + 1; none: b keeps it), b leaves every ISR where it follows; the
  answer, written into the same znode, lists the partitions (replication factor > 1) b still leads
  (Kafka's partitionsRemaining): b retries while it is not empty.  b is no leader candidate (new,
  failover, preferred or unclean) while its znode exists: the set is read from ZooKeeper at every
  election of a controller, before any decision, so a failover does not forget it.  The znode is
  deleted when b is gone (and by b when it registers again).
- Unclean election on request (ElectLeaders UNCLEAN) of a partition without an alive leader: the
  first alive in-sync replica, else the first alive replica alone (whatever the topic's
  unclean.leader.election.enable says), epoch + 1; a partition with an alive leader needs none.
- Topic deletion: /brokers/topics/<t> (recursively) and /config/topics/<t>, then the admin node.

"Alive" is registered in /brokers/ids; a registration whose creation zxid changed is a restarted
broker (handled as gone, then back).

Partition reassignment (KIP-455, as Kafka's ZooKeeper-mode controller): the target replicas TRS of
a partition whose replicas are ORS are written to /brokers/topics/<t> as replicas = TRS + (ORS - TRS),
adding_replicas = TRS - ORS, removing_replicas = ORS - TRS (so a failover resumes from ZooKeeper), the
leader epoch is bumped; the adding replicas open and follow (every broker reads the assignment).  When
every target replica is in the ISR (checked on ISR change notifications, on assignment changes and on
the full scan) a leader is elected from TRS ∩ ISR if the current one is not in TRS or not alive, the
removing replicas leave the ISR (one state write, leader epoch + 1), then the assignment becomes
replicas = TRS with no adding/removing, and the removed replicas delete their data.  Cancelling
(``replicas`` null) reassigns to ORS with the same machinery; a target equal to the replicas is done.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kazoo.exceptions import (  # type: ignore[import-untyped]
    BadVersionError,
    KazooException,
    NodeExistsError,
    NoNodeError,
    RolledBackError,
)
from kazoo.protocol.states import KazooState  # type: ignore[import-untyped]

from kbroker.cluster import zkdata
from kbroker.cluster.zk import ensure_paths
from kbroker.cluster.zkdata import NO_LEADER, PartitionState, TopicAssignment
from wire.errors import ErrorCode

log = logging.getLogger("kbroker.cluster.controller")

TopicPartition = tuple[str, int]
_ELECTIONS = ("elect_preferred", "elect_unclean")  # events that carry (partitions, future)
_ANSWERED = (*_ELECTIONS, "reassign", "list_reassignments")  # events whose last argument is a future
MAX_ATTEMPTS = 10  # reads-and-decides of one partition before giving up until the next event
RETRY_AFTER_ERROR_S = 1.0


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    unclean_leader_election_enable: bool = False  # unclean.leader.election.enable
    auto_leader_rebalance_enable: bool = True  # auto.leader.rebalance.enable
    leader_imbalance_check_interval_seconds: float = 300.0  # leader.imbalance.check.interval.seconds
    leader_imbalance_per_broker_percentage: int = 10  # leader.imbalance.per.broker.percentage


class Fenced(Exception):
    """The /controller_epoch check of a write failed: another controller was elected since."""


def _truthy(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


def _answer(fut: concurrent.futures.Future[Any], value: Any) -> None:
    """Answers a request's future unless its caller gave up on it (a timed-out handler cancels it)."""
    try:
        if isinstance(value, BaseException):
            fut.set_exception(value)
        else:
            fut.set_result(value)
    except concurrent.futures.InvalidStateError:
        pass


def fenced_state_write(zk: Any, epoch_zk_version: int, topic: str, partition: int, state: PartitionState,
                       state_version: int | None) -> int | None:
    """Writes a partition state in one transaction with a check of /controller_epoch's znode
    version: ``state_version`` None creates the state znode (and its missing parents, never the
    topic's), otherwise sets it at that version.  The state znode's new version, or None when that
    znode moved on (or exists already, or the topic is gone).  Raises ``Fenced`` when the epoch check
    failed."""
    path = zkdata.state_path(topic, partition)
    data = zkdata.encode_state(state)
    t = zk.transaction()
    t.check(zkdata.CONTROLLER_EPOCH, epoch_zk_version)
    if state_version is None:
        parts = zkdata.partitions_path(topic)
        if zk.exists(parts) is None:
            t.create(parts, b"")
        if zk.exists(f"{parts}/{partition}") is None:
            t.create(f"{parts}/{partition}", b"")
        t.create(path, data)
    else:
        t.set_data(path, data, version=state_version)
    results = t.commit()
    first = results[0]
    if isinstance(first, Exception) and not isinstance(first, RolledBackError):
        raise Fenced(f"/controller_epoch is no longer at version {epoch_zk_version}")
    last = results[-1]
    if isinstance(last, Exception) or any(isinstance(r, Exception) for r in results):
        return None
    if state_version is None:
        return 0
    return int(last.version)


def fenced_topic_write(zk: Any, epoch_zk_version: int, topic: str, assignment: TopicAssignment,
                       version: int) -> bool:
    """Sets /brokers/topics/<t> at ``version`` in one transaction with the /controller_epoch check.
    False when the znode moved on (or is gone); raises ``Fenced`` when the epoch check failed."""
    t = zk.transaction()
    t.check(zkdata.CONTROLLER_EPOCH, epoch_zk_version)
    t.set_data(zkdata.topic_path(topic), zkdata.encode_assignment(assignment), version=version)
    results = t.commit()
    if isinstance(results[0], Exception) and not isinstance(results[0], RolledBackError):
        raise Fenced(f"/controller_epoch is no longer at version {epoch_zk_version}")
    return not any(isinstance(r, Exception) for r in results)


Reassignment = tuple[ErrorCode, str | None]


@dataclass(frozen=True, slots=True)
class OngoingReassignment:
    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]


def reassign_to(replicas: tuple[int, ...], adding: tuple[int, ...], target: tuple[int, ...]
                ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Kafka's ReplicaAssignment.reassignTo: the original replicas are the current ones minus those
    being added; the full set is the target, then the originals not in it; adding = full - original,
    removing = full - target."""
    origin = tuple(r for r in replicas if r not in adding)
    full = tuple(dict.fromkeys(target + origin))
    return full, tuple(r for r in full if r not in origin), tuple(r for r in full if r not in target)


class Controller:
    """``start()`` runs for election (and acts while elected); ``stop()`` stops and gives up the
    role.  ``on_change(active)`` is called on the controller's thread when it becomes or stops
    being the active controller."""

    def __init__(self, zk: Any, broker_id: int, settings: ControllerSettings | None = None,
                 on_change: Callable[[bool], None] | None = None) -> None:
        self.zk = zk
        self.broker_id = broker_id
        self.settings = settings or ControllerSettings()
        self.on_change = on_change
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._active = False  # acting now (cleared at once by the session listener)
        self._elected = False  # the thread's own record of the term, for the resignation
        self._epoch = 0
        self._epoch_version = -1
        # the active controller's view (rebuilt by every full scan)
        self._brokers: dict[int, int] = {}  # broker id -> czxid of its registration
        self._shutting_down: set[int] = set()
        self._topics: dict[str, TopicAssignment] = {}
        self._next_check = 0.0
        self._retry_at: float | None = None

    # -- public -----------------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self._active

    @property
    def epoch(self) -> int:
        """The controller epoch of this controller's last election (0 before any)."""
        return self._epoch

    @property
    def epoch_zk_version(self) -> int:
        """The /controller_epoch znode version its writes are conditional on (-1 before any election)."""
        return self._epoch_version

    def start(self) -> None:
        if self._thread is not None:
            return
        self.zk.add_listener(self._on_session_state)
        self._thread = threading.Thread(target=self._run, name=f"controller-{self.broker_id}", daemon=True)
        self._thread.start()
        self._queue.put(("elect", None))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stops the event thread; the active controller deletes /controller so another takes over."""
        if self._thread is None:
            return
        self._stopping = True
        self._queue.put(("stop", None))
        self._thread.join(timeout_s)
        self._thread = None
        self.zk.remove_listener(self._on_session_state)

    def elect_preferred(self, partitions: Iterable[TopicPartition]) -> concurrent.futures.Future[dict[TopicPartition, ErrorCode]]:
        """Moves leadership of each partition to its preferred replica (ElectLeaders, PREFERRED):
        a future of partition → NONE, ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
        UNKNOWN_TOPIC_OR_PARTITION or NOT_CONTROLLER."""
        fut: concurrent.futures.Future[dict[TopicPartition, ErrorCode]] = concurrent.futures.Future()
        self._queue.put(("elect_preferred", (list(partitions), fut)))
        return fut

    def alter_reassignments(self, changes: Iterable[tuple[TopicPartition, tuple[int, ...] | None]],
                            allow_replication_factor_change: bool = True
                            ) -> concurrent.futures.Future[dict[TopicPartition, Reassignment] | None]:
        """AlterPartitionReassignments: per partition its target replicas (None cancels).  A future
        of partition → (error, message), or None when this broker is not the active controller."""
        fut: concurrent.futures.Future[dict[TopicPartition, Reassignment] | None] = concurrent.futures.Future()
        self._queue.put(("reassign", (list(changes), allow_replication_factor_change, fut)))
        return fut

    def list_reassignments(self, partitions: Iterable[TopicPartition] | None
                           ) -> concurrent.futures.Future[dict[TopicPartition, OngoingReassignment] | None]:
        """ListPartitionReassignments: the ongoing ones among ``partitions`` (None: all), or None
        when this broker is not the active controller."""
        fut: concurrent.futures.Future[dict[TopicPartition, OngoingReassignment] | None] = concurrent.futures.Future()
        self._queue.put(("list_reassignments", (None if partitions is None else list(partitions), fut)))
        return fut

    def elect_unclean(self, partitions: Iterable[TopicPartition]) -> concurrent.futures.Future[dict[TopicPartition, ErrorCode]]:
        """Elects a leader for each partition that has no alive leader, an out-of-sync replica if no
        in-sync one is alive (ElectLeaders, UNCLEAN): a future of partition → NONE,
        ELECTION_NOT_NEEDED (an alive leader), ELIGIBLE_LEADERS_NOT_AVAILABLE (no alive replica),
        UNKNOWN_TOPIC_OR_PARTITION or NOT_CONTROLLER."""
        fut: concurrent.futures.Future[dict[TopicPartition, ErrorCode]] = concurrent.futures.Future()
        self._queue.put(("elect_unclean", (list(partitions), fut)))
        return fut

    # -- watches and listener: they only enqueue ------------------------------------------------

    def _on_session_state(self, state: str) -> None:
        if state == KazooState.LOST:
            self._active = False  # stop acting at once; the thread does the rest
        self._queue.put(("session", state))

    def _w_controller(self, _event: Any) -> None:
        self._queue.put(("controller_changed", None))

    def _w_brokers(self, _event: Any) -> None:
        self._queue.put(("brokers", None))

    def _w_topics(self, _event: Any) -> None:
        self._queue.put(("topics", None))

    def _w_topic(self, event: Any) -> None:
        if event.path is None:
            # kazoo drops every one-shot watch when the connection is lost, calling each with a
            # path-less session event; the full scan after reconnecting sets them again
            return
        self._queue.put(("topic", event.path.rsplit("/", 1)[-1]))

    def _w_delete_topics(self, _event: Any) -> None:
        self._queue.put(("delete_topics", None))

    def _w_isr_changes(self, _event: Any) -> None:
        self._queue.put(("isr_changes", None))

    def _w_controlled_shutdown(self, _event: Any) -> None:
        self._queue.put(("controlled_shutdown", None))

    # -- the event thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if self._stopping:
                self._shutdown()
                return
            now = time.monotonic()
            deadline = self._retry_at if self._retry_at is not None else None
            if self._active and self.settings.auto_leader_rebalance_enable:
                deadline = self._next_check if deadline is None else min(deadline, self._next_check)
            if deadline is not None and now >= deadline:
                kind, arg = self._timer_event()  # before queued events, which could otherwise starve it
            else:
                try:
                    kind, arg = self._queue.get(timeout=None if deadline is None else deadline - now)
                except queue.Empty:
                    continue
            if kind == "stop":
                self._shutdown()
                return
            if kind == "none":
                continue
            try:
                self._handle(kind, arg)
            except Fenced as e:
                log.warning("controller %d fenced (%s): resigning", self.broker_id, e)
                self._resign("a newer controller epoch exists")
                self._queue.put(("elect", None))
                if kind in _ANSWERED and not arg[-1].done():
                    _answer(arg[-1], None if kind not in _ELECTIONS else
                            {tp: ErrorCode.NOT_CONTROLLER for tp in arg[0]})
            except (KazooException, OSError) as e:
                log.warning("controller %d: %s failed (%r); %s", self.broker_id, kind, e,
                            "full scan again shortly" if self._active else "election again shortly")
                self._retry_at = time.monotonic() + RETRY_AFTER_ERROR_S
                if kind in _ANSWERED and not arg[-1].done():
                    _answer(arg[-1], e)
            except Exception as e:
                log.exception("controller %d: %s failed", self.broker_id, kind)
                self._retry_at = time.monotonic() + RETRY_AFTER_ERROR_S
                if kind in _ANSWERED and not arg[-1].done():
                    _answer(arg[-1], e)
            else:
                if kind in _ANSWERED and not arg[-1].done():  # never left unanswered
                    _answer(arg[-1], None if kind not in _ELECTIONS else
                            {tp: ErrorCode.NOT_CONTROLLER for tp in arg[0]})

    def _timer_event(self) -> tuple[str, Any]:
        now = time.monotonic()
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            if not self.zk.connected:
                return ("none", None)  # the session listener brings us back
            return ("scan", None) if self._active else ("elect", None)
        if self._active and now >= self._next_check:
            self._next_check = now + max(0.1, self.settings.leader_imbalance_check_interval_seconds)
            return ("preferred_check", None)
        return ("none", None)

    def _handle(self, kind: str, arg: Any) -> None:
        if kind == "session":
            if arg == KazooState.LOST:
                self._resign("the ZooKeeper session was lost")
            elif arg == KazooState.CONNECTED:
                if self._active:
                    self._check_still_controller()
                    if self._active:
                        self._full_scan()
                else:
                    self._elect()
            return
        if kind == "elect":
            if not self._active:
                self._elect()
            return
        if kind == "controller_changed":
            if self._active:
                self._check_still_controller()
            else:
                self._elect()
            return
        if kind == "elect_preferred":
            parts, fut = arg
            if not self._active:
                _answer(fut, {tp: ErrorCode.NOT_CONTROLLER for tp in parts})
            else:
                _answer(fut, self._elect_preferred(parts))
            return
        if kind == "reassign":
            changes, allow_rf, fut = arg
            _answer(fut, self._reassign(changes, allow_rf) if self._active else None)
            return
        if kind == "list_reassignments":
            parts, fut = arg
            _answer(fut, self._list_reassignments(parts) if self._active else None)
            return
        if kind == "elect_unclean":
            parts, fut = arg
            _answer(fut, self._elect_unclean(parts) if self._active else {tp: ErrorCode.NOT_CONTROLLER for tp in parts})
            return
        if not self._active:
            return  # a watch of an earlier term
        if kind == "scan":
            self._full_scan()
        elif kind == "brokers":
            self._on_brokers()
        elif kind == "topics":
            self._on_topics()
        elif kind == "topic":
            self._on_topic(arg)
        elif kind == "delete_topics":
            self._on_delete_topics()
        elif kind == "isr_changes":
            self._on_isr_changes()
        elif kind == "controlled_shutdown":
            self._on_controlled_shutdown()
        elif kind == "preferred_check":
            self._preferred_check()

    def _shutdown(self) -> None:
        was = self._elected
        self._active = self._elected = False
        if was:
            try:
                stat = self.zk.exists(zkdata.CONTROLLER)
                if stat is not None and stat.ephemeralOwner == self.zk.client_id[0]:
                    self.zk.delete(zkdata.CONTROLLER, version=stat.version)
            except KazooException as e:
                log.info("controller %d: could not delete /controller at stop (%r)", self.broker_id, e)
            log.info("controller %d stopped (epoch %d)", self.broker_id, self._epoch)
            self._notify(False)

    def _notify(self, active: bool) -> None:
        if self.on_change is not None:
            try:
                self.on_change(active)
            except Exception:
                log.exception("controller %d: on_change failed", self.broker_id)

    # -- election ---------------------------------------------------------------------------------

    def _elect(self) -> None:
        if self._stopping or not self.zk.connected:
            return
        zk = self.zk
        for _ in range(MAX_ATTEMPTS):
            stat = zk.exists(zkdata.CONTROLLER, watch=self._w_controller)
            if stat is not None:
                if stat.ephemeralOwner == zk.client_id[0]:
                    # ours from an earlier term of this session (we resigned): give it up, run again
                    try:
                        zk.delete(zkdata.CONTROLLER, version=stat.version)
                    except (NoNodeError, BadVersionError):
                        pass
                    continue
                return  # someone else is controller; the watch calls us again
            try:
                data, estat = zk.get(zkdata.CONTROLLER_EPOCH)
                epoch = zkdata.decode_controller_epoch(data) + 1
                ever = estat.version
            except NoNodeError:
                epoch, ever = 1, None
            t = zk.transaction()
            t.create(zkdata.CONTROLLER, zkdata.encode_controller(self.broker_id), ephemeral=True)
            if ever is None:
                t.create(zkdata.CONTROLLER_EPOCH, zkdata.encode_controller_epoch(epoch))
            else:
                t.set_data(zkdata.CONTROLLER_EPOCH, zkdata.encode_controller_epoch(epoch), version=ever)
            results = t.commit()
            if isinstance(results[0], NodeExistsError):
                continue  # lost the race: watch the winner
            if any(isinstance(r, Exception) for r in results):
                continue  # /controller_epoch moved: read it again
            self._epoch = epoch
            self._epoch_version = 0 if ever is None else int(results[1].version)
            self._active = self._elected = True
            zk.exists(zkdata.CONTROLLER, watch=self._w_controller)
            log.info("broker %d is the controller (controller epoch %d)", self.broker_id, epoch)
            self._notify(True)
            self._next_check = time.monotonic() + self.settings.leader_imbalance_check_interval_seconds
            self._full_scan()
            return
        self._retry_at = time.monotonic() + RETRY_AFTER_ERROR_S

    def _check_still_controller(self) -> None:
        stat = self.zk.exists(zkdata.CONTROLLER, watch=self._w_controller)
        if stat is None or stat.ephemeralOwner != self.zk.client_id[0]:
            self._resign("/controller is no longer ours")
            self._elect()

    def _resign(self, why: str) -> None:
        was = self._elected
        self._active = self._elected = False
        self._brokers.clear()
        self._topics.clear()
        self._shutting_down.clear()
        if was:
            log.info("controller %d resigns (epoch %d): %s", self.broker_id, self._epoch, why)
            self._notify(False)

    # -- reading the tree -------------------------------------------------------------------------

    def _read_brokers(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for child in self.zk.get_children(zkdata.BROKER_IDS, watch=self._w_brokers):
            try:
                bid = int(child)
            except ValueError:
                continue
            stat = self.zk.exists(zkdata.broker_path(bid))
            if stat is not None:
                out[bid] = stat.czxid
        return out

    def _read_topic(self, topic: str) -> TopicAssignment | None:
        try:
            data, _ = self.zk.get(zkdata.topic_path(topic), watch=self._w_topic)
        except NoNodeError:
            return None
        try:
            return zkdata.decode_assignment(data)
        except (ValueError, KeyError, TypeError) as e:
            log.warning("controller: unreadable assignment of topic %s (%r)", topic, e)
            return None

    def _read_state(self, tp: TopicPartition) -> tuple[PartitionState, int] | None:
        try:
            data, stat = self.zk.get(zkdata.state_path(*tp))
        except NoNodeError:
            return None
        return zkdata.decode_state(data), stat.version

    def _unclean(self, topic: str) -> bool:
        try:
            data, _ = self.zk.get(zkdata.topic_config_path(topic))
            v = _truthy(zkdata.decode_config(data).get("unclean.leader.election.enable"))
        except NoNodeError:
            v = None
        return self.settings.unclean_leader_election_enable if v is None else v

    def _alive(self) -> set[int]:
        """Leader candidates: registered and not shutting down."""
        return set(self._brokers) - self._shutting_down

    # -- events -----------------------------------------------------------------------------------

    def _full_scan(self) -> None:
        zk = self.zk
        ensure_paths(zk)
        zk.ensure_path(zkdata.CONTROLLED_SHUTDOWN)
        self._brokers = self._read_brokers()
        # before any decision: a broker in its controlled shutdown is no leader candidate
        self._shutting_down = set(self._read_shutdown_requests()) & set(self._brokers)
        self._topics = {}
        for topic in zk.get_children(zkdata.BROKER_TOPICS, watch=self._w_topics):
            a = self._read_topic(topic)
            if a is not None:
                self._topics[topic] = a
        log.info("controller %d: full scan: brokers %s, %d topics", self.broker_id, sorted(self._brokers),
                 len(self._topics))
        self._on_delete_topics()
        self._on_isr_changes()
        for topic, a in list(self._topics.items()):
            for p in sorted(a.partitions):
                self._reconcile((topic, p), "controller failover scan")
        self._on_controlled_shutdown(rescan=True)
        for topic, a in list(self._topics.items()):
            for p in sorted(set(a.adding) | set(a.removing)):
                log.info("controller %d: %s-%d: resuming its reassignment (replicas %s, adding %s, removing %s)",
                         self.broker_id, topic, p, list(a.partitions.get(p, ())), list(a.adding.get(p, ())),
                         list(a.removing.get(p, ())))
                self._progress_reassignment((topic, p))

    def _on_brokers(self) -> None:
        old = self._brokers
        new = self._read_brokers()
        gone = {b for b in old if b not in new}
        bounced = {b for b in old if b in new and new[b] != old[b]}
        came = {b for b in new if b not in old}
        if not (gone or bounced or came):
            return
        log.info("controller %d: brokers %s → %s (gone %s, restarted %s, new %s)", self.broker_id,
                 sorted(old), sorted(new), sorted(gone), sorted(bounced), sorted(came))
        self._shutting_down -= gone | bounced
        self._forget_shutdown_requests(gone)
        if gone or bounced:
            self._brokers = {b: z for b, z in new.items() if b not in bounced}
            self._reconcile_brokers(gone | bounced, f"broker(s) {sorted(gone | bounced)} gone")
        self._brokers = new
        if came or bounced:
            self._reconcile_brokers(came | bounced, f"broker(s) {sorted(came | bounced)} registered")
        for topic, a in list(self._topics.items()):
            for p in sorted(set(a.adding) | set(a.removing)):
                self._progress_reassignment((topic, p))

    def _reconcile_brokers(self, brokers: set[int], why: str) -> None:
        for topic, a in list(self._topics.items()):
            for p, replicas in sorted(a.partitions.items()):
                if brokers & set(replicas):
                    self._reconcile((topic, p), why)

    def _on_topics(self) -> None:
        names = set(self.zk.get_children(zkdata.BROKER_TOPICS, watch=self._w_topics))
        for topic in sorted(set(self._topics) - names):
            log.info("controller %d: topic %s is gone", self.broker_id, topic)
            del self._topics[topic]
        for topic in sorted(names - set(self._topics)):
            self._on_topic(topic)

    def _on_topic(self, topic: str) -> None:
        a = self._read_topic(topic)
        if a is None:
            self._topics.pop(topic, None)
            return
        old = self._topics.get(topic)
        self._topics[topic] = a
        added = sorted(set(a.partitions) - set(old.partitions if old else ()))
        if added:
            log.info("controller %d: topic %s: %s partitions %s", self.broker_id, topic,
                     "new topic with" if old is None else "added", added)
        for p in added:
            self._reconcile((topic, p), "new partition")
        for p in sorted(set(a.adding) | set(a.removing)):
            self._progress_reassignment((topic, p))

    def _on_delete_topics(self) -> None:
        zk = self.zk
        for topic in sorted(zk.get_children(zkdata.DELETE_TOPICS, watch=self._w_delete_topics)):
            if not self._active:
                return
            log.info("controller %d: deleting topic %s", self.broker_id, topic)
            zk.delete(zkdata.topic_path(topic), recursive=True)
            zk.delete(zkdata.topic_config_path(topic), recursive=True)
            self._topics.pop(topic, None)
            try:
                zk.delete(zkdata.delete_topic_path(topic))
            except NoNodeError:
                pass

    def _on_isr_changes(self) -> None:
        zk = self.zk
        for child in sorted(zk.get_children(zkdata.ISR_CHANGES, watch=self._w_isr_changes)):
            path = f"{zkdata.ISR_CHANGES}/{child}"
            changed: list[TopicPartition] = []
            try:
                data, _ = zk.get(path)
                changed = zkdata.decode_isr_change(data)
                log.info("controller %d: ISR change notification %s: %s", self.broker_id, child, changed)
            except NoNodeError:
                continue
            except (ValueError, KeyError, TypeError):
                log.info("controller %d: unreadable ISR change notification %s", self.broker_id, child)
            try:
                zk.delete(path)
            except NoNodeError:
                pass
            for tp in changed:
                if self._reassigning(tp):
                    self._progress_reassignment(tp)

    def _read_shutdown_requests(self) -> dict[int, tuple[zkdata.ShutdownRequest, int]]:
        """Broker id → (its controlled shutdown request, the znode's version); watches the set and
        each request (a retry rewrites it)."""
        zk = self.zk
        out: dict[int, tuple[zkdata.ShutdownRequest, int]] = {}
        for child in zk.get_children(zkdata.CONTROLLED_SHUTDOWN, watch=self._w_controlled_shutdown):
            try:
                bid = int(child)
                data, stat = zk.get(zkdata.controlled_shutdown_path(bid), watch=self._w_controlled_shutdown)
            except (ValueError, NoNodeError):
                continue
            try:
                out[bid] = (zkdata.decode_shutdown(data), int(stat.version))
            except (ValueError, KeyError, TypeError):
                out[bid] = (zkdata.ShutdownRequest(0), int(stat.version))
        return out

    def _on_controlled_shutdown(self, rescan: bool = False) -> None:
        """Handles every request not yet answered in this controller's term (all of them when
        ``rescan``): moves the broker's leaderships, takes it out of the ISRs, answers with what it
        still leads."""
        requests = self._read_shutdown_requests()
        registered = set(self._brokers)
        self._shutting_down = set(requests) & registered
        for bid, (req, version) in sorted(requests.items()):
            if not self._active:
                return
            if bid not in registered:
                log.info("controller %d: controlled shutdown request of broker %d, which is not registered",
                         self.broker_id, bid)
                continue
            if req.answered and req.controller_epoch == self._epoch and not rescan:
                continue  # our own answer (its write fired the watch), or nothing new
            log.info("controller %d: controlled shutdown of broker %d (attempt %d)", self.broker_id, bid,
                     req.attempt)
            for topic, a in list(self._topics.items()):
                for p, replicas in sorted(a.partitions.items()):
                    if bid in replicas:
                        self._apply((topic, p), self._shutdown_decider(bid))
            remaining = self._led_by(bid)
            self._answer_shutdown(bid, req.attempt, version, remaining)

    def _led_by(self, broker: int) -> list[TopicPartition]:
        """The partitions with more than one replica that ``broker`` leads (ZooKeeper's states)."""
        out = []
        for topic, a in list(self._topics.items()):
            for p, replicas in sorted(a.partitions.items()):
                if broker in replicas and len(replicas) > 1:
                    st = self._read_state((topic, p))
                    if st is not None and st[0].leader == broker:
                        out.append((topic, p))
        return out

    def _answer_shutdown(self, broker: int, attempt: int, version: int, remaining: list[TopicPartition]) -> None:
        path = zkdata.controlled_shutdown_path(broker)
        t = self.zk.transaction()
        t.check(zkdata.CONTROLLER_EPOCH, self._epoch_version)
        t.set_data(path, zkdata.encode_shutdown_answer(attempt, self._epoch, remaining), version=version)
        results = t.commit()
        if isinstance(results[0], Exception) and not isinstance(results[0], RolledBackError):
            raise Fenced(f"/controller_epoch is no longer at version {self._epoch_version}")
        if any(isinstance(r, Exception) for r in results):
            # a newer attempt was written meanwhile (its watch brings it here again), or it is gone
            log.info("controller %d: controlled shutdown of broker %d: attempt %d superseded", self.broker_id,
                     broker, attempt)
            return
        if remaining:
            log.info("controller %d: controlled shutdown of broker %d (attempt %d): it still leads %s",
                     self.broker_id, broker, attempt, ", ".join(f"{t}-{p}" for t, p in remaining))
        else:
            log.info("controller %d: controlled shutdown of broker %d (attempt %d): it leads nothing",
                     self.broker_id, broker, attempt)

    def _forget_shutdown_requests(self, brokers: set[int]) -> None:
        """The requests of brokers that are gone: their shutdown is over."""
        for bid in sorted(brokers):
            try:
                self.zk.delete(zkdata.controlled_shutdown_path(bid))
                log.info("controller %d: broker %d is gone: its controlled shutdown request is removed",
                         self.broker_id, bid)
            except NoNodeError:
                pass

    def _preferred_check(self) -> None:
        pct = self.settings.leader_imbalance_per_broker_percentage
        prefers: dict[int, list[tuple[TopicPartition, PartitionState]]] = {}
        for topic, a in list(self._topics.items()):
            for p, replicas in sorted(a.partitions.items()):
                if not replicas:
                    continue
                st = self._read_state((topic, p))
                if st is not None:
                    prefers.setdefault(replicas[0], []).append(((topic, p), st[0]))
        alive = self._alive()
        for broker, parts in sorted(prefers.items()):
            if broker not in alive:
                continue
            not_led = [tp for tp, s in parts if s.leader != broker]
            ratio = len(not_led) / len(parts)
            if not_led and ratio * 100 > pct:
                log.info("controller %d: broker %d leads %d of the %d partitions it prefers (imbalance %.0f%% > "
                         "%d%%): preferred leader election", self.broker_id, broker, len(parts) - len(not_led),
                         len(parts), ratio * 100, pct)
                for tp in not_led:
                    self._apply(tp, self._decide_preferred)

    def _elect_preferred(self, parts: list[TopicPartition]) -> dict[TopicPartition, ErrorCode]:
        out: dict[TopicPartition, ErrorCode] = {}
        for tp in parts:
            a = self._topics.get(tp[0])
            if a is None or tp[1] not in a.partitions:
                out[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            st = self._read_state(tp)
            if st is not None and st[0].leader == a.partitions[tp[1]][0]:
                out[tp] = ErrorCode.ELECTION_NOT_NEEDED
                continue
            ok = self._apply(tp, self._decide_preferred)
            st = self._read_state(tp)
            led = st is not None and st[0].leader == a.partitions[tp[1]][0]
            out[tp] = ErrorCode.NONE if ok and led else ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
        return out

    def _elect_unclean(self, parts: list[TopicPartition]) -> dict[TopicPartition, ErrorCode]:
        out: dict[TopicPartition, ErrorCode] = {}
        for tp in parts:
            a = self._topics.get(tp[0])
            if a is None or tp[1] not in a.partitions:
                out[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            st = self._read_state(tp)
            if st is not None and st[0].leader != NO_LEADER and st[0].leader in self._alive():
                out[tp] = ErrorCode.ELECTION_NOT_NEEDED
                continue
            ok = self._apply(tp, self._decide_unclean)
            st = self._read_state(tp)
            led = st is not None and st[0].leader != NO_LEADER and st[0].leader in self._alive()
            out[tp] = ErrorCode.NONE if ok and led else ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
        return out

    # -- deciding and writing ---------------------------------------------------------------------

    def _reconcile(self, tp: TopicPartition, why: str) -> None:
        self._apply(tp, lambda tp_, s: self._decide(tp_, s, why))

    def _apply(self, tp: TopicPartition,
               decide: Callable[[TopicPartition, tuple[PartitionState, int] | None],
                                tuple[PartitionState, str] | None]) -> bool:
        """Reads the state, decides, writes conditionally; on a lost race reads and decides again.
        True when the last decision was written or nothing was to change."""
        for _ in range(MAX_ATTEMPTS):
            if not self._active:
                return False
            cur = self._read_state(tp)
            decision = decide(tp, cur)
            if decision is None:
                return True
            new, why = decision
            new = PartitionState(new.leader, new.leader_epoch, new.isr, self._epoch)
            version = fenced_state_write(self.zk, self._epoch_version, tp[0], tp[1], new,
                                         None if cur is None else cur[1])
            if version is not None:
                if cur is None:
                    log.info("controller %d: %s-%d: new state leader %d, leader epoch %d, isr %s (%s)",
                             self.broker_id, tp[0], tp[1], new.leader, new.leader_epoch, list(new.isr), why)
                else:
                    old = cur[0]
                    log.info("controller %d: %s-%d: leader %d → %d, leader epoch %d → %d, isr %s → %s (%s)",
                             self.broker_id, tp[0], tp[1], old.leader, new.leader, old.leader_epoch,
                             new.leader_epoch, list(old.isr), list(new.isr), why)
                return True
            if tp[0] not in self._topics or self.zk.exists(zkdata.topic_path(tp[0])) is None:
                return False  # the topic was deleted meanwhile
            log.info("controller %d: %s-%d: state changed under us, deciding again", self.broker_id, *tp)
        log.warning("controller %d: %s-%d: gave up after %d attempts", self.broker_id, tp[0], tp[1], MAX_ATTEMPTS)
        return False

    def _replicas(self, tp: TopicPartition) -> tuple[int, ...]:
        a = self._topics.get(tp[0])
        return () if a is None else a.partitions.get(tp[1], ())

    def _decide(self, tp: TopicPartition, cur: tuple[PartitionState, int] | None,
                why: str) -> tuple[PartitionState, str] | None:
        replicas = self._replicas(tp)
        if not replicas:
            return None
        registered = set(self._brokers)
        alive = self._alive()
        if cur is None:
            isr = tuple(r for r in replicas if r in alive)
            leader = isr[0] if isr else NO_LEADER
            return PartitionState(leader, 0, isr, self._epoch), why + ("" if isr else ": no alive replica, offline")
        s = cur[0]
        if s.leader != NO_LEADER and s.leader in registered:
            isr = tuple(b for b in s.isr if b in registered)
            if s.leader not in isr:
                isr = (s.leader, *isr)
            if isr == s.isr:
                return None
            return PartitionState(s.leader, s.leader_epoch, isr, self._epoch), why + ": dead follower(s) out of the ISR"
        # no leader, or the leader is gone
        if not s.isr and s.leader == NO_LEADER:
            isr = tuple(r for r in replicas if r in alive)
            if not isr:
                return None
            return PartitionState(isr[0], s.leader_epoch + 1, isr, self._epoch), why + ": first leader"
        candidates = [r for r in replicas if r in s.isr and r in alive]
        if candidates:
            leader = candidates[0]
            isr = tuple(b for b in s.isr if b in registered)
            if leader not in isr:
                isr = (leader, *isr)
            return PartitionState(leader, s.leader_epoch + 1, isr, self._epoch), why + ": in-sync replica elected"
        if self._unclean(tp[0]):
            stale = [r for r in replicas if r in alive]
            if stale:
                return (PartitionState(stale[0], s.leader_epoch + 1, (stale[0],), self._epoch),
                        why + ": no in-sync replica alive, UNCLEAN election of an out-of-sync replica")
        if s.leader == NO_LEADER:
            return None  # still offline
        isr = tuple(b for b in s.isr if b in registered)
        if not isr:
            isr = (s.leader,) if s.leader in s.isr else s.isr[:1]
        return (PartitionState(NO_LEADER, s.leader_epoch + 1, isr, self._epoch),
                why + ": no in-sync replica alive, partition offline")

    def _shutdown_decider(self, broker: int) -> Callable[[TopicPartition, tuple[PartitionState, int] | None],
                                                         tuple[PartitionState, str] | None]:
        return lambda tp, cur: self._decide_shutdown(tp, cur, broker)

    def _decide_shutdown(self, tp: TopicPartition, cur: tuple[PartitionState, int] | None,
                         broker: int) -> tuple[PartitionState, str] | None:
        if cur is None:
            return None
        s = cur[0]
        replicas = self._replicas(tp)
        alive = self._alive()
        if s.leader == broker:
            others = [r for r in replicas if r in s.isr and r != broker and r in alive]
            if not others:
                log.info("controller %d: %s-%d: broker %d keeps leadership through its controlled shutdown "
                         "(no other in-sync replica)", self.broker_id, tp[0], tp[1], broker)
                return None
            isr = tuple(b for b in s.isr if b != broker)
            return (PartitionState(others[0], s.leader_epoch + 1, isr, self._epoch),
                    f"controlled shutdown of broker {broker}")
        if s.leader != NO_LEADER and broker in s.isr:
            return (PartitionState(s.leader, s.leader_epoch, tuple(b for b in s.isr if b != broker), self._epoch),
                    f"controlled shutdown of follower {broker}")
        return None

    def _decide_preferred(self, tp: TopicPartition,
                          cur: tuple[PartitionState, int] | None) -> tuple[PartitionState, str] | None:
        replicas = self._replicas(tp)
        if cur is None or not replicas:
            return None
        s = cur[0]
        pref = replicas[0]
        if s.leader == pref or pref not in s.isr or pref not in self._alive():
            return None
        return (PartitionState(pref, s.leader_epoch + 1, s.isr, self._epoch),
                f"preferred replica {pref} leads again")

    # -- reassignment -----------------------------------------------------------------------------

    def _reassigning(self, tp: TopicPartition) -> bool:
        a = self._topics.get(tp[0])
        return a is not None and (tp[1] in a.adding or tp[1] in a.removing)

    def _list_reassignments(self, parts: list[TopicPartition] | None) -> dict[TopicPartition, OngoingReassignment]:
        out: dict[TopicPartition, OngoingReassignment] = {}
        wanted = None if parts is None else set(parts)
        for topic, a in sorted(self._topics.items()):
            for p in sorted(set(a.adding) | set(a.removing)):
                if wanted is None or (topic, p) in wanted:
                    out[topic, p] = OngoingReassignment(a.partitions.get(p, ()), a.adding.get(p, ()),
                                                        a.removing.get(p, ()))
        return out

    def _validate_target(self, a: TopicAssignment, p: int, target: tuple[int, ...], allow_rf: bool
                         ) -> Reassignment | None:
        """Kafka's checks of a target replica list (KafkaController.validateReplicas)."""
        if not target:
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Empty replica list specified in partition reassignment."
        if len(set(target)) != len(target):
            return (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Duplicate replica ids in partition reassignment replica list: {list(target)}")
        if any(r < 0 for r in target):
            return ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"Invalid broker id in replica list: {list(target)}"
        _, adding, _ = reassign_to(a.partitions[p], a.adding.get(p, ()), target)
        alive = set(self._brokers)
        if not set(adding) <= alive:
            return (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"Replica assignment has brokers that are not alive. Replica list: {list(adding)}, "
                    f"live broker list: {sorted(alive)}")
        if not allow_rf:
            origin = [r for r in a.partitions[p] if r not in a.adding.get(p, ())]
            if len(origin) != len(target):
                return (ErrorCode.INVALID_REPLICATION_FACTOR,
                        f"The replication factor is changed from {len(origin)} to {len(target)}")
        return None

    def _reassign(self, changes: list[tuple[TopicPartition, tuple[int, ...] | None]], allow_rf: bool
                  ) -> dict[TopicPartition, Reassignment]:
        out: dict[TopicPartition, Reassignment] = {}
        by_topic: dict[str, list[tuple[int, tuple[int, ...] | None]]] = {}
        for (topic, p), target in changes:
            by_topic.setdefault(topic, []).append((p, None if target is None else tuple(target)))
        started: list[TopicPartition] = []
        for topic, items in sorted(by_topic.items()):
            for _ in range(MAX_ATTEMPTS):
                try:
                    data, stat = self.zk.get(zkdata.topic_path(topic), watch=self._w_topic)
                    a = zkdata.decode_assignment(data)
                except NoNodeError:
                    a = None
                if a is None or self.zk.exists(zkdata.delete_topic_path(topic)) is not None:
                    for p, _t in items:  # unknown, or queued for deletion (as Kafka's controller)
                        out[topic, p] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                         f"The partition {topic}-{p} does not exist.")
                    break
                self._topics[topic] = a
                parts, adding, removing = dict(a.partitions), dict(a.adding), dict(a.removing)
                results: dict[int, Reassignment] = {}
                moved: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []  # (p, old full, new full)
                for p, target in items:
                    if p not in a.partitions:
                        results[p] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The partition {topic}-{p} does not exist.")
                        continue
                    current, cur_adding = parts[p], adding.get(p, ())
                    if target is None:
                        if p not in a.adding and p not in a.removing:
                            results[p] = (ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
                                          f"No reassignment in progress for partition {topic}-{p}.")
                            continue
                        target = tuple(r for r in current if r not in cur_adding)
                    else:
                        bad = self._validate_target(a, p, target, allow_rf)
                        if bad is not None:
                            results[p] = bad
                            continue
                    results[p] = (ErrorCode.NONE, None)
                    full, add, rem = reassign_to(current, cur_adding, target)
                    if full == current and add == cur_adding and rem == removing.get(p, ()):
                        continue  # already so (a target equal to the replicas: nothing to do)
                    parts[p] = full
                    adding.pop(p, None)
                    removing.pop(p, None)
                    if add or rem:
                        adding[p], removing[p] = add, rem
                    moved.append((p, current, full))
                if not moved:
                    out.update({(topic, p): r for p, r in results.items()})
                    break
                new = TopicAssignment(a.topic_id, parts, adding, removing)
                if fenced_topic_write(self.zk, self._epoch_version, topic, new, stat.version):
                    self._topics[topic] = new
                    for p, old_full, full in moved:
                        log.info("controller %d: %s-%d: reassignment of %s to %s: replicas %s, adding %s, "
                                 "removing %s", self.broker_id, topic, p, list(old_full),
                                 [r for r in full if r not in removing.get(p, ())], list(full),
                                 list(adding.get(p, ())), list(removing.get(p, ())))
                        # the leader epoch is bumped (Kafka's step A3); replicas dropped at once (added
                        # by an earlier reassignment) leave the ISR, a leader not in the set hands over
                        self._apply((topic, p), self._reassign_start_decider(full))
                        started.append((topic, p))
                    out.update({(topic, p): r for p, r in results.items()})
                    break
                log.info("controller %d: topic %s changed under the reassignment, deciding again",
                         self.broker_id, topic)
            else:
                for p, _t in items:
                    out[topic, p] = (ErrorCode.REASSIGNMENT_IN_PROGRESS,
                                     "The topic's assignment kept changing; try again.")
        for tp in started:
            self._progress_reassignment(tp)
        return out

    def _reassign_start_decider(self, full: tuple[int, ...]) -> Callable[
            [TopicPartition, tuple[PartitionState, int] | None], tuple[PartitionState, str] | None]:
        def decide(tp: TopicPartition, cur: tuple[PartitionState, int] | None) -> tuple[PartitionState, str] | None:
            if cur is None:
                return None
            s = cur[0]
            leader, isr = s.leader, tuple(r for r in s.isr if r in full)
            if leader != NO_LEADER and leader not in full:
                cands = [r for r in full if r in isr and r in self._alive()]
                leader = cands[0] if cands else NO_LEADER
            if not isr and leader != NO_LEADER:
                isr = (leader,)
            return PartitionState(leader, s.leader_epoch + 1, isr, self._epoch), f"reassignment to replicas {list(full)}"
        return decide

    def _progress_reassignment(self, tp: TopicPartition) -> None:
        """Phase B once every target replica is in the ISR: a target leader, the removing replicas out
        of the ISR (one state write, epoch + 1), then replicas = target with no adding/removing."""
        if not self._active:
            return
        topic, p = tp
        a = self._topics.get(topic)
        if a is None or not (p in a.adding or p in a.removing):
            return
        removing = a.removing.get(p, ())
        target = tuple(r for r in a.partitions.get(p, ()) if r not in removing)
        st = self._read_state(tp)
        if st is None or not set(target) <= set(st[0].isr):
            return  # the adding replicas are catching up
        blocked = False

        def decide(tp_: TopicPartition, cur: tuple[PartitionState, int] | None) -> tuple[PartitionState, str] | None:
            nonlocal blocked
            if cur is None:
                blocked = True
                return None
            s = cur[0]
            alive = self._alive()
            leader = s.leader
            if leader not in target or leader not in alive:
                cands = [r for r in target if r in s.isr and r in alive]
                if not cands:
                    blocked = True
                    return None
                leader = cands[0]
            isr = tuple(r for r in s.isr if r in target)
            if leader == s.leader and isr == s.isr:
                return None
            return (PartitionState(leader, s.leader_epoch + 1, isr, self._epoch),
                    f"reassignment to {list(target)}: the target replicas are in sync")

        if not self._apply(tp, decide) or blocked:
            log.info("controller %d: %s-%d: reassignment waits for a live in-sync target replica to lead",
                     self.broker_id, topic, p)
            return
        for _ in range(MAX_ATTEMPTS):
            try:
                data, stat = self.zk.get(zkdata.topic_path(topic), watch=self._w_topic)
            except NoNodeError:
                self._topics.pop(topic, None)
                return
            cur = zkdata.decode_assignment(data)
            if cur.adding.get(p, ()) != a.adding.get(p, ()) or cur.removing.get(p, ()) != removing \
                    or cur.partitions.get(p) != a.partitions.get(p):
                self._topics[topic] = cur
                return  # another reassignment of it was written meanwhile: its own event follows
            parts, adding, rem = dict(cur.partitions), dict(cur.adding), dict(cur.removing)
            parts[p] = target
            adding.pop(p, None)
            rem.pop(p, None)
            new = TopicAssignment(cur.topic_id, parts, adding, rem)
            if fenced_topic_write(self.zk, self._epoch_version, topic, new, stat.version):
                self._topics[topic] = new
                log.info("controller %d: %s-%d: reassignment done: replicas %s (removed %s)", self.broker_id,
                         topic, p, list(target), list(removing))
                return
        log.warning("controller %d: %s-%d: could not complete the reassignment (topic kept changing)",
                    self.broker_id, topic, p)

    def _decide_unclean(self, tp: TopicPartition,
                        cur: tuple[PartitionState, int] | None) -> tuple[PartitionState, str] | None:
        """Kafka's offline-partition election with unclean allowed (ElectLeaders UNCLEAN)."""
        replicas = self._replicas(tp)
        if cur is None or not replicas:
            return None
        s = cur[0]
        alive = self._alive()
        if s.leader != NO_LEADER and s.leader in alive:
            return None
        in_sync = [r for r in replicas if r in s.isr and r in alive]
        if in_sync:
            isr = tuple(b for b in s.isr if b in alive)
            return (PartitionState(in_sync[0], s.leader_epoch + 1, isr, self._epoch),
                    "leader election requested (UNCLEAN): in-sync replica elected")
        stale = [r for r in replicas if r in alive]
        if not stale:
            return None
        return (PartitionState(stale[0], s.leader_epoch + 1, (stale[0],), self._epoch),
                "leader election requested (UNCLEAN): no in-sync replica alive, out-of-sync replica elected")
