"""ListGroups (key 16), v0-5.

Behaviour: every group this broker coordinates (a single broker: all of them; a cluster: those
of the ``__consumer_offsets`` partitions it leads; COORDINATOR_LOAD_IN_PROGRESS and no groups
while one of them is being loaded), with its protocol type
("" for a group used only to store offsets) and, from v4, its state; v4's states_filter
keeps only groups in the named states (case-insensitive; empty = all).  From v5 each group's
type, "classic" (kbroker has only classic-protocol groups), and types_filter keeps only the
named types (case-insensitive; empty = all; "consumer", "share", "streams" or an unknown name
match nothing), as Kafka 4.1 answers.
Version notes: v1 throttle · v3 flexible · v4 states filter and state · v5 types filter, group type.
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.messages.list_groups import ListGroupsRequest, ListGroupsResponse

CLASSIC = "classic"


@handler(ListGroupsRequest, versions=(0, 5))
async def list_groups(ctx: RequestContext, req: ListGroupsRequest) -> ListGroupsResponse:
    wanted = {s.lower() for s in req.states_filter or []}
    types = {t.lower() for t in req.types_filter or []} if ctx.api_version >= 5 else set()
    if types and CLASSIC not in types:
        return ListGroupsResponse(throttle_time_ms=0, error_code=0, groups=[])
    error, listed = ctx.groups.listing()
    groups = [ListGroupsResponse.ListedGroup(group_id=g.group_id, protocol_type=g.protocol_type or "",
                                             group_state=g.state.value, group_type=CLASSIC)
              for g in listed if not wanted or g.state.value.lower() in wanted]
    return ListGroupsResponse(throttle_time_ms=0, error_code=error, groups=groups)
