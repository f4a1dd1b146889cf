"""Producer ids across a cluster: blocks of ``zkdata.PRODUCER_ID_BLOCK_SIZE`` ids claimed from the
znode ``/latest_producer_id_block``, as Kafka's ZooKeeper-mode brokers do.

Claiming a block: read the znode (its value names the latest block claimed by any broker), write
the next one — first id = the previous block's last id + 1, 0 when the znode does not exist yet —
conditionally on the version read (create when absent).  A lost race (``BadVersion``, or
``NodeExists`` on the create) means another broker claimed a block meanwhile: read again and
retry, ``max_attempts`` times at most.  Two brokers therefore never hand out the same id, and ids
are never reused after a restart (the znode only moves forward; what a broker had not handed out
of its block when it stopped is skipped).

Threads: ``allocate`` and ``init`` may be called from any thread (one lock).  Claiming a block is
a ZooKeeper round trip (kazoo's synchronous calls, bounded by ``zk_timeout_s``); called from the
event loop that blocks the loop once every 1000 ids.  With ``prefetch`` (default on), the next block
is claimed in a worker thread once ``prefetch_at`` ids of the current one remain, so the loop only
waits when ids run out faster than a round trip.

Epochs are as in ``kbroker.producers.ProducerIdAllocator``: a producer may bump the epoch of an id
this broker handed out in this run; any other id (another broker's, or from before a restart) gets
a fresh id at epoch 0.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kazoo.exceptions import (  # type: ignore[import-untyped]
    BadVersionError,
    KazooException,
    NodeExistsError,
    NoNodeError,
)

from kbroker.cluster import zkdata
from kbroker.producers import ProducerIdAllocator, ProducerIdsUnavailable

log = logging.getLogger("kbroker.cluster.producer_ids")

MAX_PRODUCER_ID = 2**63 - 1


class ZkProducerIdAllocator(ProducerIdAllocator):
    def __init__(self, zk: Any, broker_id: int, *, max_attempts: int = 50, prefetch: bool = True,
                 prefetch_at: int = zkdata.PRODUCER_ID_BLOCK_SIZE // 10, zk_timeout_s: float = 10.0) -> None:
        # no data directory: the znode is the record (the base __init__ is not called)
        self._zk = zk
        self.broker_id = broker_id
        self._max_attempts = max_attempts
        self._prefetch = prefetch
        self._prefetch_at = prefetch_at
        self._zk_timeout_s = zk_timeout_s
        self.next_id = 0
        self.block_end = 0  # exclusive; next_id >= block_end: no block yet
        self.first_id_this_run = -1
        self.epochs: dict[int, int] = {}
        self.blocks: list[tuple[int, int]] = []  # the blocks in use so far this run, (first, end exclusive)
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self._next: Future[tuple[int, int]] | None = None

    # -- blocks -------------------------------------------------------------------------------------

    def claim_block(self) -> tuple[int, int]:
        """Claims the next block in ZooKeeper: (first id, end exclusive).  Raises
        ProducerIdsUnavailable when ZooKeeper cannot be reached or every attempt lost a race."""
        path = zkdata.PRODUCER_ID_BLOCK
        timeout_error = getattr(getattr(self._zk, "handler", None), "timeout_exception", TimeoutError)
        for _ in range(self._max_attempts):
            try:
                try:
                    data, stat = self._call(self._zk.get_async(path))
                except NoNodeError:
                    data, stat = None, None
                previous = zkdata.decode_producer_id_block(data)
                first = 0 if previous is None else previous.end + 1
                if first > MAX_PRODUCER_ID - zkdata.PRODUCER_ID_BLOCK_SIZE:
                    raise ProducerIdsUnavailable("the producer ids are exhausted")
                block = zkdata.ProducerIdBlock(self.broker_id, first, first + zkdata.PRODUCER_ID_BLOCK_SIZE - 1)
                value = zkdata.encode_producer_id_block(block)
                if stat is None:
                    self._call(self._zk.create_async(path, value, makepath=True))
                else:
                    self._call(self._zk.set_async(path, value, version=stat.version))
            except (BadVersionError, NodeExistsError):
                continue  # another broker claimed a block since we read: read again
            except (KazooException, OSError, timeout_error) as e:  # not connected, session expired, timeout
                raise ProducerIdsUnavailable(f"cannot claim producer ids: {e!r}") from e
            log.info("claimed producer ids %d-%d", block.start, block.end)
            return block.start, block.end + 1
        raise ProducerIdsUnavailable(f"lost the race for {path} {self._max_attempts} times")

    def _call(self, async_result: Any) -> Any:
        return async_result.get(timeout=self._zk_timeout_s)

    def _claim_block(self) -> tuple[int, int]:
        nxt, self._next = self._next, None
        if nxt is not None:
            try:
                return nxt.result(timeout=self._zk_timeout_s * self._max_attempts)
            except Exception as e:  # the prefetch failed: claim here instead
                log.warning("prefetching producer ids failed (%r); claiming now", e)
        return self.claim_block()

    def _maybe_prefetch(self) -> None:
        if not self._prefetch or self._next is not None or self.block_end - self.next_id > self._prefetch_at:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="producer-ids")
        self._next = self._pool.submit(self.claim_block)

    def close(self) -> None:
        """Stops the prefetching thread (a prefetched block is left unused, as after a crash)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            self._next = None

    # -- the allocator's interface ------------------------------------------------------------------

    def handed_out(self, producer_id: int) -> bool:
        with self._lock:
            return any(first <= producer_id < min(end, self.next_id) for first, end in self.blocks)

    def allocate(self) -> int:
        with self._lock:
            if self.next_id >= self.block_end:
                self.next_id, self.block_end = self._claim_block()
                self.blocks.append((self.next_id, self.block_end))
                if self.first_id_this_run < 0:
                    self.first_id_this_run = self.next_id
            pid = self.next_id
            self.next_id += 1
            self.epochs[pid] = 0
            self._maybe_prefetch()
            return pid

    def init(self, producer_id: int, producer_epoch: int, version: int) -> tuple[int, int, int]:
        with self._lock:
            return super().init(producer_id, producer_epoch, version)
