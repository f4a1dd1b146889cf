"""DeleteGroups (key 42), v0-2.

Behaviour: an Empty group is deleted with all its committed offsets (tombstones are
written to ``__consumer_offsets``); a group with members gets NON_EMPTY_GROUP and an
unknown one GROUP_ID_NOT_FOUND, one this broker does not coordinate (in a cluster)
NOT_COORDINATOR; the answer waits until the tombstones are committed.
Version notes: v1 no change · v2 flexible.
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.delete_groups import DeleteGroupsRequest, DeleteGroupsResponse


@handler(DeleteGroupsRequest, versions=(0, 2))
async def delete_groups(ctx: RequestContext, req: DeleteGroupsRequest) -> DeleteGroupsResponse:
    results = []
    for gid in req.groups_names or []:
        err = await ctx.groups.delete_group_acked(gid) if gid else ErrorCode.INVALID_GROUP_ID
        results.append(DeleteGroupsResponse.DeletableGroupResult(group_id=gid, error_code=err))
    return DeleteGroupsResponse(throttle_time_ms=0, results=results)
