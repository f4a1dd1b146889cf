"""CreateTopics (key 19), v2-7.

Behaviour: validates the name, partition count (-1 = num.partitions), replication
factor (-1 or 1: there is one broker), manual assignments (every replica must be this
broker) and configs (kbroker.topic_config.check_overrides, the same whole-set check the alter APIs
use: Kafka's names, value checks and cross-checks → INVALID_CONFIG); validate_only checks without
creating.  The response's configs are the resolved topic config's values and sources. More than 100,000 partitions → INVALID_PARTITIONS; a creation
that fails in storage (EMFILE, ENOSPC ...) is undone and answers KAFKA_STORAGE_ERROR.
Version notes: v4 defaults for partitions/replication (-1) · v5 flexible, returns partitions,
replication factor and configs · v7 topic id.
In a cluster (kbroker.cluster): replication factor up to the live brokers (-1:
default.replication.factor), placed as Kafka's assignor does, or a manual assignment of live,
distinct brokers with one replica count; the topic is written to ZooKeeper (/config/topics, then
/brokers/topics) and the answer waits, up to timeout_ms, until every partition has a leader.
Not implemented: —
"""

import logging

from kbroker.context import RequestContext
from kbroker.names import topic_name_error
from kbroker.registry import handler
from kbroker.topic_config import InvalidTopicConfig, validate
from storage import InvalidPartitions
from wire.errors import ErrorCode
from wire.messages.create_topics import (
    CreateTopicsRequest,
    CreateTopicsResponse,
    _CreateTopicsRequest_CreatableTopic,
)
from wire.messages.create_topics import _CreateTopicsResponse_CreatableTopicConfigs as ConfigOut
from wire.messages.create_topics import _CreateTopicsResponse_CreatableTopicResult as Result

MAX_PARTITIONS = 100_000  # the storage layer's bound (partition numbers of at most 5 digits)

log = logging.getLogger(__name__)


def _fail(name: str, code: int, msg: str) -> Result:
    return Result(name=name, error_code=code, error_message=msg, num_partitions=-1, replication_factor=-1,
                  configs=None)


