"""TxnOffsetCommit (key 28), v0-5 (Kafka 4.1.1's range).

A transactional producer commits a consumer group's offsets inside its transaction
(``sendOffsetsToTransaction``), after AddOffsetsToTxn added the group's ``__consumer_offsets``
partition to the transaction.  Per partition, as Kafka's handler answers: an unknown topic or
partition gets UNKNOWN_TOPIC_OR_PARTITION, metadata longer than ``offset.metadata.max.bytes``
OFFSET_METADATA_TOO_LARGE; the rest go to the group coordinator
(``GroupCoordinator.commit_txn_offsets``, ``kbroker.groups.txn_offsets``): written as one transactional
batch of the producer to the group's partition, pending until the producer's COMMIT marker (then the
group's committed offsets; ABORT drops them), so OffsetFetch does not show them before (with
require_stable: UNSTABLE_OFFSET_COMMIT).  One error for all of them: NOT_COORDINATOR /
COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
FENCED_INSTANCE_ID (v3+ carry the member), INVALID_PRODUCER_EPOCH, and the transaction coordinator's
answer to the KIP-890 verification (INVALID_TXN_STATE, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS ...).
An empty group id is INVALID_GROUP_ID.
Version notes: v1 no change · v2 committed_leader_epoch · v3 flexible, generation_id, member_id,
group_instance_id · v4-5 no change for the broker (KIP-890 part 2 clients).  v0-1: a loading
coordinator is answered COORDINATOR_NOT_AVAILABLE (Kafka's compatibility rule for 0.11-2.0 clients).
Not implemented: authorization (no ACLs).
"""

from __future__ import annotations

from kbroker.apis.offset_commit import validate_offsets
from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.txn_offset_commit import TxnOffsetCommitRequest, TxnOffsetCommitResponse

R = TxnOffsetCommitResponse


def _verification_enabled(ctx: RequestContext) -> bool:
    value = ctx.config.get("transaction.partition.verification.enable")
    return value is None or value.strip().lower() == "true"


@handler(TxnOffsetCommitRequest, versions=(0, 5))
async def txn_offset_commit(ctx: RequestContext, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse:
    errors, valid = validate_offsets(ctx, req.topics or [])
    if valid:
        error: int
        if not req.group_id:
            error = ErrorCode.INVALID_GROUP_ID
        else:
            verifier = ctx.services.txn_verifier if _verification_enabled(ctx) else None
            error = await ctx.groups.commit_txn_offsets(
                req.group_id, req.transactional_id, req.producer_id, req.producer_epoch, req.member_id,
                req.group_instance_id, req.generation_id, valid, verifier)
        if ctx.api_version < 2 and error == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
            error = ErrorCode.COORDINATOR_NOT_AVAILABLE
        errors.update(dict.fromkeys(valid, error))
    return R(throttle_time_ms=0, topics=[
        R.TxnOffsetCommitResponseTopic(name=t.name, partitions=[
            R.TxnOffsetCommitResponsePartition(partition_index=p.partition_index,
                                               error_code=errors[t.name, p.partition_index])
            for p in t.partitions or []])
        for t in req.topics or []])
