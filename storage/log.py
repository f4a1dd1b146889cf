"""The partition log: an ordered list of segments in one directory, Kafka's on-disk layout.

Directory ``<data_dir>/<topic>-<partition>/``::

    00000000000000000000.log        RecordBatch v2 bytes (see storage.segment)
    00000000000000000000.index      sparse offset index (see storage.index)
    00000000000000000000.timeindex  sparse time index
    00000000000000000000.txnindex   aborted transactions whose marker is in this segment, only once
                                    there is one (storage.txn_index)
    00000000000000004711.log ...    next segment: base offset = the log end offset when it was rolled
    .clean-shutdown                 empty; present only while the log is cleanly closed
    log-start-offset-checkpoint     "0\n<offset>\n": the log start offset when DeleteRecords moved it
                                    past the first segment's base (tmp → fsync → rename)
    cleaner-offset-checkpoint       where the cleaner's dirty section starts (storage.cleaner)
    <name>.deleted                  a segment out of the log, kept for file.delete.delay.ms
    <name>.<n>.deleted              the same when an earlier <name>.deleted still waits
    <name>.cleaned / <name>.swap    a segment being written / committed by the cleaner
    00000000000000004711.snapshot   producer state covering every batch below 4711 (storage.producer_state)
    leader-epoch-checkpoint         leader epochs and their start offsets (storage.leader_epoch)

Segments are contiguous: each segment's base offset is the log end offset at the moment it was
rolled (cleaning rewrites closed segments but keeps every batch, emptied or not, so this stays
true), and the log end offset (the next offset to assign) is the active (last) segment's next
offset. The high watermark is the server's (``storage.hw_checkpoint`` keeps it across restarts).

A leader assigns offsets (``append``); a follower writes the leader's batches as they are
(``append_as_follower``: offsets and leader epochs kept, each batch must start at the log end).
Segments mostly only grow, but a follower's log can shrink from the end: ``truncate_to(offset)``
removes every segment above ``offset`` (retired like retention's, below) and cuts the segment holding
it in place at a batch boundary, which becomes the active segment again; the leader epoch cache, the
producer state and its snapshots, the recovery point and the cleaner's checkpoint follow.
``truncate_fully_and_start_at(offset)`` empties the log and starts it again at ``offset``. Both
sync what they changed before returning.

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
into partitionLeaderEpoch (outside the CRC); the leader epoch cache follows the log start offset
(``LeaderEpochCache.truncate_from_start`` when DeleteRecords or retention moves it).

Transactions: a transactional data batch starts its producer's transaction on this partition when
none is ongoing (first offset = its base offset); ``append_control`` writes a marker (a control
batch, built here: clients cannot send one) that ends it, after the producer-state checks
(``InvalidProducerEpoch``, ``CoordinatorFenced``); an ABORT adds ``AbortedTxn(pid, first offset,
marker offset, last stable offset)`` to the ``.txnindex`` of the segment holding the marker. A
follower does the same bookkeeping for the markers it copies, unchecked, so its index and first
unstable offset equal the leader's. ``first_unstable_offset`` (the oldest ongoing transaction's first
offset) bounds the LSO the server computes; ``aborted_transactions`` is what read_committed Fetch
answers. Opening rebuilds the ongoing transactions and the transaction-index entries of the range
replayed after the producer snapshot (they are cut from the replay start, then re-added from the
markers met), so a crash between a marker write and its index write is repaired; the truncations
cut the indexes and replay the same way.

The log start offset is the first segment's base, or more once DeleteRecords (``advance_log_start``)
moved it; reads below it raise OffsetOutOfRange. Retention (``storage.retention``) and the cleaner
(``storage.cleaner``) take closed segments out with ``replace_segments``: their files are renamed to
``.deleted`` at once and their descriptors stay open ("retired") for ``file.delete.delay.ms``, so a
FileSlice handed out before the swap keeps reading the old, unchanged bytes. ``reap_retired``, called
from the thread that serves reads (the event loop), closes them when the delay is over and returns the
paths to unlink (off the loop). Descriptors come from the process-wide handle cache
(``storage.handles``), which closes idle ones to stay within the descriptor limit; a FileSlice pins
its segment's handle only while a pread or sendfile runs (``FileSlice.use``), so neither the cache
nor a close or reap can close (and the kernel reuse) a descriptor while it is being read.

Threads: ``append`` (or ``append_as_follower``) and ``read`` run on one thread (the event loop);
``flush``, retention and cleaning run on worker threads at the same time; a truncation runs on a
worker thread too, never at the same time as an append to the same log (the fetcher that appends
also truncates), and takes ``maintenance``, ``_flush_lock`` and ``_lock``. ``_lock`` guards the
segment list and counters: the list is replaced, never changed in place, by worker threads (copy on
write), and ``read`` takes a snapshot of it, so a reader always sees one consistent list. The fdatasync calls happen outside the lock so
appends never wait for the disk; ``replace_segments`` and the truncations hold ``_flush_lock`` too, so
no flush is ever syncing a segment they retire or cut. ``maintenance`` serialises retention, cleaning
and truncation of one log.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wire.records import (
    HEADER_SIZE,
    BatchHeader,
    CorruptRecordError,
    build_control_batch,
    control_type,
    iter_batches,
    iter_records,
    set_base_offset,
    set_partition_leader_epoch,
)

from .checkpoint import write_atomic
from .cleaner_checkpoint import read_checkpoint, write_checkpoint
from .errors import LogClosedError, OffsetOutOfRange, UnexpectedAppendOffset
from .handles import FileHandle
from .leader_epoch import LeaderEpochCache
from .producer_state import BatchMeta, ProducerState
from .recovery import CLEAN_SHUTDOWN_FILE, fsync_dir, load_segments
from .segment import MAX_RELATIVE_OFFSET, Segment
from .txn_index import AbortedTxn

_log = logging.getLogger(__name__)

__all__ = [
    "LogConfig",
    "AppendInfo",
    "FileSlice",
    "PartitionLog",
    "StaleSegments",
    "CLEAN_SHUTDOWN_FILE",
    "LOG_START_FILE",
    "fsync_dir",
    "whole_batches_length",
]

_INT_MAX = 2**31 - 1
LOG_START_FILE = "log-start-offset-checkpoint"


def _whole_batches(buf: bytes | bytearray | memoryview) -> list[tuple[int, BatchHeader]]:
    """``(position, header)`` of the whole batches at the start of ``buf``, stopping quietly at a
    partial batch at its end; CorruptRecordError for an impossible length, a magic other than 2 or
    a negative lastOffsetDelta."""
    out = []
    for pos, header in iter_batches(buf):
        if header.last_offset_delta < 0:
            raise CorruptRecordError(f"batch at {pos}: negative lastOffsetDelta")
        out.append((pos, header))
    return out


def whole_batches_length(buf: bytes | bytearray | memoryview) -> int:
    """How many bytes at the start of ``buf`` are whole batches (what ``append_as_follower`` takes of
    a fetched answer, which may end in the middle of a batch). CorruptRecordError as for that."""
    batches = _whole_batches(buf)
    return batches[-1][0] + batches[-1][1].total_size if batches else 0


def _is_marker(header: BatchHeader) -> bool:
    """A transaction marker to apply: a control batch of a producer that still holds its record (the
    cleaner may have emptied it, and then the transaction is gone from the log: nothing to do, as
    Kafka)."""
    return header.is_control and header.producer_id >= 0 and header.record_count > 0


class StaleSegments(Exception):
    """``replace_segments`` found the log's segment list changed (the work is abandoned)."""


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Per-log settings, named after Kafka's topic configs (``segment.bytes`` → ``segment_bytes``).
    ``None`` for a flush interval means never (Kafka's Long.MAX_VALUE default).
    ``segment_jitter_ms`` takes a random amount in [0, jitter) off ``segment_ms`` for each segment's
    time-based roll. ``preallocate`` is accepted and has no effect: segment files grow as written
    (a preallocated zero tail would have to be told apart from data at every recovery).
    Every field is required: Kafka's defaults are the server's to give (``kbroker.topic_config``);
    storage holds only its own bounds (``__post_init__``)."""

    segment_bytes: int
    segment_ms: int
    index_interval_bytes: int
    segment_index_bytes: int
    flush_interval_messages: int | None
    flush_interval_ms: int | None
    segment_jitter_ms: int
    preallocate: bool

    def __post_init__(self) -> None:
        _check("segment_bytes", self.segment_bytes, 14, _INT_MAX)  # Kafka's minimum, and u32 positions
        _check("segment_ms", self.segment_ms, 1, 2**63 - 1)
        _check("index_interval_bytes", self.index_interval_bytes, 0, _INT_MAX)
        _check("segment_index_bytes", self.segment_index_bytes, 12, _INT_MAX)  # room for one entry
        if self.flush_interval_messages is not None:
            _check("flush_interval_messages", self.flush_interval_messages, 1, 2**63 - 1)
        _check("segment_jitter_ms", self.segment_jitter_ms, 0, 2**63 - 1)
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


class FileSlice:
    """``length`` bytes at ``position`` of one segment's ``.log``: whole batches of one segment.

    A slice holds no descriptor of its own: the segment's file handle (``storage.handles``) may be
    closed by the cache while the slice waits to be sent, and ``use()`` pins it (reopening the same
    file if needed) for the duration of one pread or sendfile, so a response of thousands of
    partitions needs no descriptor per slice, and a descriptor in use is never closed (and reused
    for another file) under a sender. ``use()`` raises OSError once the segment is closed (log
    closed or deleted, or the segment reaped ``file.delete.delay.ms`` after retention or the
    cleaner took it out); until then the bytes stay exactly as they were when the slice was made.

    ``fd`` is for callers that want a raw descriptor: it pins the handle for the rest of the slice's
    life (until ``release()`` or garbage collection)."""

    __slots__ = ("position", "length", "segment", "_fd", "_file")

    def __init__(self, segment: Segment, position: int, length: int) -> None:
        self._file: FileHandle | None = None
        self._fd = -1
        self.position = position
        self.length = length
        self.segment = segment

    def __repr__(self) -> str:
        return f"FileSlice({self.segment!r}, position={self.position}, length={self.length})"

    @property
    def fd(self) -> int:
        if self._file is None:
            self._fd = self.segment.file.pin()
            self._file = self.segment.file
        return self._fd

    @contextmanager
    def use(self) -> Iterator[int]:
        """The descriptor of the segment's file, pinned while the block runs."""
        if self._file is not None:
            yield self._fd
            return
        with self.segment.file.use() as fd:
            yield fd

    def release(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.unpin()

    def __del__(self) -> None:
        self.release()


class PartitionLog:
    def __init__(self, directory: Path, config: LogConfig) -> None:
        self.directory = Path(directory)
        self._config = config
        self._roll_jitter: tuple[tuple[int, int], int] = ((-1, 0), 0)  # (segment base, jitter) -> amount
        self._lock = threading.Lock()  # segment list and counters (appending thread vs flusher)
        self._flush_lock = threading.Lock()  # one flush at a time; close waits for it
        self._closed = False
        self._dir_dirty = False
        self._first_unflushed_ms: int | None = None
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segments = load_segments(self.directory, self._config.index_interval_bytes)
        self._bases = [s.base_offset for s in self._segments]
        self._retired: list[tuple[int, Segment]] = []  # (close after, in ms; segment) out of the log
        self._reaps = 0  # reap_retired passes that closed descriptors (read_bytes retries across one)
        self.maintenance = threading.Lock()  # retention and cleaning of this log, one at a time
        self._start_file_lock = threading.Lock()
        self._log_start = self._load_log_start()
        self._recovery_point = self.log_end_offset  # offsets below were synced (or recovered)
        self.leader_epochs = LeaderEpochCache(self.directory, self.log_start_offset)
        # Entries above the log end belong to batches a truncation (or crash recovery) cut off. One
        # starting exactly at the log end is kept: a leader assigns its epoch there before appending.
        self.leader_epochs.truncate_from_end(self.log_end_offset + 1)
        self.producer_state = ProducerState(self.directory)
        self._load_producer_state()

    def _load_producer_state(self) -> None:
        """Newest snapshot at or below the log end offset, then the batch headers after it; the
        transaction indexes lose their entries from the replay start and get them back from the
        markers replayed."""
        start = self.producer_state.load(self.log_end_offset)
        start = self.log_start_offset if start is None else max(start, self.log_start_offset)
        end = self.log_end_offset
        segments = self._segments[max(bisect_right(self._bases, start) - 1, 0) :]
        for segment in segments:
            segment.txn_index.truncate_to(start)
        if start < end:
            for segment in segments:
                found = segment.find(start)
                if found is None:
                    continue
                for pos, header in segment.iter_headers(found[0], segment.size):
                    if not header.is_control:
                        self.producer_state.update(header)
                    elif _is_marker(header):
                        try:
                            marker = control_type(segment.pread(pos, header.total_size))
                        except CorruptRecordError as exc:
                            _log.warning("%s: unreadable marker at %d (%s); skipped", self.directory.name,
                                         header.base_offset, exc)
                            continue
                        self._end_txn(segment, header, marker.commit, marker.coordinator_epoch)
        for segment in segments:
            if segment.txn_index.dirty:
                segment.dirty = True

    def _end_txn(self, segment: Segment, header: BatchHeader, commit: bool, coordinator_epoch: int) -> None:
        """Producer-state and transaction-index bookkeeping of a marker written in ``segment``."""
        done = self.producer_state.end_txn(header.producer_id, header.producer_epoch, commit,
                                           coordinator_epoch, header.base_offset, header.max_timestamp)
        if done is not None and done.aborted:
            entry = AbortedTxn(done.producer_id, done.first_offset, done.last_offset, done.last_stable_offset)
            if segment.txn_index.append(entry):
                self._dir_dirty = True
            segment.dirty = True

    # -- properties -------------------------------------------------------------------------------

    @property
    def config(self) -> LogConfig:
        return self._config

    def reconfigure(self, config: LogConfig) -> None:
        """New settings apply from the next append (existing segments are not rewritten)."""
        self._config = config

    @property
    def log_start_offset(self) -> int:
        return self._log_start

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
    def first_unstable_offset(self) -> int | None:
        """First offset of the oldest ongoing transaction (never below the log start offset), None
        when no transaction is ongoing. The LSO is min(this, high watermark): the server's."""
        first = self.producer_state.first_unstable_offset()
        return None if first is None else max(first, self._log_start)

    def aborted_transactions(self, start_offset: int, upper_offset: int) -> list[AbortedTxn]:
        """The aborted transactions overlapping [start_offset, upper_offset): every index entry, in
        the segments from the one holding ``start_offset`` on, with last_offset >= start_offset and
        first_offset < upper_offset (Kafka's collectAbortedTxns, which stops after a segment with an
        entry whose last stable offset >= ``upper_offset``: no later abort can overlap the range)."""
        if self._closed:
            raise LogClosedError(str(self.directory))
        with self._lock:
            segments, bases = self._segments, self._bases
        out: list[AbortedTxn] = []
        for segment in segments[max(bisect_right(bases, start_offset) - 1, 0) :]:
            index = segment.txn_index
            if not index.exists:
                continue
            out += index.collect(start_offset, upper_offset)
            if index.completes(upper_offset):
                break
        return out

    @property
    def closed(self) -> bool:
        return self._closed

    # -- append -----------------------------------------------------------------------------------

    def append(self, buf: bytearray | memoryview, now_ms: int,
               batches: list[tuple[int, BatchHeader]] | None = None) -> AppendInfo:
        """Assign offsets to the validated v2 batches in ``buf`` (rewriting their baseOffset and
        partitionLeaderEpoch in place) and write them to the active segment, rolling it first if
        needed. ``batches``: the caller's already-parsed ``(position, header)`` of every batch in
        ``buf`` (the produce path parses each header once); without it the headers are read here.
        Batches with a producer id are checked against the producer state first: a retry of
        one of the producer's last five batches is not written (``AppendInfo.duplicate``), and
        ``OutOfOrderSequence`` / ``InvalidProducerEpoch`` / ``InvalidTxnState`` are raised without
        writing anything. A transactional batch starts its producer's transaction when none is
        ongoing."""
        if self._closed:
            raise LogClosedError(str(self.directory))
        n = len(buf)
        if n == 0:
            raise ValueError("nothing to append")
        if batches is None:
            batches = self._parse(buf)
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
        self._write(buf, batches, next_offset - 1, now_ms)
        if idempotent:
            for _, header in batches:
                self.producer_state.update(header)
        return AppendInfo(base, next_offset - 1, -1, self.log_start_offset)

    def append_control(self, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int,
                       now_ms: int) -> AppendInfo:
        """Write a COMMIT (``commit``) or ABORT marker for ``producer_id`` (the leader's side of
        WriteTxnMarkers), stamped with the partition's leader epoch and ``now_ms``. It ends the
        producer's ongoing transaction; an ABORT adds the transaction to the ``.txnindex`` of the
        segment holding the marker. A producer with no ongoing transaction still gets the marker
        (nothing is completed). Raises ``InvalidProducerEpoch`` (epoch older than the producer's) or
        ``CoordinatorFenced`` (coordinator epoch older than its last marker's) before writing."""
        if self._closed:
            raise LogClosedError(str(self.directory))
        self.producer_state.check_marker(producer_id, producer_epoch, coordinator_epoch)
        buf = bytearray(build_control_batch(producer_id, producer_epoch, commit, coordinator_epoch, now_ms,
                                            self.leader_epochs.latest_epoch))
        offset = self._segments[-1].next_offset
        set_base_offset(buf, 0, offset)
        header = BatchHeader(buf, 0)
        self._write(buf, [(0, header)], offset, now_ms)
        self._end_txn(self._segments[-1], header, commit, coordinator_epoch)
        return AppendInfo(offset, offset, -1, self.log_start_offset)

    def append_as_follower(self, buf: bytes | bytearray | memoryview, now_ms: int) -> AppendInfo:
        """Write record batches fetched from the leader as they are: their baseOffset and
        partitionLeaderEpoch are the leader's and are not touched (``buf`` is not modified).

        Only the whole batches at the start of ``buf`` are written: a fetch answer may end in the
        middle of a batch (``whole_batches_length`` tells how many bytes that is). With none, nothing
        is written and the answer is ``base_offset`` = the log end offset, ``last_offset`` = one
        below it. Checks: every batch has a sane length, magic 2 and lastOffsetDelta >= 0
        (CorruptRecordError), and the batches continue the log exactly: the first starts at the log
        end offset, each next one where the previous ended (``UnexpectedAppendOffset``; nothing is
        written then). CRCs are the fetcher's to check.

        Each batch whose partitionLeaderEpoch is newer than the cache's latest epoch starts that
        epoch at its base offset (``LeaderEpochCache.assign``, before the write, as Kafka does).
        Batches with a producer id are recorded in the producer state without any sequence check
        (the leader made them); markers (control batches) end transactions as in ``append_control``,
        unchecked, so the transaction index and first unstable offset follow the leader's. Rolling, indexes and flush accounting are those of ``append``.
        Runs where ``append`` runs, never at the same time as it or a truncation of this log."""
        if self._closed:
            raise LogClosedError(str(self.directory))
        batches = _whole_batches(buf)
        end = self._segments[-1].next_offset
        if not batches:
            return AppendInfo(end, end - 1, -1, self.log_start_offset)
        expected = end
        for _, header in batches:
            if header.base_offset != expected:
                raise UnexpectedAppendOffset(expected, header.base_offset, header.last_offset)
            expected = header.next_offset
        length = batches[-1][0] + batches[-1][1].total_size
        data = buf if length == len(buf) else memoryview(buf)[:length]
        # Markers are read before anything is written: a damaged one fails the whole append.
        markers = {pos: control_type(data, pos) for pos, h in batches if _is_marker(h)}
        for _, header in batches:
            if header.partition_leader_epoch > self.leader_epochs.latest_epoch:
                self.leader_epochs.assign(header.partition_leader_epoch, header.base_offset)
        self._write(data, batches, expected - 1, now_ms)
        segment = self._segments[-1]
        for pos, header in batches:
            marker = markers.get(pos)
            if marker is not None:
                self._end_txn(segment, header, marker.commit, marker.coordinator_epoch)
            elif header.producer_id >= 0 and not header.is_control:
                self.producer_state.update(header)
        return AppendInfo(end, expected - 1, -1, self.log_start_offset)

    def _write(self, buf: bytes | bytearray | memoryview, batches: list[tuple[int, BatchHeader]],
               last_offset: int, now_ms: int) -> None:
        """Write ``buf`` (offsets final, ``last_offset`` its last) to the active segment, rolling it
        first if needed (``append`` and ``append_as_follower``)."""
        with self._lock:
            segment = self._segments[-1]
            if self._should_roll(segment, len(buf), last_offset, now_ms):
                segment = self._roll()
            segment.append(buf, batches, now_ms, self._config.index_interval_bytes)
            if self._first_unflushed_ms is None:
                self._first_unflushed_ms = now_ms

    @staticmethod
    def _parse(buf: bytearray | memoryview) -> list[tuple[int, BatchHeader]]:
        batches: list[tuple[int, BatchHeader]] = []
        n = len(buf)
        pos = 0
        while pos < n:
            header = BatchHeader(buf, pos)
            size = header.total_size
            if size < HEADER_SIZE or size > n - pos or header.last_offset_delta < 0:
                raise CorruptRecordError(f"batch at {pos}: bad length or lastOffsetDelta")
            batches.append((pos, header))
            pos += size
        return batches

    def _should_roll(self, segment: Segment, size: int, last_offset: int, now_ms: int) -> bool:
        if segment.size == 0:
            return False
        config = self._config
        return (
            segment.size + size > config.segment_bytes
            or (
                segment.rolling_base_ms is not None
                and now_ms - segment.rolling_base_ms > config.segment_ms - self._jitter_for(segment)
            )
            or segment.is_full(config.segment_index_bytes)
            or last_offset - segment.base_offset > MAX_RELATIVE_OFFSET
        )

    def _jitter_for(self, segment: Segment) -> int:
        """segment.jitter.ms: a random amount in [0, jitter) taken off segment.ms, chosen once per segment."""
        jitter = min(self._config.segment_jitter_ms, self._config.segment_ms)
        if jitter <= 0:
            return 0
        key = (segment.base_offset, jitter)
        if self._roll_jitter[0] != key:
            self._roll_jitter = (key, random.randrange(jitter))
        return self._roll_jitter[1]

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
        with self._lock:  # one consistent snapshot while a worker may replace segments
            segments, bases, start = self._segments, self._bases, self._log_start
        end = segments[-1].next_offset
        if offset < start or offset > end:
            raise OffsetOutOfRange(offset, start, end)
        if offset == end:
            return None
        i = bisect_right(bases, offset) - 1
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
        return FileSlice(segment, pos, length)

    def read_bytes(self, offset: int, max_bytes: int, max_offset: int | None = None) -> bytes:
        """``read`` copied into memory with one pread (b"" when there is nothing to read). Safe on any
        thread: if ``reap_retired`` closed descriptors while this read was under way (a number may
        then belong to another file), whatever was read or raised is discarded and the read redone."""
        while True:
            reaps = self._reaps
            try:
                piece = self.read(offset, max_bytes, max_offset)
                if piece is None:
                    data = b""
                else:
                    with piece.use() as fd:
                        data = os.pread(fd, piece.length, piece.position)
            except Exception:  # a closed or reused descriptor fails in many ways
                if self._reaps == reaps:
                    raise
                continue
            if self._reaps == reaps:  # nothing was closed before the pread finished
                return data

    # -- timestamps -------------------------------------------------------------------------------

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after the log start offset with timestamp
        >= ``timestamp``, or None."""
        start = self._log_start
        segments = self._segments
        for i, segment in enumerate(segments):
            if segment.max_timestamp < timestamp:
                continue
            if i + 1 < len(segments) and segments[i + 1].base_offset <= start:
                continue
            found = segment.find_timestamp(timestamp)
            if found is None:
                continue
            for pos, header in segment.iter_headers(found[0], segment.size):
                if header.max_timestamp < timestamp or header.last_offset < start:
                    continue
                for record in iter_records(segment.pread(pos, header.total_size)):
                    if record.timestamp >= timestamp and record.offset >= start:
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

    # -- log start offset, retention and cleaning --------------------------------------------------

    def _load_log_start(self) -> int:
        first, end = self._segments[0].base_offset, self._segments[-1].next_offset
        try:
            lines = (self.directory / LOG_START_FILE).read_text("ascii").split()
            saved = int(lines[1]) if len(lines) == 2 and lines[0] == "0" else first
        except (OSError, ValueError, UnicodeDecodeError):
            saved = first
        return min(max(first, saved), end)

    def advance_log_start(self, offset: int) -> int:
        """Move the log start offset up to ``offset`` (DeleteRecords), persisting it before returning;
        the new low watermark is returned. Segments wholly below it go at the next retention pass.
        OffsetOutOfRange if ``offset`` is negative or past the log end. May run on a worker thread."""
        with self._lock:
            if self._closed:
                raise LogClosedError(str(self.directory))
            start, end = self._log_start, self._segments[-1].next_offset
            if offset < 0 or offset > end:
                raise OffsetOutOfRange(offset, start, end)
            if offset <= start:
                return start
            self._log_start = offset
        with self._start_file_lock:
            value = self._log_start
            write_atomic(self.directory / LOG_START_FILE, b"0\n%d\n" % value)
        self._epochs_from_start()
        return offset

    def _epochs_from_start(self) -> None:
        """The leader epoch cache follows the log start offset (Kafka's truncateFromStart). A failed
        write only leaves the older, still consistent, file."""
        try:
            self.leader_epochs.truncate_from_start(self._log_start)
        except OSError as exc:
            _log.warning("%s: could not update the leader epoch checkpoint (%s)", self.directory.name, exc)

    def replace_segments(
        self,
        old: Sequence[Segment],
        install: Callable[[], Segment] | None,
        now_ms: int,
        delete_delay_ms: int,
        hook: Callable[[str], None] | None = None,
    ) -> Segment | None:
        """Take the consecutive closed segments ``old`` out of the log, putting the segment that
        ``install`` returns in their place (cleaning) or nothing (retention: ``old`` must then be a
        prefix of the log). ``old`` files are renamed ``.deleted`` and retired for
        ``delete_delay_ms``. The caller syncs the directory afterwards.
        StaleSegments if ``old`` is no longer where it was, LogClosedError if the log was closed."""
        for segment in old:
            segment.preload_indexes()  # before the lock: renaming must not strand a lazy index read
        with self._flush_lock, self._lock:
            if self._closed:
                raise LogClosedError(str(self.directory))
            segments = self._segments
            i = next((j for j, s in enumerate(segments) if s is old[0]), -1)
            k = i + len(old)
            if (
                i < 0
                or k >= len(segments)  # the active segment is never replaced
                or any(a is not b for a, b in zip(segments[i:k], old, strict=True))
                or (install is None and i != 0)
            ):
                raise StaleSegments(f"{self.directory}: segments changed under a retention or cleaning")
            for segment in old:
                segment.rename_to_deleted()
                if hook is not None:
                    hook("old_deleted")
            new = install() if install is not None else None
            self._segments = segments[:i] + ([new] if new is not None else []) + segments[k:]
            self._bases = [s.base_offset for s in self._segments]
            start = self._log_start
            self._log_start = max(start, self._segments[0].base_offset)
            self._retired.extend((now_ms + delete_delay_ms, s) for s in old)
        if self._log_start != start:
            self._epochs_from_start()
        return new

    def reap_retired(self, now_ms: int, force: bool = False) -> list[Path]:
        """Close the retired segments whose delay is over (all with ``force``) and return their
        ``.deleted`` paths for the caller to unlink. Call it on the thread that serves reads."""
        with self._lock:
            due = [s for t, s in self._retired if force or t <= now_ms]
            if not due:
                return []
            self._retired = [(t, s) for t, s in self._retired if not (force or t <= now_ms)]
            self._reaps += 1  # before any close: see read_bytes
        paths = []
        for segment in due:
            paths += [segment.log_path, segment.index.path, segment.time_index.path]
            if segment.txn_index.exists:
                paths.append(segment.txn_index.path)
            segment.close()
        return paths

    @property
    def retired_count(self) -> int:
        return len(self._retired)

    # -- truncation (a follower's) ----------------------------------------------------------------

    def truncate_to(self, offset: int, now_ms: int = 0, delete_delay_ms: int = 0) -> int:
        """Remove every offset at and after ``offset`` and return the new log end offset (Kafka's
        truncateTo, which a follower runs before fetching from a new leader).

        - ``offset`` >= the log end offset: no record goes; leader epochs starting at the log end
          (an empty epoch this replica began as leader) are dropped.
        - ``offset`` below the log start offset, or inside a batch that starts below it:
          ``truncate_fully_and_start_at(offset)``.
        - Otherwise every segment whose base offset is above ``offset`` leaves the log the way
          retention takes segments out (renamed ``.deleted``, descriptors kept open for
          ``delete_delay_ms`` after ``now_ms``, then ``reap_retired``; the server passes
          ``file.delete.delay.ms``), so a FileSlice on them keeps reading the old bytes. The segment
          holding ``offset`` becomes the active segment and is cut in place (``Segment.truncate_to``)
          at the start of the batch that contains ``offset``: a follower always truncates at a batch
          boundary (an end offset its leader answered), and if ``offset`` falls inside a batch the
          whole batch goes and the returned log end offset is that batch's base offset. A FileSlice
          already handed out over the cut part of that segment reads short: the cut part lies above
          the high watermark except after an unclean leader election, so consumer reads (bounded
          by it) never cover it, and the server treats a short read as a failed send.
        - The leader epoch cache forgets epochs starting at or after the new end
          (``truncate_from_end``), producer snapshots above it are deleted and the producer state
          (ongoing transactions included) is rebuilt from the newest remaining snapshot plus a replay
          of the headers after it, the cut segment's transaction index loses the aborts whose marker
          is gone and the indexes of the replayed range are rebuilt from its markers, the
          recovery point becomes min(recovery point, new end), and the cleaner's checkpoint
          (``storage.cleaner_checkpoint``) is lowered to the new end if it was above.

        Durable on return: the cut segment and its indexes are fdatasync'ed and the directory
        synced, so a crash cannot bring the removed batches back; each checkpoint is replaced
        atomically, and a crash between steps is repaired at the next open (snapshots and epochs
        above the log end offset are dropped, ``.deleted`` files removed).

        Threads: takes ``maintenance`` (waiting for a retention or cleaner pass of this log to end,
        so call it off the event loop), then ``_flush_lock`` and ``_lock`` for the change itself;
        flushes and reads may run meanwhile. Never at the same time as ``append`` /
        ``append_as_follower`` of this log: the caller (the replica fetcher) serialises them."""
        if offset < 0:
            raise ValueError(f"cannot truncate to a negative offset {offset}")
        with self.maintenance:
            if self._closed:
                raise LogClosedError(str(self.directory))
            end = self.log_end_offset
            if offset >= end:
                # Nothing to remove, but an epoch this replica started as leader without writing
                # anything in it (an entry at the log end) conflicts with the new leader's: it goes,
                # as Kafka's truncateTo drops it, or the follower would name it as its last fetched
                # epoch and be told it diverges at every fetch.
                self.leader_epochs.truncate_from_end(end)
                return end
            if offset < self._log_start:
                self._truncate_fully(offset, now_ms, delete_delay_ms)
                return offset
            segments = self._segments
            i = bisect_right(self._bases, offset) - 1
            segment = segments[i]
            found = segment.find(offset)
            if found is not None and found[1].base_offset < self._log_start:
                self._truncate_fully(offset, now_ms, delete_delay_ms)
                return offset
            # Safe whatever happens next: a lower cleaner checkpoint only means more cleaning, and
            # the producer state can always be rebuilt from an older snapshot.
            self._lower_cleaner_checkpoint(offset)
            self.producer_state.delete_snapshots_above(offset)
            doomed = segments[i + 1 :]
            for old in doomed:
                old.preload_indexes()  # before the lock, as in replace_segments
            with self._flush_lock:
                with self._lock:
                    self._check_unchanged(segments)
                    for old in doomed:
                        old.rename_to_deleted()
                    new_end = segment.truncate_to(offset, self._config.index_interval_bytes)
                    self._segments = segments[: i + 1]
                    self._bases = self._bases[: i + 1]
                    self._retired.extend((now_ms + delete_delay_ms, s) for s in doomed)
                    self._recovery_point = min(self._recovery_point, new_end)
                segment.flush()
                if doomed:
                    fsync_dir(self.directory)
            self.leader_epochs.truncate_from_end(new_end)
            self._load_producer_state()
            return new_end

    def truncate_fully_and_start_at(self, offset: int, now_ms: int = 0, delete_delay_ms: int = 0) -> None:
        """Remove every segment and start the log again, empty, at ``offset`` (log start = log end =
        ``offset``; Kafka's truncateFullyAndStartAt: a follower whose leader's log starts above its
        end, or a truncation below the log start). The old segments are retired as in
        ``truncate_to``; the leader epoch cache is emptied (``clear``), the producer state and its
        snapshots are dropped, ``log-start-offset-checkpoint`` records ``offset``. Threads and
        durability as for ``truncate_to``."""
        if offset < 0:
            raise ValueError(f"cannot start a log at a negative offset {offset}")
        with self.maintenance:
            if self._closed:
                raise LogClosedError(str(self.directory))
            self._truncate_fully(offset, now_ms, delete_delay_ms)

    def _truncate_fully(self, offset: int, now_ms: int, delete_delay_ms: int) -> None:
        """``truncate_fully_and_start_at`` with ``maintenance`` held."""
        self._lower_cleaner_checkpoint(offset)
        self.producer_state.delete_snapshots()
        segments = self._segments
        for old in segments:
            old.preload_indexes()
        with self._flush_lock:
            with self._lock:
                self._check_unchanged(segments)
                for old in segments:
                    old.rename_to_deleted()
                new = Segment(self.directory, offset, create=True)
                self._segments = [new]
                self._bases = [offset]
                self._log_start = offset
                self._recovery_point = offset
                self._first_unflushed_ms = None
                self._retired.extend((now_ms + delete_delay_ms, s) for s in segments)
            fsync_dir(self.directory)
        with self._start_file_lock:
            write_atomic(self.directory / LOG_START_FILE, b"0\n%d\n" % offset)
        self.leader_epochs.clear()
        self.producer_state.clear()

    def _check_unchanged(self, segments: list[Segment]) -> None:
        if self._closed:
            raise LogClosedError(str(self.directory))
        if self._segments is not segments:
            raise RuntimeError(f"{self.directory}: appended to while being truncated")

    def _lower_cleaner_checkpoint(self, offset: int) -> None:
        """The cleaner's first dirty offset must not stay above a truncation point: batches written
        there later would be taken as already clean (Kafka's maybeTruncateCheckpoint)."""
        first_dirty, horizon_ms = read_checkpoint(self.directory)
        if first_dirty > offset:
            write_checkpoint(self.directory, offset, horizon_ms)

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
                    self._close_clean()
            except OSError as exc:
                # A full disk (or any write failure) at shutdown: the marker is not written, so the
                # next start recovers this log from its files; nothing acknowledged depends on it.
                _log.warning("closing %s: could not write its checkpoints (%s); it will be recovered "
                             "at the next start", self.directory.name, exc)
            finally:
                for segment in self._segments:
                    segment.close()
                for _, segment in self._retired:
                    segment.close()
                self._retired.clear()

    def _close_clean(self) -> None:
        self.producer_state.write_snapshot(self.log_end_offset)
        self._segments[-1].seal()
        for segment in self._segments:
            if segment.dirty:
                segment.flush()
                segment.dirty = False
        write_atomic(self.directory / CLEAN_SHUTDOWN_FILE, b"")

    def delete(self) -> None:
        """Close the log and remove its directory."""
        self.close(clean=False)
        shutil.rmtree(self.directory, ignore_errors=True)
