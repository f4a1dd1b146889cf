"""Retention: whole closed segments leave the log by time, by size, or because DeleteRecords moved the
log start offset past them.

Rules (Kafka's), applied to the oldest closed segments in order and stopping at the first segment that
no rule removes, so what goes is always a prefix of the log and never the active segment:

- below the log start offset: the next segment's base <= the log start offset (any cleanup policy);
- by time (``cleanup.policy`` has ``delete`` and ``retention.ms`` >= 0): the segment's largest record
  timestamp is more than ``retention.ms`` before now. A segment without timestamps (all -1) uses its
  file's modification time instead, as Kafka does;
- by size (``delete`` and ``retention.bytes`` >= 0): while the log, active segment included, would
  still hold at least ``retention.bytes`` without the segment.

The removed segments are renamed ``<name>.deleted`` and retired (``PartitionLog.replace_segments``);
their descriptors are closed and the files unlinked ``file.delete.delay.ms`` later
(``PartitionLog.reap_retired``), or at the next open after a crash (``storage.recovery``). The log start
offset becomes the new first segment's base if that is higher. Blocking work (renames, a directory
fsync): run it off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LogClosedError
from .log import PartitionLog, StaleSegments
from .recovery import fsync_dir
from .segment import Segment

__all__ = ["RetentionPolicy", "RetentionResult", "segments_to_delete", "enforce_retention"]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """One log's settings, named after Kafka's topic configs. Every field is required: Kafka's
    defaults are the server's to give (``kbroker.topic_config``)."""

    retention_ms: int  # < 0: no time limit
    retention_bytes: int  # < 0: no size limit
    delete: bool  # cleanup.policy contains "delete"
    file_delete_delay_ms: int


@dataclass(frozen=True, slots=True)
class RetentionResult:
    segments: int
    bytes: int
    log_start_offset: int
    by_time: int = 0
    by_size: int = 0
    by_start: int = 0


def _largest_timestamp(segment: Segment) -> int:
    if segment.max_timestamp >= 0:
        return segment.max_timestamp
    return segment.file_stat().st_mtime_ns // 1_000_000


def segments_to_delete(log: PartitionLog, policy: RetentionPolicy, now_ms: int) -> list[tuple[Segment, str]]:
    """The prefix of closed segments that retention removes now, each with its reason
    (``start``, ``time`` or ``size``)."""
    segments = log.segments
    start = log.log_start_offset
    excess = sum(s.size for s in segments) - policy.retention_bytes
    by_time = policy.delete and policy.retention_ms >= 0
    by_size = policy.delete and policy.retention_bytes >= 0
    out: list[tuple[Segment, str]] = []
    for segment, after in zip(segments, segments[1:], strict=False):  # never the active segment
        if after.base_offset <= start:
            reason = "start"
        elif by_time and now_ms - _largest_timestamp(segment) > policy.retention_ms:
            reason = "time"
        elif by_size and excess - segment.size >= 0:
            reason = "size"
        else:
            break
        excess -= segment.size
        out.append((segment, reason))
    return out


def enforce_retention(
    log: PartitionLog, policy: RetentionPolicy, now_ms: int, wait: bool = False
) -> RetentionResult | None:
    """Remove what ``segments_to_delete`` names. None when the log is busy being cleaned (unless
    ``wait``), closed, or when there is nothing to remove."""
    if not log.maintenance.acquire(blocking=wait):
        return None
    try:
        if log.closed:
            return None
        doomed = segments_to_delete(log, policy, now_ms)
        if not doomed:
            return None
        old = [s for s, _ in doomed]
        try:
            log.replace_segments(old, None, now_ms, policy.file_delete_delay_ms)
        except (StaleSegments, LogClosedError):
            return None
        fsync_dir(log.directory)
        reasons = [r for _, r in doomed]
        return RetentionResult(
            segments=len(old),
            bytes=sum(s.size for s in old),
            log_start_offset=log.log_start_offset,
            by_time=reasons.count("time"),
            by_size=reasons.count("size"),
            by_start=reasons.count("start"),
        )
    finally:
        log.maintenance.release()
