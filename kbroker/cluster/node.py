"""This broker as a member of a cluster: its ZooKeeper session, the metadata cache, the replica
manager, its bid for the controller, and the cluster-wide admin operations handlers use
(``RequestContext.cluster``).  Built by the composition root when ``zookeeper.connect`` is set.

Start: connect to ZooKeeper (``zookeeper.connection.timeout.ms``), make sure Kafka's persistent
paths exist, agree on the cluster id (``/cluster/id``; a data directory of another cluster is
refused), wait for the registration of a previous run of this broker id to expire (killed within its
session: ``zk.wait_registration_free``, before the listener exists) and for the controller to replace
that run's leaderships, load the whole metadata tree, then (``start``, once the listener is up) apply
it to the local replicas, register ``/brokers/ids/<id>`` and stand for controller.  After a session expiry the
replica manager has resigned every leadership; the registration made again in the new session
reads the whole tree again (``ClusterMetadata.resync``) and the replicas take up its states.  Stop
(SIGTERM): a controlled shutdown first (``controlled.shutdown.enable``: the controller — this broker
itself when it is the controller — moves this broker's leaderships to other in-sync replicas;
retried until it leads nothing or ``controlled.shutdown.max.retries`` ×
``controlled.shutdown.retry.backoff.ms`` are used up), fetching stops, then everything in reverse
order: the controller role, the registration, the replicas, the session.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from kbroker.cluster import admin, assign, broker_configs
from kbroker.cluster import zk as zkmod
from kbroker.cluster import zkdata as zd
from kbroker.cluster.broker_configs import BrokerConfigWatch
from kbroker.cluster.controller import (
    Controller,
    ControllerSettings,
    OngoingReassignment,
    Reassignment,
    TopicPartition,
)
from kbroker.cluster.metadata import ClusterMetadata, Listener, PartitionInfo
from kbroker.cluster.quota import ReplicationThrottle
from kbroker.cluster.replicas import ReplicaManager
from kbroker.config import BrokerConfig, ConfigError
from kbroker.topics import TopicService
from wire.errors import ErrorCode

log = logging.getLogger("kbroker.cluster")
T = TypeVar("T")


class ClusterNode:
    def __init__(self, config: BrokerConfig, node_id: int, host: str, port: int, local_cluster_id: str | None,
                 data_dir: Path) -> None:
        self.config = config
        self.node_id = node_id
        self.host, self.port = host, port
        self.data_dir = data_dir
        connect = config.zookeeper_connect
        assert connect
        session_ms = config.get_int("zookeeper.session.timeout.ms")
        conn_ms = config.get_int("zookeeper.connection.timeout.ms") if config.get(
            "zookeeper.connection.timeout.ms") else session_ms
        self.session_timeout_ms = session_ms
        self.zk = zkmod.connect(connect, session_ms, conn_ms)
        zkmod.ensure_paths(self.zk)
        self.cluster_id = zkmod.cluster_id(self.zk, local_cluster_id or _new_cluster_id())
        if local_cluster_id is not None and local_cluster_id != self.cluster_id:
            self.zk.stop()
            raise ConfigError(f"the data directory {data_dir} belongs to cluster {local_cluster_id}, but ZooKeeper "
                              f"{connect} holds cluster {self.cluster_id}")
        # a previous run of this broker, killed within its session, is still registered (and, in the
        # tree, still leads and is in its ISRs): nothing is read or served before that session is gone
        # and the controller has moved the leaderships it held
        self.metadata = ClusterMetadata(self.zk, asyncio.get_running_loop())
        try:
            if zkmod.wait_registration_free(self.zk, node_id, session_ms / 1000 + 10):
                self._wait_leaderships_moved(session_ms / 1000)
        except BaseException:
            self._close_zk()
            raise
        self.metadata.load()
        # dynamic broker configs live in ZooKeeper (/config/brokers/<id>, /config/brokers/<default>)
        self.broker_configs = BrokerConfigWatch(self.zk, asyncio.get_running_loop(), node_id, config)
        self.broker_configs.load()
        self.throttle = ReplicationThrottle(node_id, max(1, config.get_int("replication.quota.window.num")),
                                            max(1, config.get_int("replication.quota.window.size.seconds")))
        self.rack = config.get("broker.rack") or None
        self.controller = Controller(self.zk, node_id, ControllerSettings(
            unclean_leader_election_enable=config.get_bool("unclean.leader.election.enable"),
            auto_leader_rebalance_enable=config.get_bool("auto.leader.rebalance.enable"),
            leader_imbalance_check_interval_seconds=config.get_int("leader.imbalance.check.interval.seconds"),
            leader_imbalance_per_broker_percentage=config.get_int("leader.imbalance.per.broker.percentage")))
        self.replicas: ReplicaManager | None = None
        self._registration: zkmod.BrokerRegistration | None = None
        self._offsets_creating = False
        self._shut_down = False  # controlled_shutdown ran

    def _wait_leaderships_moved(self, timeout_s: float) -> None:
        """After a previous run's registration expired (``zk.wait_registration_free`` waited), until the
        controller has acted on it: no partition state names this broker as leader any more (another
        leader, or none while offline) — so this run does not take up a leadership the controller is
        just replacing (Kafka's broker waits for the controller's LeaderAndIsr instead).  Not waited for
        when no other broker is registered (nobody is there to elect); given up after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            snap = self.metadata.read_tree()
            left = sorted(tp for tp, (s, _version) in snap.states.items() if s.leader == self.node_id)
            if not left:
                return
            if not set(snap.brokers) - {self.node_id}:
                log.info("broker %d: no other broker registered: taking up %d leaderships of the previous run",
                         self.node_id, len(left))
                return
            if time.monotonic() > deadline:
                log.warning("broker %d: %d partitions (%s-%d, ...) still name the previous run as leader after "
                            "%gs: going on", self.node_id, len(left), left[0][0], left[0][1], timeout_s)
                return
            time.sleep(0.2)

    def high_watermarks(self) -> dict[tuple[str, int], int]:
        return ReplicaManager.read_high_watermarks(self.data_dir)

    # -- lifecycle ----------------------------------------------------------------------------------

    def attach(self, topics: TopicService) -> ReplicaManager:
        self.topics = topics
        self.replicas = ReplicaManager(self.config, self.zk, self.metadata, topics, self.node_id, self.data_dir,
                                       self.throttle)
        self._attach_throttle(topics)
        return self.replicas

    def _attach_throttle(self, topics: TopicService) -> None:
        """The replication throttles: rates from the dynamic broker configs, throttled partitions from
        the topics' configs, both kept current by their watches (the follower side reaches the replica
        fetchers through the replica manager's fetch settings)."""
        throttle, watch = self.throttle, self.broker_configs

        def rates() -> None:
            throttle.apply_broker_configs(watch.current(str(self.node_id)), watch.current(broker_configs.DEFAULT))

        rates()
        watch.listeners += [topics.reconfigure, rates]
        for topic, cfg in self.metadata.configs.items():
            throttle.apply_topic_config(topic, cfg)
        self.metadata.listeners.append(_ThrottledTopics(self.metadata, throttle))
        watch.watch()

    def start(self) -> None:
        """The listener is up: take up the replicas, register, stand for controller."""
        assert self.replicas is not None
        self.replicas.start()
        replicas = self.replicas
        self._registration = zkmod.BrokerRegistration(
            self.zk, zd.BrokerInfo(self.node_id, self.host, self.port, self.rack),
            self.session_timeout_ms / 1000 + 10,
            # a new session after an expiry: registered again, read the whole tree again and
            # take up the current states (the replica manager resigned every leadership)
            on_registered=lambda: self.metadata.resync(replicas.session_generation))
        log.info("registered as broker %d (%s:%d) in cluster %s", self.node_id, self.host, self.port, self.cluster_id)
        self.controller.start()

    async def controlled_shutdown(self) -> None:
        """The first step of stopping, while the listener still serves (Kafka's order: followers
        keep fetching and clients keep reaching this broker until its leaderships have moved)."""
        if self._shut_down:
            return
        self._shut_down = True
        loop = asyncio.get_running_loop()
        if self.config.get_bool("controlled.shutdown.enable") and len(self.metadata.brokers) > 1:
            # Kafka's order: leaderships handed over first (by the controller, which may be this
            # broker: it stays the controller until stop()), then the controller role
            retries = self.config.get_int("controlled.shutdown.max.retries")
            backoff_s = self.config.get_int("controlled.shutdown.retry.backoff.ms") / 1000
            try:
                ok = await loop.run_in_executor(None, zkmod.request_controlled_shutdown, self.zk, self.node_id,
                                                retries, backoff_s)
                log.info("controlled shutdown %s", "done" if ok else "failed: shutting down anyway")
            except Exception:
                log.exception("controlled shutdown failed; stopping anyway")
            if self.replicas is not None:
                await self.replicas.stop_fetching()

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        await self.controlled_shutdown()
        try:
            await loop.run_in_executor(None, self.controller.stop)
        except Exception:
            log.exception("stopping the controller failed")
        if self._registration is not None:
            await loop.run_in_executor(None, self._registration.close)
        if self.replicas is not None:
            await self.replicas.stop()
        self.metadata.stop()
        self.broker_configs.stop()
        await loop.run_in_executor(None, self._close_zk)

    def _close_zk(self) -> None:
        try:
            self.zk.stop()
            self.zk.close()
        except Exception:
            log.exception("closing the ZooKeeper session failed")

    # -- reading (handlers) -------------------------------------------------------------------------

    @property
    def controller_id(self) -> int:
        return self.metadata.controller_id

    def brokers(self) -> list[zd.BrokerInfo]:
        return [self.metadata.brokers[b] for b in sorted(self.metadata.brokers)]

    def partition(self, topic: str, index: int) -> PartitionInfo | None:
        return self.metadata.partition(topic, index)

    def partitions(self, topic: str) -> list[PartitionInfo]:
        return self.metadata.partitions(topic)

    def topic_ids(self) -> dict:
        return {a.topic_id: n for n, a in self.metadata.assignments.items()}

    def has_topic(self, topic: str) -> bool:
        return topic in self.metadata.assignments

    # -- admin (handlers) ---------------------------------------------------------------------------

    async def _zk(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def plan_assignment(self, partitions: int, replication_factor: int, start: int = 0
                        ) -> dict[int, tuple[int, ...]]:
        """Kafka's placement over the live brokers (ValueError when there are too few)."""
        brokers = {b.broker_id: b.rack for b in self.brokers()}
        return assign.assign_replicas(brokers, partitions, replication_factor, rng=random.Random(),
                                      start_partition=start)

    async def create_topic(self, name: str, assignment: Mapping[int, tuple[int, ...]],
                           overrides: Mapping[str, str], timeout_ms: int) -> None:
        """Write the topic; wait (up to ``timeout_ms``) until this broker sees every partition led."""
        await self._zk(admin.create_topic, self.zk, name, dict(assignment), dict(overrides))
        await self.wait_for(lambda: self.has_topic(name) and all(
            p.leader >= 0 for p in self.partitions(name)) and len(self.partitions(name)) == len(assignment),
            timeout_ms)

    async def delete_topic(self, name: str, timeout_ms: int) -> bool:
        await self._zk(admin.delete_topic, self.zk, name)
        return await self.wait_for(lambda: not self.has_topic(name), timeout_ms)

    async def add_partitions(self, name: str, added: Mapping[int, tuple[int, ...]], timeout_ms: int) -> None:
        await self._zk(admin.add_partitions, self.zk, name, dict(added))
        total = len(self.metadata.assignments[name].partitions) + len(added)
        await self.wait_for(lambda: len(self.partitions(name)) >= total, timeout_ms)

    async def set_topic_config(self, name: str, overrides: Mapping[str, str]) -> None:
        await self._zk(admin.set_topic_config, self.zk, name, dict(overrides))

    async def set_broker_config(self, entity: str, config: Mapping[str, str], timeout_ms: int = 5000) -> None:
        """Write a broker's dynamic configs (``entity``: its id, or ``broker_configs.DEFAULT``) to
        ZooKeeper; when they concern this broker, wait (bounded) until its watch has applied them."""
        await self._zk(broker_configs.write, self.zk, entity, dict(config))
        if entity in (str(self.node_id), broker_configs.DEFAULT):
            await self.wait_for(lambda: self.broker_configs.applied(entity, config), timeout_ms)

    async def alter_reassignments(self, changes: list[tuple[TopicPartition, tuple[int, ...] | None]],
                                  allow_replication_factor_change: bool, timeout_ms: int
                                  ) -> dict[TopicPartition, Reassignment] | None:
        """Handed to this broker's controller: per partition (error, message); None when it is not
        the active controller; TimeoutError when it did not answer within ``timeout_ms``."""
        fut = self.controller.alter_reassignments(changes, allow_replication_factor_change)
        return await asyncio.wait_for(asyncio.wrap_future(fut), max(timeout_ms, 0) / 1000)

    async def list_reassignments(self, partitions: list[TopicPartition] | None, timeout_ms: int
                                 ) -> dict[TopicPartition, OngoingReassignment] | None:
        fut = self.controller.list_reassignments(partitions)
        return await asyncio.wait_for(asyncio.wrap_future(fut), max(timeout_ms, 0) / 1000)

    async def elect_leaders(self, election_type: int, partitions: list[tuple[str, int]], timeout_ms: int
                            ) -> dict[tuple[str, int], ErrorCode]:
        """ElectLeaders through the controller of this broker (NOT_CONTROLLER for every partition
        when it is not the active one): 0 PREFERRED, 1 UNCLEAN.  A partition elected is answered
        NONE once this broker's metadata shows its new leader (Kafka's DelayedElectLeader),
        REQUEST_TIMED_OUT when that or the controller's answer takes longer than ``timeout_ms``."""
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        fut = (self.controller.elect_preferred(partitions) if election_type == 0
               else self.controller.elect_unclean(partitions))
        waiting = asyncio.wrap_future(fut)
        done, _ = await asyncio.wait({waiting}, timeout=max(timeout_ms, 0) / 1000)  # never cancels it
        if not done:
            return {tp: ErrorCode.REQUEST_TIMED_OUT for tp in partitions}
        results = dict(waiting.result())

        def seen(tp: tuple[str, int]) -> bool:
            p = self.partition(*tp)
            if p is None or p.leader < 0:
                return False
            return election_type != 0 or (bool(p.replicas) and p.leader == p.replicas[0])
        elected = [tp for tp, e in results.items() if e == ErrorCode.NONE]
        left_ms = int((deadline - time.monotonic()) * 1000)
        if elected and not await self.wait_for(lambda: all(seen(tp) for tp in elected), left_ms):
            for tp in elected:
                if not seen(tp):
                    results[tp] = ErrorCode.REQUEST_TIMED_OUT
        return results

    async def wait_for(self, cond: Callable[[], bool], timeout_ms: int) -> bool:
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        while not cond():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def ensure_internal_topic(self, name: str, partitions: int, replication_factor: int,
                              overrides: Mapping[str, str]) -> bool:
        """An internal topic (``__consumer_offsets``, ``__transaction_state``) is created on first use once enough brokers
        are alive (Kafka: COORDINATOR_NOT_AVAILABLE until then). True when it exists."""
        if self.has_topic(name):
            return True
        if self._offsets_creating or len(self.metadata.brokers) < replication_factor:
            return False
        self._offsets_creating = True
        try:
            assignment = self.plan_assignment(partitions, replication_factor)
        except ValueError:
            self._offsets_creating = False
            return False

        async def create() -> None:
            try:
                await self._zk(admin.create_topic, self.zk, name, assignment, dict(overrides))
                log.info("created %s (%d partitions, replication factor %d)", name, partitions, replication_factor)
            except admin.TopicExists:
                pass
            except Exception:
                log.exception("creating %s failed", name)
            finally:
                self._offsets_creating = False

        asyncio.get_running_loop().create_task(create())
        return False


class _ThrottledTopics(Listener):
    """Keeps the throttled partitions current with the topics' configs (Kafka's TopicConfigHandler)."""

    def __init__(self, metadata: ClusterMetadata, throttle: ReplicationThrottle) -> None:
        self.metadata = metadata
        self.throttle = throttle

    def on_topic(self, topic: str) -> None:
        self.throttle.apply_topic_config(topic, self.metadata.configs.get(topic, {}))

    def on_config(self, topic: str) -> None:
        self.on_topic(topic)

    def on_topic_deleted(self, topic: str) -> None:
        self.throttle.remove_topic(topic)


def _new_cluster_id() -> str:
    import uuid
    return uuid.uuid4().hex[:22]
