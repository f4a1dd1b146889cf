"""ListPartitionReassignments (key 46), v0.

Behaviour: answered by the active controller from the assignments in ZooKeeper (replicas = the
full set, adding_replicas, removing_replicas); any other broker answers NOT_CONTROLLER at the top
level.  ``topics`` null lists every ongoing reassignment; named partitions with none (or unknown
ones) are left out, as Kafka's controller does.  A controller that does not answer within
``timeout_ms`` → REQUEST_TIMED_OUT.  Without a cluster (one broker) there is never one in progress.
Version notes: flexible from v0.
Not implemented: —
"""

from __future__ import annotations

import logging

from kbroker.apis.alter_partition_reassignments import NOT_CONTROLLER_MESSAGE
from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.list_partition_reassignments import (
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
    _ListPartitionReassignmentsResponse_OngoingPartitionReassignment,
)

log = logging.getLogger(__name__)
Resp = ListPartitionReassignmentsResponse


@handler(ListPartitionReassignmentsRequest, versions=(0, 0))
async def list_partition_reassignments(ctx: RequestContext, req: ListPartitionReassignmentsRequest) -> Resp:
    if ctx.cluster is None:
        return Resp(throttle_time_ms=0, error_code=0, error_message=None, topics=[])
    if not ctx.cluster.controller.is_active:
        return Resp(throttle_time_ms=0, error_code=ErrorCode.NOT_CONTROLLER, error_message=NOT_CONTROLLER_MESSAGE)
    wanted = None if req.topics is None else [(t.name, p) for t in req.topics for p in t.partition_indexes]
    try:
        ongoing = await ctx.cluster.list_reassignments(wanted, req.timeout_ms)
    except TimeoutError:
        return Resp(throttle_time_ms=0, error_code=ErrorCode.REQUEST_TIMED_OUT,
                    error_message=f"The controller did not answer within {req.timeout_ms} ms.")
    except Exception as e:  # the controller's ZooKeeper work failed
        log.warning("ListPartitionReassignments failed: %r", e)
        return Resp(throttle_time_ms=0, error_code=ErrorCode.UNKNOWN_SERVER_ERROR,
                    error_message=f"The controller failed: {e!r}")
    if ongoing is None:
        return Resp(throttle_time_ms=0, error_code=ErrorCode.NOT_CONTROLLER, error_message=NOT_CONTROLLER_MESSAGE)
    topics: dict[str, list[_ListPartitionReassignmentsResponse_OngoingPartitionReassignment]] = {}
    for (topic, p), r in sorted(ongoing.items()):
        topics.setdefault(topic, []).append(Resp.OngoingPartitionReassignment(
            partition_index=p, replicas=list(r.replicas), adding_replicas=list(r.adding),
            removing_replicas=list(r.removing)))
    return Resp(throttle_time_ms=0, error_code=0, error_message=None,
                topics=[Resp.OngoingTopicReassignment(name=t, partitions=ps) for t, ps in topics.items()])