async def _create(ctx: RequestContext, t: _CreateTopicsRequest_CreatableTopic, validate_only: bool,
                  timeout_ms: int) -> Result:
    name = t.name
    err = topic_name_error(name)
    if err:
        return _fail(name, ErrorCode.INVALID_TOPIC_EXCEPTION, err)
    cluster = ctx.cluster
    exists = cluster.has_topic(name) if cluster is not None else ctx.topics.get(name) is not None
    if exists:
        return _fail(name, ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
    assignment: dict[int, tuple[int, ...]] = {}
    alive = {b.broker_id for b in cluster.brokers()} if cluster is not None else {ctx.node_id}
    if t.assignments:
        if t.num_partitions != -1 or t.replication_factor != -1:
            return _fail(name, ErrorCode.INVALID_REQUEST,
                         "Both numPartitions or replicationFactor and replicasAssignments were set.")
        parts = sorted(a.partition_index for a in t.assignments)
        if parts != list(range(len(parts))):
            return _fail(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions must be numbered 0..n-1")
        for a in t.assignments:
            if cluster is None and a.broker_ids != [ctx.node_id]:
                return _fail(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             f"only broker {ctx.node_id} exists; assignment {a.broker_ids} is not possible")
            if not a.broker_ids or len(set(a.broker_ids)) != len(a.broker_ids):
                return _fail(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             f"Duplicate brokers not allowed in replica assignment: {a.broker_ids}")
            unknown = [b for b in a.broker_ids if b not in alive]
            if unknown:
                return _fail(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             f"Unknown broker(s) in replica assignment: {unknown}.")
            assignment[a.partition_index] = tuple(a.broker_ids)
        if len({len(r) for r in assignment.values()}) > 1:
            return _fail(name, ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                         "All partitions should have the same number of replicas")
        rf = len(assignment[0])
        partitions = len(parts)
    else:
        partitions = t.num_partitions if t.num_partitions != -1 else ctx.config.num_partitions
        if partitions <= 0:
            return _fail(name, ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")
        rf = t.replication_factor
        if rf == 0 or rf < -1:
            return _fail(name, ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.")
        if cluster is not None:
            rf = rf if rf != -1 else ctx.config.get_int("default.replication.factor")
            if rf > len(alive):
                return _fail(name, ErrorCode.INVALID_REPLICATION_FACTOR,
                             f"Unable to replicate the partition {rf} time(s): The target replication factor of "
                             f"{rf} cannot be reached because only {len(alive)} broker(s) are registered.")
        elif rf > 1:
            return _fail(name, ErrorCode.INVALID_REPLICATION_FACTOR,
                         f"Unable to replicate the partition {rf} time(s): The target replication factor of {rf} "
                         "cannot be reached because only 1 broker(s) are registered.")
    if partitions > MAX_PARTITIONS:
        return _fail(name, ErrorCode.INVALID_PARTITIONS,
                     f"Number of partitions {partitions} is above the limit of {MAX_PARTITIONS}.")
    configs: dict[str, str] = {}
    for c in t.configs:
        msg = validate(c.name, c.value)  # the first bad name or value, in request order
        if msg:
            return _fail(name, ErrorCode.INVALID_CONFIG, msg)
        if c.value is not None:
            configs[c.name] = c.value
    try:
        resolved = ctx.topics.check(configs)
    except InvalidTopicConfig as exc:
        return _fail(name, ErrorCode.INVALID_CONFIG, str(exc))
    topic_id = None
    if cluster is not None:
        if partitions > MAX_PARTITIONS:
            return _fail(name, ErrorCode.INVALID_PARTITIONS,
                         f"Number of partitions {partitions} is above the limit of {MAX_PARTITIONS}.")
        if not assignment:
            try:
                assignment = cluster.plan_assignment(partitions, rf)
            except ValueError as exc:
                return _fail(name, ErrorCode.INVALID_REPLICATION_FACTOR, str(exc))
        if not validate_only:
            from kbroker.cluster.admin import TopicExists

            try:
                await cluster.create_topic(name, assignment, configs, timeout_ms)
            except TopicExists:
                return _fail(name, ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
            topic_id = cluster.metadata.assignments[name].topic_id if cluster.has_topic(name) else None
    elif not validate_only:
        try:
            topic_id = ctx.topics.create(name, partitions, configs, resolved).topic_id
        except InvalidPartitions as exc:
            return _fail(name, ErrorCode.INVALID_PARTITIONS, str(exc))
        except OSError as exc:
            # Nothing of the topic is kept (the log manager undoes a half-made creation).
            log.warning("creating topic %r failed: %s", name, exc)
            return _fail(name, ErrorCode.KAFKA_STORAGE_ERROR, f"Could not create topic '{name}': {exc}")
    out_configs = [ConfigOut(name=e.name, value=e.value, read_only=False, config_source=e.source,
                             is_sensitive=False) for e in resolved.entries.values()]
    res = Result(name=name, error_code=0, error_message=None, num_partitions=partitions,
                 replication_factor=rf if cluster is not None else 1, configs=out_configs)
    if topic_id is not None:
        res.topic_id = topic_id
    return res


@handler(CreateTopicsRequest, versions=(2, 7))
async def create_topics(ctx: RequestContext, req: CreateTopicsRequest) -> CreateTopicsResponse:
    seen: dict[str, int] = {}
    for t in req.topics:
        seen[t.name] = seen.get(t.name, 0) + 1
    results = []
    for t in req.topics:
        if seen[t.name] > 1:
            results.append(_fail(t.name, ErrorCode.INVALID_REQUEST, "Duplicate topic name in the request."))
        else:
            results.append(await _create(ctx, t, req.validate_only, req.timeout_ms))
    return CreateTopicsResponse(throttle_time_ms=0, topics=results)
