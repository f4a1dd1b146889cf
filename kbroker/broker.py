"""The composition root: builds every service of a broker from its configuration, starts the
background work and stops it all in order.  Nothing else builds services; handlers see them
through ``kbroker.context.Services``, background services get what they use through their
constructors.  Only the entry point (``kbroker.cli``) and tests import this module."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kbroker.cleaner_service import CleanerService
from kbroker.config import BrokerConfig
from kbroker.config_changes import DynamicBrokerConfigs, load_dynamic
from kbroker.context import Services
from kbroker.flusher import Flusher
from kbroker.group_config import GroupConfigStore
from kbroker.groups.coordinator import GroupCoordinator
from kbroker.identity import load_identity, stored_cluster_id
from kbroker.metrics.counters import Metrics
from kbroker.producers import ProducerExpiry, ProducerIdAllocator
from kbroker.retention_service import RetentionService
from kbroker.topics import TopicService
from kbroker.waiters import AppendWaiters
from storage.handles import handles
from storage.topics import LogManager

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from kbroker.cluster.node import ClusterNode

log = logging.getLogger("kbroker.broker")


def raise_fd_limit() -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit, as servers do (a broker holds files per partition)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
            target = hard
            if target == resource.RLIM_INFINITY:
                target = 1 << 20  # Linux's usual nr_open
            if soft == resource.RLIM_INFINITY or soft >= target:
                log.info("open file limit %s", soft)
                return
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("raised the open file limit from %d to %d", soft, target)
        else:
            log.info("open file limit %d (the hard limit)", soft)
    except (OSError, ValueError) as exc:
        log.warning("could not raise the open file limit: %s", exc)


class Broker:
    """Everything one broker runs. ``services`` is what requests are served with."""

    def __init__(self, config: BrokerConfig) -> None:
        raise_fd_limit()
        handles.reset_budget()  # segment files share half the (raised) limit: storage.handles
        log.info("segment file descriptor budget %d", handles.budget)
        self.config = config
        self.data_dir = Path(config.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cluster: ClusterNode | None = None
        if config.zookeeper_connect:
            from kbroker.cluster.node import ClusterNode

            adv = config.advertised
            self.cluster = ClusterNode(config, config.node_id, adv.host, adv.port, stored_cluster_id(self.data_dir),
                                       self.data_dir)
            self.identity = load_identity(config, self.data_dir, self.cluster.cluster_id)
        else:
            self.identity = load_identity(config, self.data_dir)
        if self.cluster is None:  # AlterConfigs on the broker, before any topic is resolved (a cluster's: ZooKeeper)
            load_dynamic(config, self.data_dir)
        self.connections: set[Any] = set()
        self.metrics = Metrics()
        self.waiters = AppendWaiters()
        self.logs = LogManager(self.data_dir)
        if self.cluster is not None:
            self.topics = TopicService(config, self.logs, self.identity.node_id, self.waiters, replicated=True,
                                       high_watermarks=self.cluster.high_watermarks())
            self.replicas = self.cluster.attach(self.topics)
        else:
            self.topics = TopicService(config, self.logs, self.identity.node_id, self.waiters)
        self.topics.on_deleted.append(self.metrics.traffic.forget)
        self.flusher = Flusher(self.logs)
        self.producer_ids: Any
        if self.cluster is not None:
            from kbroker.cluster.producer_ids import ZkProducerIdAllocator

            self.producer_ids = ZkProducerIdAllocator(self.cluster.zk, self.identity.node_id)
        else:
            self.producer_ids = ProducerIdAllocator(self.data_dir)
        self.producer_expiry = ProducerExpiry(self.logs, config.get_int("producer.id.expiration.ms"),
                                              config.get_int("producer.id.expiration.check.interval.ms"))
        if self.cluster is not None:
            # the coordinator of a group is the leader of its __consumer_offsets partition: loaded
            # when this broker becomes that leader, dropped when it stops being it
            self.groups = GroupCoordinator(config, self.topics, self.waiters, self.flusher, cluster=True,
                                           create_offsets_topic=lambda: None)
            groups = self.groups

            def load(p: int) -> None:
                asyncio.get_running_loop().create_task(groups.load_partition(p))

            self.replicas.on_offsets_leader = load
            self.replicas.on_offsets_resign = groups.on_resign
        else:
            self.groups = GroupCoordinator(config, self.topics, self.waiters, self.flusher)  # loads __consumer_offsets
        self._build_transactions(config)
        self.retention = RetentionService(self.topics, config, self.metrics.log_activity)
        self.cleaner = CleanerService(self.topics, config, self.metrics.log_activity)
        self.services = Services(
            config=config,
            identity=self.identity,
            topics=self.topics,
            groups=self.groups,
            producer_ids=self.producer_ids,
            waiters=self.waiters,
            flusher=self.flusher,
            dynamic_configs=DynamicBrokerConfigs(config, self.data_dir, self.topics.reconfigure),
            group_configs=GroupConfigStore(self.data_dir),
            cluster=self.cluster,
            transactions=self.transactions,
            markers=self.markers,
            txn_verifier=self.txn_verifier,
            traffic=self.metrics.traffic,
            requests=self.metrics.requests,
            purgatory=self.metrics.purgatory,
        )

    def _build_transactions(self, config: BrokerConfig) -> None:
        """The transaction coordinator, the partition leaders' marker writer and the KIP-890 verifier.
        In a cluster the coordinator of a transactional id is the leader of its ``__transaction_state``
        partition: loaded when this broker becomes that leader, dropped when it stops being it."""
        from kbroker.txn.coordinator import TransactionCoordinator
        from kbroker.txn.verify import CoordinatorVerifier
        from kbroker.txn_markers import LocalMarkerWriter

        self.markers = LocalMarkerWriter(self.topics, self.groups, self.cluster)
        if self.cluster is None:
            self.transactions = TransactionCoordinator(config, self.topics, self.producer_ids, self.markers)
        else:
            # the topic exists (FindCoordinator created it) before any partition of it is led here
            self.transactions = TransactionCoordinator(config, self.topics, self.producer_ids, self.markers,
                                                       cluster=self.cluster, create_topic=lambda: False)
            txns = self.transactions

            def load(p: int) -> None:
                asyncio.get_running_loop().create_task(txns.load_partition(p))

            self.replicas.on_txn_leader = load
            self.replicas.on_txn_resign = txns.on_resign
        self.txn_verifier = CoordinatorVerifier(self.transactions, self.cluster)

    def metrics_registry(self) -> CollectorRegistry:
        """The Prometheus registry ``/metrics`` renders: the counters and this broker's state."""
        from kbroker.metrics.collector import build_registry
        from kbroker.metrics.state import BrokerState

        return build_registry(self.metrics, BrokerState(self.topics, self.groups, self.connections, self.cluster))

    # ------------------------------------------------------------ lifecycle
    def start_background(self) -> None:
        if self.cluster is not None:
            self.cluster.start()
        self.flusher.start()
        self.producer_expiry.start()
        self.groups.start()
        self.transactions.start()
        self.retention.start()
        self.cleaner.start()

    async def controlled_shutdown(self) -> None:
        """In a cluster, the leaderships of this broker move away first (``stop`` does it too when
        this was not called); the listener still serves meanwhile."""
        if self.cluster is not None:
            try:
                await self.cluster.controlled_shutdown()
            except Exception:
                log.exception("the controlled shutdown failed; continuing the shutdown")

    async def stop(self) -> None:
        """Stop everything; a failed checkpoint write (a full disk, say) is logged, never raised:
        the logs are recovered from their files at the next start."""
        for name, part in (("transactions", self.transactions), ("groups", self.groups), ("cleaner", self.cleaner),
                           ("retention", self.retention)):
            try:
                await part.stop()
            except Exception:
                log.exception("stopping the %s failed; continuing the shutdown", name)
        if self.cluster is not None:
            try:
                await self.cluster.stop()
            except Exception:
                log.exception("leaving the cluster failed; continuing the shutdown")
        self.producer_expiry.stop()
        self.txn_verifier.close()
        if self.cluster is not None:
            self.producer_ids.close()
        await self.flusher.stop()
        tasks = []
        for conn in list(self.connections):
            conn.close()
            if conn.task is not None and not conn.task.done():
                conn.task.cancel()
                tasks.append(conn.task)
        if tasks:
            # Requests still in progress (a parked long-poll fetch, say) end before the logs close.
            await asyncio.wait(tasks, timeout=5)
        self.waiters.wake_all()
        try:
            self.topics.close()
        except Exception:
            log.exception("closing the logs failed")
