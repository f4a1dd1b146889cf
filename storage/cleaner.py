"""The log cleaner: compaction of a partition log's closed segments, keeping the latest record of
every key. Pure storage work (files and the GIL-free parts of zlib/lz4/zstd/crc32c); the server runs
``clean`` on a worker thread.

Sections of a log, by offset::

    [log start ............ first dirty ........... first uncleanable ......... log end)
     clean: cleaned before   dirty: written since    not yet: the active segment,
                                                     and segments younger than min.compaction.lag.ms

One pass (``clean``):

1. ``inspect``: dirty ratio = dirty bytes / (clean + dirty bytes), over closed segments. The log needs
   cleaning when the ratio is at least ``min.cleanable.dirty.ratio``; or when a dirty segment's first
   batch is older than ``max.compaction.lag.ms``; or when a tombstone kept by an earlier pass has
   reached its delete horizon (so that it actually goes). Only closed segments are considered.
2. Offset map: key → offset of its latest record, over the dirty section, whole segments at a time,
   until the map holds ``dedupe_buffer_size // 24`` keys (Kafka's 24 bytes per entry; the rest of the
   dirty section waits for the next pass). The end of the mapped range is the new first dirty offset.
3. Every closed segment below that offset is rewritten, oldest first, into new segments: the next
   input segment joins the current output while the output so far plus the whole input fits
   ``segment.bytes`` (and the indexes and u32 relative offsets fit), so small cleaned segments merge
   even in the first pass. Per batch:

   - control and transactional batches are copied as they are;
   - each record is kept unless its key is null, or the map holds a later offset for its key, or it
     is a tombstone (null value) in a batch whose delete horizon has passed;
   - delete horizon (Kafka's KIP-534): the first pass that keeps a tombstone of a batch rewrites the
     batch with attribute bit 6 set and its baseTimestamp = that pass's time + ``delete.retention.ms``
     (each record's timestamp delta re-encoded against it, so record timestamps do not change). A
     tombstone therefore stays ``delete.retention.ms`` after it was first cleaned, whatever its own
     timestamp, and a later change of ``delete.retention.ms`` applies to batches cleaned afterwards;
   - a batch that keeps every record is copied byte for byte (no recompression);
   - a batch that keeps some is rebuilt from the kept records' bytes, unchanged (their offset and
     timestamp deltas still hold because baseOffset, baseTimestamp, lastOffsetDelta, the producer
     fields and the attributes are kept), recompressed with the batch's codec, maxTimestamp
     recomputed (CreateTime) and a new CRC;
   - a batch that keeps nothing stays as an empty batch: a 61-byte header with recordCount 0,
     baseOffset, lastOffsetDelta and the producer fields kept, codec none, both timestamps = its
     maxTimestamp. Consumers step over it (Java, librdkafka and kafka-python move on to
     lastOffset + 1); Spark needs exactly this to find a batch for every offset below the high
     watermark. A run of such empty batches that are alike (contiguous offsets, same producer id,
     epoch, leader epoch and attributes, and for an idempotent producer sequences that continue) is
     written as one empty batch spanning the run: consumers and producer state read it the same way,
     a long superseded stretch costs 61 bytes instead of 61 per batch, and a fetch into it still
     reaches later records (librdkafka reports MSG_SIZE_TOO_LARGE after about ten fetch responses
     in a row that hold no record, which a log of many empty batches would otherwise cause).

   So offsets are never renumbered and never reused, and every offset from the log start to the end
   stays covered by a batch.
4. ``cleaner-offset-checkpoint`` in the partition directory ("0\\n<first dirty>\\n<ms>\\n", the last line
   the earliest delete horizon of a batch holding a kept tombstone, -1 if none, so that ``inspect``
   knows when a pass must run to drop it; tmp → fsync → rename) records the pass.
   A crash before it only means the next pass redoes work; cleaning is idempotent.

Swapping a group, each step safe against a crash (``storage.recovery`` finishes or discards):

1. write ``<base>.log.cleaned`` (+ ``.index.cleaned``, ``.timeindex.cleaned``), fdatasync them;
2. rename the indexes ``.cleaned`` → ``.swap``, then the log ``.cleaned`` → ``.swap`` and fsync the
   directory: the commit point (before it the group reads as before, after it as cleaned);
3. under the log's locks: rename each replaced segment's files to ``.deleted``, the ``.swap`` indexes
   and log to their final names, open the new segment and put it in the list in place of the group;
4. fsync the directory. Retired segments keep their descriptors open for ``file.delete.delay.ms``
   (``PartitionLog.replace_segments``), so reads already handed out stay valid.

``hook(step)`` is called after each step (``STEPS``) so tests can stop a pass anywhere. A pass is
abandoned, its ``.cleaned`` files removed, if ``should_stop()`` turns true or the log closes.
Appends go on meanwhile (they only touch the active segment); ``maintenance`` keeps retention out.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import crc32c

from wire.compression import compress, decompress
from wire.records import (
    DELETE_HORIZON_BIT,
    HEADER_SIZE,
    BatchHeader,
    CorruptRecordError,
    crc_ok,
    iter_batches,
    write_varint,
)

from .errors import LogClosedError
from .log import LogConfig, PartitionLog, StaleSegments
from .recovery import fsync_dir
from .segment import MAX_RELATIVE_OFFSET, Segment, file_name

__all__ = [
    "CHECKPOINT_FILE",
    "STEPS",
    "CleanerConfig",
    "Cleanable",
    "CleanerStats",
    "CleanerAborted",
    "inspect",
    "clean",
    "read_checkpoint",
]

CHECKPOINT_FILE = "cleaner-offset-checkpoint"
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
_NO_LIMIT = 2**63 - 1
_BYTES_PER_MAP_ENTRY = 24  # Kafka: a 16-byte key hash and an 8-byte offset
_HEADER = struct.Struct(">qiibIhiqqqhii")
_CRC = struct.Struct(">I")
_CODEC_MASK = 0x07
_LOG_APPEND_TIME = 0x08
_EMPTY_BATCH_LENGTH = HEADER_SIZE - 12


class CleanerAborted(Exception):
    """The pass was stopped (``should_stop``) or its log closed; nothing was swapped after that."""


@dataclass(frozen=True, slots=True)
class CleanerConfig:
    """Settings of one pass, with Kafka's names: topic configs, then broker ``log.cleaner.*``."""

    delete_retention_ms: int = 86_400_000
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = _NO_LIMIT
    min_cleanable_ratio: float = 0.5
    file_delete_delay_ms: int = 60_000
    dedupe_buffer_size: int = 134_217_728
    io_buffer_size: int = 524_288
    max_io_bytes_per_second: float = float("inf")


