"""OffsetForLeaderEpoch (key 23), v2-4.

Behaviour: for each partition, the end offset of the requested leader epoch, from the partition's
leader-epoch cache (storage.leader_epoch): for the current epoch that is the log end offset; for an
older one, the start offset of the next epoch, answered with the largest known epoch at or below the
requested one; for an epoch before every known one, the first known epoch's start offset; for a newer
epoch, or -1, leader_epoch = end_offset = -1 with no error (Kafka's UNDEFINED answer).  The Java
consumer asks this after a reset or a rebalance to check that its position was not truncated away.
A current_leader_epoch other than the partition's gets FENCED_LEADER_EPOCH (older) or
UNKNOWN_LEADER_EPOCH (newer); an unknown partition UNKNOWN_TOPIC_OR_PARTITION.
Version notes: v2 current leader epoch · v3 replica_id (-1 consumer) · v4 flexible.
In a cluster only the leader answers (NOT_LEADER_OR_FOLLOWER elsewhere); a follower (replica_id >= 0)
asks it when it starts following, to truncate a divergent tail (kbroker.cluster.fetcher).
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    _OffsetForLeaderEpochRequest_OffsetForLeaderPartition,
)
from wire.messages.offset_for_leader_epoch import (
    _OffsetForLeaderEpochResponse_EpochEndOffset as EpochEndOffset,
)
from wire.messages.offset_for_leader_epoch import (
    _OffsetForLeaderEpochResponse_OffsetForLeaderTopicResult as TopicResult,
)


def _partition(ctx: RequestContext, topic: str,
               p: _OffsetForLeaderEpochRequest_OffsetForLeaderPartition) -> EpochEndOffset:
    meta = ctx.topics.get(topic)
    part = ctx.topics.partition(topic, p.partition) if meta is not None and 0 <= p.partition < meta.partitions else None
    if part is None or (part.replicated and not part.is_leader):
        if ctx.cluster is not None and ctx.cluster.partition(topic, p.partition) is not None:
            return EpochEndOffset(partition=p.partition, error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER)
        return EpochEndOffset(partition=p.partition, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    current = p.current_leader_epoch
    if current >= 0 and current != part.leader_epoch:
        code = ErrorCode.FENCED_LEADER_EPOCH if current < part.leader_epoch else ErrorCode.UNKNOWN_LEADER_EPOCH
        return EpochEndOffset(partition=p.partition, error_code=code)
    epoch, end = part.log.leader_epochs.end_offset_for(p.leader_epoch, part.log_end_offset)
    return EpochEndOffset(partition=p.partition, error_code=0, leader_epoch=epoch, end_offset=end)


@handler(OffsetForLeaderEpochRequest, versions=(2, 4))
async def offset_for_leader_epoch(ctx: RequestContext,
                                  req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse:
    return OffsetForLeaderEpochResponse(throttle_time_ms=0, topics=[
        TopicResult(topic=t.topic, partitions=[_partition(ctx, t.topic, p) for p in t.partitions])
        for t in req.topics])
