"""Replica fetchers: a follower copies its leader's log with the Fetch API (Kafka's
ReplicaFetcherThread), one asyncio task per (leader, fetcher index) — ``num.replica.fetchers``
connections to each leader, partitions spread over them by hash.

For each partition that just became a follower (or whose leader or epoch changed) the fetcher first
asks the leader where the follower's latest epoch ends (OffsetForLeaderEpoch, KIP-101/279) and
truncates the divergent tail; then it fetches from its log end offset with its current leader epoch
and the epoch of its last batch.  A fetch answer may also name a diverging epoch (Fetch v12+): the
follower truncates to it and goes on.  OFFSET_OUT_OF_RANGE: the leader's log start or end is asked
(ListOffsets) and the follower truncates to the end or starts again at the start.  Fencing errors
(FENCED/UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER) mean the metadata is changing: the partition
backs off until the ZooKeeper watch brings its new state.
Follower throttle (``kbroker.cluster.quota``, Kafka's shouldFollowerThrottle): while
``follower.replication.throttled.rate`` is exceeded, a partition ``follower.replication.throttled.replicas``
names for this broker is left out of the fetch unless it caught up with the leader's high watermark at its
last fetch; the record bytes of throttled partitions count toward the rate.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from dataclasses import dataclass

from kbroker.cluster.peer import PeerConnection, PeerError
from kbroker.cluster.quota import ReplicationThrottle
from kbroker.partition import FOLLOWER, Partition
from storage.errors import StorageError
from wire.errors import ErrorCode
from wire.messages.fetch import FetchRequest
from wire.messages.fetch import _FetchRequest_FetchPartition as FetchPartition
from wire.messages.fetch import _FetchRequest_FetchTopic as FetchTopic
from wire.messages.list_offsets import ListOffsetsRequest
from wire.messages.list_offsets import _ListOffsetsRequest_ListOffsetsPartition as LOPartition
from wire.messages.list_offsets import _ListOffsetsRequest_ListOffsetsTopic as LOTopic
from wire.messages.offset_for_leader_epoch import OffsetForLeaderEpochRequest
from wire.messages.offset_for_leader_epoch import (
    _OffsetForLeaderEpochRequest_OffsetForLeaderPartition as OFLEPartition,
)
from wire.messages.offset_for_leader_epoch import (
    _OffsetForLeaderEpochRequest_OffsetForLeaderTopic as OFLETopic,
)

log = logging.getLogger("kbroker.cluster.fetcher")

FETCH_VERSION = 12  # replica_id at the top level, last fetched epoch and diverging epoch
OFLE_VERSION = 4
LIST_OFFSETS_VERSION = 4


@dataclass(frozen=True, slots=True)
class FetchSettings:
    node_id: int
    max_bytes: int  # replica.fetch.max.bytes (per partition)
    response_max_bytes: int  # replica.fetch.response.max.bytes
    wait_max_ms: int  # replica.fetch.wait.max.ms
    min_bytes: int  # replica.fetch.min.bytes
    backoff_ms: int  # replica.fetch.backoff.ms
    socket_timeout_ms: int  # replica.socket.timeout.ms
    throttle: ReplicationThrottle | None = None  # the follower side of the replication throttles


def fetcher_index(topic: str, partition: int, fetchers: int) -> int:
    return (zlib.crc32(topic.encode()) * 31 + partition) % max(fetchers, 1)


class _Entry:
    __slots__ = ("part", "epoch", "truncate", "backoff_until", "in_sync")

    def __init__(self, part: Partition) -> None:
        self.part = part
        self.epoch = part.leader_epoch  # the epoch the partition follows in
        self.truncate = True
        self.backoff_until = 0.0
        self.in_sync = False  # caught up with the leader's high watermark at the last fetch (Kafka's lag 0)


class ReplicaFetcher:
    def __init__(self, leader_id: int, host: str, port: int, settings: FetchSettings) -> None:
        self.leader_id = leader_id
        self.settings = settings
        self._conn = PeerConnection(host, port, f"broker-{settings.node_id}-fetcher",
                                    settings.socket_timeout_ms / 1000)
        self._parts: dict[tuple[str, int], _Entry] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self._conn.host, self._conn.port

    def add(self, part: Partition) -> None:
        self._parts[part.topic, part.index] = _Entry(part)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, topic: str, index: int) -> None:
        self._parts.pop((topic, index), None)

    def __len__(self) -> int:
        return len(self._parts)

    async def stop(self) -> None:
        task, self._task = self._task, None
        # cancelled again until it ends: before Python 3.12 asyncio.wait_for drops a cancellation
        # that arrives as its inner wait completes (a wake-up, a response), and the loop goes on
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
        if task is not None and not task.cancelled():
            task.exception()  # retrieved: nothing to report at shutdown
        self._conn.close()

    # -- the loop -----------------------------------------------------------------------------------

    def _live(self) -> list[_Entry]:
        """Partitions still following this leader in the epoch they were added with."""
        out = []
        for key, e in list(self._parts.items()):
            p = e.part
            if p.role != FOLLOWER or p.leader_id != self.leader_id or p.leader_epoch != e.epoch or p.log.closed:
                self._parts.pop(key, None)
                continue
            out.append(e)
        return out

    async def _run(self) -> None:
        backoff = self.settings.backoff_ms / 1000
        while True:
            entries = self._live()
            if not entries:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), 5)
                except TimeoutError:
                    pass
                continue
            now = asyncio.get_running_loop().time()
            ready = [e for e in entries if e.backoff_until <= now]
            if not ready:
                await asyncio.sleep(min(e.backoff_until for e in entries) - now)
                continue
            try:
                todo = [e for e in ready if e.truncate]
                if todo:
                    await self._truncate(todo)
                fetchable = self._unthrottled([e for e in ready if not e.truncate])
                if fetchable:
                    await self._fetch(fetchable)
                elif not todo:  # every partition held back by the follower throttle
                    await asyncio.sleep(backoff)
            except PeerError as e:
                log.info("fetcher for leader %d: %s; retrying", self.leader_id, e)
                await asyncio.sleep(backoff)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("fetcher for leader %d failed; retrying", self.leader_id)
                await asyncio.sleep(backoff)

    def _unthrottled(self, entries: list[_Entry]) -> list[_Entry]:
        """Kafka's shouldFollowerThrottle: while the follower quota is exceeded, a throttled partition
        not in sync with its leader is left out of the fetch."""
        throttle = self.settings.throttle
        if throttle is None:
            return entries
        quota = throttle.follower
        held = [e for e in entries if not e.in_sync and quota.is_throttled(e.part.topic, e.part.index)]
        if not held or not quota.is_exceeded(time.monotonic() * 1000):
            return entries
        return [e for e in entries if e not in held]

    def _back_off(self, e: _Entry) -> None:
        e.backoff_until = asyncio.get_running_loop().time() + self.settings.backoff_ms / 1000

    # -- truncation (OffsetForLeaderEpoch) ----------------------------------------------------------

    async def _truncate(self, entries: list[_Entry]) -> None:
        by_topic: dict[str, list[OFLEPartition]] = {}
        for e in entries:
            p = e.part
            by_topic.setdefault(p.topic, []).append(OFLEPartition(
                partition=p.index, current_leader_epoch=e.epoch, leader_epoch=p.log.leader_epoch))
        req = OffsetForLeaderEpochRequest(replica_id=self.settings.node_id, topics=[
            OFLETopic(topic=t, partitions=ps) for t, ps in by_topic.items()])
        resp = await self._conn.request(req, OFLE_VERSION)
        index = {(e.part.topic, e.part.index): e for e in entries}
        for t in resp.topics:
            for r in t.partitions:
                found = index.get((t.topic, r.partition))
                if found is None or found not in self._live():
                    continue
                e = found
                p = e.part
                if r.error_code:
                    log.info("%s-%d: OffsetForLeaderEpoch from %d: error %d", p.topic, p.index, self.leader_id,
                             r.error_code)
                    self._back_off(e)
                    continue
                if r.leader_epoch < 0 or r.end_offset < 0:
                    target = p.high_watermark  # the leader knows none of our epochs: keep what was committed
                else:
                    _, local_end = p.log.leader_epochs.end_offset_for(r.leader_epoch, p.log.log_end_offset)
                    target = min(r.end_offset, local_end if local_end >= 0 else r.end_offset)
                try:
                    p.truncate_to(max(target, p.log.log_start_offset))
                except (OSError, StorageError):
                    log.exception("%s-%d: truncation failed", p.topic, p.index)
                    self._back_off(e)
                    continue
                e.truncate = False

    # -- fetching -----------------------------------------------------------------------------------

    async def _fetch(self, entries: list[_Entry]) -> None:
        s = self.settings
        by_topic: dict[str, list[FetchPartition]] = {}
        for e in entries:
            p = e.part
            by_topic.setdefault(p.topic, []).append(FetchPartition(
                partition=p.index, current_leader_epoch=e.epoch, fetch_offset=p.log.log_end_offset,
                last_fetched_epoch=p.log.leader_epoch, log_start_offset=p.log.log_start_offset,
                partition_max_bytes=s.max_bytes))
        req = FetchRequest(replica_id=s.node_id, max_wait_ms=s.wait_max_ms, min_bytes=s.min_bytes,
                           max_bytes=s.response_max_bytes, isolation_level=0, session_id=0, session_epoch=-1,
                           topics=[FetchTopic(topic=t, partitions=ps) for t, ps in by_topic.items()],
                           forgotten_topics_data=[], rack_id="")
        resp = await self._conn.request(req, FETCH_VERSION,
                                        timeout_s=s.socket_timeout_ms / 1000 + s.wait_max_ms / 1000)
        if resp.error_code:
            log.info("fetch from leader %d: error %d", self.leader_id, resp.error_code)
            for e in entries:
                self._back_off(e)
            return
        index = {(e.part.topic, e.part.index): e for e in entries}
        live = set(map(id, self._live()))
        out_of_range: list[_Entry] = []
        for t in resp.responses:
            for r in t.partitions:
                found = index.get((t.topic, r.partition_index))
                if found is None or id(found) not in live:
                    continue  # the partition changed leader or epoch while the fetch was out
                e = found
                p = e.part
                if r.error_code == ErrorCode.OFFSET_OUT_OF_RANGE:
                    out_of_range.append(e)
                    continue
                if r.error_code:
                    if r.error_code not in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH,
                                            ErrorCode.UNKNOWN_LEADER_EPOCH):
                        log.info("%s-%d: fetch from %d: error %d", p.topic, p.index, self.leader_id, r.error_code)
                    self._back_off(e)
                    continue
                div = r.diverging_epoch
                if div is not None and div.epoch >= 0 and div.end_offset >= 0:
                    _, local_end = p.log.leader_epochs.end_offset_for(div.epoch, p.log.log_end_offset)
                    target = min(div.end_offset, local_end if local_end >= 0 else div.end_offset)
                    p.truncate_to(max(target, p.log.log_start_offset))
                    continue
                data = r.records
                view = memoryview(data) if data else memoryview(b"")
                throttle = self.settings.throttle
                if throttle is not None and len(view) and throttle.follower.is_throttled(p.topic, p.index):
                    throttle.follower.record(len(view), time.monotonic() * 1000)  # in sync or not
                try:
                    p.append_from_leader(view, r.high_watermark, r.log_start_offset)
                except (OSError, StorageError, ValueError) as exc:
                    log.warning("%s-%d: cannot append what leader %d sent: %s", p.topic, p.index,
                                self.leader_id, exc)
                    e.truncate = True
                    self._back_off(e)
                    continue
                e.in_sync = r.high_watermark - p.log.log_end_offset <= 0
        if out_of_range:
            await self._out_of_range(out_of_range)

    async def _out_of_range(self, entries: list[_Entry]) -> None:
        """The follower's log end is outside the leader's log: start again at its start, or
        truncate to its end."""
        async def ask(ts: int) -> dict[tuple[str, int], int]:
            by_topic: dict[str, list[LOPartition]] = {}
            for e in entries:
                by_topic.setdefault(e.part.topic, []).append(LOPartition(
                    partition_index=e.part.index, current_leader_epoch=e.epoch, timestamp=ts))
            req = ListOffsetsRequest(replica_id=self.settings.node_id, isolation_level=0, topics=[
                LOTopic(name=t, partitions=ps) for t, ps in by_topic.items()])
            resp = await self._conn.request(req, LIST_OFFSETS_VERSION)
            return {(t.name, r.partition_index): r.offset for t in resp.topics for r in t.partitions
                    if not r.error_code}

        earliest = await ask(-2)
        latest = await ask(-1)
        for e in entries:
            p = e.part
            key = (p.topic, p.index)
            if key not in earliest or key not in latest:
                self._back_off(e)
                continue
            leo = p.log.log_end_offset
            if leo > latest[key]:
                p.truncate_to(latest[key])
            elif leo < earliest[key]:
                p.truncate_fully_and_start_at(earliest[key])
            else:
                self._back_off(e)
