"""The two sparse indexes of a segment: ``.index`` (offset → file position) and ``.timeindex``.

On-disk format (big-endian, no header, no padding; the file is exactly N whole entries)::

    <base>.index      entry = relativeOffset u32, position u32                   (8 bytes)
    <base>.timeindex  entry = timestamp i64, relativeOffset u32                  (12 bytes)

- ``relativeOffset`` is ``batch.base_offset - segment.base_offset``: u32 because the log rolls a new
  segment before any offset would be more than 2**32 - 1 past the segment's base.
- ``position`` is the byte position of that batch in the ``.log``: u32 because ``segment.bytes`` is at
  most 2**31 - 1 (Kafka's own int limit) and a segment is only appended to while it is below that.
- Offset-index entries point at batch boundaries only, with strictly increasing offsets and positions.
  One is written when more than ``index.interval.bytes`` of log have been appended since the previous
  entry (the segment's first batch at position 0 never needs one). Lookup takes the greatest entry
  <= the target and the caller scans batch headers forward from there.
- Time-index entries are written at the same points, holding the largest batch maxTimestamp seen so
  far in the segment and the base offset of the batch that carried it, but only when that timestamp
  exceeds the last entry's, so timestamps (and offsets) strictly increase. When a segment stops being
  active (roll, clean close, recovery) a final entry is added so that its last entry is the segment's
  max timestamp. The index is sparse like Kafka's rather than one entry per batch: a dense index costs
  12 bytes per batch, which for small batches is a large fraction of the log for no lookup gain.

A log truncation (``Segment.truncate_to``, for a follower) cuts both files back to the entries below
the truncation offset. Files are plain append-only files written with ``os.write`` (no preallocation, no mmap): nothing has to
be trimmed at shutdown, a torn tail is detected by a size that is not a multiple of the entry size,
and ``segment.index.bytes`` is enforced as a roll trigger (``is_full``) instead of a file size. The
entries are read into two ``array`` columns on first use (8 bytes of memory per entry, ~0.2 % of the
log at the default interval) so lookups are a ``bisect`` with no system call. Descriptors come
from the process-wide handle cache (``storage.handles``): opened on use, closed by the cache when
idle; an inactive segment ``release``s its index files at once (they are read once, on first lookup).
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path

from .handles import FileHandle

__all__ = ["OffsetIndex", "TimeIndex", "IndexCorrupt"]


class IndexCorrupt(ValueError):
    """An index file cannot be trusted and must be rebuilt from the log."""


class _Index:
    """Append-only file of fixed-size entries with two in-memory columns (``_a``, ``_b``)."""

    _ENTRY: struct.Struct
    _TYPES: tuple[str, str]

    __slots__ = ("_file", "_a", "_b", "_loaded", "_deferred", "_idle")

    def __init__(self, path: Path, create: bool) -> None:
        flags = os.O_RDWR | os.O_APPEND
        if create:
            self._file = FileHandle.create(path, flags | os.O_CREAT | os.O_TRUNC)
        else:  # opened through the handle cache on first use
            self._file = FileHandle(path, flags)
        self._a = array(self._TYPES[0])
        self._b = array(self._TYPES[1])
        self._loaded = create
        self._deferred = False
        self._idle = False  # released: not written any more, give the descriptor back after each use

    @property
    def path(self) -> Path:
        return self._file.path

    @path.setter
    def path(self, value: Path) -> None:
        self._file.path = value

    # -- reading ----------------------------------------------------------------------------------

    def file_size(self) -> int:
        if self._file.closed or (self._idle and self._file.fd < 0):
            return os.stat(self.path).st_size
        with self._file.use() as fd:
            return os.fstat(fd).st_size

    def _pread(self, length: int, offset: int) -> bytes:
        if not self._file.closed:
            try:
                with self._file.use() as fd:
                    return os.pread(fd, length, offset)
            finally:
                if self._idle:
                    self._file.release()
        fd = os.open(self.path, os.O_RDONLY)  # closed index: open just for this read
        try:
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)

    def _write(self, data: bytes) -> None:
        self._idle = False
        with self._file.use() as fd:
            _write_all(fd, data)

    def release(self) -> None:
        """Close the file now if idle (an inactive segment's index is only read, once, on first
        lookup); any later read, write or flush reopens it through the handle cache, and only a
        write keeps it open afterwards."""
        self._idle = True
        self._file.release()

    def well_formed(self) -> bool:
        return self.file_size() % self._ENTRY.size == 0

    def last_entry(self) -> tuple[int, int] | None:
        """The last entry, read from the file (one pread) if the columns are not loaded yet."""
        if self._loaded:
            return (self._a[-1], self._b[-1]) if self._a else None
        size = self.file_size()
        entry = self._ENTRY.size
        if size < entry or size % entry:
            return None
        a, b = self._ENTRY.unpack(self._pread(entry, size - entry))
        return a, b

    def tail_ordered(self) -> bool:
        """True if the last two entries strictly increase in both columns (as every entry must)."""
        entry = self._ENTRY.size
        if self._loaded:
            a, b = self._a[-2:], self._b[-2:]
            return len(a) < 2 or (a[0] < a[1] and b[0] < b[1])
        size = self.file_size()
        if size < 2 * entry:
            return True
        (a0, b0), (a1, b1) = self._ENTRY.iter_unpack(self._pread(2 * entry, size - 2 * entry))
        return a0 < a1 and b0 < b1

    def _load(self) -> None:
        size = self.file_size()
        if size % self._ENTRY.size:
            raise IndexCorrupt(f"{self.path}: size {size} is not a multiple of {self._ENTRY.size}")
        data = self._pread(size, 0)
        if self._TYPES == ("I", "I") and array("I").itemsize == 4:
            # Two u32 columns: one C-level conversion instead of a Python loop per entry.
            both = array("I")
            both.frombytes(data)
            if sys.byteorder == "little":
                both.byteswap()
            a, b = both[0::2], both[1::2]
        else:
            a = array(self._TYPES[0])
            b = array(self._TYPES[1])
            for x, y in self._ENTRY.iter_unpack(data):
                a.append(x)
                b.append(y)
        self._a, self._b, self._loaded = a, b, True

    def preload(self) -> None:
        """Load the columns now (no-op if loaded); lookups then never touch the file."""
        self._columns()

    def _columns(self) -> tuple[array, array]:
        if not self._loaded:
            self._load()
        return self._a, self._b

    def __len__(self) -> int:
        if self._loaded:
            return len(self._a)
        return self.file_size() // self._ENTRY.size

    # -- writing ----------------------------------------------------------------------------------

    def _append(self, a: int, b: int) -> None:
        self._columns()
        if not self._deferred:
            self._write(self._ENTRY.pack(a, b))
        self._a.append(a)
        self._b.append(b)

    def begin_rebuild(self) -> None:
        """Empty the file; entries appended until ``end_rebuild`` are kept in memory only."""
        self._idle = False
        with self._file.use() as fd:
            os.ftruncate(fd, 0)
        self._a = array(self._TYPES[0])
        self._b = array(self._TYPES[1])
        self._loaded = True
        self._deferred = True

    def end_rebuild(self) -> None:
        """Write every entry gathered since ``begin_rebuild`` in one go."""
        self._deferred = False
        pack = self._ENTRY.pack
        self._write(b"".join(pack(x, y) for x, y in zip(self._a, self._b, strict=True)))

    def _truncate_entries(self, n: int) -> None:
        """Keep the first ``n`` entries (a log truncation). The columns are replaced, not cut in place,
        so a lookup running on another thread keeps a consistent pair."""
        a, b = self._columns()
        if n >= len(a):
            return
        self._a, self._b = a[:n], b[:n]
        self._idle = False  # the segment is about to be appended to again
        with self._file.use() as fd:
            os.ftruncate(fd, n * self._ENTRY.size)

    def flush(self) -> None:
        if not self._file.closed:
            with self._file.use() as fd:  # syncs the file's data whichever descriptor wrote it
                os.fdatasync(fd)
            if self._idle:
                self._file.release()
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._file.close()


class OffsetIndex(_Index):
    """relativeOffset u32 → position u32; entries are batch base offsets."""

    _ENTRY = struct.Struct(">II")
    _TYPES = ("I", "I")
    __slots__ = ()

    def append(self, relative_offset: int, position: int) -> None:
        self._append(relative_offset, position)

    def lookup(self, relative_offset: int) -> int:
        """Position of the greatest entry whose offset <= ``relative_offset`` (0 if none)."""
        offsets, positions = self._columns()
        i = bisect_right(offsets, relative_offset) - 1
        return positions[i] if i >= 0 else 0

    def truncate_to(self, relative_offset: int) -> None:
        """Remove every entry for an offset >= ``relative_offset``."""
        self._truncate_entries(bisect_left(self._columns()[0], relative_offset))

    def lookup_position(self, position: int) -> int:
        """The greatest indexed batch position <= ``position`` (0 if none)."""
        positions = self._columns()[1]
        i = bisect_right(positions, position) - 1
        return positions[i] if i >= 0 else 0


class TimeIndex(_Index):
    """timestamp i64 → relativeOffset u32 (base offset of the batch holding that max timestamp)."""

    _ENTRY = struct.Struct(">qI")
    _TYPES = ("q", "I")
    __slots__ = ()

    def maybe_append(self, timestamp: int, relative_offset: int) -> None:
        last = self.last_entry()
        if timestamp > (last[0] if last is not None else -1):  # -1 = NO_TIMESTAMP
            self._append(timestamp, relative_offset)

    def truncate_to(self, relative_offset: int) -> None:
        """Remove every entry naming an offset >= ``relative_offset`` (offsets increase with the
        timestamps, so what stays is a prefix)."""
        self._truncate_entries(bisect_left(self._columns()[1], relative_offset))

    def lookup_before(self, timestamp: int) -> int | None:
        """Relative offset of the last entry whose timestamp < ``timestamp`` (None if none).

        Every batch up to that entry's write point has maxTimestamp < ``timestamp``, so a forward
        scan for the first batch with maxTimestamp >= ``timestamp`` may start at that offset.
        """
        stamps, offsets = self._columns()
        i = bisect_left(stamps, timestamp) - 1
        return offsets[i] if i >= 0 else None


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
