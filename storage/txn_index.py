"""The aborted-transaction index of one segment: Kafka's ``<base>.txnindex``.

One entry per transaction that was aborted by a marker (an ABORT control batch) stored in this
segment, in the order the markers were written. ``read_committed`` Fetch answers the entries that
overlap the fetched range (``PartitionLog.aborted_transactions``), so a consumer can drop the
aborted records of those producers.

On-disk format: no header, no padding, the file is N whole entries of 34 bytes, big-endian::

    version             i16   0 (the only version Kafka has)
    producer_id         i64
    first_offset        i64   the transaction's first offset on this partition
    last_offset         i64   the offset of its ABORT marker (strictly increases from entry to entry)
    last_stable_offset  i64   the partition's LSO once this abort completed: the first offset of the
                              oldest other ongoing transaction, else last_offset + 1

Limits and why: the fields are Kafka's own widths (producer ids and offsets are i64 there), so the
file is byte-identical to Kafka's and readable by its tools. The file exists only once the first
abort lands in the segment (as Kafka creates it lazily), so most segments have none. A size that
is not a multiple of 34 is a write torn by a crash: the partial entry is cut when the file is first
read; so is everything from an entry with a version other than 0. Entries are read into memory on
first use (aborts are rare; one list per segment); the file is written with ``os.write`` through a
descriptor opened for each append or flush, so an index holds no descriptor while idle.

Deliberately not done: no sparse lookup (entries are scanned; Kafka scans them too), no
preallocation or mmap. The index of the replayed range is rebuilt from the log's control batches when
a log is opened (``PartitionLog``), so a crash between a marker write and its index write is repaired.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AbortedTxn", "TransactionIndex", "ENTRY_SIZE", "TXN_INDEX_SUFFIX"]

TXN_INDEX_SUFFIX = ".txnindex"
_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size  # 34
_VERSION = 0


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int

    def encode(self) -> bytes:
        return _ENTRY.pack(_VERSION, self.producer_id, self.first_offset, self.last_offset,
                           self.last_stable_offset)


class TransactionIndex:
    """The ``.txnindex`` file at ``path`` (which need not exist). ``exists`` is looked up once, here;
    the entries are read on first use. Used by the appending thread, and read by the thread that
    serves fetches: the entry list is replaced, never changed in place."""

    __slots__ = ("_path", "_entries", "_exists", "_dirty")

    def __init__(self, path: Path, create: bool = False) -> None:
        """``create``: a new segment's index; a file left at that path by something earlier is
        removed (it cannot describe the new segment)."""
        self._path = Path(path)
        self._dirty = False
        if create:
            self._path.unlink(missing_ok=True)
            self._exists = False
            self._entries: list[AbortedTxn] | None = []
        else:
            self._exists = self._path.exists()
            self._entries = None if self._exists else []

    def __repr__(self) -> str:
        return f"TransactionIndex({self._path.name})"

    @property
    def path(self) -> Path:
        return self._path

    @path.setter
    def path(self, value: Path) -> None:
        self._path = Path(value)

    @property
    def exists(self) -> bool:
        """True once the file exists (the first abort in this segment created it)."""
        return self._exists

    @property
    def dirty(self) -> bool:
        """Changed since the last ``flush``."""
        return self._dirty

    def __len__(self) -> int:
        return len(self.entries())

    # -- reading ----------------------------------------------------------------------------------

    def entries(self) -> list[AbortedTxn]:
        """Every entry, oldest first (a copy-free snapshot: the list is never changed in place)."""
        entries = self._entries
        if entries is None:
            entries = self._entries = self._load()
        return entries

    def preload(self) -> None:
        """Read the file now (before a rename, so no later read opens it by a stale path)."""
        self.entries()

    def _load(self) -> list[AbortedTxn]:
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            self._exists = False
            return []
        out: list[AbortedTxn] = []
        whole = len(data) - len(data) % ENTRY_SIZE
        for pos in range(0, whole, ENTRY_SIZE):
            version, pid, first, last, lso = _ENTRY.unpack_from(data, pos)
            if version != _VERSION:
                whole = pos
                break
            out.append(AbortedTxn(pid, first, last, lso))
        if whole != len(data):  # a torn (or foreign) tail: cut it, as a crash left it
            with open(self._path, "r+b") as f:
                f.truncate(whole)
            self._dirty = True
        return out

    def collect(self, start_offset: int, upper_offset: int) -> list[AbortedTxn]:
        """Entries with last_offset >= ``start_offset`` and first_offset < ``upper_offset`` (the
        transactions that overlap [start, upper); Kafka's collectAbortedTxns)."""
        return [t for t in self.entries() if t.last_offset >= start_offset and t.first_offset < upper_offset]

    def completes(self, upper_offset: int) -> bool:
        """True if an entry's last stable offset is >= ``upper_offset``: no abort recorded after it (in
        this or a later segment) can overlap a range ending at ``upper_offset`` (Kafka's isComplete)."""
        return any(t.last_stable_offset >= upper_offset for t in self.entries())

    # -- writing ----------------------------------------------------------------------------------

    def append(self, txn: AbortedTxn) -> bool:
        """Add an entry (creating the file if needed). Returns True when the file was created (the
        caller then has a directory to sync). ValueError if ``txn.last_offset`` does not exceed the
        last entry's (Kafka's rule: markers are appended in offset order)."""
        entries = self.entries()
        if entries and txn.last_offset <= entries[-1].last_offset:
            raise ValueError(
                f"{self._path.name}: aborted txn ending at {txn.last_offset} after one ending at "
                f"{entries[-1].last_offset}"
            )
        created = not self._exists
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = txn.encode()
            written = os.write(fd, data)
            if written != len(data):  # a full disk: leave whole entries only
                os.ftruncate(fd, len(entries) * ENTRY_SIZE)
                raise OSError(f"{self._path}: short write to the transaction index")
        finally:
            os.close(fd)
        self._exists = True
        self._dirty = True
        self._entries = [*entries, txn]
        return created

    def truncate_to(self, offset: int) -> None:
        """Drop every entry with last_offset >= ``offset`` (a log truncation or a rebuild from there)."""
        entries = self.entries()
        keep = [t for t in entries if t.last_offset < offset]
        if len(keep) == len(entries):
            return
        with open(self._path, "r+b") as f:
            f.truncate(len(keep) * ENTRY_SIZE)
        self._entries = keep
        self._dirty = True

    def flush(self) -> None:
        """fdatasync the file if it changed since the last flush (any descriptor syncs the inode)."""
        if not self._dirty or not self._exists:
            return
        self._dirty = False  # first: an append racing with this sync marks it dirty again
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fdatasync(fd)
        except BaseException:
            self._dirty = True
            raise
        finally:
            os.close(fd)

    def close(self) -> None:
        """Nothing is held open; kept for symmetry with the other indexes."""

    def rename_to(self, target: Path) -> None:
        """Move the file (if any) with its segment, e.g. to ``.deleted`` or from ``.swap``."""
        target = Path(target)
        if self._exists:
            self.preload()
            try:
                os.replace(self._path, target)
            except FileNotFoundError:
                pass
        self._path = target

    def delete(self) -> None:
        self._path.unlink(missing_ok=True)
        self._exists = False
        self._entries = []
        self._dirty = False
