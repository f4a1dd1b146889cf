"""The transaction coordinator: the async shell around the pure state machine (``kbroker.txn.state``).

It owns what the state machine may not touch: the clock, the transactions' metadata in memory,
``__transaction_state`` (``kbroker.txn.log``), the commit/abort markers (``kbroker.txn.markers``)
and the periodic timeout abort and id expiry.  One transactional id's events run one at a time
(a lock per id); a write is answered, and becomes the metadata in memory, only once committed.

Which ids it coordinates: an id's records go to partition ``partition_for(id)`` of
``__transaction_state``; the leader of that partition coordinates it, and the coordinator epoch
is the partition's leader epoch.
- Single broker (``cluster=False``): every partition is loaded at construction (before the
  listener accepts connections) and owned; the topic is created on first use.
- Cluster: ``on_become_leader(p)`` loads partition p (its ids answer COORDINATOR_LOAD_IN_PROGRESS
  meanwhile); ``on_resign(p)`` drops its ids (NOT_COORDINATOR from then on).
After a load every transaction left in PrepareCommit / PrepareAbort is completed (its markers are
sent again); an Ongoing one is left to the timeout abort.

Ending a transaction (EndTxn, a new incarnation's InitProducerId, the timeout abort): the Prepare*
state is written, the request answered, then markers go to every partition's leader until each
answers (retried on NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, timeouts…; a deleted partition
is dropped), and the Complete* state is written.

Not done: transaction.version 2; authorization; the metrics of Kafka's coordinator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kbroker.background import cancel_and_wait
from kbroker.clock import now_ms
from kbroker.config import BrokerConfig
from kbroker.groups.codec import OFFSETS_TOPIC
from kbroker.groups.codec import partition_for as group_partition
from kbroker.topics import TopicService
from kbroker.txn import state as st
from kbroker.txn.log import TxnLog
from kbroker.txn.markers import MarkerSender
from kbroker.txn.ports import MarkerWriter, TopicPartition
from kbroker.txn.state import Decision, TxnMeta, TxnState
from wire.errors import ErrorCode

log = logging.getLogger("kbroker.txn")
E = ErrorCode


class TransactionCoordinator:
    def __init__(self, config: BrokerConfig, topics: TopicService, producer_ids: Any, markers: MarkerWriter | None,
                 *, cluster: Any = None, create_topic: Callable[[], bool] | None = None) -> None:
        self.config = config
        self.topics = topics
        self.producer_ids = producer_ids
        self.cluster = cluster
        self.log = TxnLog(config, topics, create=create_topic)
        self.sender = MarkerSender(topics, markers, cluster)
        self.max_timeout_ms = config.get_int("transaction.max.timeout.ms")
        self.expiration_ms = config.get_int("transactional.id.expiration.ms")
        self.abort_interval_ms = config.get_int("transaction.abort.timed.out.transaction.cleanup.interval.ms")
        self.expiry_interval_ms = config.get_int("transaction.remove.expired.transaction.cleanup.interval.ms")
        self.txns: dict[str, TxnMeta] = {}
        self._owned: dict[int, int] = {}  # cluster: partition -> coordinator epoch (loaded)
        self._loading: dict[int, int] = {}  # cluster: partition -> load token
        self._seq = 0
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._running = False
        if cluster is None and self.log.exists():
            for p in range(self.log.partitions):
                self.txns.update(self.log.read_partition(p))
            if self.txns:
                log.info("loaded %d transactional ids from %s", len(self.txns), "__transaction_state")

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._running = True
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._every(self.abort_interval_ms, self.abort_timed_out)),
                       loop.create_task(self._every(self.expiry_interval_ms, self.remove_expired))]
        if self.cluster is None:
            for m in list(self.txns.values()):
                self._resume(m)

    async def stop(self) -> None:
        self._running = False
        for t in self._loops:
            await cancel_and_wait(t)
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sender.close()

    async def _every(self, interval_ms: int, fn: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(max(interval_ms, 1) / 1000)
            try:
                await fn()
            except Exception:
                log.exception("transaction coordinator background pass failed")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ ownership
    def partition_of(self, transactional_id: str) -> int:
        return self.log.partition_for(transactional_id)

    def status(self, transactional_id: str) -> int:
        """NONE when this broker coordinates the id now; else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS."""
        if self.cluster is None:
            self.log.ensure()
            return E.NONE
        p = self.partition_of(transactional_id)
        if p in self._loading:
            return E.COORDINATOR_LOAD_IN_PROGRESS
        return E.NONE if p in self._owned else E.NOT_COORDINATOR

    def coordinator_epoch(self, transactional_id: str) -> int:
        p = self.partition_of(transactional_id)
        if self.cluster is None:
            return self.log.leader_epoch(p) or 0
        return self._owned.get(p, -1)

    async def load_partition(self, p: int) -> None:
        """This broker became the leader of partition ``p``: replay it (in a worker thread) and own its ids."""
        self._seq += 1
        token = self._seq
        self._loading[p] = token
        self._owned.pop(p, None)
        try:
            loaded = await asyncio.get_running_loop().run_in_executor(None, self.log.read_partition, p)
        except Exception:
            log.exception("loading %s-%d failed", "__transaction_state", p)
            if self._loading.get(p) == token:
                del self._loading[p]
            return
        if self._loading.get(p) != token:
            return  # resigned (or a newer load) meanwhile
        del self._loading[p]
        epoch = self.log.leader_epoch(p)
        if epoch is None:
            return
        for tid in [t for t in self.txns if self.partition_of(t) == p]:
            del self.txns[tid]
        self.txns.update(loaded)
        self._owned[p] = epoch
        log.info("loaded %s-%d (coordinator epoch %d): %d transactional ids", "__transaction_state", p, epoch,
                 len(loaded))
        for m in loaded.values():
            self._resume(m)

    def on_resign(self, p: int) -> None:
        self._loading.pop(p, None)
        if self._owned.pop(p, None) is not None:
            for tid in [t for t in self.txns if self.partition_of(t) == p]:
                del self.txns[tid]

    def _resume(self, m: TxnMeta) -> None:
        if m.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            self._spawn(self._complete(m, self.coordinator_epoch(m.transactional_id)))

    # ------------------------------------------------------------ the shell
    def _lock(self, tid: str) -> asyncio.Lock:
        lock = self._locks.get(tid)
        if lock is None:
            lock = self._locks[tid] = asyncio.Lock()
        return lock

    async def _apply(self, tid: str, decide: Callable[[TxnMeta | None], Decision]) -> Decision:
        code = self.status(tid)
        if code:
            return Decision.fail(code)
        async with self._lock(tid):
            code = self.status(tid)
            if code:
                return Decision.fail(code)
            epoch = self.coordinator_epoch(tid)
            d = decide(self.txns.get(tid))
            if d.write is None:
                return d
            err = await self.log.write(d.write)
            if err:
                return Decision.fail(err)
            if self.status(tid) or self.coordinator_epoch(tid) != epoch:
                return Decision.fail(E.NOT_COORDINATOR)
            self.txns[tid] = d.write
            if d.then == st.MARKERS:
                self._spawn(self._complete(d.write, epoch))
            return d

    async def init_producer_id(self, tid: str, timeout_ms: int, producer_id: int, producer_epoch: int) -> tuple[int, int, int]:
        """(error, producer id, epoch) for InitProducerId with a transactional id."""
        fresh: list[int] = []

        def new_id() -> int:
            if not fresh:
                fresh.append(self.producer_ids.allocate())
            return fresh[0]

        def decide(m: TxnMeta | None) -> Decision:
            needs = m is None or m.state == TxnState.DEAD or m.epoch_exhausted
            return st.init_producer_id(m, tid, timeout_ms, self.max_timeout_ms, producer_id, producer_epoch,
                                       new_id() if needs else -1, now_ms())
        try:
            d = await self._apply(tid, decide)
        except Exception as e:  # no producer id block could be claimed (the cluster's store)
            if type(e).__name__ == "ProducerIdsUnavailable":
                return E.COORDINATOR_LOAD_IN_PROGRESS, -1, -1
            raise
        if d.error or d.write is None:
            return d.error, -1, -1
        return E.NONE, d.write.producer_id, d.write.producer_epoch

    async def add_partitions(self, tid: str, producer_id: int, producer_epoch: int,
                             partitions: list[TopicPartition]) -> int:
        d = await self._apply(tid, lambda m: st.add_partitions(m, producer_id, producer_epoch, partitions, now_ms()))
        return d.error

    async def verify(self, tid: str, producer_id: int, producer_epoch: int,
                     partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        d = await self._apply(tid, lambda m: st.verify_partitions(m, producer_id, producer_epoch, partitions))
        if d.error:
            return {tp: d.error for tp in partitions}
        return d.partition_errors

    async def add_offsets(self, tid: str, producer_id: int, producer_epoch: int, group_id: str) -> int:
        return await self.add_partitions(tid, producer_id, producer_epoch, [(OFFSETS_TOPIC, self.offsets_partition(group_id))])

    def offsets_partition(self, group_id: str) -> int:
        meta = self.topics.get(OFFSETS_TOPIC)
        n = meta.partitions if meta is not None else self.config.get_int("offsets.topic.num.partitions")
        return group_partition(group_id, n)

    async def end_txn(self, tid: str, producer_id: int, producer_epoch: int, commit: bool) -> int:
        d = await self._apply(tid, lambda m: st.end_txn(m, producer_id, producer_epoch, commit, now_ms()))
        return d.error

    # ------------------------------------------------------------ completion
    async def _complete(self, m: TxnMeta, coordinator_epoch: int) -> None:
        """Sends ``m``'s markers until every partition has one, then writes Complete*; stops when
        this broker stops coordinating the id (the next coordinator completes it after its load)."""
        tid = m.transactional_id

        def current() -> bool:
            return (self._running and self.status(tid) == E.NONE and self.coordinator_epoch(tid) == coordinator_epoch
                    and self.txns.get(tid) == m)
        if not await self.sender.send(m, coordinator_epoch, current):
            return
        delay = 0.05
        while current():
            async with self._lock(tid):
                if not current():
                    return
                done = st.complete(m, now_ms())
                err = await self.log.write(done)
                if not err:
                    if current():
                        self.txns[tid] = done
                    return
            log.info("%s: writing %s failed (%d); retrying", tid, st.NAMES[done.state], err)
            if err == E.NOT_COORDINATOR:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # ------------------------------------------------------------ background passes
    async def abort_timed_out(self) -> None:
        now = now_ms()
        for tid, m in list(self.txns.items()):
            if st.timed_out(m, now).write is not None:
                log.info("aborting the transaction of %s (producer %d epoch %d): older than its timeout %d ms",
                         tid, m.producer_id, m.producer_epoch, m.timeout_ms)
                await self._apply(tid, lambda cur: st.timed_out(cur, now_ms()) if cur is not None else Decision())

    async def remove_expired(self) -> None:
        now = now_ms()
        for tid, m in list(self.txns.items()):
            if not st.expired(m, now, self.expiration_ms) or self.status(tid):
                continue
            async with self._lock(tid):
                cur = self.txns.get(tid)
                if cur is None or not st.expired(cur, now_ms(), self.expiration_ms):
                    continue
                if not await self.log.write(cur, tombstone=True) and self.txns.get(tid) == cur:
                    del self.txns[tid]
                    log.info("transactional id %s expired", tid)

    # ------------------------------------------------------------ describe / list
    def describe(self, tid: str) -> tuple[int, TxnMeta | None]:
        code = self.status(tid)
        if code:
            return code, None
        m = self.txns.get(tid)
        if m is None or m.state == TxnState.DEAD:
            return E.TRANSACTIONAL_ID_NOT_FOUND, None
        return E.NONE, m

    def listing(self) -> tuple[int, list[TxnMeta]]:
        """(error, the ids of every loaded partition); COORDINATOR_LOAD_IN_PROGRESS while one loads."""
        if self.cluster is not None and self._loading:
            return E.COORDINATOR_LOAD_IN_PROGRESS, []
        return E.NONE, [m for m in self.txns.values() if m.state != TxnState.DEAD]


