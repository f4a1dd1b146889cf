"""DescribeGroups (key 15), v0-6.

Behaviour: state, protocol type, and members (client id and host, instance id) of each
group; in a Stable group also the chosen protocol and each member's metadata and
assignment (Kafka shows those only when Stable).  An unknown group is described as
"Dead" with no error before v6; from v6 (KIP-1043) also with GROUP_ID_NOT_FOUND and the
message "Group <id> not found.", as Kafka does.
A group this broker does not coordinate (in a cluster) gets NOT_COORDINATOR, one being loaded
COORDINATOR_LOAD_IN_PROGRESS, with an empty state.
Version notes: v1 throttle · v3 authorized operations · v4 group.instance.id · v5 flexible ·
v6 error_message, GROUP_ID_NOT_FOUND for an unknown group.
Not implemented: authorized operations (no ACLs: always "not provided", INT32_MIN).
"""

from kbroker.context import RequestContext
from kbroker.groups.model import GroupState
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.describe_groups import DescribeGroupsRequest, DescribeGroupsResponse
from wire.messages.describe_groups import _DescribeGroupsResponse_DescribedGroup as Described
from wire.messages.describe_groups import _DescribeGroupsResponse_DescribedGroupMember as DMember

UNKNOWN_OPERATIONS = -(2**31)


def describe(ctx: RequestContext, group_id: str) -> Described:
    status = ctx.groups.status(group_id)
    if status:  # NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS: the error and nothing else
        return Described(error_code=status, group_id=group_id, group_state="", protocol_type="",
                         protocol_data="", members=[], authorized_operations=UNKNOWN_OPERATIONS)
    g = ctx.groups.group(group_id)
    if g is None or g.state == GroupState.DEAD:
        if ctx.api_version >= 6:
            return Described(error_code=ErrorCode.GROUP_ID_NOT_FOUND, error_message=f"Group {group_id} not found.",
                             group_id=group_id, group_state=GroupState.DEAD.value, protocol_type="",
                             protocol_data="", members=[], authorized_operations=UNKNOWN_OPERATIONS)
        return Described(error_code=0, group_id=group_id, group_state=GroupState.DEAD.value, protocol_type="",
                         protocol_data="", members=[], authorized_operations=UNKNOWN_OPERATIONS)
    stable = g.state == GroupState.STABLE
    members = [DMember(member_id=m.member_id, group_instance_id=m.group_instance_id, client_id=m.client_id,
                       client_host=m.client_host,
                       member_metadata=m.metadata(g.protocol_name) if stable else b"",
                       member_assignment=m.assignment if stable else b"")
               for m in g.members.values()]
    return Described(error_code=0, group_id=group_id, group_state=g.state.value,
                     protocol_type=g.protocol_type or "", protocol_data=(g.protocol_name or "") if stable else "",
                     members=members, authorized_operations=UNKNOWN_OPERATIONS)


@handler(DescribeGroupsRequest, versions=(0, 6))
async def describe_groups(ctx: RequestContext, req: DescribeGroupsRequest) -> DescribeGroupsResponse:
    return DescribeGroupsResponse(throttle_time_ms=0, groups=[describe(ctx, gid) for gid in req.groups or []])
