"""ListOffsets (key 2), v1-7.

Behaviour: timestamp -1 = latest (the high watermark, or the last stable offset for
read_committed: the same while there are no transactions), -2 = earliest (log start
offset), -3 = the record with the largest timestamp (v7+), any other value = the first
offset whose timestamp is at or after it (offset -1 when there is none).  Cheap:
Spark calls it after every poll.
Version notes: v2 isolation level · v4 leader epochs · v6 flexible · v7 max timestamp.
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.list_offsets import ListOffsetsRequest, ListOffsetsResponse

PartResp = ListOffsetsResponse.ListOffsetsPartitionResponse
TopicResp = ListOffsetsResponse.ListOffsetsTopicResponse
LATEST, EARLIEST, MAX_TIMESTAMP = -1, -2, -3


def _partition(ctx: RequestContext, topic: str, p: ListOffsetsRequest.ListOffsetsPartition) -> PartResp:
    b = ctx.broker
    idx = p.partition_index
    meta = b.topic(topic)
    if meta is None or not 0 <= idx < meta.partitions:
        return PartResp(partition_index=idx, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if p.current_leader_epoch >= 0 and p.current_leader_epoch != b.leader_epoch:
        code = ErrorCode.FENCED_LEADER_EPOCH if p.current_leader_epoch < b.leader_epoch else ErrorCode.UNKNOWN_LEADER_EPOCH
        return PartResp(partition_index=idx, error_code=code)
    plog = b.get_log(topic, idx)
    epoch = b.leader_epoch
    ts = p.timestamp
    if ts == LATEST:
        return PartResp(partition_index=idx, timestamp=-1, offset=plog.log_end_offset, leader_epoch=epoch)
    if ts == EARLIEST:
        return PartResp(partition_index=idx, timestamp=-1, offset=plog.log_start_offset, leader_epoch=epoch)
    if ts == MAX_TIMESTAMP:
        found = plog.max_timestamp()
    elif ts < 0:
        return PartResp(partition_index=idx, error_code=ErrorCode.INVALID_REQUEST)
    else:
        found = plog.offset_for_timestamp(ts)
    if found is None:
        return PartResp(partition_index=idx, timestamp=-1, offset=-1, leader_epoch=-1)
    offset, timestamp = found
    return PartResp(partition_index=idx, timestamp=timestamp, offset=offset, leader_epoch=epoch)


@handler(ListOffsetsRequest, versions=(1, 7))
async def list_offsets(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    return ListOffsetsResponse(throttle_time_ms=0, topics=[
        TopicResp(name=t.name, partitions=[_partition(ctx, t.name, p) for p in t.partitions])
        for t in req.topics])
