"""SyncGroup (key 14), v0-5.

Behaviour: the leader's request carries every member's assignment; it is stored in
``__consumer_offsets`` with the group's metadata and then every member (parked until
then) gets its own.  In a Stable group a member simply gets its current assignment.
In a cluster, a group this broker does not coordinate gets NOT_COORDINATOR; while its partition
is loaded REBALANCE_IN_PROGRESS (the rebalance was lost: join again), as Kafka answers; the
answers wait until the assignment is committed.
Version notes: v1 throttle · v3 group.instance.id · v4 flexible · v5 protocol type and
name, checked against the group's (INCONSISTENT_GROUP_PROTOCOL) and echoed back.
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.sync_group import SyncGroupRequest, SyncGroupResponse


@handler(SyncGroupRequest, versions=(0, 5))
async def sync_group(ctx: RequestContext, req: SyncGroupRequest) -> SyncGroupResponse:
    if not req.group_id:
        return SyncGroupResponse(error_code=ErrorCode.INVALID_GROUP_ID, assignment=b"")
    r = await ctx.groups.sync_group(
        req.group_id, member_id=req.member_id, group_instance_id=req.group_instance_id,
        generation_id=req.generation_id, protocol_type=req.protocol_type, protocol_name=req.protocol_name,
        assignments={a.member_id: a.assignment for a in req.assignments or []})
    return SyncGroupResponse(throttle_time_ms=0, error_code=r.error, protocol_type=r.protocol_type,
                             protocol_name=r.protocol_name, assignment=r.assignment)
