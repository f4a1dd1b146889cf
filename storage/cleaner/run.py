"""One cleaning pass (``clean``): plan, map, rewrite and swap, then record the pass.

Rules:

- A pass holds the log's ``maintenance`` lock throughout, so retention stays out; appends go on.
- Nothing is done unless ``inspect`` says the log is due (or ``force``).
- One transaction walk (``txn.TxnWalk``) goes through every segment cleaned, oldest first, fed the
  aborted transactions overlapping them all (``PartitionLog.aborted_transactions``), so a
  transaction spanning segments or groups is seen whole.
- The checkpoint is written only after every group has been swapped in; a pass that stops or fails
  before that leaves the previous checkpoint, and the next pass redoes the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import LogClosedError
from ..log import PartitionLog, StaleSegments
from .common import CleanerAborted, CleanerConfig, CleanerStats, Pass
from .offset_map import build_map
from .output import clean_segments
from .plan import inspect, next_bases, write_checkpoint
from .txn import TxnWalk

__all__ = ["clean"]


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
        work = Pass(log, config, now_ms, should_stop, hook)
        segments = log.segments
        nexts = {id(s): n for s, n in zip(segments, next_bases(segments), strict=True)}
        closed = list(segments[:-1])
        dirty = [
            s for s in closed if nexts[id(s)] > state.first_dirty and s.base_offset < state.first_uncleanable
        ]
        end = build_map(work, dirty, nexts, state.first_dirty)
        stats = work.stats
        stats.first_dirty, stats.end_offset, stats.map_keys = state.first_dirty, end, len(work.map)
        targets = [s for s in closed if nexts[id(s)] <= end]
        if targets:
            work.txns = TxnWalk(log.aborted_transactions(targets[0].base_offset, end))
        try:
            clean_segments(work, targets, nexts)
        except (StaleSegments, LogClosedError) as exc:
            raise CleanerAborted(str(exc)) from exc
        write_checkpoint(log.directory, end, stats.earliest_horizon_ms)
        stats.seconds = time.monotonic() - work.started
        return stats
    finally:
        log.maintenance.release()
