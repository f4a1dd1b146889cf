"""The partition log: an ordered list of segments in one directory, Kafka's on-disk layout.

Directory ``<data_dir>/<topic>-<partition>/``::

    00000000000000000000.log        RecordBatch v2 bytes (see storage.segment)
    00000000000000000000.index      sparse offset index (see storage.index)
    00000000000000000000.timeindex  sparse time index
    00000000000000004711.log ...    next segment: base offset = the log end offset when it was rolled
    .clean-shutdown                 empty; present only while the log is cleanly closed
    00000000000000004711.snapshot   producer state covering every batch below 4711 (storage.producer_state)
    leader-epoch-checkpoint         leader epochs and their start offsets (storage.leader_epoch)

Segments are contiguous: each segment's base offset is the log end offset at the moment it was
rolled, so the log start offset is the first segment's base and the log end offset (the next offset
to assign, also the high watermark on this single broker) is the active (last) segment's next offset.

Limits and why:

- ``segment.bytes`` <= 2**31 - 1 so every file position fits the index's u32 (and Kafka's int).
- A roll happens before an append that would push the active segment past ``segment.bytes``, make it
  older than ``segment.ms`` (counted from its first append; after a restart from its first batch's
  max timestamp, as Kafka does), fill either index (``segment.index.bytes``), or take an offset more
  than 2**32 - 1 past the segment base (the index's u32 relative offset). An empty segment never rolls,
  so a single batch larger than ``segment.bytes`` still gets written.

Durability: ``append`` returns after ``os.write`` has put every byte in the OS page cache, so killing
the process loses nothing acknowledged; ``flush`` (fdatasync, group commit from any thread) makes it
survive an OS crash. ``close(clean=True)`` syncs everything and then writes ``.clean-shutdown``.
Opening, the marker and crash recovery are described in ``storage.recovery``.

Idempotent producers: ``append`` checks batches that carry a producer id against the partition's
``ProducerState`` before writing (a duplicate is not written and its original offsets come back in
``AppendInfo.duplicate``; a sequence gap or stale epoch raises) and records them after. Opening loads
the newest producer snapshot at or below the log end offset and replays the batch headers after it; a
roll and a clean close write a snapshot. Each appended batch gets the partition's leader epoch stamped
into partitionLeaderEpoch (outside the CRC).

Threads: ``append``, ``read`` and everything else run on one thread (the event loop); ``flush`` may
run on a worker thread at the same time. A lock guards the segment list and counters; the fdatasync
calls happen outside it so appends never wait for the disk.
"""

from __future__ import annotations

import os
import shutil
import threading
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from wire.records import (
    HEADER_SIZE,
    BatchHeader,
    CorruptRecordError,
    iter_records,
    set_base_offset,
    set_partition_leader_epoch,
)

from .errors import LogClosedError, OffsetOutOfRange
from .leader_epoch import LeaderEpochCache
from .producer_state import BatchMeta, ProducerState
from .recovery import CLEAN_SHUTDOWN_FILE, fsync_dir, load_segments
from .segment import MAX_RELATIVE_OFFSET, Segment

__all__ = ["LogConfig", "AppendInfo", "FileSlice", "PartitionLog", "CLEAN_SHUTDOWN_FILE", "fsync_dir"]

