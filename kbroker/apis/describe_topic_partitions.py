"""DescribeTopicPartitions (key 75), v0.

Behaviour: the partitions of the named topics (every topic when the list is empty), in topic name
order, at most min(response_partition_limit, 2000) partitions per response (Kafka's
max.request.partition.size.limit); when more remain, next_cursor names the topic and partition to
continue from, and the client asks again with it. A cursor must name one of the listed topics
(else INVALID_REQUEST for every topic, as Kafka answers); topics before the cursor's are skipped, and
the cursor's topic starts at its partition. An unknown listed topic gets UNKNOWN_TOPIC_OR_PARTITION.
Each partition: this broker leads it at the partition's leader epoch, is its only replica and in-sync
replica; in a cluster, its leader (-1 and LEADER_NOT_AVAILABLE while it has none), epoch, replicas,
ISR and offline replicas from the cluster's metadata, as Metadata answers; the eligible leader replica
lists (KIP-966) are empty. The Java Admin (3.9, 4.x) uses this for
describeTopics when the broker offers it, instead of Metadata.
Version notes: v0 is the only version (flexible).
Authorized operations: every topic entry (unknown ones too) carries every operation Kafka supports on
a topic (metadata.TOPIC_OPERATIONS), as a broker without an authorizer answers: the request has no
flag for it (the Admin client drops them unless asked).
"""

from kbroker.apis.metadata import TOPIC_OPERATIONS
from kbroker.context import RequestContext
from kbroker.names import INTERNAL_TOPICS
from kbroker.registry import handler
from storage.topics import TopicMeta
from wire.errors import ErrorCode
from wire.messages.describe_topic_partitions import (
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
)
from wire.messages.describe_topic_partitions import (
    _DescribeTopicPartitionsResponse_DescribeTopicPartitionsResponsePartition as Partition,
)
from wire.messages.describe_topic_partitions import (
    _DescribeTopicPartitionsResponse_DescribeTopicPartitionsResponseTopic as Topic,
)

Resp = DescribeTopicPartitionsResponse
MAX_PARTITIONS = 2000  # Kafka's max.request.partition.size.limit default


def _topic(ctx: RequestContext, name: str) -> TopicMeta | None:
    if ctx.cluster is None:
        return ctx.topics.get(name)
    a = ctx.cluster.metadata.assignments.get(name)
    return None if a is None else TopicMeta(name=name, topic_id=a.topic_id, partitions=len(a.partitions))


def _partition(ctx: RequestContext, name: str, p: int) -> Partition:
    if ctx.cluster is None:
        part = ctx.topics.partition(name, p)
        return Partition(error_code=0, partition_index=p, leader_id=ctx.node_id,
                         leader_epoch=part.leader_epoch if part is not None else 0,
                         replica_nodes=[ctx.node_id], isr_nodes=[ctx.node_id],
                         eligible_leader_replicas=[], last_known_elr=[], offline_replicas=[])
    alive = ctx.cluster.metadata.brokers
    info = ctx.cluster.partition(name, p)
    if info is None:
        return Partition(error_code=ErrorCode.LEADER_NOT_AVAILABLE, partition_index=p, leader_id=-1,
                         leader_epoch=0, replica_nodes=[], isr_nodes=[], eligible_leader_replicas=[],
                         last_known_elr=[], offline_replicas=[])
    leader = info.leader if info.leader in alive else -1
    return Partition(error_code=0 if leader >= 0 else ErrorCode.LEADER_NOT_AVAILABLE, partition_index=p,
                     leader_id=leader, leader_epoch=max(info.leader_epoch, 0), replica_nodes=list(info.replicas),
                     isr_nodes=list(info.isr), eligible_leader_replicas=[], last_known_elr=[],
                     offline_replicas=[r for r in info.replicas if r not in alive])


@handler(DescribeTopicPartitionsRequest, versions=(0, 0))
async def describe_topic_partitions(ctx: RequestContext,
                                    req: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse:
    cursor = req.cursor
    start_topic = cursor.topic_name if cursor is not None else ""
    if req.topics:
        names = sorted({t.name for t in req.topics if t.name >= start_topic})
        if cursor is not None and cursor.topic_name not in names:
            return Resp(throttle_time_ms=0, topics=[
                Topic(error_code=ErrorCode.INVALID_REQUEST, name=t.name, partitions=[],
                      topic_authorized_operations=TOPIC_OPERATIONS) for t in req.topics])
    elif ctx.cluster is not None:
        names = [n for n in ctx.cluster.metadata.topic_names() if n >= start_topic]
    else:
        names = sorted(t.name for t in ctx.topics.all() if t.name >= start_topic)
    remaining = min(MAX_PARTITIONS, req.response_partition_limit)
    first = cursor.partition_index if cursor is not None else 0
    topics: list[Topic] = []
    next_cursor = None
    for name in names:
        meta = _topic(ctx, name)
        if remaining <= 0:
            if meta is not None:
                next_cursor = Resp.Cursor(topic_name=name, partition_index=0)
                break
            continue
        if meta is None:
            topics.append(Topic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name=name, partitions=[],
                                topic_authorized_operations=TOPIC_OPERATIONS))
            continue
        start = first if name == start_topic else 0
        end = min(meta.partitions, start + remaining)
        partitions = []
        for p in range(start, end):
            partitions.append(_partition(ctx, name, p))
        topics.append(Topic(error_code=0, name=name, topic_id=meta.topic_id, is_internal=name in INTERNAL_TOPICS,
                            partitions=partitions, topic_authorized_operations=TOPIC_OPERATIONS))
        remaining -= len(partitions)
        if end < meta.partitions:
            next_cursor = Resp.Cursor(topic_name=name, partition_index=end)
            break
    return Resp(throttle_time_ms=0, topics=topics, next_cursor=next_cursor)
