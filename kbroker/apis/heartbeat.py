"""Heartbeat (key 12), v0-4.

Behaviour: asks the group coordinator; keeps the member's session alive and tells it
REBALANCE_IN_PROGRESS while the group prepares a rebalance (it must rejoin).
Errors are returned, never raised.
In a cluster, a group this broker does not coordinate gets NOT_COORDINATOR; while its partition
is loaded the answer is no error (Kafka answers blindly then).
Version notes: v1 throttle_time_ms · v3 group_instance_id (static membership) · v4 flexible.
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.heartbeat import HeartbeatRequest, HeartbeatResponse


@handler(HeartbeatRequest, versions=(0, 4))
async def heartbeat(ctx: RequestContext, req: HeartbeatRequest) -> HeartbeatResponse:
    if not req.group_id:
        return HeartbeatResponse(throttle_time_ms=0, error_code=ErrorCode.INVALID_GROUP_ID)
    error = ctx.groups.heartbeat(req.group_id, req.member_id, req.group_instance_id, req.generation_id)
    return HeartbeatResponse(throttle_time_ms=0, error_code=error)
