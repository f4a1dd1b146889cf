"""One topic-partition on this broker: its log, leader epoch, high watermark and in-sync replicas,
produce validation and append, and the bounds of a fetch.

On a single broker this broker leads every partition and is its only in-sync replica, so the high
watermark is the log end offset (every appended record is committed) and the last stable offset
equals it (no transactions).  Replication plugs in here: a follower's fetch position moves the high
watermark, the ISR shrinks and grows, and the leader epoch changes on election.

``append`` runs Kafka's ``LogValidator`` (``kbroker.log_validator``) on the produced batch with the
topic's resolved config, decoding off the event loop when it must look inside compressed records
(two worker threads at most, so two compression bombs cannot hold more than twice the bound), then
hands the bytes and their already-parsed headers to the log.  Idempotent batches are checked by the
log against the producer's last five (``storage.producer_state``): a duplicate is answered with its
original offset, a gap or a new epoch not starting at 0 is OUT_OF_ORDER_SEQUENCE_NUMBER, a stale
epoch INVALID_PRODUCER_EPOCH.  Appends wake the fetches parked on the partition.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kbroker import log_validator as lv
from kbroker.clock import now_ms
from kbroker.log_validator import ProduceError, TimestampOutOfRange
from kbroker.topic_config import TopicConfig
from kbroker.waiters import AppendWaiters
from storage.errors import StorageError
from storage.log import FileSlice, PartitionLog
from storage.producer_state import InvalidProducerEpoch, OutOfOrderSequence
from wire.errors import ErrorCode

# Decoding of compressed batches (compacted key checks, recompression, timestamp errors), off the loop.
_DECODER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="produce-decode")


@dataclass(frozen=True, slots=True)
class Appended:
    base_offset: int
    log_append_time_ms: int  # -1 for CreateTime topics
    log_start_offset: int


class TopicState:
    """What the partitions of one topic share: its resolved config, replaced on alter."""

    __slots__ = ("name", "config")

    def __init__(self, name: str, config: TopicConfig) -> None:
        self.name = name
        self.config = config


class Partition:
    def __init__(self, topic: TopicState, index: int, log: PartitionLog, node_id: int,
                 waiters: AppendWaiters) -> None:
        self._topic = topic
        self.index = index
        self.log = log
        self.node_id = node_id
        self._waiters = waiters

    def __repr__(self) -> str:
        return f"Partition({self.topic}-{self.index})"

    # -- state --------------------------------------------------------------------------------------

    @property
    def topic(self) -> str:
        return self._topic.name

    @property
    def config(self) -> TopicConfig:
        return self._topic.config

    @property
    def leader_id(self) -> int:
        return self.node_id

    @property
    def leader_epoch(self) -> int:
        return self.log.leader_epoch

    @property
    def replicas(self) -> tuple[int, ...]:
        return (self.node_id,)

    @property
    def isr(self) -> tuple[int, ...]:
        return (self.node_id,)

    @property
    def high_watermark(self) -> int:
        return self.log.log_end_offset

    @property
    def last_stable_offset(self) -> int:
        return self.high_watermark

    @property
    def log_start_offset(self) -> int:
        return self.log.log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.log.log_end_offset

    # -- produce ------------------------------------------------------------------------------------

    async def append(self, data: memoryview, api_version: int) -> Appended:
        """Validate and append one produced record batch. Raises ProduceError with the Kafka error."""
        config = self.config
        now = now_ms()
        try:
            batches = lv.check_batches(data, config, api_version, now)
        except TimestampOutOfRange as e:
            args = (data, e.batches, e.low, e.high, lv.decompressed_limit(config.max_message_bytes))
            if any(h.compression for _, h in e.batches):
                errors = await asyncio.get_running_loop().run_in_executor(_DECODER, lv.timestamp_errors, *args)
            else:
                errors = lv.timestamp_errors(*args)
            raise ProduceError(ErrorCode.INVALID_TIMESTAMP, e.message, errors) from None
        if config.log_append_time:
            lv.stamp_append_time(data, batches, now)
        stored: memoryview | bytearray = data
        if lv.needs_inspection(config, batches):
            tp = f"{self.topic}-{self.index}"
            if any(h.compression for _, h in batches):  # decompression: off the event loop
                stored, batches = await asyncio.get_running_loop().run_in_executor(
                    _DECODER, lv.inspect, data, batches, tp, config)
            else:
                stored, batches = lv.inspect(data, batches, tp, config)
            if self.log.closed:  # the topic was deleted while decoding
                raise ProduceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        now = now_ms()
        try:
            info = self.log.append(stored, now, batches)
        except OutOfOrderSequence as e:
            raise ProduceError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, str(e)) from None
        except InvalidProducerEpoch as e:
            raise ProduceError(ErrorCode.INVALID_PRODUCER_EPOCH, str(e)) from None
        except (OSError, StorageError) as e:
            raise ProduceError(ErrorCode.KAFKA_STORAGE_ERROR, str(e)) from None
        if info.duplicate is not None:  # a retry of a batch already written: its original offset
            return Appended(info.base_offset, info.duplicate.timestamp if config.log_append_time else -1,
                            info.log_start_offset)
        self._waiters.notify(self.topic, self.index)  # the high watermark moved
        return Appended(info.base_offset, now if config.log_append_time else -1, info.log_start_offset)

    def needs_flush(self) -> bool:
        """flush.messages / flush.ms say the log must be synced before the produce answers."""
        return self.log.needs_flush(now_ms())

    # -- fetch --------------------------------------------------------------------------------------

    def epoch_error(self, requested: int) -> int:
        """A fetcher's current leader epoch against the partition's (-1: not checked)."""
        current = self.leader_epoch
        if requested < 0 or requested == current:
            return 0
        return ErrorCode.FENCED_LEADER_EPOCH if requested < current else ErrorCode.UNKNOWN_LEADER_EPOCH

    def diverging_epoch(self, last_fetched_epoch: int, fetch_offset: int) -> tuple[int, int] | None:
        """(epoch, end offset) when the fetcher's last fetched epoch ends before its fetch offset
        here (a truncated log), else None."""
        if last_fetched_epoch < 0:
            return None
        epoch, end = self.log.leader_epochs.end_offset_for(last_fetched_epoch, self.log.log_end_offset)
        if epoch < last_fetched_epoch or end < fetch_offset:
            return epoch, end
        return None

    def read(self, fetch_offset: int, max_bytes: int, high_watermark: int) -> FileSlice | None:
        """Whole batches from the one holding ``fetch_offset``, below ``high_watermark`` (the value
        the fetch reports; read committed and uncommitted alike, the last stable offset being the
        high watermark). OffsetOutOfRange outside [log start, log end]."""
        return self.log.read(fetch_offset, max_bytes, high_watermark)
