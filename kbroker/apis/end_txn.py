"""EndTxn (key 26), v0-5.

Behaviour: commits or aborts the producer's ongoing transaction: PrepareCommit / PrepareAbort is
written to ``__transaction_state`` and the request answered; the markers then go to every
partition of the transaction and the transaction completes (``kbroker.txn.coordinator``).  A retry
of an ended transaction with the same result answers NONE; the wrong state INVALID_TXN_STATE;
CONCURRENT_TRANSACTIONS while the same result is still being completed; PRODUCER_FENCED
(INVALID_PRODUCER_EPOCH before v2) for an old epoch; INVALID_PRODUCER_ID_MAPPING for another id.
Version notes: v2 PRODUCER_FENCED · v3 flexible · v4 TRANSACTION_ABORTABLE may be answered (never
here) · v5 (transaction.version 2) answers the producer id and epoch: this broker finalizes
transaction.version 0, so clients do not use v5's epoch bump; a v5 request is served as v4 and
answers the current id and epoch.
Not done: transaction.version 2 (the epoch bump of every EndTxn).
"""

from __future__ import annotations

from kbroker.apis.add_partitions_to_txn import fenced_error
from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.messages.end_txn import EndTxnRequest, EndTxnResponse


@handler(EndTxnRequest, versions=(0, 5))
async def end_txn(ctx: RequestContext, req: EndTxnRequest) -> EndTxnResponse:
    code = await ctx.services.transactions.end_txn(req.transactional_id, req.producer_id, req.producer_epoch,
                                                   req.committed)
    pid, epoch = (req.producer_id, req.producer_epoch) if not code else (-1, -1)
    return EndTxnResponse(throttle_time_ms=0, error_code=fenced_error(code, ctx.api_version),
                          producer_id=pid, producer_epoch=epoch)
