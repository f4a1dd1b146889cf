"""Planning a pass: where a log's dirty section starts (the ``cleaner-offset-checkpoint``), whether a
pass is due (``inspect``), and recording a finished pass (``write_checkpoint``).

Sections of a log, by offset::

    [log start ............ first dirty ........... first uncleanable ......... log end)
     clean: cleaned before   dirty: written since    not yet: the active segment, the segment
                                                     holding the first unstable offset, and
                                                     segments younger than min.compaction.lag.ms

Rules:

- Only closed segments are ever considered; the active segment is never cleaned.
- dirty ratio = dirty bytes / (clean + dirty bytes), over closed segments. A pass is due when the
  ratio is at least ``min.cleanable.dirty.ratio``; or when a dirty segment's first batch is older
  than ``max.compaction.lag.ms``; or when a tombstone or transaction marker kept by an earlier pass
  has reached its delete horizon (so that it actually goes).
- The first dirty segment younger than ``min.compaction.lag.ms`` (by its largest timestamp) and every
  segment after it are not yet cleanable.
- Nor is the segment holding the log's first unstable offset (the first offset of its oldest ongoing
  transaction) or any after it: an ongoing transaction is never cleaned (Kafka's
  firstUncleanableDirtyOffset takes the min with the last stable offset; kbroker cleans whole
  segments, so the bound is that segment's base). The high watermark is the server's to add: storage
  does not know it.

On disk: ``cleaner-offset-checkpoint`` in the partition directory holds ``"0\\n<first dirty>\\n<ms>\\n"``:
version 0, the offset where the next pass's dirty section starts, and the earliest delete horizon of
a batch holding a kept tombstone or a stamped marker (-1 if none), so that ``inspect`` knows when a pass must run to drop
it. It is replaced atomically (``storage.checkpoint.write_atomic``: tmp -> fsync -> rename -> fsync
of the directory) once a pass has swapped everything in. A crash before that only means the next pass
redoes work: cleaning is idempotent. A missing or unreadable file reads as (0, -1).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from wire.records import HEADER_SIZE, BatchHeader

from ..cleaner_checkpoint import CHECKPOINT_FILE, read_checkpoint, write_checkpoint
from ..log import PartitionLog
from ..segment import Segment
from .common import NO_LIMIT, CleanerConfig

__all__ = ["CHECKPOINT_FILE", "Cleanable", "inspect", "next_bases", "read_checkpoint", "write_checkpoint"]



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


def bases(segments: tuple[Segment, ...]) -> list[int]:
    return [s.base_offset for s in segments]


def next_bases(segments: tuple[Segment, ...]) -> list[int]:
    """For each segment, the offset just past it (the next segment's base, or the log end)."""
    return [s.base_offset for s in segments[1:]] + [segments[-1].next_offset]


def inspect(log: PartitionLog, config: CleanerConfig, now_ms: int) -> Cleanable:
    segments = log.segments
    nexts = next_bases(segments)
    saved, horizon_ms = read_checkpoint(log.directory)
    first_dirty = max(saved, segments[0].base_offset)
    first_uncleanable = segments[-1].base_offset
    unstable = log.first_unstable_offset
    if unstable is not None and unstable < first_uncleanable:
        first_uncleanable = segments[max(bisect_right(bases(segments), unstable) - 1, 0)].base_offset
    dirty_idx = [i for i in range(len(segments) - 1) if nexts[i] > first_dirty]
    if config.min_compaction_lag_ms > 0:
        for i in dirty_idx:
            if segments[i].max_timestamp > now_ms - config.min_compaction_lag_ms:
                first_uncleanable = segments[i].base_offset
                break
    clean_bytes = sum(s.size for i, s in enumerate(segments[:-1]) if nexts[i] <= first_dirty)
    dirty = [segments[i] for i in dirty_idx if segments[i].base_offset < first_uncleanable]
    max_lag_due = False
    if config.max_compaction_lag_ms < NO_LIMIT and dirty:
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