@dataclass(frozen=True, slots=True)
class Cleanable:
    """What ``inspect`` found: the sections and whether a pass is due."""

    first_dirty: int
    first_uncleanable: int
    clean_bytes: int
    dirty_bytes: int
    max_lag_due: bool = False
    tombstones_due: bool = False

    @property
    def dirty_ratio(self) -> float:
        total = self.clean_bytes + self.dirty_bytes
        return self.dirty_bytes / total if total else 0.0

    def due(self, min_ratio: float) -> bool:
        if self.dirty_bytes > 0 and (self.dirty_ratio >= min_ratio or self.max_lag_due):
            return True
        return self.tombstones_due


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
    earliest_horizon_ms: int = -1  # earliest delete horizon of a batch still holding a tombstone
    seconds: float = 0.0
    groups: list[tuple[int, int]] = field(default_factory=list)  # (base offset, segments merged)


# -- checkpoint -------------------------------------------------------------------------------------


def read_checkpoint(directory: Path) -> tuple[int, int]:
    """(first dirty offset, earliest delete horizon of a kept tombstone or -1); (0, -1) if absent."""
    try:
        parts = (directory / CHECKPOINT_FILE).read_text("ascii").split()
        if len(parts) == 3 and parts[0] == "0":
            return int(parts[1]), int(parts[2])
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    return 0, -1


def _write_checkpoint(directory: Path, first_dirty: int, earliest_horizon_ms: int) -> None:
    path = directory / CHECKPOINT_FILE
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"0\n%d\n%d\n" % (first_dirty, earliest_horizon_ms))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(directory)


# -- inspection ---------------------------------------------------------------------------------------


def _next_bases(segments: tuple[Segment, ...]) -> list[int]:
    return [s.base_offset for s in segments[1:]] + [segments[-1].next_offset]


