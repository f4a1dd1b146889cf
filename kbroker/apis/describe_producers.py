"""DescribeProducers (key 61), v0 (Kafka 4.1.1's range; ``kafka-transactions.sh describe-producers``,
``Admin.describeProducers``).

Per requested partition, from the partition leader's producer state (``storage.producer_state``): every
producer the log remembers, with its epoch, last sequence, the timestamp of its last batch or marker,
the coordinator epoch of its last marker (-1: none) and the first offset of its ongoing transaction
(-1: none).  A partition this broker does not have is UNKNOWN_TOPIC_OR_PARTITION, or
NOT_LEADER_OR_FOLLOWER when the cluster knows it (another broker leads it) or this broker only follows
it, as Kafka's ReplicaManager answers.
Not implemented: authorization (no ACLs).
"""

from __future__ import annotations

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.describe_producers import DescribeProducersRequest, DescribeProducersResponse
from wire.messages.describe_producers import _DescribeProducersResponse_PartitionResponse as PartResp

R = DescribeProducersResponse


def _partition(ctx: RequestContext, topic: str, index: int) -> PartResp:
    part = ctx.topics.partition(topic, index)
    if part is None or not part.is_leader:
        known = part is not None or (ctx.cluster is not None and ctx.cluster.partition(topic, index) is not None)
        code = ErrorCode.NOT_LEADER_OR_FOLLOWER if known else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return PartResp(partition_index=index, error_code=code, active_producers=[])
    producers = []
    for pid, e in sorted(part.log.producer_state.producers.items()):
        first = e.current_txn_first_offset
        producers.append(R.ProducerState(
            producer_id=pid, producer_epoch=e.epoch, last_sequence=e.last_seq, last_timestamp=e.last_timestamp,
            coordinator_epoch=e.coordinator_epoch, current_txn_start_offset=first if first >= 0 else -1))
    return PartResp(partition_index=index, error_code=0, active_producers=producers)


@handler(DescribeProducersRequest, versions=(0, 0))
async def describe_producers(ctx: RequestContext, req: DescribeProducersRequest) -> DescribeProducersResponse:
    return R(throttle_time_ms=0, topics=[
        R.TopicResponse(name=t.name, partitions=[_partition(ctx, t.name, p) for p in t.partition_indexes])
        for t in req.topics])
