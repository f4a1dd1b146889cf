"""Fetch (key 1), v4-18.

Behaviour: for each requested partition, the segment bytes from the batch holding
fetch_offset up to the high watermark (isolation_level 1, read_committed: up to the last
stable offset, below the first offset of any transaction still open), bounded by partition_max_bytes and the
request's max_bytes — but the first partition with data always gets at least one
whole batch (KIP-74).  Record bytes are never decoded: the response carries file
slices that the connection sends with pread or sendfile (`fetch.transfer`).
With less than min_bytes available, the request waits up to max_wait_ms and is woken
by appends to any of its partitions (and by markers, which move the last stable offset).
Transactions: every answer carries last_stable_offset; read_committed answers list in
aborted_transactions the (producer id, first offset) of each aborted transaction overlapping the
returned range (``PartitionLog.aborted_transactions`` from the fetch offset up to the last stable
offset; a client drops those producers' records from the first offset up to the producer's abort
marker), an empty list when there is none; read_uncommitted answers a null list, as Kafka does.
Fetch sessions are declined: session_id is always 0, so every fetch is a full fetch
and returns exactly the requested partitions.
Version notes: v4 isolation level, last stable offset, aborted txns · v5 log start offset ·
v7 sessions · v9 current leader epoch (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH against the
partition's) · v11 rack, preferred replica · v12 flexible, last fetched epoch → diverging epoch when
that epoch ends before the fetch offset (no records then) · v13 topics by topic id (KIP-516): each
requested id is resolved to its topic; an unknown (or zero) id gets UNKNOWN_TOPIC_ID (100) on each of
its partitions, the response's top-level error staying 0 as Kafka's does; response topics carry the
id, not the name · v14 OFFSET_MOVED_TO_TIERED_STORAGE possible (never here: no tiered storage) ·
v15 replica_id moves into the replica_state tagged field (consumers: -1) · v16 a partition answered
FENCED_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER carries current_leader (this broker, its epoch) and the
response lists this broker in node_endpoints (KIP-951) · v17 replica_directory_id (KIP-853), v18 the
follower's high_watermark (KIP-1166): follower-only fields, read and ignored.
Fetch sessions are declined at every version: the Java consumer (4.x) treats session id 0 as "no
session" and sends full fetches (by topic id from v13).
In a cluster: only the leader serves (others answer NOT_LEADER_OR_FOLLOWER with the leader they know,
v16+); a fetch with a replica id (a follower, ``replica_id`` up to v14, ``replica_state`` from v15)
records the follower's log end offset on the partition (high watermark, ISR) and reads up to the
log end instead of the high watermark.  Replication throttle (kbroker.cluster.quota): a partition this
broker leads and ``leader.replication.throttled.replicas`` names for it gets no records (no error) in a
fetch of a follower outside the ISR while ``leader.replication.throttled.rate`` is exceeded; the record
bytes of throttled partitions sent to followers are counted against that rate.
Not implemented: fetch sessions (declined, as allowed), fetch from a follower (KIP-392).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

from kbroker.clock import now_ms
from kbroker.context import RequestContext
from kbroker.registry import handler
from storage.errors import OffsetOutOfRange
from storage.log import FileSlice
from wire.errors import ErrorCode
from wire.messages.fetch import FetchRequest, FetchResponse, _FetchRequest_FetchPartition
from wire.messages.fetch import _FetchResponse_AbortedTransaction as AbortedTransaction
from wire.messages.fetch import _FetchResponse_EpochEndOffset as EpochEndOffset
from wire.messages.fetch import _FetchResponse_FetchableTopicResponse as TopicData
from wire.messages.fetch import _FetchResponse_LeaderIdAndEpoch as LeaderIdAndEpoch
from wire.messages.fetch import _FetchResponse_NodeEndpoint as NodeEndpoint
from wire.messages.fetch import _FetchResponse_PartitionData as PartData
from wire.primitives import ZERO_UUID

if TYPE_CHECKING:
    from kbroker.cluster.quota import ReplicationQuota
    from kbroker.metrics.counters import Traffic


def _names(ctx: RequestContext, req: FetchRequest) -> list[str | None]:
    """The topic name of each requested topic: by name up to v12, by topic id from v13 (None: unknown id)."""
    if ctx.api_version < 13:
        return [t.topic for t in req.topics]
    by_id = (ctx.cluster.topic_ids() if ctx.cluster is not None else ctx.topics.ids())
    return [by_id.get(t.topic_id) for t in req.topics]


def _unknown(idx: int, code: int) -> PartData:
    return PartData(partition_index=idx, error_code=code, high_watermark=-1, last_stable_offset=-1,
                    log_start_offset=-1, aborted_transactions=[], records=b"")


def _failed(idx: int, code: int, leader: LeaderIdAndEpoch) -> PartData:
    """A partition whose read failed (epoch check, offset out of range): no offsets, as Kafka answers."""
    return PartData(partition_index=idx, error_code=code, high_watermark=-1, last_stable_offset=-1,
                    log_start_offset=-1, current_leader=leader, aborted_transactions=None, records=b"")


def _grouped(entries: list[tuple[str, uuid.UUID, PartData]]) -> list[TopicData]:
    """Consecutive partitions of one topic share a topic entry (as Kafka builds its response)."""
    out: list[TopicData] = []
    for name, tid, pd in entries:
        if out and out[-1].topic == name and out[-1].topic_id == tid:
            out[-1].partitions.append(pd)
        else:
            out.append(TopicData(topic=name, topic_id=tid, partitions=[pd]))
    return out


def _wanted(req: FetchRequest,
            names: list[str | None]) -> dict[tuple[str | None, uuid.UUID, int], _FetchRequest_FetchPartition]:
    """The requested partitions in request order; a partition asked for twice is fetched once, at its
    first place, with its last parameters (Kafka keys a fetch by topic partition)."""
    out: dict[tuple[str | None, uuid.UUID, int], _FetchRequest_FetchPartition] = {}
    for t, name in zip(req.topics, names, strict=True):
        for p in t.partitions:
            out[(name, t.topic_id if name is None else ZERO_UUID, p.partition)] = p
    return out


def _replica_id(ctx: RequestContext, req: FetchRequest) -> int:
    return req.replica_id if ctx.api_version < 15 else req.replica_state.replica_id


def _collect(ctx: RequestContext, req: FetchRequest, names: list[str | None]) -> tuple[list[TopicData], int, bool]:
    """(topics, bytes of record data, whether any partition has an error).  Partitions of unknown
    topics (names, or ids from v13) come after all the others, as in Kafka's response."""
    v = ctx.api_version
    budget = req.max_bytes if req.max_bytes > 0 else 2**31 - 1
    replica_id = _replica_id(ctx, req)
    read_committed = req.isolation_level == 1 and replica_id < 0
    cluster = ctx.cluster
    now = now_ms()
    # the leader's replication throttle: checked once per response, as Kafka checks its quota
    quota = cluster.throttle.leader if cluster is not None and replica_id >= 0 else None
    exceeded: bool | None = None
    total = 0
    any_error = False
    served: list[tuple[str, uuid.UUID, PartData]] = []
    unknown: list[tuple[str, uuid.UUID, PartData]] = []
    for (name, tid_asked, idx), p in _wanted(req, names).items():
        if name is None:  # v13+: no topic has this id
            unknown.append(("", tid_asked, _unknown(idx, ErrorCode.UNKNOWN_TOPIC_ID)))
            any_error = True
            continue
        meta = ctx.topics.get(name)
        tid = meta.topic_id if meta is not None else tid_asked
        part = ctx.topics.partition(name, idx)
        if part is None and cluster is not None and cluster.partition(name, idx) is not None:
            info = cluster.partition(name, idx)
            assert info is not None
            leader = LeaderIdAndEpoch()
            if v >= 16 and info.leader >= 0:
                leader = LeaderIdAndEpoch(leader_id=info.leader, leader_epoch=info.leader_epoch)
            served.append((name, cluster.metadata.assignments[name].topic_id,
                           _failed(idx, ErrorCode.NOT_LEADER_OR_FOLLOWER, leader)))
            any_error = True
            continue
        if part is None:  # unknown, or deleted since the topic was looked up
            unknown.append((name, tid, _unknown(idx, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)))
            any_error = True
            continue
        err = part.epoch_error(p.current_leader_epoch)
        max_offset = None
        if part.replicated:
            if not part.is_leader:
                err = err or ErrorCode.NOT_LEADER_OR_FOLLOWER
        # v12+: the fetcher's last fetched epoch ends before its fetch offset here (a truncated log)
        div = part.diverging_epoch(p.last_fetched_epoch, p.fetch_offset) if not err else None
        if part.replicated and not err and replica_id >= 0:
            # a follower: its fetch offset is its log end (recorded only when its log does not
            # diverge from this one, and within it); it reads up to the log end
            if div is None and p.fetch_offset <= part.log_end_offset:
                err = part.follower_fetched(replica_id, p.fetch_offset, now)
            max_offset = part.log_end_offset
        hw = part.high_watermark
        lso = part.last_stable_offset
        if div is not None:
            diverging = EpochEndOffset(epoch=div[0], end_offset=div[1])
            served.append((name, tid, PartData(partition_index=idx, error_code=0, high_watermark=hw,
                                               last_stable_offset=lso, log_start_offset=part.log_start_offset,
                                               diverging_epoch=diverging, aborted_transactions=[], records=b"")))
            any_error = True
            continue
        data: object = b""
        aborted: list[AbortedTransaction] | None = [] if read_committed else None
        upper = lso if read_committed else hw
        held = False
        if not err and quota is not None and replica_id not in part.isr and quota.is_throttled(name, idx):
            # a throttled partition of a follower out of the ISR gets no records while the quota is
            # exceeded (Kafka's shouldLeaderThrottle: read, then replaced by nothing, so an offset out of
            # range is still answered); its bytes do not count toward min_bytes
            if exceeded is None:
                exceeded = quota.is_exceeded(time.monotonic() * 1000)
            held = exceeded
        if not err:
            limit = min(p.partition_max_bytes, budget - total)
            if limit > 0 or total == 0:
                try:
                    sl = part.read(p.fetch_offset, max(limit, 1), upper if max_offset is None else max_offset)
                except OffsetOutOfRange:
                    err = ErrorCode.OFFSET_OUT_OF_RANGE
                    sl = None
                if sl is not None and sl.length > 0 and (total == 0 or sl.length <= limit) and not held:
                    data = sl
                    total += sl.length
                    if read_committed:
                        aborted = [AbortedTransaction(producer_id=a.producer_id, first_offset=a.first_offset)
                                   for a in part.log.aborted_transactions(p.fetch_offset, lso)]
        if err:
            any_error = True
            leader = LeaderIdAndEpoch()
            if v >= 16 and err in (ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.NOT_LEADER_OR_FOLLOWER) \
                    and part.leader_id >= 0:
                leader = LeaderIdAndEpoch(leader_id=part.leader_id, leader_epoch=part.leader_epoch)
            served.append((name, tid, _failed(idx, err, leader)))
            continue
        served.append((name, tid, PartData(partition_index=idx, error_code=0, high_watermark=hw,
                                           last_stable_offset=lso, log_start_offset=part.log_start_offset,
                                           aborted_transactions=aborted, records=data)))
    return _grouped(served + unknown), total, any_error


