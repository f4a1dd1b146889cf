"""LeaveGroup (key 13), v0-5.

Behaviour: the members leave at once and the group rebalances without them (or becomes
Empty).  From v3 a batch of members, each by member id and/or group.instance.id (a static
member may be removed by instance id alone); v0-2 answer the one member's error at the top.
In a cluster, a group this broker does not coordinate gets NOT_COORDINATOR (at the top and for
each member), one being loaded COORDINATOR_LOAD_IN_PROGRESS.
Version notes: v1 throttle · v3 batched members · v4 flexible · v5 reason per member (logged).
Not implemented: —
"""

import logging

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.leave_group import LeaveGroupRequest, LeaveGroupResponse
from wire.messages.leave_group import _LeaveGroupResponse_MemberResponse as MemberResponse

log = logging.getLogger(__name__)


@handler(LeaveGroupRequest, versions=(0, 5))
async def leave_group(ctx: RequestContext, req: LeaveGroupRequest) -> LeaveGroupResponse:
    v = ctx.api_version
    if v >= 3:
        leaving = [(m.member_id, m.group_instance_id) for m in req.members or []]
    else:
        leaving = [(req.member_id, None)]
    if not req.group_id:
        return LeaveGroupResponse(throttle_time_ms=0, error_code=ErrorCode.INVALID_GROUP_ID, members=[])
    for m in req.members or [] if v >= 5 else []:
        if m.reason:
            log.info("member %r leaves group %r: %s", m.member_id or m.group_instance_id, req.group_id, m.reason)
    top, errors = ctx.groups.leave_group(req.group_id, leaving)
    if v < 3:
        return LeaveGroupResponse(throttle_time_ms=0, error_code=top or errors[0])
    return LeaveGroupResponse(throttle_time_ms=0, error_code=top, members=[
        MemberResponse(member_id=m, group_instance_id=i, error_code=e) for (m, i), e in zip(leaving, errors, strict=True)])
