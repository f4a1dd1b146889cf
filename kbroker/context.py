"""What a handler sees: the request it serves and the services it may use — never the Broker.

``Services`` is built once by ``kbroker.broker`` (the composition root); each connection gets a
``RequestContext`` carrying those services and the current request's header fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kbroker.metrics.counters import Purgatory, RequestMetrics, Traffic

if TYPE_CHECKING:
    from kbroker.cluster.node import ClusterNode
    from kbroker.config import BrokerConfig
    from kbroker.config_changes import DynamicBrokerConfigs
    from kbroker.flusher import Flusher
    from kbroker.group_config import GroupConfigStore
    from kbroker.groups.coordinator import GroupCoordinator
    from kbroker.identity import BrokerIdentity
    from kbroker.producers import ProducerIdAllocator
    from kbroker.topics import TopicService
    from kbroker.txn.ports import MarkerWriter, TxnVerifier
    from kbroker.waiters import AppendWaiters


@dataclass(frozen=True, slots=True)
class Services:
    config: BrokerConfig  # the broker's configs (static and dynamic), with typed accessors
    identity: BrokerIdentity  # node id, advertised address, cluster id
    topics: TopicService  # topics, their resolved configs and partitions
    groups: GroupCoordinator
    producer_ids: ProducerIdAllocator
    waiters: AppendWaiters  # long-poll fetches
    flusher: Flusher  # group commit
    dynamic_configs: DynamicBrokerConfigs
    group_configs: GroupConfigStore
    cluster: ClusterNode | None = None  # set when this broker is part of a cluster (zookeeper.connect)
    transactions: Any = None  # kbroker.txn.coordinator.TransactionCoordinator (set by the composition root)
    markers: MarkerWriter | None = None  # appends commit/abort markers on the partitions this broker leads
    txn_verifier: TxnVerifier | None = None  # KIP-890 verification of transactional produce
    # the counters the listener and the handlers add to (kbroker.metrics.counters)
    traffic: Traffic = field(default_factory=Traffic)  # messages and bytes in and out per topic
    requests: RequestMetrics = field(default_factory=RequestMetrics)  # per API; connections
    purgatory: Purgatory = field(default_factory=Purgatory)  # parked fetches and acks=all produces


@dataclass(slots=True)
class RequestContext:
    services: Services
    api_version: int = 0
    correlation_id: int = 0
    client_id: str | None = None
    peer: str = ""

    @property
    def config(self) -> BrokerConfig:
        return self.services.config

    @property
    def identity(self) -> BrokerIdentity:
        return self.services.identity

    @property
    def node_id(self) -> int:
        return self.services.identity.node_id

    @property
    def cluster(self) -> ClusterNode | None:
        return self.services.cluster

    @property
    def topics(self) -> TopicService:
        return self.services.topics

    @property
    def groups(self) -> GroupCoordinator:
        return self.services.groups

    @property
    def producer_ids(self) -> ProducerIdAllocator:
        return self.services.producer_ids

    @property
    def waiters(self) -> AppendWaiters:
        return self.services.waiters

    @property
    def flusher(self) -> Flusher:
        return self.services.flusher
