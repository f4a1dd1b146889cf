"""CreatePartitions (key 37), v0-3.

Behaviour: raises a topic's partition count; new partitions start empty at offset 0.
A count that is not larger → INVALID_PARTITIONS; assignments must name this broker.
Version notes: v2 flexible.
Not implemented: —
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.create_partitions import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    _CreatePartitionsRequest_CreatePartitionsTopic,
)
from wire.messages.create_partitions import _CreatePartitionsResponse_CreatePartitionsTopicResult as Result


def _one(ctx: RequestContext, t: _CreatePartitionsRequest_CreatePartitionsTopic, validate_only: bool) -> Result:
    b = ctx.broker
    meta = b.topic(t.name)
    if meta is None:
        return Result(name=t.name, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                      error_message=f"The topic '{t.name}' does not exist.")
    if t.count <= meta.partitions:
        return Result(name=t.name, error_code=ErrorCode.INVALID_PARTITIONS,
                      error_message=f"Topic currently has {meta.partitions} partitions, which is higher than or "
                                    f"equal to the requested {t.count}.")
    if t.assignments is not None:
        if len(t.assignments) != t.count - meta.partitions:
            return Result(name=t.name, error_code=ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                          error_message="Assignments must cover exactly the new partitions.")
        if any(a.broker_ids != [b.node_id] for a in t.assignments):
            return Result(name=t.name, error_code=ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                          error_message=f"Only broker {b.node_id} exists.")
    if not validate_only:
        b.logs.add_partitions(t.name, t.count)
    return Result(name=t.name, error_code=0, error_message=None)


@handler(CreatePartitionsRequest, versions=(0, 3))
async def create_partitions(ctx: RequestContext, req: CreatePartitionsRequest) -> CreatePartitionsResponse:
    return CreatePartitionsResponse(throttle_time_ms=0,
                                    results=[_one(ctx, t, req.validate_only) for t in req.topics])
