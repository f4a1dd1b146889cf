"""One log segment: ``<base>.log`` with its ``<base>.index`` and ``<base>.timeindex``, and
``<base>.txnindex`` (aborted transactions, ``storage.txn_index``) once an ABORT marker lands in it.

On-disk format of ``<20-digit zero-padded base offset>.log``: RecordBatch v2 batches exactly as Kafka
stores them (61-byte header, then records), concatenated with no framing, padding or trailer. The
only broker-written fields are baseOffset (and, by the server, partitionLeaderEpoch), both outside the
CRC, so a batch on disk is byte-identical to what a consumer receives and can be sent without copying
through user space. Within a segment base offsets strictly increase and every batch's last offset is
below the next segment's base. The 20 digits hold any non-negative i64 offset and make lexical order
equal numeric order. See ``storage.index`` for the two index files and their limits.

A follower's log may be truncated (``truncate_to``): the file is cut at a batch boundary and both
indexes lose their entries from there, the
transaction index those whose marker is cut off. No per-record decode happens here: appends and reads look at
61-byte headers only. The segment does
no locking; ``PartitionLog`` serialises appends and rolls and keeps flushes off its data structures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from wire.records import HEADER_SIZE, LOG_OVERHEAD, BatchHeader, CorruptRecordError, crc_ok

from .handles import FileHandle
from .index import OffsetIndex, TimeIndex, _write_all
from .txn_index import TXN_INDEX_SUFFIX, TransactionIndex

__all__ = ["Segment", "MAX_RELATIVE_OFFSET", "file_name", "parse_file_name"]

MAX_RELATIVE_OFFSET = 0xFFFFFFFF  # index entries store base_offset - segment base as u32
_MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD
_READ_CHUNK = 16 * 1024  # one pread covers the headers of a typical index-interval scan
_RECOVER_CHUNK = 1 << 20  # recovery reads whole batches for the CRC


def file_name(base_offset: int, suffix: str) -> str:
    return f"{base_offset:020d}{suffix}"


def parse_file_name(name: str) -> tuple[int, str] | None:
    """``00000000000000000042.log`` → ``(42, ".log")``; None for anything else."""
    stem, dot, ext = name.partition(".")
    if len(stem) != 20 or not stem.isdigit() or not dot:
        return None
    return int(stem), "." + ext


class Segment:
    __slots__ = (
        "directory",
        "base_offset",
        "file",
        "size",
        "index",
        "time_index",
        "txn_index",
        "next_offset",
        "max_timestamp",
        "max_timestamp_offset",
        "rolling_base_ms",
        "bytes_since_index",
        "dirty",
        "indexes_missing",
        "suffix",
    )

    def __init__(self, directory: Path, base_offset: int, create: bool, suffix: str = "") -> None:
        """``suffix`` names the files of a segment being written by the cleaner (``.cleaned``:
        ``<base>.log.cleaned`` and so on); a live segment has none."""
        self.directory = directory
        self.base_offset = base_offset
        self.suffix = suffix
        index_path = directory / file_name(base_offset, ".index" + suffix)
        time_path = directory / file_name(base_offset, ".timeindex" + suffix)
        missing = not create and not (index_path.exists() and time_path.exists())
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | (os.O_EXCL if create else 0)
        # The .log is opened through the process-wide handle cache (storage.handles): it may be
        # closed while idle and is reopened (read-write, append) on the next read or append.
        self.file = FileHandle.create(directory / file_name(base_offset, ".log" + suffix), flags)
        with self.file.use() as fd:
            self.size = os.fstat(fd).st_size
        self.index = OffsetIndex(index_path, create=create or missing)
        self.time_index = TimeIndex(time_path, create=create or missing)
        self.txn_index = TransactionIndex(
            directory / file_name(base_offset, TXN_INDEX_SUFFIX + suffix), create=create
        )
        self.indexes_missing = missing
        self.next_offset = base_offset  # exact for the active segment, an upper bound for others
        self.max_timestamp = -1
        self.max_timestamp_offset = base_offset  # base offset of the batch holding max_timestamp
        self.rolling_base_ms: int | None = None  # for segment.ms
        self.bytes_since_index = 0
        self.dirty = create

    def __repr__(self) -> str:
        return f"Segment(base={self.base_offset}, size={self.size}, next={self.next_offset})"

    @property
    def log_path(self) -> Path:
        return self.directory / file_name(self.base_offset, ".log" + self.suffix)

    # -- reading ----------------------------------------------------------------------------------

    def iter_headers(self, start: int, end: int) -> Iterator[tuple[int, BatchHeader]]:
        """``(position, header)`` of each batch from ``start`` (a batch boundary) up to ``end``."""
        pos = start
        buf = b""
        buf_pos = start
        while pos < end:
            rel = pos - buf_pos
            if len(buf) - rel < HEADER_SIZE:
                buf = self.pread(pos, _READ_CHUNK)
                buf_pos, rel = pos, 0
            header = BatchHeader(buf, rel)
            if header.batch_length < _MIN_BATCH_LENGTH:
                raise CorruptRecordError(f"{self.log_path}: bad batch length at {pos}")
            yield pos, header
            pos += header.total_size

    def find(self, offset: int) -> tuple[int, BatchHeader] | None:
        """The first batch whose last offset >= ``offset``, or None if the segment has none."""
        start = self.index.lookup(offset - self.base_offset) if offset > self.base_offset else 0
        for pos, header in self.iter_headers(start, self.size):
            if header.base_offset + header.last_offset_delta >= offset:
                return pos, header
        return None

    def position_of(self, offset: int, start: int) -> int:
        """Position of the first batch at or after ``start`` with base offset >= ``offset`` (or size)."""
        if offset > self.base_offset:
            start = max(start, self.index.lookup(offset - self.base_offset))
        for pos, header in self.iter_headers(start, self.size):
            if header.base_offset >= offset:
                return pos
        return self.size

    def slice_end(self, start: int, first_size: int, limit: int, max_bytes: int) -> int:
        """End of the longest run of whole batches from ``start`` within ``max_bytes`` and ``limit``,
        but at least the first batch (KIP-74)."""
        if limit - start <= max_bytes:
            return limit
        target = start + max_bytes
        end = max(start, self.index.lookup_position(target))
        for pos, header in self.iter_headers(end, limit):
            if pos + header.total_size > target:
                break
            end = pos + header.total_size
        return max(end, start + first_size)

    def find_timestamp(self, timestamp: int) -> tuple[int, BatchHeader] | None:
        """The first batch whose max timestamp >= ``timestamp``."""
        rel = self.time_index.lookup_before(timestamp)
        start = self.index.lookup(rel) if rel is not None else 0
        for pos, header in self.iter_headers(start, self.size):
            if header.max_timestamp >= timestamp:
                return pos, header
        return None

    def pread(self, position: int, length: int) -> bytes:
        with self.file.use() as fd:
            return os.pread(fd, length, position)

    def file_stat(self) -> os.stat_result:
        with self.file.use() as fd:
            return os.fstat(fd)

    @property
    def closed(self) -> bool:
        return self.file.closed

    # -- appending --------------------------------------------------------------------------------

    def is_full(self, max_index_bytes: int) -> bool:
        """segment.index.bytes reached by either index (a roll trigger, like Kafka's)."""
        return len(self.index) >= max_index_bytes // 8 or len(self.time_index) >= max_index_bytes // 12

    def append(
        self, buf: bytes | bytearray | memoryview, batches: list[tuple[int, BatchHeader]], now_ms: int,
        interval: int,
    ) -> None:
        """Write ``buf`` (offsets already assigned) at the end of the log, then index its batches."""
        start = self.size
        with self.file.use() as fd:
            try:
                _write_all(fd, buf)
            except BaseException:
                os.ftruncate(fd, start)  # never leave a partial batch behind a failed write
                raise
        # The data is in: record it before the index writes, which may fail on their own (a
        # missing index entry only makes lookups scan a little longer).
        self.size = start + len(buf)
        last = batches[-1][1]
        self.next_offset = last.base_offset + last.last_offset_delta + 1
        self.dirty = True
        if self.rolling_base_ms is None:
            self.rolling_base_ms = now_ms
        for pos, header in batches:
            self._account(start + pos, header, interval)

    def _account(self, position: int, header: BatchHeader, interval: int) -> None:
        """Index bookkeeping for one batch; the same rule serves appends and rebuilds."""
        if header.max_timestamp > self.max_timestamp:
            self.max_timestamp = header.max_timestamp
            self.max_timestamp_offset = header.base_offset
        if self.bytes_since_index > interval:
            self.index.append(header.base_offset - self.base_offset, position)
            self.time_index.maybe_append(self.max_timestamp, self.max_timestamp_offset - self.base_offset)
            self.bytes_since_index = 0
        self.bytes_since_index += header.total_size

    def truncate_to(self, offset: int, interval: int) -> int:
        """Remove every batch whose last offset >= ``offset`` (a follower's truncation): the file is
        cut at the start of the batch that contains ``offset`` (so inside a batch the cut is at its
        base offset), both indexes lose their entries from there, and next offset, max timestamp
        and index cursor are recomputed from what remains (the last index entry's write point, then
        a header scan, as at a clean open). Returns the new next offset. Nothing is synced here."""
        found = self.find(offset)
        if found is None:
            return self.next_offset
        pos, header = found
        cut = header.base_offset
        self.index.truncate_to(cut - self.base_offset)
        self.time_index.truncate_to(cut - self.base_offset)
        self.txn_index.truncate_to(cut)
        self.size = pos  # before the file shrinks: new scans stop at the cut
        with self.file.use() as fd:
            os.ftruncate(fd, pos)
        self.dirty = True
        self.max_timestamp = -1
        self.max_timestamp_offset = self.base_offset
        if not self.load_tail(check_crc=False):  # cannot fail on a log appends wrote; be safe anyway
            self.recover(interval)
        return self.next_offset

    def seal(self) -> None:
        """Make the last time-index entry the segment's max timestamp (roll, close, recovery)."""
        self.time_index.maybe_append(self.max_timestamp, self.max_timestamp_offset - self.base_offset)
        self.dirty = True

    # -- opening and recovery ---------------------------------------------------------------------

    def indexes_ok(self, limit_offset: int | None) -> bool:
        """Cheap sanity check of both index files against the log (a few small preads): whole
        entries, the last two in order, the last offset entry naming a batch start, the last time
        entry inside the segment. A stale index (entries missing at the end) passes and is fine."""
        if self.indexes_missing:
            return False
        for index in (self.index, self.time_index):
            if not (index.well_formed() and index.tail_ordered()):
                return False
        last = self.index.last_entry()
        if last is not None:
            rel, pos = last
            if pos == 0 or pos + HEADER_SIZE > self.size:
                return False
            try:
                header = BatchHeader(self.pread(pos, HEADER_SIZE))
            except CorruptRecordError:
                return False
            if header.base_offset != self.base_offset + rel:
                return False
        stamp = self.time_index.last_entry()
        if stamp is not None:
            if stamp[1] > MAX_RELATIVE_OFFSET or (
                limit_offset is not None and self.base_offset + stamp[1] >= limit_offset
            ):
                return False
        return True

    def load_inactive(self, next_segment_base: int) -> None:
        """State of a cleanly closed, non-active segment, from its time index alone."""
        self.next_offset = next_segment_base
        self._max_from_time_index()

    def load_tail(self, check_crc: bool, limit_offset: int | None = None, contiguous: bool = False) -> bool:
        """Scan from the last offset-index entry to the end of the log, setting next_offset, the max
        timestamp and the index cursor. False if the tail is not a clean run of valid batches."""
        last = self.index.last_entry()
        start, min_offset = (last[1], self.base_offset + last[0]) if last else (0, self.base_offset)
        end, next_offset = start, min_offset
        self._max_from_time_index()
        for pos, header in self._valid_batches(start, min_offset, check_crc, limit_offset, contiguous):
            if header.max_timestamp > self.max_timestamp:
                self.max_timestamp = header.max_timestamp
                self.max_timestamp_offset = header.base_offset
            end = pos + header.total_size
            next_offset = header.base_offset + header.last_offset_delta + 1
        if end != self.size:
            return False
        self.next_offset = next_offset
        stamp = self.time_index.last_entry()
        if stamp is not None and self.base_offset + stamp[1] >= next_offset:
            return False
        self.bytes_since_index = self.size - start
        self._load_rolling_base()
        return True

    def recover(self, interval: int, limit_offset: int | None = None, contiguous: bool = False) -> int:
        """Validate every batch (size, magic, offsets, CRC), truncate the log at the first bad one,
        rebuild both indexes and sync. Returns the number of bytes cut off."""
        self.index.begin_rebuild()
        self.time_index.begin_rebuild()
        self.next_offset = self.base_offset
        self.max_timestamp = -1
        self.max_timestamp_offset = self.base_offset
        self.bytes_since_index = 0
        end = 0
        for pos, header in self._valid_batches(0, self.base_offset, True, limit_offset, contiguous):
            self._account(pos, header, interval)
            end = pos + header.total_size
            self.next_offset = header.base_offset + header.last_offset_delta + 1
        self.seal()
        self.index.end_rebuild()
        self.time_index.end_rebuild()
        with self.file.use() as fd:
            cut = os.fstat(fd).st_size - end
            if cut:
                os.ftruncate(fd, end)
        self.size = end
        self.indexes_missing = False
        self.txn_index.truncate_to(self.next_offset)  # aborts whose marker was cut off
        self._load_rolling_base()
        self.flush()
        return cut

    def _valid_batches(
        self, start: int, min_offset: int, check_crc: bool, limit_offset: int | None, contiguous: bool
    ) -> Iterator[tuple[int, BatchHeader]]:
        """Well-formed batches from ``start``; stops quietly at the first torn or corrupt one.

        Offsets must increase and stay below ``limit_offset`` (the next segment's base). With
        ``contiguous`` (the active segment, which nothing but appends ever wrote) each batch must
        start exactly where the previous one ended, starting at ``min_offset``: baseOffset is outside
        the CRC, and this is what catches a damaged one. Older segments may have gaps (compaction).
        partitionLeaderEpoch is covered by neither check, as in Kafka."""
        file_size = self.file_stat().st_size
        chunk = _RECOVER_CHUNK if check_crc else _READ_CHUNK
        pos, buf, buf_pos = start, b"", start
        while file_size - pos >= HEADER_SIZE:
            rel = pos - buf_pos
            if len(buf) - rel < HEADER_SIZE:
                buf, buf_pos, rel = self.pread(pos, chunk), pos, 0
            try:
                header = BatchHeader(buf, rel)
            except CorruptRecordError:
                return
            size = header.total_size
            last_offset = header.base_offset + header.last_offset_delta
            if (
                header.batch_length < _MIN_BATCH_LENGTH
                or size > file_size - pos
                or header.last_offset_delta < 0
                or header.base_offset < min_offset
                or (contiguous and header.base_offset != min_offset)
                or last_offset - self.base_offset > MAX_RELATIVE_OFFSET
                or (limit_offset is not None and last_offset >= limit_offset)
            ):
                return
            if check_crc:
                if len(buf) - rel < size:
                    buf, buf_pos, rel = self.pread(pos, max(chunk, size)), pos, 0
                if not crc_ok(buf, rel, header):
                    return
            yield pos, header
            min_offset = last_offset + 1
            pos += size

    def _max_from_time_index(self) -> None:
        stamp = self.time_index.last_entry()
        if stamp is not None:
            self.max_timestamp = stamp[0]
            self.max_timestamp_offset = self.base_offset + stamp[1]

    def _load_rolling_base(self) -> None:
        # After a restart the first append time is unknown; like Kafka, use the first batch's max
        # timestamp (an empty segment starts its clock at its next append).
        self.rolling_base_ms = None
        if self.size >= HEADER_SIZE:
            try:
                first = BatchHeader(self.pread(0, HEADER_SIZE)).max_timestamp
            except CorruptRecordError:
                return
            self.rolling_base_ms = first if first >= 0 else None  # -1: no timestamp

    # -- lifecycle --------------------------------------------------------------------------------

    def release_indexes(self) -> None:
        """The segment is no longer appended to: close its index files (see storage.index)."""
        self.index.release()
        self.time_index.release()

    def preload_indexes(self) -> None:
        """Read both indexes into memory now, so that later lookups never open them by path (the
        files are about to be renamed or replaced)."""
        self.index.preload()
        self.time_index.preload()
        self.txn_index.preload()

    def rename_to_deleted(self) -> None:
        """Rename the three files (and the ``.txnindex`` if there is one) to ``<name>.deleted`` (Kafka's convention for a segment waiting out
        ``file.delete.delay.ms``). The open ``.log`` descriptor keeps serving reads; the indexes must
        have been preloaded. A crash leaves ``.deleted`` files, which the next open removes."""
        self.preload_indexes()
        self.dirty = False  # nothing of it needs syncing any more
        log_path = self.log_path
        # A segment with the same base may have been retired before and still wait out its delay
        # (a truncated log rolls at the same offsets again; a cleaned segment keeps its base): its
        # files must not be replaced, since its descriptor is reopened by path. ``<name>.<n>.deleted``
        # then, which recovery removes like any ``.deleted`` file.
        tag, n = ".deleted", 0
        paths = (log_path, self.index.path, self.time_index.path, self.txn_index.path)
        while any(p.with_name(p.name + tag).exists() for p in paths):
            n += 1
            tag = f".{n}.deleted"
        target = log_path.with_name(log_path.name + tag)
        with self.file.use():  # open (and kept open) across the rename, then reopened by the new name
            os.replace(log_path, target)
            self.file.path = target
        for index in (self.index, self.time_index):
            target = index.path.with_name(index.path.name + tag)
            try:
                os.replace(index.path, target)
            except FileNotFoundError:
                pass
            index.path = target
        self.txn_index.rename_to(self.txn_index.path.with_name(self.txn_index.path.name + tag))
        self.suffix += tag

    def rename_suffix(self, old: str, new: str) -> None:
        """Rename the files of a segment from suffix ``old`` to ``new`` (e.g. the cleaner's
        ``.cleaned`` -> ``.swap`` -> ""); the log, both indexes and the transaction index if any.
        The segment's handles follow their files."""
        assert self.suffix == old, (self.suffix, old)
        for ext, holder in ((".index", self.index), (".timeindex", self.time_index)):
            target = self.directory / file_name(self.base_offset, ext + new)
            try:
                os.replace(holder.path, target)
            except FileNotFoundError:
                pass
            holder.path = target
        self.txn_index.rename_to(self.directory / file_name(self.base_offset, TXN_INDEX_SUFFIX + new))
        target = self.directory / file_name(self.base_offset, ".log" + new)
        with self.file.use():
            os.replace(self.log_path, target)
            self.file.path = target
        self.suffix = new

    def flush(self) -> None:
        if self.file.closed:
            return
        with self.file.use() as fd:  # a reopened descriptor syncs what an evicted one wrote
            os.fdatasync(fd)
        self.index.flush()
        self.time_index.flush()
        self.txn_index.flush()

    def close(self) -> None:
        # The descriptor closes now, or when the last FileSlice pinning it is gone.
        self.file.close()
        self.index.close()
        self.time_index.close()
        self.txn_index.close()

    def delete(self) -> None:
        self.close()
        for suffix in (".log", ".index", ".timeindex"):
            (self.directory / file_name(self.base_offset, suffix + self.suffix)).unlink(missing_ok=True)
        self.txn_index.delete()