def inspect(log: PartitionLog, config: CleanerConfig, now_ms: int) -> Cleanable:
    segments = log.segments
    nexts = _next_bases(segments)
    saved, horizon_ms = read_checkpoint(log.directory)
    first_dirty = max(saved, segments[0].base_offset)
    first_uncleanable = segments[-1].base_offset
    dirty_idx = [i for i in range(len(segments) - 1) if nexts[i] > first_dirty]
    if config.min_compaction_lag_ms > 0:
        for i in dirty_idx:
            if segments[i].max_timestamp > now_ms - config.min_compaction_lag_ms:
                first_uncleanable = segments[i].base_offset
                break
    clean_bytes = sum(s.size for i, s in enumerate(segments[:-1]) if nexts[i] <= first_dirty)
    dirty = [segments[i] for i in dirty_idx if segments[i].base_offset < first_uncleanable]
    max_lag_due = False
    if config.max_compaction_lag_ms < _NO_LIMIT and dirty:
        horizon = now_ms - config.max_compaction_lag_ms
        for segment in dirty:
            if segment.size >= HEADER_SIZE:
                first = BatchHeader(segment.pread(0, HEADER_SIZE)).max_timestamp
                if 0 <= first < horizon:
                    max_lag_due = True
                    break
    return Cleanable(
        first_dirty=first_dirty,
        first_uncleanable=first_uncleanable,
        clean_bytes=clean_bytes,
        dirty_bytes=sum(s.size for s in dirty),
        max_lag_due=max_lag_due,
        tombstones_due=0 <= horizon_ms <= now_ms,
    )


# -- reading ------------------------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    value, shift = b & 0x7F, 7
    while True:
        pos += 1
        b = data[pos]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return (value >> 1) ^ -(value & 1), pos + 1
        shift += 7
        if shift > 63:
            raise CorruptRecordError("varint longer than 10 bytes")


def _records_of(buf: bytes, pos: int, header: BatchHeader) -> bytes:
    body = buf[pos + HEADER_SIZE : pos + header.total_size]
    codec = header.attributes & _CODEC_MASK
    if not codec:
        return body
    try:
        return bytes(decompress(codec, body))
    except ValueError as exc:
        raise CorruptRecordError(f"batch at offset {header.base_offset}: {exc}") from exc


def _batches(segment: Segment, chunk: int) -> Iterator[tuple[bytes, int, BatchHeader]]:
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
            if header.batch_length < _EMPTY_BATCH_LENGTH or header.total_size > size - pos:
                raise CorruptRecordError(f"{segment.log_path}: bad batch at position {pos}")
            buf = segment.pread(pos, header.total_size)
            yield buf, 0, header
            used = header.total_size
        pos += used


def _skipped(header: BatchHeader) -> bool:
    """Batches whose records the offset map ignores."""
    return header.is_control or header.is_transactional or header.record_count <= 0


def _map_batch(data: bytes, header: BatchHeader, offset_map: dict[bytes, int]) -> None:
    # The varints are decoded inline for their one-byte form (a function call per field doubles the
    # cost of this loop, which runs once per record of the dirty section).
    base, p = header.base_offset, 0
    varint = _varint
    for _ in range(header.record_count):
        b = data[p]
        if b < 0x80:
            length, q = (b >> 1) ^ -(b & 1), p + 1
        elif data[p + 1] < 0x80:  # records of 64 B to 8 KiB (a length is never negative)
            length, q = ((b & 0x7F) | (data[p + 1] << 7)) >> 1, p + 2
        else:
            length, q = varint(data, p)
        p = q + length
        q += 1  # attributes
        if data[q] < 0x80:  # timestampDelta
            q += 1
        else:
            q = varint(data, q)[1]
        b = data[q]
        if b < 0x80:
            delta, q = (b >> 1) ^ -(b & 1), q + 1
        else:
            delta, q = varint(data, q)
        b = data[q]
        if b < 0x80:
            key_len, q = (b >> 1) ^ -(b & 1), q + 1
        else:
            key_len, q = varint(data, q)
        if key_len >= 0:
            offset_map[data[q : q + key_len]] = base + delta
    if p != len(data):
        raise CorruptRecordError(f"batch at offset {base}: records do not fill the batch")


