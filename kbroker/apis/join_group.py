"""JoinGroup (key 11), v0-9.

Behaviour: hands the request to the group coordinator, which parks it until the
rebalance completes (all members rejoined, the rebalance timeout, or the initial
rebalance delay of a new group) and then answers every member at once; the leader's
answer lists the members with their metadata for the chosen protocol (the one every
member supports that most members prefer).  A new member without an id gets one with
MEMBER_ID_REQUIRED (v4+) and must join again with it; static members
(group.instance.id, v5+) skip that step and may take over their old place.
In a cluster, a group this broker does not coordinate gets NOT_COORDINATOR and one whose
partition of ``__consumer_offsets`` is being loaded COORDINATOR_LOAD_IN_PROGRESS.
Version notes: v1 rebalance timeout (v0: the session timeout) · v2 throttle ·
v4 MEMBER_ID_REQUIRED · v5 group.instance.id · v6 flexible · v7 protocol type in the answer ·
v8 reason (logged) · v9 skip_assignment in the answer (always false: it is only set for a
leader whose group the broker assigns, which classic groups never do).
Not implemented: —
"""

import logging

from kbroker.context import RequestContext
from kbroker.groups import client_host
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.join_group import JoinGroupRequest, JoinGroupResponse

log = logging.getLogger(__name__)


@handler(JoinGroupRequest, versions=(0, 9))
async def join_group(ctx: RequestContext, req: JoinGroupRequest) -> JoinGroupResponse:
    v = ctx.api_version
    if not req.group_id:
        return JoinGroupResponse(error_code=ErrorCode.INVALID_GROUP_ID, generation_id=-1, protocol_name="",
                                 leader="", member_id=req.member_id, members=[])
    if v >= 8 and req.reason:
        log.info("member %r joins group %r: %s", req.member_id, req.group_id, req.reason)
    r = await ctx.groups.join_group(
        req.group_id, member_id=req.member_id, group_instance_id=req.group_instance_id,
        protocol_type=req.protocol_type, protocols=[(p.name, p.metadata) for p in req.protocols or []],
        session_timeout_ms=req.session_timeout_ms,
        rebalance_timeout_ms=req.rebalance_timeout_ms if v >= 1 else req.session_timeout_ms,
        client_id=ctx.client_id or "", client_host=client_host(ctx.peer), require_known_member_id=v >= 4)
    return JoinGroupResponse(
        throttle_time_ms=0, error_code=r.error, generation_id=r.generation_id, protocol_type=r.protocol_type,
        protocol_name=r.protocol_name if v >= 7 else r.protocol_name or "", leader=r.leader_id,
        member_id=r.member_id,
        members=[JoinGroupResponse.JoinGroupResponseMember(member_id=m, group_instance_id=i, metadata=md)
                 for m, i, md in r.members])
