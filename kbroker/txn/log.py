"""``__transaction_state`` on disk: writing a transaction's metadata and replaying a partition.

- The topic: ``transaction.state.log.num.partitions`` partitions (50), ``cleanup.policy=compact``,
  ``segment.bytes=transaction.state.log.segment.bytes``, ``min.insync.replicas=
  transaction.state.log.min.isr``; created on first use (single broker: locally; a cluster hands
  in its own creation, with ``transaction.state.log.replication.factor``).
- A transactional id's records go to ``partition_for(id)``; each write is one batch appended to
  the partition through ``Partition.append`` with acks=all (NOT_ENOUGH_REPLICAS below the
  min ISR) and answered once committed (``wait_replicated``), with Kafka's error mapping
  (``append_error``).
- Loading replays a partition from its log start: the last record of a key wins, a null value
  deletes it.  Undecodable records are skipped with a warning.

Not done: the fsync of a write under a flush policy (the topic has none by default).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator

from kbroker.clock import now_ms
from kbroker.config import BrokerConfig
from kbroker.groups.codec import partition_for
from kbroker.log_validator import ProduceError
from kbroker.topics import TopicService
from kbroker.txn import codec
from kbroker.txn.codec import TXN_TOPIC, TxnLogValue
from kbroker.txn.state import TxnMeta, TxnState
from storage.errors import StorageError
from wire.errors import ErrorCode
from wire.records import CorruptRecordError, build_batch, iter_batches, iter_records

log = logging.getLogger("kbroker.txn")
E = ErrorCode
_LOAD_CHUNK = 5 << 20
WRITE_TIMEOUT_MS = 5000  # Kafka's transaction.state.log... request timeout of its appends


def append_error(code: int) -> int:
    """The coordinator's error for a failed write, as Kafka's TransactionStateManager maps it."""
    if code in (E.UNKNOWN_TOPIC_OR_PARTITION, E.NOT_ENOUGH_REPLICAS, E.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                E.REQUEST_TIMED_OUT):
        return E.COORDINATOR_NOT_AVAILABLE
    if code in (E.NOT_LEADER_OR_FOLLOWER, E.KAFKA_STORAGE_ERROR):
        return E.NOT_COORDINATOR
    if code in (E.MESSAGE_TOO_LARGE, E.RECORD_LIST_TOO_LARGE):
        return E.UNKNOWN_SERVER_ERROR
    return code


def to_value(m: TxnMeta) -> TxnLogValue:
    parts: dict[str, list[int]] = {}
    for t, p in sorted(m.partitions):
        parts.setdefault(t, []).append(p)
    return TxnLogValue(m.producer_id, m.producer_epoch, m.timeout_ms, int(m.state),
                       None if m.state == TxnState.EMPTY else {t: tuple(ps) for t, ps in parts.items()},
                       m.last_update_ms, m.start_ms, m.previous_producer_id)


def from_value(tid: str, v: TxnLogValue) -> TxnMeta:
    parts = frozenset((t, p) for t, ps in (v.partitions or {}).items() for p in ps)
    return TxnMeta(tid, v.producer_id, v.producer_epoch, v.timeout_ms, TxnState(v.status), parts, v.start_ms,
                   v.last_update_ms, previous_producer_id=v.previous_producer_id)


class TxnLog:
    def __init__(self, config: BrokerConfig, topics: TopicService, create: Callable[[], bool] | None = None) -> None:
        self._num_partitions = config.get_int("transaction.state.log.num.partitions")
        self._segment_bytes = config.get_int("transaction.state.log.segment.bytes")
        self._min_isr = config.get_int("transaction.state.log.min.isr")
        self._timeout_ms = WRITE_TIMEOUT_MS
        self._topics = topics
        self._create = create or self.create_locally

    def configs(self) -> dict[str, str]:
        return {"cleanup.policy": "compact", "segment.bytes": str(self._segment_bytes),
                "min.insync.replicas": str(self._min_isr), "compression.type": "producer"}

    def exists(self) -> bool:
        return self._topics.get(TXN_TOPIC) is not None

    def ensure(self) -> bool:
        """Makes the topic exist; True when it does now."""
        return self.exists() or self._create()

    def create_locally(self) -> bool:
        if not self.exists():
            self._topics.create(TXN_TOPIC, self._num_partitions, self.configs())
            log.info("created %s", TXN_TOPIC)
        return True

    @property
    def partitions(self) -> int:
        meta = self._topics.get(TXN_TOPIC)
        return meta.partitions if meta is not None else self._num_partitions

    def partition_for(self, transactional_id: str) -> int:
        return partition_for(transactional_id, self.partitions)

    def leader_epoch(self, p: int) -> int | None:
        """The coordinator epoch of partition ``p``: its leader epoch, when this broker leads it."""
        part = self._topics.partition(TXN_TOPIC, p)
        if part is None or getattr(part, "is_leader", True) is False:
            return None
        return max(int(part.leader_epoch), 0)

    async def write(self, m: TxnMeta, tombstone: bool = False) -> int:
        """Appends ``m`` (or its tombstone) with acks=all; the coordinator's error code once committed."""
        p = self.partition_for(m.transactional_id)
        part = self._topics.partition(TXN_TOPIC, p)
        if part is None:
            return E.NOT_COORDINATOR
        value = None if tombstone else codec.encode_value(to_value(m))
        batch = bytearray(build_batch([(codec.encode_key(m.transactional_id), value, None, now_ms())]))
        try:
            appended = await part.append(memoryview(batch), 9, acks=-1)
        except ProduceError as e:
            return append_error(int(e.code))
        except (OSError, StorageError):
            return E.NOT_COORDINATOR
        return append_error(await part.wait_replicated(appended.end_offset, self._timeout_ms))

    def read_partition(self, p: int) -> dict[str, TxnMeta]:
        """Replays partition ``p``: the transactions it holds (tombstoned ids left out)."""
        out: dict[str, TxnMeta | None] = {}
        for key, value in self._records(p):
            try:
                tid = codec.decode_key(key)
                out[tid] = None if value is None else from_value(tid, codec.decode_value(value))
            except (ValueError, IndexError, struct.error) as e:
                log.warning("skipping an unreadable %s record: %s", TXN_TOPIC, e)
        return {k: v for k, v in out.items() if v is not None}

    def _records(self, p: int) -> Iterator[tuple[bytes, bytes | None]]:
        part = self._topics.partition(TXN_TOPIC, p)
        if part is None:
            return
        plog = part.log
        offset = plog.log_start_offset
        try:
            while offset < plog.log_end_offset:
                data = plog.read_bytes(offset, _LOAD_CHUNK)
                start = offset
                for pos, header in iter_batches(data):
                    offset = header.next_offset
                    if header.is_control:
                        continue
                    for rec in iter_records(data, pos):
                        if rec.key is not None:
                            yield rec.key, rec.value
                if offset <= start:
                    break
        except CorruptRecordError as e:
            log.error("%s-%d: stopped reading at a damaged batch: %s", TXN_TOPIC, p, e)
