"""Idempotent producers, broker side: producer id allocation and the epochs InitProducerId hands out.

The per-partition sequence state (last five batches per producer, deduplication, snapshots) lives
with each partition log, in ``storage.producer_state``.

File ``<data_dir>/producer-id-block``: the decimal end (exclusive) of the block of producer ids in use,
written tmp → fsync → rename (``storage.checkpoint.write_atomic``) before the first id of a new block is handed out. At start-up the next id
is that end, so ids are never reused across restarts, crashes included (at most a block is skipped).

Epochs: InitProducerId v3+ lets a producer that already has an id ask for its epoch to be bumped.
This broker remembers, in memory, the latest epoch it granted per producer id (since start-up). A
bump is granted for an id this broker allocated (any other id gets a fresh id), unless the request names an older epoch than the
latest granted (another instance of the producer got a newer epoch since: PRODUCER_FENCED from v4,
INVALID_PRODUCER_EPOCH before), or the epoch would overflow (then a fresh id at epoch 0, as Kafka
does).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from kbroker.clock import now_ms
from storage.checkpoint import write_atomic
from storage.topics import LogManager
from wire.errors import ErrorCode

_BLOCK = 1000
MAX_EPOCH = 32767  # Kafka's Short.MAX_VALUE


class ProducerIdsUnavailable(Exception):
    """No block of producer ids could be claimed now (the cluster's store is unreachable): the
    request is answered with a retriable error."""


class ProducerIdAllocator:
    """Producer ids of a single broker, in blocks recorded in ``<data_dir>/producer-id-block``.

    Subclasses (``kbroker.cluster.producer_ids``) change where blocks come from (``_claim_block``)
    and which ids this broker handed out (``handed_out``); ``allocate`` and ``init`` are the
    interface InitProducerId uses."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "producer-id-block"
        start = int(self.path.read_text()) if self.path.exists() else 0
        self.next_id = start
        self.block_end = start
        self.first_id_this_run = start
        self.epochs: dict[int, int] = {}  # producer id -> latest epoch granted since start-up

    def _claim_block(self) -> tuple[int, int]:
        """The next block of ids, (first, end exclusive), recorded before any of it is handed out."""
        end = self.next_id + _BLOCK
        write_atomic(self.path, str(end).encode())
        return self.next_id, end

    def handed_out(self, producer_id: int) -> bool:
        """Whether this broker handed ``producer_id`` out (so it may bump its epoch)."""
        return producer_id < self.next_id

    def allocate(self) -> int:
        if self.next_id >= self.block_end:
            self.next_id, self.block_end = self._claim_block()
        pid = self.next_id
        self.next_id += 1
        self.epochs[pid] = 0
        return pid

    def init(self, producer_id: int, producer_epoch: int, version: int) -> tuple[int, int, int]:
        """(error, producer id, epoch) for an InitProducerId without a transactional id; no block
        to take an id from: COORDINATOR_LOAD_IN_PROGRESS (clients retry it), as Kafka answers
        while its producer-id manager waits for a block."""
        try:
            return self._init(producer_id, producer_epoch, version)
        except ProducerIdsUnavailable:
            return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, -1, -1

    def _init(self, producer_id: int, producer_epoch: int, version: int) -> tuple[int, int, int]:
        if producer_id < 0 or producer_epoch < 0:
            return ErrorCode.NONE, self.allocate(), 0
        if not self.handed_out(producer_id):
            # Not an id this broker handed out (another cluster's, or a wiped data directory): like
            # Kafka for producers without a transactional id, hand out a fresh one.
            return ErrorCode.NONE, self.allocate(), 0
        latest = self.epochs.get(producer_id)
        if latest is not None and producer_epoch < latest:
            fenced = ErrorCode.PRODUCER_FENCED if version >= 4 else ErrorCode.INVALID_PRODUCER_EPOCH
            return fenced, -1, -1
        if producer_epoch >= MAX_EPOCH - 1:
            return ErrorCode.NONE, self.allocate(), 0
        epoch = producer_epoch + 1
        self.epochs[producer_id] = epoch
        return ErrorCode.NONE, producer_id, epoch


class ProducerExpiry:
    """``producer.id.expiration.ms``: every ``producer.id.expiration.check.interval.ms`` the sequence
    state of producers idle that long is forgotten on every partition log."""

    def __init__(self, logs: LogManager, max_idle_ms: int, interval_ms: int) -> None:
        self._logs = logs
        self._max_idle_ms = max_idle_ms
        self._interval_ms = interval_ms
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_ms / 1000)
            now = now_ms()
            for lg in self._logs.logs().values():
                lg.producer_state.expire(now, self._max_idle_ms)
