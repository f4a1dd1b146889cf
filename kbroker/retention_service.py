"""Retention in the background: an async shell around ``storage.retention``.

Every ``log.retention.check.interval.ms`` (Kafka's default 300000) each partition log gets one
retention pass with its topic's resolved retention policy (``cleanup.policy``, ``retention.ms``,
``retention.bytes``, ``file.delete.delay.ms``: ``kbroker.topic_config``); the passes run on a worker thread (renames and fsyncs). Every tick
(at most 0.5 s) the segments retired by retention or by the cleaner whose ``file.delete.delay.ms``
is over are closed — here, on the event loop, the thread that serves reads (see ``storage.log``) —
and their files unlinked on a worker thread. A log busy being cleaned is skipped until the next
check. On stop every retired segment is closed and unlinked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from kbroker.background import cancel_and_wait
from kbroker.clock import now_ms as _now_ms
from kbroker.config import BrokerConfig
from kbroker.metrics.counters import LogActivity
from kbroker.topics import TopicService
from storage.log import PartitionLog
from storage.retention import RetentionPolicy, enforce_retention

log = logging.getLogger("kbroker.retention")


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _enforce_all(jobs: list[tuple[str, int, PartitionLog, RetentionPolicy]], now: int) -> tuple[int, int]:
    """(segments, bytes) deleted."""
    segments = nbytes = 0
    for topic, partition, plog, policy in jobs:
        try:
            result = enforce_retention(plog, policy, now)
        except OSError as exc:
            log.error("retention of %s-%d failed: %s", topic, partition, exc)
            continue
        if result is not None:
            segments += result.segments
            nbytes += result.bytes
            log.info(
                "%s-%d: deleted %d segment(s), %d bytes (time %d, size %d, below start %d); log start %d",
                topic, partition, result.segments, result.bytes, result.by_time, result.by_size,
                result.by_start, result.log_start_offset,
            )
    return segments, nbytes


class RetentionService:
    def __init__(self, topics: TopicService, config: BrokerConfig, activity: LogActivity | None = None) -> None:
        self._topics = topics
        self._activity = activity if activity is not None else LogActivity()
        self._interval_ms = config.get_int("log.retention.check.interval.ms")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        paths: list[Path] = []
        for part in self._topics.partitions():
            paths += part.log.reap_retired(0, force=True)
        _unlink(paths)

    async def check_once(self) -> None:
        """One retention pass over every log (also what the timer runs)."""
        jobs = [(p.topic, p.index, p.log, p.config.retention) for p in self._topics.partitions()]
        segments, nbytes = await asyncio.get_running_loop().run_in_executor(None, _enforce_all, jobs, _now_ms())
        activity = self._activity
        activity.retention_runs += 1
        activity.retention_segments_deleted += segments
        activity.retention_bytes_deleted += nbytes

    async def reap(self) -> None:
        now = _now_ms()
        paths: list[Path] = []
        for part in self._topics.partitions():
            paths += part.log.reap_retired(now)
        if paths:
            await asyncio.get_running_loop().run_in_executor(None, _unlink, paths)

    async def _run(self) -> None:
        interval = self._interval_ms
        tick = min(interval, 500) / 1000
        next_check = time.monotonic() + interval / 1000
        while True:
            await asyncio.sleep(tick)
            try:
                await self.reap()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + interval / 1000
                    await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention pass failed")
