"""Opening a partition directory: the clean-shutdown marker and crash recovery.

``.clean-shutdown`` (empty file) is written by ``PartitionLog.close(clean=True)`` after every segment
and the directory have been synced. Opening removes it, and syncs that removal, before anything can
be appended, so a crash at any later point is seen as one at the next open.

Per segment, oldest first:

- Index sanity (always, a few small preads): both files present, whole entries, the last two entries
  ordered, the last offset entry naming a batch start, the last time entry inside the segment. A
  failing segment is recovered (below), which rebuilds its indexes.
- Marker present: the active segment is scanned by header (no CRC) from its last index entry to the
  end to find the log end offset; any inconsistency there means recovery after all. Older segments
  are trusted: their time index's last entry is their max timestamp.
- Marker absent: the active segment is recovered in full; older segments are checked with CRC from
  their last index entry to their end (where a crash can tear a write that was never synced) and
  recovered if that fails.

Recovery (``Segment.recover``) validates every batch: at least a full header, a sane length within
the file, magic 2, offsets increasing (and in the active segment exactly contiguous, since baseOffset
is outside the CRC), below the next segment's base, within u32 of the segment base, CRC-32C. The file
is truncated at the first bad batch, both indexes are rebuilt by the same rule appends use, and all is
synced. A segment cut short ends the log: every later segment is deleted, so exactly the valid prefix
remains and the next append continues at the next offset. Damage in the middle of an older segment
with intact files is not looked for at open (only a failing disk does that; Kafka does not either).

Stray files: ``*.tmp`` and index files (``.txnindex`` included) whose ``.log`` is gone are removed;
other names are left alone.

Transaction indexes (``.txnindex``, ``storage.txn_index``) are not checked here beyond a torn tail
(cut when first read); a recovered segment loses the entries whose marker was cut off. The entries of
the range the producer state replays (everything after the newest producer snapshot) are rebuilt
from the log's markers by ``PartitionLog`` when it opens, which repairs a crash between a marker
write and its index write.

Leftovers of retention and of the cleaner (``storage.cleaner.output`` describes the swap), handled before
any segment is opened, so a crash at any step leaves the log as it was before or after that step's
cleaning:

- ``*.deleted``: a segment that retention or the cleaner had already taken out of the log → removed.
- ``*.cleaned``: a cleaned segment still being written (not committed) → removed.
- ``<base>.log.swap``: a committed cleaned segment. Every ``.log`` whose base offset lies in
  ``[base, last offset of the swap file]`` is one of the segments it replaces and is removed with its
  indexes (its ``.txnindex`` too); then ``.index.swap`` / ``.timeindex.swap`` / ``.txnindex.swap`` and
  finally ``.log.swap`` lose their suffix. If the offset/time index swap files are already gone, the
  final-name indexes are removed too (they may be the old segment's) and get rebuilt. A final-name
  ``.txnindex`` without a ``.txnindex.swap`` is kept: the old segment's was removed with its ``.log``
  above, or renamed ``.deleted`` with it before the new one took that name (the ``.log`` is renamed
  first, so a crash in between can leave the old one: its entries are a superset of the cleaned
  segment's, which only makes a read_committed consumer skip aborted records that are gone anyway).
- ``.index.swap`` / ``.timeindex.swap`` / ``.txnindex.swap`` without a ``.log.swap``: the commit never
  happened → removed.
"""

from __future__ import annotations

import os
from pathlib import Path

from wire.records import HEADER_SIZE, BatchHeader, CorruptRecordError

from .segment import Segment, file_name, parse_file_name
from .txn_index import TXN_INDEX_SUFFIX

__all__ = ["CLEAN_SHUTDOWN_FILE", "load_segments", "fsync_dir"]

CLEAN_SHUTDOWN_FILE = ".clean-shutdown"


