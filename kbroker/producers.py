"""Idempotent-producer bookkeeping: producer id allocation and per-(producer,
partition) sequence checks, following Kafka's rules.

For each (producer id, topic, partition) the last 5 batches' sequence ranges and
offsets are kept (a client has at most 5 requests in flight).  A batch that repeats
one of them is a retry: it is answered with NONE and the offset it was first written
at, and not written again.  A batch from a new (higher) epoch must start at sequence
0; within an epoch it must continue right after the last one; else
OUT_OF_ORDER_SEQUENCE_NUMBER.  An older epoch gets INVALID_PRODUCER_EPOCH.  A producer
the broker knows nothing about (e.g. after a restart) may start at any sequence.

Producer ids are handed out from blocks whose end is persisted before use, so ids are
never reused across restarts.  The sequence state itself is memory only for now.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from wire.errors import ErrorCode

_WINDOW = 5
_BLOCK = 1000
INT32_MAX = 2**31 - 1


@dataclass(slots=True)
class _BatchMeta:
    first_seq: int
    last_seq: int
    base_offset: int


@dataclass(slots=True)
class _ProducerEntry:
    epoch: int
    batches: deque[_BatchMeta] = field(default_factory=lambda: deque(maxlen=_WINDOW))


class ProducerIdAllocator:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "producer-id-block"
        start = int(self.path.read_text()) if self.path.exists() else 0
        self.next_id = start
        self.block_end = start

    def allocate(self) -> int:
        if self.next_id >= self.block_end:
            self.block_end = self.next_id + _BLOCK
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w") as f:
                f.write(str(self.block_end))
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self.path)
        pid = self.next_id
        self.next_id += 1
        return pid


def _next_seq(seq: int) -> int:
    return 0 if seq == INT32_MAX else seq + 1


class ProducerStateTable:
    def __init__(self) -> None:
        self.entries: dict[tuple[int, str, int], _ProducerEntry] = {}

    def check(self, pid: int, epoch: int, topic: str, partition: int, first_seq: int,
              last_seq: int) -> tuple[ErrorCode, int | None]:
        """(error, duplicate's original base offset or None) for a batch about to be appended."""
        e = self.entries.get((pid, topic, partition))
        if e is None:
            return ErrorCode.NONE, None
        if epoch < e.epoch:
            return ErrorCode.INVALID_PRODUCER_EPOCH, None
        if epoch > e.epoch:
            return (ErrorCode.NONE if first_seq == 0 else ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), None
        for b in e.batches:
            if b.first_seq == first_seq and b.last_seq == last_seq:
                return ErrorCode.NONE, b.base_offset
        if e.batches and first_seq != _next_seq(e.batches[-1].last_seq):
            return ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, None
        return ErrorCode.NONE, None

    def record(self, pid: int, epoch: int, topic: str, partition: int, first_seq: int,
               last_seq: int, base_offset: int) -> None:
        key = (pid, topic, partition)
        e = self.entries.get(key)
        if e is None or epoch != e.epoch:
            e = self.entries[key] = _ProducerEntry(epoch)
        e.batches.append(_BatchMeta(first_seq, last_seq, base_offset))

    def forget_topic(self, topic: str) -> None:
        for k in [k for k in self.entries if k[1] == topic]:
            del self.entries[k]
