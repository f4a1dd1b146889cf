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

Stray files: ``*.tmp`` and index files whose ``.log`` is gone are removed; other names are left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from .segment import Segment, file_name, parse_file_name

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
        elif suffix in (".index", ".timeindex") and not (directory / file_name(base, ".log")).exists():
            path.unlink()  # index of a segment that is gone
    return sorted(bases)


def fsync_dir(directory: Path) -> None:
    """Make file creations, renames and removals in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
