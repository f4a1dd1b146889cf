"""The interfaces between the transaction coordinator and the partition leaders.

- ``TxnMarker`` / ``MarkerWriter``: the coordinator asks the leaders of a transaction's partitions
  to append a commit or abort marker (a control batch) for a producer.  The local implementation
  (``kbroker.txn_markers``) appends on the partitions this broker leads and tells the group
  coordinator about ``__consumer_offsets`` partitions (pending transactional offsets become
  committed, or are dropped); WriteTxnMarkers (API 27) from another broker's coordinator uses it too.
- ``TxnVerifier``: KIP-890 part 1 — before a partition leader accepts a transactional produce it
  asks the coordinator of the transactional id whether the partition was added to the producer's
  ongoing transaction (locally when this broker coordinates the id, else AddPartitionsToTxn v4+
  ``verify_only`` to the coordinator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class TxnMarker:
    """One WriteTxnMarkers entry: end ``producer_id``'s transaction on ``partitions``."""

    producer_id: int
    producer_epoch: int
    commit: bool  # True: COMMIT marker, False: ABORT
    coordinator_epoch: int
    partitions: tuple[TopicPartition, ...]


class MarkerWriter(Protocol):
    async def write(self, marker: TxnMarker, timeout_ms: int) -> dict[TopicPartition, int]:
        """Append the marker on each of ``marker.partitions`` this broker leads; the error code per
        partition once the marker is committed (acks=all): 0, NOT_LEADER_OR_FOLLOWER,
        UNKNOWN_TOPIC_OR_PARTITION, INVALID_PRODUCER_EPOCH, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
        REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR."""
        ...


class TxnVerifier(Protocol):
    async def verify(self, transactional_id: str, producer_id: int, producer_epoch: int,
                     partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Per partition: 0 when it is in the producer's ongoing transaction (same id and epoch),
        else the error to answer the produce with (INVALID_TXN_STATE / INVALID_PRODUCER_EPOCH /
        PRODUCER_FENCED / NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS)."""
        ...
