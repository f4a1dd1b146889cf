"""ListOffsets (key 2), v1-10 (Kafka 4.1.1's range).

Behaviour: served by the partition's leader (NOT_LEADER_OR_FOLLOWER elsewhere in a cluster).
timestamp -1 = latest (the high watermark — the log end offset for a follower's request — or, for
isolation_level 1 (read_committed), the last stable offset: below any open transaction), -2 = earliest (log start
offset), -3 = the record with the largest timestamp (v7+), -4 = earliest local offset
(v8+; there is no tiered storage, so the log start offset), -5 = latest tiered offset
(v9+): -1 without tiered storage, as Kafka
answers; any other value = the first offset whose timestamp is at or after it (offset -1
when there is none).  Each answer carries the leader epoch of the returned offset.  A
current_leader_epoch other than the partition's gets FENCED_LEADER_EPOCH (older) or
UNKNOWN_LEADER_EPOCH (newer).  A consumer's answers stay below the high watermark (read_committed:
the last stable offset), as Kafka's lastFetchableOffset bounds them: a timestamp (or max timestamp)
whose record is at or past it gets offset -1, and while a just-elected leader's high watermark is
below the start of its epoch (KIP-207), `latest` and such a timestamp get OFFSET_NOT_AVAILABLE
(retriable: the old leader may have committed more than this one knows yet; answering less would
look like offsets going backwards).  Cheap: Spark calls it after every poll.
Version notes: v2 isolation level · v4 leader epochs · v6 flexible · v7 max timestamp ·
v8 earliest local · v9 latest tiered · v10 timeout_ms (answers are immediate).
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.list_offsets import (
    ListOffsetsRequest,
    ListOffsetsResponse,
    _ListOffsetsRequest_ListOffsetsPartition,
)
from wire.messages.list_offsets import _ListOffsetsResponse_ListOffsetsPartitionResponse as PartResp
from wire.messages.list_offsets import _ListOffsetsResponse_ListOffsetsTopicResponse as TopicResp

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED, EARLIEST_PENDING_UPLOAD = -1, -2, -3, -4, -5, -6
# The oldest version that may ask for each special timestamp.
_MIN_VERSION = {MAX_TIMESTAMP: 7, EARLIEST_LOCAL: 8, LATEST_TIERED: 9, EARLIEST_PENDING_UPLOAD: 11}


def _partition(ctx: RequestContext, topic: str, p: _ListOffsetsRequest_ListOffsetsPartition,
               replica: bool, read_committed: bool = False) -> PartResp:
    idx = p.partition_index
    meta = ctx.topics.get(topic)
    part = ctx.topics.partition(topic, idx) if meta is not None and 0 <= idx < meta.partitions else None
    if part is None or (part.replicated and not part.is_leader):
        if ctx.cluster is not None and ctx.cluster.partition(topic, idx) is not None:
            return PartResp(partition_index=idx, error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER)
        return PartResp(partition_index=idx, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    epoch = part.leader_epoch
    current = p.current_leader_epoch
    if current >= 0 and current != epoch:
        code = ErrorCode.FENCED_LEADER_EPOCH if current < epoch else ErrorCode.UNKNOWN_LEADER_EPOCH
        return PartResp(partition_index=idx, error_code=code)
    ts = p.timestamp
    if ts < EARLIEST_PENDING_UPLOAD:
        return PartResp(partition_index=idx, error_code=ErrorCode.INVALID_REQUEST)
    if ctx.api_version < _MIN_VERSION.get(ts, 0):
        return PartResp(partition_index=idx, error_code=ErrorCode.UNSUPPORTED_VERSION)
    pending = not replica and part.high_watermark_behind_epoch
    # the last offset a consumer may read (+1); a follower asks for the log end
    fetchable = part.log_end_offset if replica else part.last_stable_offset if read_committed else part.high_watermark
    if ts == LATEST:
        if pending:
            return PartResp(partition_index=idx, error_code=ErrorCode.OFFSET_NOT_AVAILABLE)
        return PartResp(partition_index=idx, timestamp=-1, offset=fetchable, leader_epoch=epoch)
    if ts in (EARLIEST, EARLIEST_LOCAL):
        start = part.log_start_offset
        return PartResp(partition_index=idx, timestamp=-1, offset=start,
                        leader_epoch=part.log.leader_epochs.epoch_for_offset(start))
    if ts in (LATEST_TIERED, EARLIEST_PENDING_UPLOAD):
        return PartResp(partition_index=idx, timestamp=-1, offset=-1, leader_epoch=-1)
    found = part.log.max_timestamp() if ts == MAX_TIMESTAMP else part.log.offset_for_timestamp(ts)
    if found is None:
        return PartResp(partition_index=idx, timestamp=-1, offset=-1, leader_epoch=-1)
    offset, timestamp = found
    if not replica and offset >= fetchable:  # not readable by a consumer (yet)
        if pending:
            return PartResp(partition_index=idx, error_code=ErrorCode.OFFSET_NOT_AVAILABLE)
        return PartResp(partition_index=idx, timestamp=-1, offset=-1, leader_epoch=-1)
    return PartResp(partition_index=idx, timestamp=timestamp, offset=offset,
                    leader_epoch=part.log.leader_epochs.epoch_for_offset(offset))


@handler(ListOffsetsRequest, versions=(1, 10))
async def list_offsets(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    return ListOffsetsResponse(throttle_time_ms=0, topics=[
        TopicResp(name=t.name, partitions=[_partition(ctx, t.name, p, req.replica_id >= 0, req.isolation_level == 1)
                                           for p in t.partitions])
        for t in req.topics])
