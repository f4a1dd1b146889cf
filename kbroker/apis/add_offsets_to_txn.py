"""AddOffsetsToTxn (key 25), v0-4.

Behaviour: adds the group's ``__consumer_offsets`` partition to the producer's transaction (the
offsets TxnOffsetCommit then sends to the group coordinator become visible with the commit
marker).  Errors as AddPartitionsToTxn's: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS,
INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2),
CONCURRENT_TRANSACTIONS.
Version notes: v2 PRODUCER_FENCED · v3 flexible · v4 TRANSACTION_ABORTABLE may be answered (never here).
Not done: authorization.
"""

from __future__ import annotations

from kbroker.apis.add_partitions_to_txn import fenced_error
from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.messages.add_offsets_to_txn import AddOffsetsToTxnRequest, AddOffsetsToTxnResponse


@handler(AddOffsetsToTxnRequest, versions=(0, 4))
async def add_offsets_to_txn(ctx: RequestContext, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse:
    code = await ctx.services.transactions.add_offsets(req.transactional_id, req.producer_id, req.producer_epoch,
                                                       req.group_id)
    return AddOffsetsToTxnResponse(throttle_time_ms=0, error_code=fenced_error(code, ctx.api_version))
