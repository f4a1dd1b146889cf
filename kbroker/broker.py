"""Broker state shared by the handlers: configuration, topics and their logs, the
long-poll waiters of Fetch, and background flushing."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from pathlib import Path
from typing import Any

from kbroker import topic_config
from kbroker.cleaner_service import CleanerService
from kbroker.config import BrokerConfig
from kbroker.groups.coordinator import GroupCoordinator
from kbroker.producers import ProducerIdAllocator
from kbroker.retention_service import RetentionService
from storage.handles import handles
from storage.log import LogConfig, PartitionLog
from storage.topics import LogManager, TopicMeta

log = logging.getLogger("kbroker.broker")

LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def raise_fd_limit() -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit, as servers do (a broker holds files per partition)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
            target = hard
            if target == resource.RLIM_INFINITY:
                target = 1 << 20  # Linux's usual nr_open
            if soft == resource.RLIM_INFINITY or soft >= target:
                log.info("open file limit %s", soft)
                return
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("raised the open file limit from %d to %d", soft, target)
        else:
            log.info("open file limit %d (the hard limit)", soft)
    except (OSError, ValueError) as exc:
        log.warning("could not raise the open file limit: %s", exc)


def _flush_each(logs: list[PartitionLog]) -> None:
    for lg in logs:
        lg.flush()


def topic_name_error(name: str) -> str | None:
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return "Topic name cannot be \".\" or \"..\""
    if len(name) > 249:
        return "Topic name is illegal, it can't be longer than 249 characters"
    if not LEGAL_TOPIC.match(name):
        return f"Topic name {name!r} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
    return None


class Broker:
    def __init__(self, config: BrokerConfig) -> None:
        raise_fd_limit()
        handles.reset_budget()  # segment files share half the (raised) limit: storage.handles
        log.info("segment file descriptor budget %d", handles.budget)
        self.config = config
        self.node_id = config.node_id
        self.advertised = config.advertised
        self.data_dir = Path(config.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cluster_id = self._load_cluster_id()
        topic_config.load_dynamic(config, self.data_dir)  # AlterConfigs on the broker
        self.logs = LogManager(self.data_dir, self._default_log_config(),
                               lambda overrides: topic_config.effective_all(self.config, overrides))
        self.connections: set[Any] = set()
        self.producer_ids = ProducerIdAllocator(self.data_dir)
        self.waiters: dict[tuple[str, int], list[asyncio.Future[None]]] = {}
        self._flush_task: asyncio.Task[None] | None = None
        self._expiry_task: asyncio.Task[None] | None = None
        self._flush_pending: asyncio.Future[None] | None = None
        self.groups = GroupCoordinator(self)  # loads __consumer_offsets
        self.retention = RetentionService(self)
        self.cleaner = CleanerService(self)

    # ------------------------------------------------------------ identity
    def _load_cluster_id(self) -> str:
        if self.config.get("cluster.id"):
            return str(self.config.get("cluster.id"))
        p = self.data_dir / "meta.properties"
        if p.exists():
            for line in p.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
        cid = uuid.uuid4().hex[:22]
        tmp = p.with_suffix(".tmp")
        tmp.write_text(f"version=1\ncluster.id={cid}\nnode.id={self.node_id}\n")
        tmp.replace(p)
        return cid

    # ------------------------------------------------------------ topics
    def _default_log_config(self) -> LogConfig:
        def eff(name: str) -> str:
            return topic_config.effective(self.config, {}, name)

        flush_messages = int(eff("flush.messages"))
        flush_ms = int(eff("flush.ms"))
        return LogConfig(
            segment_bytes=int(eff("segment.bytes")),
            segment_ms=int(eff("segment.ms")),
            index_interval_bytes=int(eff("index.interval.bytes")),
            segment_index_bytes=int(eff("segment.index.bytes")),
            flush_interval_messages=None if flush_messages >= 2**62 else flush_messages,
            flush_interval_ms=None if flush_ms >= 2**62 else flush_ms,
        )

    def all_logs(self) -> list[PartitionLog]:
        return list(self.logs.logs().values())

    def flush_all(self) -> None:
        for lg in self.all_logs():
            lg.flush()

    def topic(self, name: str) -> TopicMeta | None:
        return self.logs.topics.get(name)

    def all_topics(self) -> list[TopicMeta]:
        return self.logs.topics.all()

    def topic_config(self, name: str, key: str) -> str:
        meta = self.logs.topics.get(name)
        return topic_config.effective(self.config, meta.configs if meta else {}, key)

    def create_topic(self, name: str, partitions: int, configs: dict[str, str]) -> TopicMeta:
        return self.logs.create_topic(name, partitions, configs)

    def delete_topic(self, name: str) -> None:
        meta = self.logs.topics.get(name)
        self.logs.delete_topic(name)
        if meta is not None:
            for p in range(meta.partitions):
                self._wake((name, p))

    def get_log(self, topic: str, partition: int) -> PartitionLog | None:
        return self.logs.get_log(topic, partition)

    def broker_configs_changed(self) -> None:
        """Dynamic broker configs changed: persist them and re-derive every log's settings."""
        topic_config.save_dynamic(self.config, self.data_dir)
        self.logs.reconfigure_all(self._default_log_config())

    # ------------------------------------------------------------ long poll
    def _wake(self, tp: tuple[str, int]) -> None:
        ws = self.waiters.pop(tp, None)
        if ws:
            for fut in ws:
                if not fut.done():
                    fut.set_result(None)

    def notify_append(self, topic: str, partition: int) -> None:
        if self.waiters:
            self._wake((topic, partition))

    def add_waiter(self, tps: list[tuple[str, int]]) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for tp in tps:
            self.waiters.setdefault(tp, []).append(fut)
        return fut

    def remove_waiter(self, tps: list[tuple[str, int]], fut: asyncio.Future[None]) -> None:
        for tp in tps:
            ws = self.waiters.get(tp)
            if ws is not None:
                try:
                    ws.remove(fut)
                except ValueError:
                    pass
                if not ws:
                    del self.waiters[tp]

    # ------------------------------------------------------------ flushing (group commit)
    async def flush_soon(self) -> None:
        """Waits for one fsync pass that covers everything appended before the call.
        All callers in the same loop tick share it."""
        fut = self._flush_pending
        if fut is None or fut.done():
            loop = asyncio.get_running_loop()
            fut = self._flush_pending = loop.create_future()
            loop.call_soon(self._start_flush, fut)
        await asyncio.shield(fut)

    def _start_flush(self, fut: asyncio.Future[None]) -> None:
        if self._flush_pending is fut:
            self._flush_pending = None
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(None, self.flush_all)

        def done(t: asyncio.Future[None]) -> None:
            if not fut.done():
                exc = t.exception()
                if exc is not None:
                    fut.set_exception(exc)
                else:
                    fut.set_result(None)

        task.add_done_callback(done)

    async def _flush_loop(self) -> None:
        """Honours flush.ms / log.flush.interval.ms for logs that ask for it."""
        while True:
            await asyncio.sleep(0.05)
            now = now_ms()
            due = self.logs.logs_needing_flush(now)
            if due:
                await asyncio.get_running_loop().run_in_executor(None, _flush_each, due)

    async def _producer_expiry_loop(self) -> None:
        """producer.id.expiration.ms: forget the sequence state of producers idle that long."""
        max_idle = self.config.get_int("producer.id.expiration.ms")
        while True:
            await asyncio.sleep(self.config.get_int("producer.id.expiration.check.interval.ms") / 1000)
            now = now_ms()
            for lg in self.all_logs():
                lg.producer_state.expire(now, max_idle)

    # ------------------------------------------------------------ lifecycle
    def start_background(self) -> None:
        self._flush_task = asyncio.get_running_loop().create_task(self._flush_loop())
        self._expiry_task = asyncio.get_running_loop().create_task(self._producer_expiry_loop())
        self.groups.start()
        self.retention.start()
        self.cleaner.start()

    async def stop(self) -> None:
        """Stop everything; a failed checkpoint write (a full disk, say) is logged, never raised:
        the logs are recovered from their files at the next start."""
        for name, part in (("groups", self.groups), ("cleaner", self.cleaner), ("retention", self.retention)):
            try:
                await part.stop()
            except Exception:
                log.exception("stopping the %s failed; continuing the shutdown", name)
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        if self._flush_task is not None:
            self._flush_task.cancel()
            try:
                await self._flush_task
            except asyncio.CancelledError:
                pass
        tasks = []
        for conn in list(self.connections):
            conn.close()
            if conn.task is not None and not conn.task.done():
                conn.task.cancel()
                tasks.append(conn.task)
        if tasks:
            # Requests still in progress (a parked long-poll fetch, say) end before the logs close.
            await asyncio.wait(tasks, timeout=5)
        for ws in self.waiters.values():
            for fut in ws:
                if not fut.done():
                    fut.set_result(None)
        self.waiters.clear()
        try:
            self.logs.close_all(clean=True)
        except Exception:
            log.exception("closing the logs failed")
