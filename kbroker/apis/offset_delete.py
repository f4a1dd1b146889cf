"""OffsetDelete (key 47), v0.

Behaviour: deletes committed offsets of a group (tombstones in ``__consumer_offsets``).
Allowed for any partition of an Empty group; in a consumer group with members, partitions
of topics a member subscribes to get GROUP_SUBSCRIBED_TO_TOPIC and the others are
deleted; a non-consumer group with members gets NON_EMPTY_GROUP, an unknown group
GROUP_ID_NOT_FOUND, a group this broker does not coordinate (in a cluster) NOT_COORDINATOR.
The answer waits until the tombstones are committed.  Unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION.
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.offset_delete import OffsetDeleteRequest, OffsetDeleteResponse

R = OffsetDeleteResponse


@handler(OffsetDeleteRequest, versions=(0, 0))
async def offset_delete(ctx: RequestContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse:
    errors: dict[tuple[str, int], int] = {}
    known = []
    for t in req.topics or []:
        meta = ctx.topics.get(t.name)
        for p in t.partitions or []:
            tp = (t.name, p.partition_index)
            if meta is None or not 0 <= p.partition_index < meta.partitions:
                errors[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                known.append(tp)
    top, result = await ctx.groups.delete_offsets_acked(req.group_id, known)
    if top:
        return R(error_code=top, throttle_time_ms=0, topics=[])
    errors.update(result)
    return R(error_code=0, throttle_time_ms=0, topics=[
        R.OffsetDeleteResponseTopic(name=t.name, partitions=[
            R.OffsetDeleteResponsePartition(partition_index=p.partition_index, error_code=errors[t.name, p.partition_index])
            for p in t.partitions or []])
        for t in req.topics or []])
