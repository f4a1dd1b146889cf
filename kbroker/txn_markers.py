"""The partition leader's side of ending a transaction: ``LocalMarkerWriter`` writes the commit or
abort markers the transaction coordinator asks for (``kbroker.txn.ports.MarkerWriter``), whether the
coordinator runs on this broker or sent WriteTxnMarkers (API 27) from another one.

Per partition of the marker, as Kafka's ``KafkaApis.handleWriteTxnMarkersRequest`` and
``ReplicaManager.appendRecords`` (origin coordinator, acks=all) do:

- not on this broker: UNKNOWN_TOPIC_OR_PARTITION, or NOT_LEADER_OR_FOLLOWER when the cluster's metadata
  knows the partition (another broker leads it); on this broker but not its leader:
  NOT_LEADER_OR_FOLLOWER;
- else ``Partition.write_marker`` appends the control batch (the producer's epoch is checked by the log:
  INVALID_PRODUCER_EPOCH for an older one, TRANSACTION_COORDINATOR_FENCED for an older coordinator
  epoch) and waits, with the request's timeout, for the high watermark to cover it
  (NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR).

The partitions are written concurrently.  For every ``__consumer_offsets`` partition whose marker was
written, the group coordinator then completes the producer's pending transactional offsets of the
groups on that partition (commit: they become the committed offsets; abort: they are dropped) — after
the marker, so a group reloaded from the log reaches the same state.

Not done: the topics' flush policy (``flush.messages`` / ``flush.ms``) is not applied before answering
(the marker is in the page cache; the flusher's periodic pass syncs it); nothing is stored by this
module.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kbroker.groups.codec import OFFSETS_TOPIC
from kbroker.txn.ports import TopicPartition, TxnMarker
from wire.errors import ErrorCode

if TYPE_CHECKING:
    from kbroker.cluster.node import ClusterNode
    from kbroker.groups.coordinator import GroupCoordinator
    from kbroker.topics import TopicService

log = logging.getLogger("kbroker.txn")


class LocalMarkerWriter:
    """``MarkerWriter`` over the partitions of this broker."""

    def __init__(self, topics: TopicService, groups: GroupCoordinator | None,
                 cluster: ClusterNode | None = None) -> None:
        self._topics = topics
        self._groups = groups
        self._cluster = cluster

    async def write(self, marker: TxnMarker, timeout_ms: int) -> dict[TopicPartition, int]:
        results: dict[TopicPartition, int] = {}
        writes: list[tuple[TopicPartition, asyncio.Future[int] | asyncio.Task[int]]] = []
        for tp in dict.fromkeys(marker.partitions):  # each partition once, in order
            topic, index = tp
            part = self._topics.partition(topic, index)
            if part is None:
                known = self._cluster is not None and self._cluster.partition(topic, index) is not None
                results[tp] = ErrorCode.NOT_LEADER_OR_FOLLOWER if known else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            if not part.is_leader:
                results[tp] = ErrorCode.NOT_LEADER_OR_FOLLOWER
                continue
            writes.append((tp, asyncio.ensure_future(part.write_marker(
                marker.producer_id, marker.producer_epoch, marker.commit, marker.coordinator_epoch, timeout_ms))))
        if writes:
            codes = await asyncio.gather(*(w for _, w in writes))
            for (tp, _), code in zip(writes, codes, strict=True):
                results[tp] = int(code)
        if self._groups is not None:
            for (topic, index), code in results.items():
                if topic == OFFSETS_TOPIC and code == ErrorCode.NONE:
                    self._groups.complete_txn(marker.producer_id, index, marker.commit)
        failed = {tp: c for tp, c in results.items() if c}
        if failed:
            log.info("markers of producer %d (%s): errors %s", marker.producer_id,
                     "commit" if marker.commit else "abort", failed)
        return {tp: results[tp] for tp in marker.partitions}
