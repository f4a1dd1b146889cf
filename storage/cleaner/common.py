"""What every stage of a cleaning pass shares: its settings (``CleanerConfig``), its counters
(``CleanerStats``), ``CleanerAborted``, the names of the steps a test hook sees (``STEPS``), the
running state of one pass (``Pass``, with its transaction walk) and the reading of a closed segment batch by batch.

Rules:

- ``CleanerConfig`` carries Kafka's names: the topic configs, then the broker's ``log.cleaner.*``;
  it is frozen, one value per pass.
- Between two chunks read (never inside one), ``Pass.check`` honours ``should_stop`` and a closed
  log (raising ``CleanerAborted``) and the I/O rate limit (sleeping at most a second at a time).
- ``Pass.step(name)`` calls the hook, if any, after each step of ``STEPS``; a hook may raise to stand
  for a crash at that point.
- Segments are read in chunks of ``io_buffer_size`` bytes (one larger batch is read whole); a
  chunk's buffer is handed out with the positions of its batches, which are never copied here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from wire.compression import decompress
from wire.records import (
    COMPRESSION_MASK,
    HEADER_SIZE,
    MIN_BATCH_LENGTH,
    BatchHeader,
    CorruptRecordError,
    iter_batches,
)

from ..log import PartitionLog
from ..segment import Segment
from .txn import TxnWalk

__all__ = [
    "NO_LIMIT",
    "STEPS",
    "CleanerAborted",
    "CleanerConfig",
    "CleanerStats",
    "Pass",
    "read_batches",
    "records_of",
]

NO_LIMIT = 2**63 - 1
STEPS = (
    "cleaned_partial",  # some of the .cleaned log written
    "cleaned_written",  # .cleaned files complete and synced
    "indexes_swap",  # index files renamed .swap
    "log_swap",  # log renamed .swap: committed
    "old_deleted",  # one replaced segment renamed .deleted (once per segment)
    "indexes_final",  # new indexes under their final names
    "log_final",  # new log under its final name
    "swapped",  # new segment in the list, directory synced
)


class CleanerAborted(Exception):
    """The pass was stopped (``should_stop``) or its log closed; nothing was swapped after that."""


@dataclass(frozen=True, slots=True)
class CleanerConfig:
    """Settings of one pass, with Kafka's names: topic configs, then broker ``log.cleaner.*``.
    Every field is required: Kafka's defaults are the server's to give (``kbroker.topic_config``).
    ``max_compaction_lag_ms`` = ``NO_LIMIT``: no lag forces cleaning; ``max_io_bytes_per_second`` =
    inf: no throttle."""

    delete_retention_ms: int
    min_compaction_lag_ms: int
    max_compaction_lag_ms: int
    min_cleanable_ratio: float
    file_delete_delay_ms: int
    dedupe_buffer_size: int
    io_buffer_size: int
    max_io_bytes_per_second: float


@dataclass(slots=True)
class CleanerStats:
    first_dirty: int = 0
    end_offset: int = 0  # the new first dirty offset
    map_keys: int = 0
    segments_before: int = 0
    segments_after: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    batches_read: int = 0
    batches_emptied: int = 0
    empty_batches_merged: int = 0
    records_read: int = 0
    records_kept: int = 0
    tombstones_dropped: int = 0
    aborted_dropped: int = 0  # records of aborted transactions removed
    markers_stamped: int = 0  # transaction markers given a delete horizon
    markers_removed: int = 0  # transaction markers emptied past their horizon
    earliest_horizon_ms: int = -1  # earliest delete horizon of a batch still holding a tombstone or marker
    seconds: float = 0.0
    groups: list[tuple[int, int]] = field(default_factory=list)  # (base offset, segments merged)


class Pass:
    """The state of one cleaning pass over one log: its settings, its clock, the offset map being
    built and used, its counters, and the stop / rate-limit checks."""

    def __init__(
        self,
        log: PartitionLog,
        config: CleanerConfig,
        now_ms: int,
        should_stop: Callable[[], bool] | None,
        hook: Callable[[str], None] | None,
    ) -> None:
        self.log = log
        self.config = config
        self.now_ms = now_ms
        self.should_stop = should_stop
        self.hook = hook
        self.stats = CleanerStats()
        self.map: dict[bytes, int] = {}
        self.txns = TxnWalk(())  # the rewrite's walk; run.clean gives it the aborted transactions
        self.started = time.monotonic()
        self.io_bytes = 0
        self.partial_reported = False

    def step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    def check(self, nbytes: int) -> None:
        """Between chunks: honour should_stop / a closed log, and the I/O rate limit."""
        if self.log.closed or (self.should_stop is not None and self.should_stop()):
            raise CleanerAborted(str(self.log.directory))
        self.io_bytes += nbytes
        rate = self.config.max_io_bytes_per_second
        if rate != float("inf") and rate > 0:
            ahead = self.io_bytes / rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(min(ahead, 1.0))


def read_batches(segment: Segment, chunk: int) -> Iterator[tuple[bytes, int, BatchHeader]]:
    """Every batch of a closed segment as (buffer, position in it, header), read in chunks."""
    pos, size = 0, segment.size
    while pos < size:
        buf = segment.pread(pos, min(chunk, size - pos))
        used = 0
        for p, header in iter_batches(buf):
            yield buf, p, header
            used = p + header.total_size
        if used == 0:  # one batch larger than the chunk
            if len(buf) < HEADER_SIZE:
                raise CorruptRecordError(f"{segment.log_path}: torn batch at position {pos}")
            header = BatchHeader(buf)
            if header.batch_length < MIN_BATCH_LENGTH or header.total_size > size - pos:
                raise CorruptRecordError(f"{segment.log_path}: bad batch at position {pos}")
            buf = segment.pread(pos, header.total_size)
            yield buf, 0, header
            used = header.total_size
        pos += used


def records_of(buf: bytes, pos: int, header: BatchHeader) -> bytes:
    """The record bytes of the batch at ``pos``, decompressed."""
    body = buf[pos + HEADER_SIZE : pos + header.total_size]
    codec = header.attributes & COMPRESSION_MASK
    if not codec:
        return body
    try:
        return bytes(decompress(codec, body))
    except ValueError as exc:
        raise CorruptRecordError(f"batch at offset {header.base_offset}: {exc}") from exc