def load_segments(directory: Path, index_interval_bytes: int) -> list[Segment]:
    """Open (recovering as needed) every segment in ``directory``; at least one is returned, the last
    being the active segment. Removes the clean-shutdown marker."""
    marker = directory / CLEAN_SHUTDOWN_FILE
    clean = marker.exists()
    segments = [Segment(directory, base, create=False) for base in _segment_bases(directory)]
    i = 0
    while i < len(segments):
        segment = segments[i]
        last = i == len(segments) - 1
        limit = None if last else segments[i + 1].base_offset
        cut = 0
        if not segment.indexes_ok(limit) or (last and not clean):
            cut = segment.recover(index_interval_bytes, limit, contiguous=last)
        elif last:
            if not segment.load_tail(check_crc=False, contiguous=True):
                cut = segment.recover(index_interval_bytes, contiguous=True)
        elif clean:
            segment.load_inactive(segments[i + 1].base_offset)
        elif not segment.load_tail(check_crc=True, limit_offset=limit):
            cut = segment.recover(index_interval_bytes, limit)
        if cut and not last:
            for later in segments[i + 1 :]:
                later.delete()
            del segments[i + 1 :]
        i += 1
    if not segments:
        segments.append(Segment(directory, 0, create=True))
    for segment in segments[:-1]:
        segment.release_indexes()
    if clean:
        marker.unlink()
    fsync_dir(directory)
    return segments


def _segment_bases(directory: Path) -> list[int]:
    _finish_cleaner_leftovers(directory)
    bases = []
    for path in directory.iterdir():
        if path.name.endswith(".tmp"):
            path.unlink()
            continue
        parsed = parse_file_name(path.name)
        if parsed is None:
            continue
        base, suffix = parsed
        if suffix == ".log":
            bases.append(base)
        elif suffix in (".index", ".timeindex", TXN_INDEX_SUFFIX) and not (
            directory / file_name(base, ".log")
        ).exists():
            path.unlink()  # index of a segment that is gone
    return sorted(bases)


def _finish_cleaner_leftovers(directory: Path) -> None:
    swaps: list[int] = []
    index_swaps: list[Path] = []
    changed = False
    for path in directory.iterdir():
        parsed = parse_file_name(path.name)
        if parsed is None:
            continue
        base, suffix = parsed
        if suffix.endswith((".deleted", ".cleaned")):
            path.unlink()
            changed = True
        elif suffix == ".log.swap":
            swaps.append(base)
        elif suffix in (".index.swap", ".timeindex.swap", TXN_INDEX_SUFFIX + ".swap"):
            index_swaps.append(path)
    for base in sorted(swaps):
        swap = directory / file_name(base, ".log.swap")
        last = _last_offset(swap)
        if last is None:  # cannot happen for a synced swap file; treat it as never committed
            swap.unlink()
            continue
        for path in list(directory.iterdir()):
            parsed = parse_file_name(path.name)
            if parsed is not None and parsed[1] == ".log" and base <= parsed[0] <= last:
                for ext in (".log", ".index", ".timeindex", TXN_INDEX_SUFFIX):
                    (directory / file_name(parsed[0], ext)).unlink(missing_ok=True)
        for ext in (".index", ".timeindex"):
            pending = directory / file_name(base, ext + ".swap")
            if pending.exists():
                os.replace(pending, directory / file_name(base, ext))
            else:
                (directory / file_name(base, ext)).unlink(missing_ok=True)
        pending = directory / file_name(base, TXN_INDEX_SUFFIX + ".swap")
        if pending.exists():
            os.replace(pending, directory / file_name(base, TXN_INDEX_SUFFIX))
        os.replace(swap, directory / file_name(base, ".log"))
        changed = True
    for path in index_swaps:
        if path.exists():  # not consumed by a committed swap above
            path.unlink()
            changed = True
    if changed:
        fsync_dir(directory)


def _last_offset(path: Path) -> int | None:
    """Last offset of the last whole batch of a segment file (headers only), None if it has none."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        pos, last = 0, None
        while size - pos >= HEADER_SIZE:
            try:
                header = BatchHeader(os.pread(fd, HEADER_SIZE, pos))
            except CorruptRecordError:
                break
            if header.batch_length < HEADER_SIZE - 12 or header.total_size > size - pos:
                break
            last = header.last_offset
            pos += header.total_size
        return last
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make file creations, renames and removals in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