_INT_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Per-log settings, named after Kafka's topic configs (``segment.bytes`` → ``segment_bytes``).
    ``None`` for a flush interval means never (Kafka's Long.MAX_VALUE default)."""

    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    index_interval_bytes: int = 4096
    segment_index_bytes: int = 10485760
    flush_interval_messages: int | None = None
    flush_interval_ms: int | None = None

    def __post_init__(self) -> None:
        _check("segment_bytes", self.segment_bytes, 14, _INT_MAX)  # Kafka's minimum, and u32 positions
        _check("segment_ms", self.segment_ms, 1, 2**63 - 1)
        _check("index_interval_bytes", self.index_interval_bytes, 0, _INT_MAX)
        _check("segment_index_bytes", self.segment_index_bytes, 12, _INT_MAX)  # room for one entry
        if self.flush_interval_messages is not None:
            _check("flush_interval_messages", self.flush_interval_messages, 1, 2**63 - 1)
        if self.flush_interval_ms is not None:
            _check("flush_interval_ms", self.flush_interval_ms, 0, 2**63 - 1)


def _check(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} must be an integer in [{low}, {high}]")


@dataclass(frozen=True, slots=True)
class AppendInfo:
    base_offset: int
    last_offset: int
    log_append_time: int = -1
    log_start_offset: int = 0
    duplicate: BatchMeta | None = None  # set when an idempotent retry was answered, not written


@dataclass(frozen=True, slots=True)
class FileSlice:
    """``length`` bytes at ``position`` of the open file ``fd``: whole batches of one segment.
    Valid while ``segment.fd == fd``: closing or deleting the log closes the file (and sets
    ``segment.fd`` to -1), so a sender that holds a slice across an await should check that first."""

    fd: int
    position: int
    length: int
    segment: Segment


class PartitionLog:
    def __init__(self, directory: Path, config: LogConfig | None = None) -> None:
        self.directory = Path(directory)
        self._config = config if config is not None else LogConfig()
        self._lock = threading.Lock()  # segment list and counters (appending thread vs flusher)
        self._flush_lock = threading.Lock()  # one flush at a time; close waits for it
        self._closed = False
        self._dir_dirty = False
        self._first_unflushed_ms: int | None = None
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segments = load_segments(self.directory, self._config.index_interval_bytes)
        self._bases = [s.base_offset for s in self._segments]
        self._recovery_point = self.log_end_offset  # offsets below were synced (or recovered)
        self.leader_epochs = LeaderEpochCache(self.directory, self.log_start_offset)
        self.producer_state = ProducerState(self.directory)
        self._load_producer_state()

    def _load_producer_state(self) -> None:
        """Newest snapshot at or below the log end offset, then the batch headers after it."""
        start = self.producer_state.load(self.log_end_offset)
        start = self.log_start_offset if start is None else max(start, self.log_start_offset)
        end = self.log_end_offset
        if start >= end:
            return
        i = bisect_right(self._bases, start) - 1
        for segment in self._segments[max(i, 0) :]:
            found = segment.find(start)
            if found is None:
                continue
            self.producer_state.replay(h for _, h in segment.iter_headers(found[0], segment.size))

    # -- properties -------------------------------------------------------------------------------

    @property
    def config(self) -> LogConfig:
        return self._config

    def reconfigure(self, config: LogConfig) -> None:
        """New settings apply from the next append (existing segments are not rewritten)."""
        self._config = config

    @property
    def log_start_offset(self) -> int:
        return self._segments[0].base_offset

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset

    @property
    def size_bytes(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def recovery_point(self) -> int:
        """Every offset below this has been fdatasync'ed."""
        return self._recovery_point

    @property
    def leader_epoch(self) -> int:
        """The partition's current leader epoch (stamped into appended batches)."""
        return self.leader_epochs.latest_epoch

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(self._segments)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- append -----------------------------------------------------------------------------------

    def append(self, buf: bytearray, now_ms: int) -> AppendInfo:
        """Assign offsets to the validated v2 batches in ``buf`` (rewriting their baseOffset and
        partitionLeaderEpoch in place) and write them to the active segment, rolling it first if
        needed. Batches with a producer id are checked against the producer state first: a retry of
        one of the producer's last five batches is not written (``AppendInfo.duplicate``), and
        ``OutOfOrderSequence`` / ``InvalidProducerEpoch`` are raised without writing anything."""
        if self._closed:
            raise LogClosedError(str(self.directory))
        n = len(buf)
        if n == 0:
            raise ValueError("nothing to append")
        batches: list[tuple[int, BatchHeader]] = []
        pos = 0
        while pos < n:
            header = BatchHeader(buf, pos)
            size = header.total_size
            if size < HEADER_SIZE or size > n - pos or header.last_offset_delta < 0:
                raise CorruptRecordError(f"batch at {pos}: bad length or lastOffsetDelta")
            batches.append((pos, header))
            pos += size
        idempotent = any(h.producer_id >= 0 for _, h in batches)
        if idempotent:
            dup = self.producer_state.check([h for _, h in batches])
            if dup is not None:
                return AppendInfo(dup.base_offset, dup.last_offset, -1, self.log_start_offset, dup)
        base = next_offset = self._segments[-1].next_offset
        epoch = self.leader_epochs.latest_epoch
        for pos, header in batches:
            set_base_offset(buf, pos, next_offset)
            set_partition_leader_epoch(buf, pos, epoch)
            header.base_offset = next_offset
            header.partition_leader_epoch = epoch
            next_offset += header.last_offset_delta + 1
        with self._lock:
            segment = self._segments[-1]
            if self._should_roll(segment, n, next_offset - 1, now_ms):
                segment = self._roll()
            segment.append(buf, batches, now_ms, self._config.index_interval_bytes)
            if self._first_unflushed_ms is None:
                self._first_unflushed_ms = now_ms
        if idempotent:
            for _, header in batches:
                self.producer_state.update(header)
        return AppendInfo(base, next_offset - 1, -1, self.log_start_offset)

    def _should_roll(self, segment: Segment, size: int, last_offset: int, now_ms: int) -> bool:
        if segment.size == 0:
            return False
        config = self._config
        return (
            segment.size + size > config.segment_bytes
            or (segment.rolling_base_ms is not None and now_ms - segment.rolling_base_ms > config.segment_ms)
            or segment.is_full(config.segment_index_bytes)
            or last_offset - segment.base_offset > MAX_RELATIVE_OFFSET
        )

    def _roll(self) -> Segment:
        old = self._segments[-1]
        self.producer_state.write_snapshot(old.next_offset)
        old.seal()
        new = Segment(self.directory, old.next_offset, create=True)
        old.release_indexes()
        self._segments.append(new)
        self._bases.append(new.base_offset)
        self._dir_dirty = True
        return new

    # -- read -------------------------------------------------------------------------------------

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None) -> FileSlice | None:
        """Whole batches of one segment, starting with the batch that contains ``offset``, up to
        ``max_bytes`` but at least one batch (KIP-74), and none whose base offset >= ``max_offset``.
        None at the log end (or when nothing below ``max_offset`` remains)."""
        if self._closed:
            raise LogClosedError(str(self.directory))
        start, end = self.log_start_offset, self.log_end_offset
        if offset < start or offset > end:
            raise OffsetOutOfRange(offset, start, end)
        if offset == end:
            return None
        segments = self._segments
        i = bisect_right(self._bases, offset) - 1
        found = None
        while found is None and i < len(segments):
            segment = segments[i]
            found = segment.find(offset)  # None only if the segment has a gap at its end
            i += 1
        if found is None:
            return None
        pos, header = found
        if max_offset is not None and header.base_offset >= max_offset:
            return None
        limit = segment.size
        segment_end = segments[i].base_offset if i < len(segments) else segment.next_offset
        if max_offset is not None and max_offset < segment_end:
            limit = segment.position_of(max_offset, pos + header.total_size)
        length = segment.slice_end(pos, header.total_size, limit, max_bytes) - pos
        return FileSlice(segment.fd, pos, length, segment)

    def read_bytes(self, offset: int, max_bytes: int, max_offset: int | None = None) -> bytes:
        """``read`` copied into memory with one pread (b"" when there is nothing to read)."""
        piece = self.read(offset, max_bytes, max_offset)
        if piece is None:
            return b""
        return os.pread(piece.fd, piece.length, piece.position)

    # -- timestamps -------------------------------------------------------------------------------

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= ``timestamp``, or None."""
        for segment in self._segments:
            if segment.max_timestamp < timestamp:
                continue
            found = segment.find_timestamp(timestamp)
            if found is None:
                continue
            pos, header = found
            data = segment.pread(pos, header.total_size)
            for record in iter_records(data):
                if record.timestamp >= timestamp:
                    return record.offset, record.timestamp
        return None

    def max_timestamp(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record carrying the largest timestamp (ListOffsets -3)."""
        best: Segment | None = None
        for segment in self._segments:
            if segment.max_timestamp >= 0 and (best is None or segment.max_timestamp > best.max_timestamp):
                best = segment
        if best is None:
            return None
        found = best.find(best.max_timestamp_offset)
        if found is None:
            return None
        pos, header = found
        for record in iter_records(best.pread(pos, header.total_size)):
            if record.timestamp == best.max_timestamp:
                return record.offset, record.timestamp
        return header.base_offset + header.last_offset_delta, header.max_timestamp

    # -- durability -------------------------------------------------------------------------------

    def needs_flush(self, now_ms: int) -> bool:
        """True when ``flush.messages`` unsynced messages have piled up, or the oldest unsynced
        append is ``flush.ms`` old."""
        unflushed = self.log_end_offset - self._recovery_point
        if unflushed <= 0:
            return False
        config = self._config
        if config.flush_interval_messages is not None and unflushed >= config.flush_interval_messages:
            return True
        first = self._first_unflushed_ms
        return (
            config.flush_interval_ms is not None
            and first is not None
            and (now_ms - first >= config.flush_interval_ms)
        )

    def flush(self) -> None:
        """fdatasync every segment written since the last flush (and the directory after a roll).
        Safe to call from a worker thread while another thread appends."""
        with self._flush_lock:
            with self._lock:
                if self._closed:
                    return
                target = self.log_end_offset
                dirty = [s for s in self._segments if s.dirty]
                for segment in dirty:
                    segment.dirty = False
                dir_dirty, self._dir_dirty = self._dir_dirty, False
                first, self._first_unflushed_ms = self._first_unflushed_ms, None
            try:
                for segment in dirty:
                    segment.flush()
                if dir_dirty:
                    fsync_dir(self.directory)
            except BaseException:
                with self._lock:
                    for segment in dirty:
                        segment.dirty = True
                    self._dir_dirty |= dir_dirty
                    if first is not None:
                        later = self._first_unflushed_ms
                        self._first_unflushed_ms = first if later is None else min(first, later)
                raise
            with self._lock:
                self._recovery_point = max(self._recovery_point, target)

    def close(self, clean: bool = True) -> None:
        """Close every file. ``clean`` first syncs everything and writes the clean-shutdown marker."""
        with self._flush_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if clean:
                    self.producer_state.write_snapshot(self.log_end_offset)
                    self._segments[-1].seal()
                    for segment in self._segments:
                        if segment.dirty:
                            segment.flush()
                            segment.dirty = False
                    fd = os.open(
                        self.directory / CLEAN_SHUTDOWN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644
                    )
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                    fsync_dir(self.directory)
            finally:
                for segment in self._segments:
                    segment.close()

    def delete(self) -> None:
        """Close the log and remove its directory."""
        self.close(clean=False)
        shutil.rmtree(self.directory, ignore_errors=True)