# -- the pass -----------------------------------------------------------------------------------------


class _Pass:
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

    def build_map(self, dirty: list[Segment], nexts: dict[int, int], end: int) -> int:
        """Map the dirty segments' keys; returns the offset where the mapped range ends."""
        capacity = max(1, self.config.dedupe_buffer_size // _BYTES_PER_MAP_ENTRY)
        chunk = self.config.io_buffer_size
        for segment in dirty:
            if self.map and len(self.map) >= capacity:
                return segment.base_offset
            for buf, pos, header in _batches(segment, chunk):
                if not _skipped(header):
                    _map_batch(_records_of(buf, pos, header), header, self.map)
                if pos == 0:
                    self.check(len(buf))
            end = nexts[id(segment)]
        return end

    def clean_segments(self, targets: list[Segment], nexts: dict[int, int]) -> None:
        """Clean ``targets`` oldest first, each into a part file (``<base>.part.cleaned``); consecutive
        parts are joined into one new segment while their actual sizes fit ``segment.bytes`` (and the
        indexes and u32 relative offsets fit), and each new segment is swapped in when complete."""
        cfg = self.log.config
        parts: list[tuple[Segment, _Output]] = []
        current: _Output | None = None
        try:
            for segment in targets:
                current = _Output(self, segment.base_offset, ".part.cleaned")
                self.write_segment(current, segment)
                current.flush_pending()
                current.flush_chunk()
                if parts and not _fits(parts, current, nexts[id(segment)], cfg):
                    self.join_and_swap(parts, nexts[id(parts[-1][0])])
                    parts = []
                parts.append((segment, current))
                current = None
            if parts:
                self.join_and_swap(parts, nexts[id(parts[-1][0])])
                parts = []
        except BaseException as exc:
            if isinstance(exc, Exception):  # a simulated crash (BaseException) leaves its files
                for _, part in parts:
                    part.discard()
                if current is not None:
                    current.discard()
            raise

    def write_segment(self, out: _Output, segment: Segment) -> None:
        for buf, pos, header in _batches(segment, self.config.io_buffer_size):
            if pos == 0:
                out.flush_chunk()
                self.check(len(buf))
            kind, new, dropped = self.filter_batch(buf, pos, header)
            out.add(kind, header, buf, pos, new, dropped)
        out.flush_chunk()

    def join_and_swap(self, parts: list[tuple[Segment, _Output]], next_base: int) -> None:
        group = [s for s, _ in parts]
        base = group[0].base_offset
        directory = self.log.directory
        if len(parts) == 1:
            part = parts[0][1]
            if not part.changed:  # nothing to gain from swapping in an identical segment
                part.discard()
                self.stats.segments_before += 1
                self.stats.segments_after += 1
                return
            part.finalize()
            for ext in (".log", ".index", ".timeindex"):
                os.replace(
                    directory / file_name(base, ext + ".part.cleaned"),
                    directory / file_name(base, ext + ".cleaned"),
                )
            size = part.size
        else:
            out = _Output(self, base, ".cleaned")
            try:
                for _, part in parts:
                    for buf, pos, header in _batches(part.writer, self.config.io_buffer_size):
                        if pos == 0:
                            out.flush_chunk()
                        empty = header.record_count <= 0 and not (
                            header.is_control or header.is_transactional
                        )
                        out.add(EMPTY if empty else KEEP, header, buf, pos, None, 0)
                    part.discard()
                out.finalize()
            except Exception:
                out.discard()
                raise
            size = out.size
        self.finish(group, base, size, next_base)

    def finish(self, group: list[Segment], base: int, size: int, next_base: int) -> None:
        """Commit ``<base>.*.cleaned`` and swap it in place of ``group``."""
        log, stats = self.log, self.stats
        directory = log.directory
        stats.segments_before += len(group)
        stats.bytes_written += size
        self.step("cleaned_written")
        try:
            for ext in (".index", ".timeindex"):
                os.replace(
                    directory / file_name(base, ext + ".cleaned"), directory / file_name(base, ext + ".swap")
                )
            self.step("indexes_swap")
        except Exception:
            for ext in (".log", ".index", ".timeindex"):
                for suffix in (".cleaned", ".swap"):
                    (directory / file_name(base, ext + suffix)).unlink(missing_ok=True)
            raise
        os.replace(directory / file_name(base, ".log.cleaned"), directory / file_name(base, ".log.swap"))
        fsync_dir(directory)
        self.step("log_swap")

        def install() -> Segment:
            for ext in (".index", ".timeindex"):
                os.replace(directory / file_name(base, ext + ".swap"), directory / file_name(base, ext))
            self.step("indexes_final")
            os.replace(directory / file_name(base, ".log.swap"), directory / file_name(base, ".log"))
            self.step("log_final")
            segment = Segment(directory, base, create=False)
            segment.load_inactive(next_base)
            segment.release_indexes()
            return segment

        log.replace_segments(group, install, self.now_ms, self.config.file_delete_delay_ms, self.hook)
        fsync_dir(directory)
        stats.segments_after += 1
        stats.groups.append((base, len(group)))
        self.step("swapped")

    def filter_batch(self, buf: bytes, pos: int, header: BatchHeader) -> tuple[int, bytes | None, int]:
        """(KEEP, EMPTY or REBUILT; the rebuilt batch; records removed)."""
        stats = self.stats
        stats.batches_read += 1
        stats.bytes_read += header.total_size
        if not crc_ok(buf, pos, header):
            raise CorruptRecordError(
                f"{self.log.directory}: CRC mismatch in the batch at offset {header.base_offset}"
            )
        if header.is_control or header.is_transactional:
            return KEEP, None, 0
        if header.record_count <= 0:
            return EMPTY, None, 0
        data = _records_of(buf, pos, header)
        base, count = header.base_offset, header.record_count
        stats.records_read += count
        stamped = header.delete_horizon_ms
        tombstones_expire = stamped is not None and stamped <= self.now_ms
        offset_map = self.map
        varint = _varint
        kept: list[tuple[int, int]] = []
        max_delta = -1
        kept_tombstone = False
        p = 0
        for _ in range(count):  # one-byte varints inline, as in _map_batch
            start = p
            b = data[p]
            if b < 0x80:
                length, q = (b >> 1) ^ -(b & 1), p + 1
            elif data[p + 1] < 0x80:  # records of 64 B to 8 KiB
                length = ((b & 0x7F) | (data[p + 1] << 7)) >> 1
                q = p + 2
            else:
                length, q = varint(data, p)
            p = q + length
            b = data[q + 1]
            if b < 0x80:
                ts_delta, q = (b >> 1) ^ -(b & 1), q + 2
            else:
                ts_delta, q = varint(data, q + 1)
            b = data[q]
            if b < 0x80:
                delta, q = (b >> 1) ^ -(b & 1), q + 1
            else:
                delta, q = varint(data, q)
            b = data[q]
            if b < 0x80:
                key_len, q = (b >> 1) ^ -(b & 1), q + 1
            else:
                key_len, q = varint(data, q)
            if key_len < 0:
                continue  # a keyless record cannot be compacted (Kafka drops it too)
            latest = offset_map.get(data[q : q + key_len])
            if latest is not None and latest > base + delta:
                continue
            tombstone = data[q + key_len] == 1  # valueLength -1: zigzag 1, one byte
            if tombstone:
                if tombstones_expire:
                    stats.tombstones_dropped += 1
                    continue
                kept_tombstone = True
            kept.append((start, p))
            if ts_delta > max_delta:
                max_delta = ts_delta
        if p != len(data):
            raise CorruptRecordError(f"batch at offset {base}: records do not fill the batch")
        stamp = kept_tombstone and stamped is None  # first pass to keep a tombstone of this batch
        if kept_tombstone:
            horizon = self.now_ms + self.config.delete_retention_ms if stamped is None else stamped
            if stats.earliest_horizon_ms < 0 or horizon < stats.earliest_horizon_ms:
                stats.earliest_horizon_ms = horizon
        stats.records_kept += len(kept)
        if len(kept) == count and not stamp:
            return KEEP, None, 0
        if not kept:
            stats.batches_emptied += 1
            return EMPTY, None, count
        if header.attributes & _LOG_APPEND_TIME:
            max_ts = header.max_timestamp
        else:
            max_ts = header.base_timestamp + max_delta
        if stamp:
            base_ts = horizon
            attributes = header.attributes | DELETE_HORIZON_BIT
            body = _rebase(data, kept, header.base_timestamp - base_ts)
        else:
            base_ts, attributes = header.base_timestamp, header.attributes
            body = b"".join(data[s:e] for s, e in kept)
        codec = header.attributes & _CODEC_MASK
        payload = compress(codec, body) if codec else body
        new = _batch(header, payload, attributes, len(kept), base_ts, max_ts)
        return REBUILT, new, count - len(kept)


def _rebase(data: bytes, spans: list[tuple[int, int]], shift: int) -> bytes:
    """The records ``data[start:end]`` of ``spans`` with ``shift`` added to each timestamp delta
    (a new baseTimestamp); every other byte of a record is kept."""
    out = bytearray()
    for start, end in spans:
        _, q = _varint(data, start)  # the record's length, rewritten below
        ts_delta, r = _varint(data, q + 1)  # after the record's attributes byte
        body = bytearray(data[q : q + 1])
        write_varint(body, ts_delta + shift)
        body += data[r:end]
        write_varint(out, len(body))
        out += body
    return bytes(out)


def _batch(
    h: BatchHeader,
    payload: bytes,
    attributes: int,
    count: int,
    base_ts: int,
    max_ts: int,
    last_offset_delta: int | None = None,
) -> bytes:
    out = bytearray(HEADER_SIZE)
    _HEADER.pack_into(
        out,
        0,
        h.base_offset,
        _EMPTY_BATCH_LENGTH + len(payload),
        h.partition_leader_epoch,
        2,
        0,
        attributes,
        h.last_offset_delta if last_offset_delta is None else last_offset_delta,
        base_ts,
        max_ts,
        h.producer_id,
        h.producer_epoch,
        h.base_sequence,
        count,
    )
    _CRC.pack_into(out, 17, crc32c.crc32c(payload, crc32c.crc32c(memoryview(out)[21:])))
    out += payload
    return bytes(out)


KEEP, EMPTY, REBUILT = 0, 1, 2
_SEQ_MOD = 2**31


def _fits(parts: list[tuple[Segment, _Output]], part: _Output, next_base: int, cfg: LogConfig) -> bool:
    index_entries = sum(len(p.writer.index) + 1 for _, p in parts) + len(part.writer.index) + 1
    time_entries = sum(len(p.writer.time_index) + 1 for _, p in parts) + len(part.writer.time_index) + 1
    return (
        sum(p.size for _, p in parts) + part.size <= cfg.segment_bytes
        and next_base - 1 - parts[0][0].base_offset <= MAX_RELATIVE_OFFSET
        and index_entries * 8 <= cfg.segment_index_bytes
        and time_entries * 12 <= cfg.segment_index_bytes
    )


class _Output:
    """One file set being written by the cleaner (``<base>.log<suffix>`` and its indexes).
    Consecutive empty batches are merged into one while alike (see the module notes)."""

    def __init__(self, work: _Pass, base: int, suffix: str) -> None:
        self.work = work
        self.base = base
        self.suffix = suffix
        directory = work.log.directory
        for ext in (".log", ".index", ".timeindex"):
            for leftover in (suffix, ".swap") if suffix == ".cleaned" else (suffix,):
                (directory / file_name(base, ext + leftover)).unlink(missing_ok=True)
        self.writer = Segment(directory, base, create=True, suffix=suffix)
        self.out = bytearray()
        self.batches: list[tuple[int, BatchHeader]] = []
        self.pending: list[BatchHeader] = []  # a run of empty batches not yet written
        self.changed = False

    @property
    def size(self) -> int:
        return self.writer.size

    def add(
        self, kind: int, header: BatchHeader, buf: bytes, pos: int, new: bytes | None, dropped: int
    ) -> None:
        if dropped:
            self.changed = True
        if kind == EMPTY:
            if self.pending and _mergeable(self.pending[0], self.pending[-1], header):
                self.pending.append(header)
                self.changed = True
            else:
                self.flush_pending()
                self.pending = [header]
                if dropped == 0 and header.compression:
                    self.changed = True  # an empty batch is written without its codec
            return
        self.flush_pending()
        if kind == KEEP:
            self.batches.append((len(self.out), header))
            self.out += memoryview(buf)[pos : pos + header.total_size]
        else:
            assert new is not None
            self.batches.append((len(self.out), BatchHeader(new)))
            self.out += new

    def flush_pending(self) -> None:
        run = self.pending
        if not run:
            return
        self.pending = []
        first, last = run[0], run[-1]
        max_ts = max(h.max_timestamp for h in run)
        new = _batch(
            first,
            b"",
            first.attributes & ~(_CODEC_MASK | DELETE_HORIZON_BIT),  # nothing left to delete
            0,
            max_ts,
            max_ts,
            last.last_offset - first.base_offset,
        )
        if len(run) > 1:
            self.work.stats.empty_batches_merged += len(run) - 1
        self.batches.append((len(self.out), BatchHeader(new)))
        self.out += new

    def flush_chunk(self) -> None:
        if not self.out:
            return
        self.writer.append(
            self.out, self.batches, self.work.now_ms, self.work.log.config.index_interval_bytes
        )
        self.out, self.batches = bytearray(), []
        if not self.work.partial_reported:
            self.work.partial_reported = True
            self.work.step("cleaned_partial")

    def finalize(self) -> None:
        """Everything written, the last time-index entry added, all synced, files closed."""
        self.flush_pending()
        self.flush_chunk()
        self.writer.seal()
        self.writer.flush()
        self.writer.close()

    def discard(self) -> None:
        self.writer.delete()
        if self.suffix == ".cleaned":
            directory = self.work.log.directory
            for ext in (".index", ".timeindex"):
                (directory / file_name(self.base, ext + ".swap")).unlink(missing_ok=True)


def _mergeable(first: BatchHeader, last: BatchHeader, h: BatchHeader) -> bool:
    """Can empty batch ``h`` extend the run ``first`` .. ``last``? Only if the result reads the same
    to a consumer and to producer state: contiguous offsets, same producer, epoch, leader epoch and
    attributes, and (for an idempotent producer) sequences that continue the run's."""
    if (
        h.base_offset != last.next_offset
        or h.producer_id != first.producer_id
        or h.producer_epoch != first.producer_epoch
        or h.partition_leader_epoch != first.partition_leader_epoch
        or (h.attributes | _CODEC_MASK | DELETE_HORIZON_BIT) != (first.attributes | _CODEC_MASK | DELETE_HORIZON_BIT)
        or h.is_control
        or h.last_offset - first.base_offset > 2**31 - 1
    ):
        return False
    if first.producer_id < 0:
        return True
    expected = (first.base_sequence + (h.base_offset - first.base_offset)) % _SEQ_MOD
    return first.base_sequence >= 0 and h.base_sequence == expected


def clean(
    log: PartitionLog,
    config: CleanerConfig,
    now_ms: int,
    *,
    force: bool = False,
    wait: bool = True,
    should_stop: Callable[[], bool] | None = None,
    hook: Callable[[str], None] | None = None,
) -> CleanerStats | None:
    """One cleaning pass over ``log`` if it is due (or ``force``). None when nothing was due, or the
    log is busy with retention and ``wait`` is false. Raises CleanerAborted when stopped,
    CorruptRecordError on a damaged batch (nothing is swapped for the group it is in), OSError."""
    if not log.maintenance.acquire(blocking=wait):
        return None
    try:
        if log.closed:
            return None
        state = inspect(log, config, now_ms)
        if not (force or state.due(config.min_cleanable_ratio)):
            return None
        work = _Pass(log, config, now_ms, should_stop, hook)
        segments = log.segments
        nexts = {id(s): n for s, n in zip(segments, _next_bases(segments), strict=True)}
        closed = list(segments[:-1])
        dirty = [
            s for s in closed if nexts[id(s)] > state.first_dirty and s.base_offset < state.first_uncleanable
        ]
        end = work.build_map(dirty, nexts, state.first_dirty)
        stats = work.stats
        stats.first_dirty, stats.end_offset, stats.map_keys = state.first_dirty, end, len(work.map)
        targets = [s for s in closed if nexts[id(s)] <= end]
        try:
            work.clean_segments(targets, nexts)
        except (StaleSegments, LogClosedError) as exc:
            raise CleanerAborted(str(exc)) from exc
        _write_checkpoint(log.directory, end, stats.earliest_horizon_ms)
        stats.seconds = time.monotonic() - work.started
        return stats
    finally:
        log.maintenance.release()
