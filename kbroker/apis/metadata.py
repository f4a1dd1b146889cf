"""Metadata (key 3), v0-13.

Behaviour: one broker, the leader (and only replica) of every partition; in a cluster, the live
brokers, the controller and each partition's leader, epoch, replicas, ISR and offline replicas from
the cluster's metadata (kbroker.cluster.metadata), auto-creation over the live brokers with
default.replication.factor.  v0: an
empty topic list means all topics; v1+: null means all, empty means none.  Unknown
topics are created when auto.create.topics.enable is true and the request allows it
(v4+ flag; always for v0-3), with num.partitions partitions; that first answer says
LEADER_NOT_AVAILABLE, as Kafka's does, and the client asks again.
Version notes: v1 controller/rack/is_internal · v2 cluster_id · v5 offline replicas ·
v7 leader epoch · v8-10 authorized operations · v9 flexible · v10 topic ids · v12 lookup by id
(a non-zero topic id is used whatever the name says: the Java Admin sends "" with it) · v13 top-level
error_code (KIP-1102; 0 here: a single broker never asks the client to re-bootstrap).
Authorized operations: with no authorizer, as Kafka answers, every operation a resource supports —
topics (v8+, include_topic_authorized_operations, on every topic entry): READ WRITE CREATE DELETE ALTER
DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS; the cluster (v8-10, include_cluster_authorized_operations):
CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE, as AclOperation
bit sets; when not asked for, -2147483648 ("not provided").
"""

from kbroker.context import RequestContext
from kbroker.names import INTERNAL_TOPICS, topic_name_error
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.metadata import MetadataRequest, MetadataResponse
from wire.messages.metadata import _MetadataResponse_MetadataResponsePartition as Partition
from wire.messages.metadata import _MetadataResponse_MetadataResponseTopic as Topic
from wire.primitives import ZERO_UUID

# Kafka's AclOperation codes and the operations it lists as supported per resource type
# (what a broker without an authorizer reports), as bit sets (bit n = operation code n).
READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION = 3, 4, 5, 6, 7, 8, 9
DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 10, 11, 12
NOT_PROVIDED = -2147483648


def bitset(*codes: int) -> int:
    return sum(1 << c for c in set(codes))


TOPIC_OPERATIONS = bitset(READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS)  # 3576
CLUSTER_OPERATIONS = bitset(CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
                            IDEMPOTENT_WRITE)  # 8096


def _cluster_topic_entry(ctx: RequestContext, name: str) -> Topic:
    """A topic as the cluster's metadata has it: every partition's leader (-1 and
    LEADER_NOT_AVAILABLE while it has none), epoch, replicas, ISR and the replicas on brokers that
    are not alive (offline)."""
    cluster = ctx.cluster
    assert cluster is not None
    a = cluster.metadata.assignments.get(name)
    if a is None:
        return Topic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=name)
    alive = cluster.metadata.brokers
    partitions = []
    for info in cluster.partitions(name):
        offline = [r for r in info.replicas if r not in alive]
        leader = info.leader if info.leader in alive else -1
        partitions.append(Partition(
            error_code=0 if leader >= 0 else ErrorCode.LEADER_NOT_AVAILABLE, partition_index=info.index,
            leader_id=leader, leader_epoch=max(info.leader_epoch, 0), replica_nodes=list(info.replicas),
            isr_nodes=list(info.isr), offline_replicas=offline))
    return Topic(error_code=0, name=name, topic_id=a.topic_id, is_internal=name in INTERNAL_TOPICS,
                 partitions=partitions)


def topic_entry(ctx: RequestContext, name: str) -> Topic:
    if ctx.cluster is not None:
        return _cluster_topic_entry(ctx, name)
    meta = ctx.topics.get(name)
    if meta is None:
        return Topic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=name)
    node = ctx.node_id
    partitions = []
    for p in range(meta.partitions):
        part = ctx.topics.partition(name, p)
        partitions.append(Partition(error_code=0, partition_index=p, leader_id=node,
                                    leader_epoch=part.leader_epoch if part is not None else 0,
                                    replica_nodes=[node], isr_nodes=[node]))
    return Topic(error_code=0, name=name, topic_id=meta.topic_id, is_internal=name in INTERNAL_TOPICS,
                 partitions=partitions)