def _node_endpoints(ctx: RequestContext, topics: list[TopicData]) -> list[NodeEndpoint]:
    """v16+: the leader of every partition answered with a current leader (KIP-951): this broker."""
    if ctx.api_version < 16 or not any(p.current_leader.leader_id >= 0 for t in topics for p in t.partitions):
        return []
    if ctx.cluster is not None:
        leaders = {p.current_leader.leader_id for t in topics for p in t.partitions}
        return [NodeEndpoint(node_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
                for b in ctx.cluster.brokers() if b.broker_id in leaders]
    adv = ctx.identity.advertised
    return [NodeEndpoint(node_id=ctx.node_id, host=adv.host, port=adv.port, rack=None)]


@handler(FetchRequest, versions=(4, 18))
async def fetch(ctx: RequestContext, req: FetchRequest) -> FetchResponse:
    if req.session_id != 0:
        return FetchResponse(error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND, session_id=0, responses=[])
    names = _names(ctx, req)
    topics, total, any_error = _collect(ctx, req, names)
    if total < req.min_bytes and req.max_wait_ms > 0 and not any_error and req.topics:
        tps = [(n, p.partition) for t, n in zip(req.topics, names, strict=True)
               if n is not None for p in t.partitions]
        deadline = time.monotonic() + req.max_wait_ms / 1000
        waiters = ctx.waiters
        purgatory = ctx.services.purgatory
        purgatory.fetch += 1
        try:
            while total < req.min_bytes:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                fut = waiters.add(tps)
                try:
                    await asyncio.wait_for(fut, remaining)
                except TimeoutError:
                    break
                finally:
                    waiters.remove(tps, fut)
                topics, total, any_error = _collect(ctx, req, names)
                if any_error:
                    break
        finally:
            purgatory.fetch -= 1
    if _replica_id(ctx, req) >= 0:
        if ctx.cluster is not None:
            _record_throttled(ctx.cluster.throttle.leader, topics)
    elif total:
        _record_out(ctx.services.traffic, topics)
    return FetchResponse(throttle_time_ms=0, error_code=0, session_id=0, responses=topics,
                         node_endpoints=_node_endpoints(ctx, topics))


def _record_out(traffic: Traffic, topics: list[TopicData]) -> None:
    """A consumer's fetch: its record bytes per topic (Kafka's BytesOutPerSec; followers' are not counted)."""
    for t in topics:
        size = 0
        for p in t.partitions:
            r = p.records
            if isinstance(r, FileSlice):
                size += r.length
        if size:
            traffic.record_out(t.topic, size)


def _record_throttled(quota: ReplicationQuota, topics: list[TopicData]) -> None:
    """The record bytes of the throttled partitions a follower is sent count toward the leader's
    quota, whether the follower is in sync or not (Kafka's sizeOfThrottledPartitions)."""
    size = 0
    for t in topics:
        for p in t.partitions:
            r = p.records
            if isinstance(r, FileSlice) and quota.is_throttled(t.topic, p.partition_index):
                size += r.length
    if size:
        quota.record(size, time.monotonic() * 1000)
