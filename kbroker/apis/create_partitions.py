"""CreatePartitions (key 37), v0-3.

Behaviour: raises a topic's partition count; new partitions start empty at offset 0.
A count that is not larger, or above 100,000 → INVALID_PARTITIONS; a storage failure
(EMFILE, ENOSPC ...) is undone and answers KAFKA_STORAGE_ERROR; assignments must name this broker.
Version notes: v2 flexible.
Not implemented: —
"""

import logging

from kbroker.apis.create_topics import MAX_PARTITIONS
from kbroker.context import RequestContext
from kbroker.registry import handler
from storage import InvalidPartitions
from wire.errors import ErrorCode
from wire.messages.create_partitions import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    _CreatePartitionsRequest_CreatePartitionsTopic,
)
from wire.messages.create_partitions import _CreatePartitionsResponse_CreatePartitionsTopicResult as Result

log = logging.getLogger(__name__)


def _count_error(t: _CreatePartitionsRequest_CreatePartitionsTopic, current: int) -> Result | None:
    """INVALID_PARTITIONS for a count that is not larger than ``current`` or above the limit."""
    if t.count <= current:
        return Result(name=t.name, error_code=ErrorCode.INVALID_PARTITIONS,
                      error_message=f"Topic currently has {current} partitions, which is higher than or "
                                    f"equal to the requested {t.count}.")
    if t.count > MAX_PARTITIONS:
        return Result(name=t.name, error_code=ErrorCode.INVALID_PARTITIONS,
                      error_message=f"Number of partitions {t.count} is above the limit of {MAX_PARTITIONS}.")
    return None


async def _in_cluster(ctx: RequestContext, t: _CreatePartitionsRequest_CreatePartitionsTopic, validate_only: bool,
                     timeout_ms: int) -> Result:
    """New partitions placed over the live brokers with the topic's replication factor (or as
    assigned: live, distinct brokers), added to /brokers/topics/<t>; the controller elects their
    leaders."""
    cluster = ctx.cluster
    assert cluster is not None
    a = cluster.metadata.assignments.get(t.name)
    if a is None:
        return Result(name=t.name, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                      error_message=f"The topic '{t.name}' does not exist.")
    current = len(a.partitions)
    bad = _count_error(t, current)
    if bad is not None:
        return bad
    rf = len(a.partitions[0])
    alive = {b.broker_id for b in cluster.brokers()}
    if t.assignments is not None:
        if len(t.assignments) != t.count - current:
            return Result(name=t.name, error_code=ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                          error_message="Assignments must cover exactly the new partitions.")
        added = {}
        for i, asg in enumerate(t.assignments):
            ids = list(asg.broker_ids)
            if len(ids) != rf or len(set(ids)) != len(ids) or any(b not in alive for b in ids):
                return Result(name=t.name, error_code=ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                              error_message=f"Invalid replica assignment {ids} (replication factor {rf}, "
                                            f"live brokers {sorted(alive)}).")
            added[current + i] = tuple(ids)
    else:
        try:
            planned = cluster.plan_assignment(t.count - current, rf, start=current)
        except ValueError as exc:
            return Result(name=t.name, error_code=ErrorCode.INVALID_REPLICATION_FACTOR, error_message=str(exc))
        added = {current + i: r for i, r in enumerate(planned[p] for p in sorted(planned))}
    if not validate_only:
        from kbroker.cluster.admin import ConcurrentChange

        try:
            await cluster.add_partitions(t.name, added, timeout_ms)
        except ConcurrentChange:
            return Result(name=t.name, error_code=ErrorCode.REASSIGNMENT_IN_PROGRESS,
                          error_message="The topic's assignment changed meanwhile; try again.")
    return Result(name=t.name, error_code=0, error_message=None)


def _one(ctx: RequestContext, t: _CreatePartitionsRequest_CreatePartitionsTopic, validate_only: bool) -> Result:
    meta = ctx.topics.get(t.name)
    if meta is None:
        return Result(name=t.name, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                      error_message=f"The topic '{t.name}' does not exist.")
    bad = _count_error(t, meta.partitions)
    if bad is not None:
        return bad
    if t.assignments is not None:
        if len(t.assignments) != t.count - meta.partitions:
            return Result(name=t.name, error_code=ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                          error_message="Assignments must cover exactly the new partitions.")
        if any(a.broker_ids != [ctx.node_id] for a in t.assignments):
            return Result(name=t.name, error_code=ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                          error_message=f"Only broker {ctx.node_id} exists.")
    if not validate_only:
        try:
            ctx.topics.add_partitions(t.name, t.count)
        except InvalidPartitions as exc:
            return Result(name=t.name, error_code=ErrorCode.INVALID_PARTITIONS, error_message=str(exc))
        except OSError as exc:
            # The new partitions' logs are removed again; the topic keeps its old count.
            log.warning("adding partitions to %r failed: %s", t.name, exc)
            return Result(name=t.name, error_code=ErrorCode.KAFKA_STORAGE_ERROR,
                          error_message=f"Could not create partitions of '{t.name}': {exc}")
    return Result(name=t.name, error_code=0, error_message=None)


@handler(CreatePartitionsRequest, versions=(0, 3))
async def create_partitions(ctx: RequestContext, req: CreatePartitionsRequest) -> CreatePartitionsResponse:
    if ctx.cluster is not None:
        return CreatePartitionsResponse(throttle_time_ms=0, results=[
            await _in_cluster(ctx, t, req.validate_only, req.timeout_ms) for t in req.topics])
    return CreatePartitionsResponse(throttle_time_ms=0,
                                    results=[_one(ctx, t, req.validate_only) for t in req.topics])
