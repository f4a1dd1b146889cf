"""The replica manager: applies the cluster's decisions to this broker's partitions.

Told by the metadata cache (``kbroker.cluster.metadata``) whenever a topic, a partition state or the
broker set changes, it keeps exactly the partitions assigned to this broker open
(``TopicService.ensure_replicas``), makes each one leader or follower as its state znode says,
hands followers to the replica fetchers of their leader, writes the ISR changes its leaders decide
(conditional on the state znode's version), shrinks ISRs of followers that fell behind
(``replica.lag.time.max.ms``), checkpoints high watermarks (``replication-offset-checkpoint``) and
tells the group coordinator which ``__consumer_offsets`` partitions it now leads, and the
transaction coordinator which ``__transaction_state`` partitions (at which leader epoch: a new
epoch while still leading is a new leadership, the coordinator epoch).

The ZooKeeper session: while it is merely disconnected (SUSPENDED) nothing changes — leaders go on
serving their current ISR, as Kafka's did; an ISR change fails at once (not connected) and is
proposed again later.  When it EXPIRES (kazoo's LOST; the ephemeral registration is gone and the
controller may already have elected other leaders) the broker gives up every leadership at once:
the session listener bumps the session generation on kazoo's thread (from then on no ISR write
leaves: the check and the submission hold one lock the listener also takes), and the event loop
resigns every leader partition (``Partition.resign``: produce answers NOT_LEADER_OR_FOLLOWER, parked
acks=all requests complete with it).  Until the new session's re-registration has re-read the
whole tree (``ClusterMetadata.resync``, then ``on_resync`` here) no state makes this broker a
leader again; then every local replica takes the current state — usually a follower of the new
leader, truncating through OffsetForLeaderEpoch — or leads again where the state still names it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, KazooException, NoNodeError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState

import storage.hw_checkpoint as hw_checkpoint
from kbroker.background import cancel_and_wait
from kbroker.clock import now_ms
from kbroker.cluster import zkdata as zd
from kbroker.cluster.fetcher import FetchSettings, ReplicaFetcher, fetcher_index
from kbroker.cluster.metadata import ClusterMetadata, Listener
from kbroker.cluster.quota import ReplicationThrottle
from kbroker.config import BrokerConfig
from kbroker.partition import LEADER, Partition
from kbroker.topics import TopicService

log = logging.getLogger("kbroker.cluster.replicas")

HW_CHECKPOINT = "replication-offset-checkpoint"


class ReplicaManager(Listener):
    def __init__(self, config: BrokerConfig, zk: KazooClient, metadata: ClusterMetadata, topics: TopicService,
                 node_id: int, data_dir: Path, throttle: ReplicationThrottle | None = None) -> None:
        self.zk = zk
        self.metadata = metadata
        self.topics = topics
        self.node_id = node_id
        self._hw_path = Path(data_dir) / HW_CHECKPOINT
        self._lag_ms = config.get_int("replica.lag.time.max.ms")
        self._hw_interval_ms = config.get_int("replica.high.watermark.checkpoint.interval.ms")
        self._fetchers_per_leader = max(1, config.get_int("num.replica.fetchers"))
        self._settings = FetchSettings(
            node_id=node_id, max_bytes=config.get_int("replica.fetch.max.bytes"),
            response_max_bytes=config.get_int("replica.fetch.response.max.bytes"),
            wait_max_ms=config.get_int("replica.fetch.wait.max.ms"),
            min_bytes=config.get_int("replica.fetch.min.bytes"),
            backoff_ms=config.get_int("replica.fetch.backoff.ms"),
            socket_timeout_ms=config.get_int("replica.socket.timeout.ms"), throttle=throttle)
        self._fetchers: dict[tuple[int, int], ReplicaFetcher] = {}
        self._zk_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="zk-writes")
        self._tasks: list[asyncio.Task[None]] = []
        # __consumer_offsets leadership -> the group coordinator (set by the composition root)
        self.on_offsets_leader: Callable[[int], None] | None = None
        self.on_offsets_resign: Callable[[int], None] | None = None
        self._offsets_led: set[int] = set()
        self._not_fetching = False  # set by stop_fetching (controlled shutdown done)
        self.offsets_topic = "__consumer_offsets"
        # __transaction_state leadership (index, leader epoch) -> the transaction coordinator
        self.on_txn_leader: Callable[[int], None] | None = None
        self.on_txn_resign: Callable[[int], None] | None = None
        self._txn_led: dict[int, int] = {}
        self.txn_topic = "__transaction_state"
        # session generations: +1 at every expiry (kazoo's thread, under _session_lock); leaders
        # only while _live_gen == _gen, i.e. the tree was read again after the last expiry
        self._session_lock = threading.Lock()
        self._gen = 0
        self._live_gen = 0
        self._session_timeout_s = config.get_int("zookeeper.session.timeout.ms") / 1000
        self._disconnected_logged_ms = 0

    @staticmethod
    def read_high_watermarks(data_dir: Path) -> dict[tuple[str, int], int]:
        return hw_checkpoint.read(Path(data_dir) / HW_CHECKPOINT)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Apply the loaded metadata to every local replica, then follow the changes."""
        local = {m.name for m in self.topics.all()}
        for name in local - set(self.metadata.assignments):
            log.info("topic %s was deleted while this broker was away: deleting its data", name)
            self.topics.delete(name)
        for name in self.metadata.topic_names():
            self.on_topic(name)
        self.metadata.listeners.append(self)
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.zk.add_listener(self._on_session)
        self._tasks = [loop.create_task(self._isr_loop()), loop.create_task(self._hw_loop())]

    async def stop(self) -> None:
        self.zk.remove_listener(self._on_session)
        for t in self._tasks:
            await cancel_and_wait(t)
        for f in list(self._fetchers.values()):
            await f.stop()
        self._fetchers.clear()
        self.checkpoint_high_watermarks()
        self._zk_pool.shutdown(wait=False)

    # -- the ZooKeeper session ----------------------------------------------------------------------

    @property
    def session_generation(self) -> int:
        """+1 at every session expiry: the token ``ClusterMetadata.resync`` hands back."""
        return self._gen

    @property
    def fenced(self) -> bool:
        """The session expired and the tree was not read again since: this broker leads nothing."""
        return self._live_gen != self._gen

    def _on_session(self, state: str) -> None:
        """kazoo's listener (its connection thread: must not block)."""
        if state != KazooState.LOST:
            return
        with self._session_lock:
            self._gen += 1
        try:
            self._loop.call_soon_threadsafe(self._resign_all)
        except RuntimeError:  # the loop is closed: shutting down
            pass

    def _resign_all(self) -> None:
        resigned = []
        for part in self.topics.partitions():
            if part.role == LEADER:
                resigned.append(f"{part.topic}-{part.index}")
                self._resign_offsets(part.topic, part.index)
                part.resign()
        if resigned:
            log.warning("ZooKeeper session expired: gave up the leadership of %d partitions (%s); they wait for "
                        "the new session's metadata", len(resigned), ", ".join(resigned[:20]))
        else:
            log.warning("ZooKeeper session expired: no leadership to give up")

    def on_resync(self, token: object) -> None:
        if token != self._gen:
            return  # expired again since that read: the next one follows
        self._live_gen = self._gen
        log.info("metadata read again after the session expiry: applying the current states")
        for part in self.topics.partitions():
            part.state_version = -1  # apply the state read now, even at the version already held
        for name in self.metadata.topic_names():
            self.on_topic(name)

    def _resign_offsets(self, topic: str, index: int) -> None:
        if topic == self.txn_topic and self._txn_led.pop(index, None) is not None:
            if self.on_txn_resign is not None:
                self.on_txn_resign(index)
        if topic == self.offsets_topic and index in self._offsets_led:
            self._offsets_led.discard(index)
            if self.on_offsets_resign is not None:
                self.on_offsets_resign(index)

    # -- metadata events ----------------------------------------------------------------------------

    def on_topic(self, topic: str) -> None:
        a = self.metadata.assignments.get(topic)
        if a is None:
            return
        hosted = {p for p, replicas in a.partitions.items() if self.node_id in replicas}
        held = {p.index for p in self.topics.partitions() if p.topic == topic}
        if not hosted and not held and self.topics.get(topic) is None:
            return
        for p in held - hosted:
            self._forget(topic, p)
        self.topics.ensure_replicas(topic, a.topic_id, len(a.partitions), hosted,
                                    self.metadata.configs.get(topic, {}))
        for p in sorted(hosted):
            self.on_state(topic, p)

    def on_topic_deleted(self, topic: str) -> None:
        for part in [p for p in self.topics.partitions() if p.topic == topic]:
            self._forget(topic, part.index)
        if self.topics.get(topic) is not None:
            log.info("topic %s deleted: deleting its local data", topic)
            self.topics.delete(topic)

    def on_config(self, topic: str) -> None:
        if self.topics.get(topic) is None:
            return
        try:
            self.topics.alter(topic, self.metadata.configs.get(topic, {}))
        except Exception:
            log.exception("topic %s: cannot apply its new configs", topic)

    def on_brokers(self) -> None:
        # a leader that came back on another address: its fetchers reconnect there
        for (leader, _), f in list(self._fetchers.items()):
            info = self.metadata.brokers.get(leader)
            if info is not None and (info.host, info.port) != f.address:
                self._drop_fetcher(leader)
        for part in self.topics.partitions():
            if part.role != LEADER and part.leader_id >= 0 and part.leader_id in self.metadata.brokers:
                self._follow(part, force=False)

    def on_state(self, topic: str, index: int) -> None:
        part = self.topics.partition(topic, index)
        info = self.metadata.partition(topic, index)
        if part is None or info is None or info.version < 0:
            return
        a = self.metadata.assignments.get(topic)
        part.isr_excluded = frozenset(a.removing.get(index, ())) if a is not None else frozenset()
        if info.version <= part.state_version and part.replicas == info.replicas:
            return
        ce = self._controller_epoch(topic, index)
        if info.leader == self.node_id:
            if self.fenced:
                return  # the session expired: no leadership before the tree is read again (on_resync)
            self._unfollow(part)
            if part.role == LEADER and part.leader_epoch == info.leader_epoch:
                part.update_replicas(info.replicas, now_ms())
                part.update_isr(info.isr, info.version, ce)
            else:
                part.become_leader(info.leader_epoch, info.isr, info.replicas, info.version, ce, now_ms())
                part.isr_writer = self._write_isr
            if topic == self.offsets_topic and index not in self._offsets_led:
                self._offsets_led.add(index)
                if self.on_offsets_leader is not None:
                    self.on_offsets_leader(index)
            if topic == self.txn_topic and self._txn_led.get(index) != part.leader_epoch:
                self._txn_led[index] = part.leader_epoch
                if self.on_txn_leader is not None:
                    self.on_txn_leader(index)
        else:
            self._resign_offsets(topic, index)
            changed = part.become_follower(info.leader, info.leader_epoch, info.isr, info.replicas, info.version, ce)
            if changed:
                self._unfollow(part)
            self._follow(part, force=changed)

    def _controller_epoch(self, topic: str, index: int) -> int:
        st = self.metadata._states.get((topic, index))
        return st[0].controller_epoch if st is not None else 0

    # -- fetchers -----------------------------------------------------------------------------------

    async def stop_fetching(self) -> None:
        """The end of a controlled shutdown (Kafka's StopReplica to a shutting-down follower): no
        more fetching, so no leader takes this broker back into an ISR before it is gone."""
        self._not_fetching = True
        for f in list(self._fetchers.values()):
            await f.stop()
        self._fetchers.clear()

    def _follow(self, part: Partition, force: bool) -> None:
        leader = part.leader_id
        if leader < 0 or leader == self.node_id or self._not_fetching:
            return
        info = self.metadata.brokers.get(leader)
        if info is None:
            return  # the leader is not registered (yet): on_brokers tries again
        key = (leader, fetcher_index(part.topic, part.index, self._fetchers_per_leader))
        f = self._fetchers.get(key)
        if f is None:
            f = self._fetchers[key] = ReplicaFetcher(leader, info.host, info.port, self._settings)
        elif not force and (part.topic, part.index) in f._parts:
            return
        f.add(part)

    def _unfollow(self, part: Partition) -> None:
        for f in self._fetchers.values():
            f.remove(part.topic, part.index)

    def _drop_fetcher(self, leader: int) -> None:
        for key in [k for k in self._fetchers if k[0] == leader]:
            f = self._fetchers.pop(key)
            asyncio.get_running_loop().create_task(f.stop())

    def _forget(self, topic: str, index: int) -> None:
        for f in self._fetchers.values():
            f.remove(topic, index)
        self._resign_offsets(topic, index)

    # -- ISR changes (the leader's) -----------------------------------------------------------------

    async def _write_isr(self, part: Partition, isr: tuple[int, ...]) -> int | None:
        """The leader's ISR change, conditional on the state znode's version: its new version, or
        None when it lost (a newer state exists: the watch brings it), ZooKeeper is not connected, or
        the session expired since the leadership was taken."""
        state = zd.PartitionState(self.node_id, part.leader_epoch, isr, part.controller_epoch)
        path = zd.state_path(part.topic, part.index)
        version = part.state_version
        gen = self._gen
        tp = f"{part.topic}-{part.index}"

        def write() -> int | None:
            with self._session_lock:  # no submission once the listener has seen the expiry
                if gen != self._gen or self.fenced:
                    log.info("%s: ISR change to %s not written: the ZooKeeper session expired", tp, list(isr))
                    return None
                if not self.zk.connected:
                    now = now_ms()
                    if now - self._disconnected_logged_ms > 5000:  # every fetch may try: not each one
                        self._disconnected_logged_ms = now
                        log.info("%s: ISR change to %s not written: ZooKeeper is not connected (tried again "
                                 "later)", tp, list(isr))
                    return None
                pending = self.zk.set_async(path, zd.encode_state(state), version=version)
            try:
                stat = pending.get(timeout=max(self._session_timeout_s, 1.0))
            except (BadVersionError, NoNodeError):
                log.info("%s: ISR change to %s lost: the state znode moved past version %d", tp, list(isr), version)
                return None  # a newer decision: the watch brings it
            except (KazooException, KazooTimeoutError) as e:
                log.info("%s: ISR change to %s failed (%r); tried again later", tp, list(isr), e)
                return None
            try:
                self.zk.create(f"{zd.ISR_CHANGES}/isr_change_", zd.encode_isr_change([(part.topic, part.index)]),
                               sequence=True)
            except Exception:
                log.debug("isr change notification not written", exc_info=True)
            return int(stat.version)

        new_version = await asyncio.get_running_loop().run_in_executor(self._zk_pool, write)
        if new_version is not None:
            self.metadata.note_state(part.topic, part.index, state, new_version)
        return new_version

    async def _isr_loop(self) -> None:
        interval = max(self._lag_ms / 2, 50) / 1000
        while True:
            await asyncio.sleep(interval)
            now = now_ms()
            for part in self.topics.partitions():
                if part.role == LEADER and not part.log.closed:
                    part.shrink_isr(now, self._lag_ms)

    # -- high watermark checkpoint ------------------------------------------------------------------

    def checkpoint_high_watermarks(self) -> None:
        try:
            hw_checkpoint.write(self._hw_path, self.topics.high_watermarks())
        except OSError:
            log.exception("writing %s failed", self._hw_path)

    async def _hw_loop(self) -> None:
        while True:
            await asyncio.sleep(self._hw_interval_ms / 1000)
            self.checkpoint_high_watermarks()