@handler(MetadataRequest, versions=(0, 13))
async def metadata(ctx: RequestContext, req: MetadataRequest) -> MetadataResponse:
    v = ctx.api_version
    topics: list[Topic] = []
    cluster = ctx.cluster
    if req.topics is None or (v == 0 and not req.topics):
        names = cluster.metadata.topic_names() if cluster is not None else [t.name for t in ctx.topics.all()]
        topics = [topic_entry(ctx, n) for n in names]
    else:
        allow = (v < 4 or req.allow_auto_topic_creation) and ctx.config.auto_create_topics
        if cluster is not None:
            by_id = {a.topic_id: n for n, a in cluster.metadata.assignments.items()}
        else:
            by_id = {t.topic_id: t.name for t in ctx.topics.all()}
        for rt in req.topics:
            name = rt.name
            # v12+: a non-zero topic id wins over the name (Java sends "" as the name then, not null)
            if name is None or (v >= 12 and rt.topic_id != ZERO_UUID):
                if rt.topic_id in by_id:
                    topics.append(topic_entry(ctx, by_id[rt.topic_id]))
                else:
                    topics.append(Topic(error_code=ErrorCode.UNKNOWN_TOPIC_ID, name=None, topic_id=rt.topic_id))
                continue
            exists = cluster.has_topic(name) if cluster is not None else ctx.topics.get(name) is not None
            if not exists:
                err = topic_name_error(name)
                if err is not None:
                    topics.append(Topic(error_code=ErrorCode.INVALID_TOPIC_EXCEPTION, name=name))
                    continue
                if allow and name not in INTERNAL_TOPICS and cluster is not None:
                    topics.append(await _auto_create(ctx, name))
                    continue
                if allow and name not in INTERNAL_TOPICS:
                    created = ctx.topics.create(name, ctx.config.num_partitions, {})
                    topics.append(Topic(error_code=ErrorCode.LEADER_NOT_AVAILABLE, name=name,
                                        topic_id=created.topic_id))
                    continue
            topics.append(topic_entry(ctx, name))
    if v >= 8 and req.include_topic_authorized_operations:
        for t in topics:
            t.topic_authorized_operations = TOPIC_OPERATIONS
    adv = ctx.identity.advertised
    if cluster is not None:
        brokers = [MetadataResponse.MetadataResponseBroker(node_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
                   for b in cluster.brokers()]
        controller = cluster.controller_id
    else:
        brokers = [MetadataResponse.MetadataResponseBroker(node_id=ctx.node_id, host=adv.host, port=adv.port)]
        controller = ctx.node_id
    return MetadataResponse(
        brokers=brokers, cluster_id=ctx.identity.cluster_id, controller_id=controller, topics=topics, error_code=0,
        cluster_authorized_operations=CLUSTER_OPERATIONS if 8 <= v <= 10 and req.include_cluster_authorized_operations
        else NOT_PROVIDED)


async def _auto_create(ctx: RequestContext, name: str) -> Topic:
    """Auto-creation in a cluster: num.partitions, default.replication.factor over the live brokers;
    answered LEADER_NOT_AVAILABLE (the client asks again), INVALID_REPLICATION_FACTOR with too few
    brokers."""
    from kbroker.cluster.admin import TopicExists

    cluster = ctx.cluster
    assert cluster is not None
    try:
        assignment = cluster.plan_assignment(ctx.config.num_partitions, ctx.config.get_int("default.replication.factor"))
    except ValueError:
        return Topic(error_code=ErrorCode.INVALID_REPLICATION_FACTOR, name=name)
    try:
        await cluster.create_topic(name, assignment, {}, 0)
    except TopicExists:
        pass
    return Topic(error_code=ErrorCode.LEADER_NOT_AVAILABLE, name=name)


__all__ = ["metadata", "ZERO_UUID", "TOPIC_OPERATIONS", "CLUSTER_OPERATIONS", "NOT_PROVIDED"]
