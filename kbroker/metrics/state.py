"""What a scrape reads from the broker's state (not counters): the partition logs, the groups' committed
offsets and lag, the connections and, in a cluster, replication health and the controller.

``BrokerState`` is built by the composition root with the services it reads and turns them into plain
rows (``StateSnapshot``) when asked, so the collector (``kbroker.metrics.collector``) never touches a
service and is tested with hand-made rows.  Everything runs on the event loop, between requests.

Lag is kafka_exporter's: the partition's high watermark (what ListOffsets ``latest`` answers, so the
same number ``kbroker groups describe`` prints) minus the group's committed offset, for the groups this
broker coordinates and the partitions whose high watermark it knows (a single broker: all of them).
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kbroker.cluster.node import ClusterNode
    from kbroker.groups.coordinator import GroupCoordinator
    from kbroker.topics import TopicService


@dataclass(frozen=True, slots=True)
class LogRow:
    topic: str
    partition: int
    log_start_offset: int
    log_end_offset: int
    size_bytes: int
    under_replicated: bool = False  # led here with fewer in-sync replicas than replicas


@dataclass(frozen=True, slots=True)
class LagRow:
    group: str
    topic: str
    partition: int
    committed: int
    lag: int


@dataclass(frozen=True, slots=True)
class ClusterRow:
    active_controller: bool
    offline_partitions: int  # counted by the active controller only (0 elsewhere), as Kafka reports it


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    logs: list[LogRow] = field(default_factory=list)
    lags: list[LagRow] = field(default_factory=list)
    connections: int = 0
    cluster: ClusterRow | None = None


class BrokerState:
    """Reads the services of one broker into a ``StateSnapshot``."""

    def __init__(self, topics: TopicService, groups: GroupCoordinator, connections: Sized,
                 cluster: ClusterNode | None = None) -> None:
        self._topics = topics
        self._groups = groups
        self._connections = connections
        self._cluster = cluster

    def __call__(self) -> StateSnapshot:
        return StateSnapshot(self._logs(), self._lags(), len(self._connections), self._cluster_row())

    def _logs(self) -> list[LogRow]:
        rows = []
        for p in self._topics.partitions():
            plog = p.log
            if plog.closed:
                continue
            under = p.replicated and p.is_leader and len(p.isr) < len(p.replicas)
            rows.append(LogRow(p.topic, p.index, plog.log_start_offset, plog.log_end_offset, plog.size_bytes,
                               under))
        return rows

    def _lags(self) -> list[LagRow]:
        _, groups = self._groups.listing()
        rows = []
        hws: dict[tuple[str, int], int] = {}
        for g in groups:
            for (topic, index), value in sorted(self._groups.committed(g.group_id).items()):
                hw = hws.get((topic, index))
                if hw is None:
                    part = self._topics.partition(topic, index)
                    if part is None:
                        continue
                    hw = hws[topic, index] = part.high_watermark
                rows.append(LagRow(g.group_id, topic, index, value.offset, hw - value.offset))
        return rows

    def _cluster_row(self) -> ClusterRow | None:
        c = self._cluster
        if c is None:
            return None
        active = c.controller.is_active
        offline = 0
        if active:
            meta = c.metadata
            for topic in meta.topic_names():
                for info in meta.partitions(topic):
                    if info.leader < 0 or not meta.alive(info.leader):
                        offline += 1
        return ClusterRow(active, offline)


StateSource = Callable[[], StateSnapshot]
