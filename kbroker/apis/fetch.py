"""Fetch (key 1), v4-12.

Behaviour: for each requested partition, the segment bytes from the batch holding
fetch_offset up to the high watermark (read_committed: the last stable offset, the
same thing while there are no transactions), bounded by partition_max_bytes and the
request's max_bytes — but the first partition with data always gets at least one
whole batch (KIP-74).  Record bytes are never decoded: the response carries file
slices that the connection sends with pread or sendfile (`fetch.transfer`).
With less than min_bytes available, the request waits up to max_wait_ms and is woken
by appends to any of its partitions.
Fetch sessions are declined: session_id is always 0, so every fetch is a full fetch
and returns exactly the requested partitions.
Version notes: v4 isolation level, last stable offset, aborted txns · v5 log start offset ·
v7 sessions · v9 current leader epoch (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH against the
partition's) · v11 rack, preferred replica · v12 flexible, last fetched epoch → diverging epoch when
that epoch ends before the fetch offset (no records then).
Not implemented: follower fetches (no replication), fetch sessions (declined, as allowed).
"""

from __future__ import annotations

import asyncio
import time

from kbroker.context import RequestContext
from kbroker.registry import handler
from storage.errors import OffsetOutOfRange
from storage.log import PartitionLog
from wire.errors import ErrorCode
from wire.messages.fetch import FetchRequest, FetchResponse, _FetchRequest_FetchPartition
from wire.messages.fetch import _FetchResponse_EpochEndOffset as EpochEndOffset
from wire.messages.fetch import _FetchResponse_FetchableTopicResponse as TopicData
from wire.messages.fetch import _FetchResponse_PartitionData as PartData


def _epoch_error(current: int, requested: int) -> int:
    if requested < 0 or requested == current:
        return 0
    return ErrorCode.FENCED_LEADER_EPOCH if requested < current else ErrorCode.UNKNOWN_LEADER_EPOCH


def _diverging(plog: PartitionLog, p: _FetchRequest_FetchPartition) -> EpochEndOffset | None:
    """v12+: the fetcher's last fetched epoch ends before its fetch offset here (a truncated log)."""
    if p.last_fetched_epoch < 0:
        return None
    epoch, end = plog.leader_epochs.end_offset_for(p.last_fetched_epoch, plog.log_end_offset)
    if epoch < p.last_fetched_epoch or end < p.fetch_offset:
        return EpochEndOffset(epoch=epoch, end_offset=end)
    return None


def _collect(ctx: RequestContext, req: FetchRequest) -> tuple[list[TopicData], int, bool]:
    """(topics, bytes of record data, whether any partition has an error)."""
    b = ctx.broker
    budget = req.max_bytes if req.max_bytes > 0 else 2**31 - 1
    total = 0
    any_error = False
    out: list[TopicData] = []
    for t in req.topics:
        parts: list[PartData] = []
        meta = b.topic(t.topic)
        for p in t.partitions:
            idx = p.partition
            if meta is None or not 0 <= idx < meta.partitions:
                parts.append(PartData(partition_index=idx, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                      high_watermark=-1, last_stable_offset=-1, log_start_offset=-1,
                                      records=b""))
                any_error = True
                continue
            plog = b.get_log(t.topic, idx)
            if plog is None:  # deleted, or the broker is shutting down, since the topic was looked up
                parts.append(PartData(partition_index=idx, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                      high_watermark=-1, last_stable_offset=-1, log_start_offset=-1,
                                      records=b""))
                any_error = True
                continue
            hw = plog.log_end_offset
            err = _epoch_error(plog.leader_epoch, p.current_leader_epoch)
            data: object = b""
            diverging = _diverging(plog, p) if not err else None
            if diverging is not None:
                parts.append(PartData(partition_index=idx, error_code=0, high_watermark=hw,
                                      last_stable_offset=hw, log_start_offset=plog.log_start_offset,
                                      diverging_epoch=diverging, aborted_transactions=[], records=b""))
                any_error = True
                continue
            if not err:
                limit = min(p.partition_max_bytes, budget - total)
                if limit > 0 or total == 0:
                    try:
                        sl = plog.read(p.fetch_offset, max(limit, 1), hw)
                    except OffsetOutOfRange:
                        err = ErrorCode.OFFSET_OUT_OF_RANGE
                        sl = None
                    if sl is not None and sl.length > 0 and (total == 0 or sl.length <= limit):
                        data = sl
                        total += sl.length
            if err:
                any_error = True
            parts.append(PartData(partition_index=idx, error_code=err, high_watermark=hw,
                                  last_stable_offset=hw, log_start_offset=plog.log_start_offset,
                                  aborted_transactions=None if err else [], records=data))
        out.append(TopicData(topic=t.topic, partitions=parts))
    return out, total, any_error


@handler(FetchRequest, versions=(4, 12))
async def fetch(ctx: RequestContext, req: FetchRequest) -> FetchResponse:
    if req.session_id != 0:
        return FetchResponse(error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND, session_id=0, responses=[])
    topics, total, any_error = _collect(ctx, req)
    if total < req.min_bytes and req.max_wait_ms > 0 and not any_error and req.topics:
        tps = [(t.topic, p.partition) for t in req.topics for p in t.partitions]
        deadline = time.monotonic() + req.max_wait_ms / 1000
        b = ctx.broker
        while total < req.min_bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            fut = b.add_waiter(tps)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                break
            finally:
                b.remove_waiter(tps, fut)
            topics, total, any_error = _collect(ctx, req)
            if any_error:
                break
    return FetchResponse(throttle_time_ms=0, error_code=0, session_id=0, responses=topics)
