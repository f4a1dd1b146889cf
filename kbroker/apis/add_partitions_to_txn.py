"""AddPartitionsToTxn (key 24), v0-5.

Behaviour: adds partitions to the producer's transaction at its coordinator (``kbroker.txn``):
the first add starts the transaction (Ongoing), and the partitions get markers when it ends.
Partitions of unknown topics answer UNKNOWN_TOPIC_OR_PARTITION and the others
OPERATION_NOT_ATTEMPTED, without touching the transaction (as Kafka's handler); otherwise the
coordinator's answer is every partition's: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS,
INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2),
CONCURRENT_TRANSACTIONS while the previous transaction is being completed.
v4+ (broker to broker, KIP-890 part 1) carries a batch of transactions; ``verify_only`` asks
whether the partitions are in the ongoing transaction (INVALID_TXN_STATE for those that are not)
and changes nothing.
Version notes: v2 PRODUCER_FENCED · v3 flexible · v4 batched transactions, top-level error,
verify_only · v5 TRANSACTION_ABORTABLE may be answered (never here).
Not done: authorization (Kafka requires ClusterAction for v4+).
"""

from __future__ import annotations

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.add_partitions_to_txn import AddPartitionsToTxnRequest, AddPartitionsToTxnResponse

E = ErrorCode
R = AddPartitionsToTxnResponse
TopicPartition = tuple[str, int]


def partition_exists(ctx: RequestContext, topic: str, p: int) -> bool:
    if ctx.cluster is not None:
        return ctx.cluster.partition(topic, p) is not None
    meta = ctx.topics.get(topic)
    return meta is not None and 0 <= p < meta.partitions


def fenced_error(code: int, version: int, since: int = 2) -> int:
    """PRODUCER_FENCED is INVALID_PRODUCER_EPOCH to clients older than ``since``."""
    return E.INVALID_PRODUCER_EPOCH if code == E.PRODUCER_FENCED and version < since else code


async def add(ctx: RequestContext, tid: str, pid: int, epoch: int, tps: list[TopicPartition],
              verify_only: bool) -> dict[TopicPartition, int]:
    unknown = {tp for tp in tps if not partition_exists(ctx, *tp)}
    if unknown:
        return {tp: E.UNKNOWN_TOPIC_OR_PARTITION if tp in unknown else E.OPERATION_NOT_ATTEMPTED for tp in tps}
    coord = ctx.services.transactions
    if verify_only:
        return await coord.verify(tid, pid, epoch, tps)
    code = await coord.add_partitions(tid, pid, epoch, tps)
    return {tp: fenced_error(code, ctx.api_version) for tp in tps}


def topic_results(errors: dict[TopicPartition, int]) -> list:
    by_topic: dict[str, list] = {}
    for (t, p), code in errors.items():
        by_topic.setdefault(t, []).append(R.AddPartitionsToTxnPartitionResult(partition_index=p,
                                                                              partition_error_code=code))
    return [R.AddPartitionsToTxnTopicResult(name=t, results_by_partition=rs) for t, rs in by_topic.items()]


@handler(AddPartitionsToTxnRequest, versions=(0, 5))
async def add_partitions_to_txn(ctx: RequestContext, req: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse:
    if ctx.api_version <= 3:
        tps = [(t.name, p) for t in req.v3_and_below_topics for p in t.partitions]
        errors = await add(ctx, req.v3_and_below_transactional_id, req.v3_and_below_producer_id,
                           req.v3_and_below_producer_epoch, tps, False)
        return R(throttle_time_ms=0, results_by_topic_v3_and_below=topic_results(errors))
    results = []
    for txn in req.transactions:
        tps = [(t.name, p) for t in txn.topics for p in t.partitions]
        errors = await add(ctx, txn.transactional_id, txn.producer_id, txn.producer_epoch, tps, txn.verify_only)
        results.append(R.AddPartitionsToTxnResult(transactional_id=txn.transactional_id,
                                                  topic_results=topic_results(errors)))
    return R(throttle_time_ms=0, error_code=0, results_by_transaction=results)
