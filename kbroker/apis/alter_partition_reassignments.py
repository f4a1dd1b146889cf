"""AlterPartitionReassignments (key 45), v0-1.

Behaviour: answered by the active controller (a Java Admin sends it to the controller the Metadata
names); any other broker answers NOT_CONTROLLER at the top level, and the client retries at the
controller.  Per partition, as Kafka's controller: UNKNOWN_TOPIC_OR_PARTITION; INVALID_REPLICA_ASSIGNMENT
for an empty list, duplicates, negative ids or added brokers that are not registered;
NO_REASSIGNMENT_IN_PROGRESS when cancelling (replicas null) a partition that has none.  The answer
comes once the reassignment is written to ZooKeeper, not when it is done
(ListPartitionReassignments shows it until then); a controller that does not answer within
``timeout_ms`` → REQUEST_TIMED_OUT at the top level (the change may still be made), a failure of its
ZooKeeper work → UNKNOWN_SERVER_ERROR.  Without a cluster (one broker): a target of
exactly this broker is a success with nothing to do, any other target INVALID_REPLICA_ASSIGNMENT.
Version notes: flexible from v0; v1 allow_replication_factor_change (false: a target of another size
→ INVALID_REPLICATION_FACTOR).
Not implemented: —
"""

from __future__ import annotations

import logging

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.alter_partition_reassignments import (
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
)

log = logging.getLogger(__name__)
Resp = AlterPartitionReassignmentsResponse
NOT_CONTROLLER_MESSAGE = "This is not the correct controller for this cluster."


def _response(req: AlterPartitionReassignmentsRequest, results: dict[tuple[str, int], tuple[int, str | None]]
              ) -> Resp:
    return Resp(throttle_time_ms=0, allow_replication_factor_change=req.allow_replication_factor_change,
                error_code=0, error_message=None,
                responses=[Resp.ReassignableTopicResponse(name=t.name, partitions=[
                    Resp.ReassignablePartitionResponse(partition_index=p.partition_index,
                                                       error_code=int(results[t.name, p.partition_index][0]),
                                                       error_message=results[t.name, p.partition_index][1])
                    for p in t.partitions]) for t in req.topics])


def _top_level(req: AlterPartitionReassignmentsRequest, code: ErrorCode, message: str) -> Resp:
    return Resp(throttle_time_ms=0, allow_replication_factor_change=req.allow_replication_factor_change,
                error_code=code, error_message=message, responses=[])


def _single_node(ctx: RequestContext, req: AlterPartitionReassignmentsRequest
                 ) -> dict[tuple[str, int], tuple[int, str | None]]:
    out: dict[tuple[str, int], tuple[int, str | None]] = {}
    for t in req.topics:
        meta = ctx.topics.get(t.name)
        for p in t.partitions:
            key = (t.name, p.partition_index)
            target = p.replicas
            if meta is None or not 0 <= p.partition_index < meta.partitions:
                out[key] = (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The partition {key[0]}-{key[1]} does not exist.")
            elif target is None:
                out[key] = (ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
                            f"No reassignment in progress for partition {key[0]}-{key[1]}.")
            elif not target:
                out[key] = (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                            "Empty replica list specified in partition reassignment.")
            elif len(set(target)) != len(target):
                out[key] = (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                            f"Duplicate replica ids in partition reassignment replica list: {list(target)}")
            elif list(target) != [ctx.node_id]:
                out[key] = (ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                            f"Replica assignment has brokers that are not alive. Replica list: "
                            f"{[b for b in target if b != ctx.node_id]}, live broker list: [{ctx.node_id}]")
            else:
                out[key] = (ErrorCode.NONE, None)  # already so
    return out


@handler(AlterPartitionReassignmentsRequest, versions=(0, 1))
async def alter_partition_reassignments(ctx: RequestContext, req: AlterPartitionReassignmentsRequest) -> Resp:
    allow_rf = req.allow_replication_factor_change if ctx.api_version >= 1 else True
    if ctx.cluster is None:
        results = _single_node(ctx, req)
        if not allow_rf:
            for t in req.topics:
                for p in t.partitions:
                    key = (t.name, p.partition_index)
                    if results[key][0] == ErrorCode.NONE and p.replicas is not None and len(p.replicas) != 1:
                        results[key] = (ErrorCode.INVALID_REPLICATION_FACTOR,
                                        f"The replication factor is changed from 1 to {len(p.replicas)}")
        return _response(req, results)
    if not ctx.cluster.controller.is_active:
        return _top_level(req, ErrorCode.NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE)
    changes = [((t.name, p.partition_index), None if p.replicas is None else tuple(p.replicas))
               for t in req.topics for p in t.partitions]
    try:
        answer = await ctx.cluster.alter_reassignments(changes, allow_rf, req.timeout_ms)
    except TimeoutError:
        return _top_level(req, ErrorCode.REQUEST_TIMED_OUT,
                          f"The controller did not answer within {req.timeout_ms} ms.")
    except Exception as e:  # the controller's ZooKeeper work failed (it retries with a full scan)
        log.warning("AlterPartitionReassignments failed: %r", e)
        return _top_level(req, ErrorCode.UNKNOWN_SERVER_ERROR, f"The controller failed: {e!r}")
    if answer is None:
        return _top_level(req, ErrorCode.NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE)
    return _response(req, {k: (int(v[0]), v[1]) for k, v in answer.items()})
