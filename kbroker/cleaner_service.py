"""The log cleaner in the background: an async shell around ``storage.cleaner``.

Loop: gather the partitions of topics whose ``cleanup.policy`` has ``compact`` (``__consumer_offsets``
among them) with their resolved configs (``kbroker.topic_config``), then on a worker thread (``run_in_executor``, never the
event loop) inspect them and clean the one that needs it most: a log past ``max.compaction.lag.ms``
first, then the highest dirty ratio at or above ``min.cleanable.dirty.ratio``, then one whose kept
tombstones have expired. After a pass the loop looks again at once; when nothing is due it sleeps
``log.cleaner.backoff.ms``. One log is cleaned at a time (``log.cleaner.threads`` is accepted, the
work is one thread). A log whose cleaning fails (a damaged batch, an I/O error) is left alone until
the next start, as Kafka marks it uncleanable. ``stop`` asks a running pass to give up at its next
chunk and waits for it. ``log.cleaner.enable=false`` turns all of it off.

Broker-wide knobs read each round (so AlterConfigs on the broker applies at once; typed by
``BrokerConfig.cleaner_knobs``):
``log.cleaner.backoff.ms``, ``log.cleaner.dedupe.buffer.size``, ``log.cleaner.io.buffer.size``,
``log.cleaner.io.max.bytes.per.second``.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from kbroker.background import cancel_and_wait
from kbroker.clock import now_ms as _now_ms
from kbroker.config import BrokerConfig
from kbroker.metrics.counters import LogActivity
from kbroker.topics import TopicService
from storage.cleaner import CleanerAborted, CleanerConfig, CleanerStats, clean, inspect
from storage.log import PartitionLog

log = logging.getLogger("kbroker.cleaner")

Job = tuple[str, int, PartitionLog, CleanerConfig]


class CleanerService:
    def __init__(self, topics: TopicService, config: BrokerConfig, activity: LogActivity | None = None) -> None:
        self._topics = topics
        self._activity = activity if activity is not None else LogActivity()
        self._config = config
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self._running: asyncio.Future[CleanerStats | None] | None = None
        self.uncleanable: set[tuple[str, int]] = set()
        self.passes = 0

    def jobs(self) -> list[Job]:
        knobs = self._config.cleaner_knobs()
        return [(p.topic, p.index, p.log, p.config.cleaner_config(*knobs)) for p in self._topics.partitions()
                if p.config.compact and (p.topic, p.index) not in self.uncleanable]

    def start(self) -> None:
        if self._config.get_bool("log.cleaner.enable"):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping.set()
        await cancel_and_wait(self._task)
        self._task = None
        running = self._running
        if running is not None and not running.done():
            try:
                await running  # the worker notices _stopping at its next chunk
            except Exception:  # noqa: BLE001 - it was logged where it happened
                pass

    async def clean_once(self) -> CleanerStats | None:
        """Clean the log that needs it most, if any (also what the loop runs)."""
        jobs = self.jobs()
        if not jobs:
            return None
        fut = asyncio.get_running_loop().run_in_executor(None, self._pick_and_clean, jobs, _now_ms())
        self._running = fut
        try:
            stats = await asyncio.shield(fut)
        finally:
            if fut.done():
                self._running = None
        activity = self._activity
        activity.cleaner_uncleanable = len(self.uncleanable)
        if stats is not None:
            activity.cleaner_runs += 1
            activity.cleaner_bytes_read += stats.bytes_read
            activity.cleaner_bytes_written += stats.bytes_written
        return stats

    def _pick_and_clean(self, jobs: list[Job], now: int) -> CleanerStats | None:
        """Worker thread: inspect every candidate, clean the most urgent one."""
        best: tuple[tuple[int, float], Job] | None = None
        for job in jobs:
            topic, partition, plog, config = job
            if plog.closed:
                continue
            try:
                state = inspect(plog, config, now)
            except (OSError, ValueError) as exc:
                log.warning("cannot inspect %s-%d for cleaning: %s", topic, partition, exc)
                continue
            if not state.due(config.min_cleanable_ratio):
                continue
            rank = (1 if state.max_lag_due else 0, state.dirty_ratio)
            if best is None or rank > best[0]:
                best = (rank, job)
        if best is None:
            return None
        topic, partition, plog, config = best[1]
        try:
            stats = clean(plog, config, now, wait=False, should_stop=self._stopping.is_set)
        except CleanerAborted:
            return None
        except (OSError, ValueError) as exc:  # ValueError: CorruptRecordError and friends
            if not plog.closed:
                log.error("cleaning %s-%d failed, leaving it alone until restart: %s", topic, partition, exc)
                self.uncleanable.add((topic, partition))
            return None
        if stats is not None:
            self.passes += 1
            log.info(
                "cleaned %s-%d up to offset %d: %d -> %d segment(s), %d -> %d bytes, %d of %d records kept, "
                "%d batch(es) emptied, %d tombstone(s) dropped, %.3f s",
                topic, partition, stats.end_offset, stats.segments_before, stats.segments_after,
                stats.bytes_read, stats.bytes_written, stats.records_kept, stats.records_read,
                stats.batches_emptied, stats.tombstones_dropped, stats.seconds,
            )
        return stats

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                stats = await self.clean_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cleaner round failed")
                stats = None
            if stats is None:
                backoff = self._config.get_int("log.cleaner.backoff.ms")
                await asyncio.sleep(max(backoff, 10) / 1000)
            else:
                await asyncio.sleep(0)
