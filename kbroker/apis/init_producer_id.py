"""InitProducerId (key 22), v0-5.

Behaviour: hands an idempotent producer a new producer id (unique across restarts) at epoch 0.  From
v3 a producer may send its current id and epoch to have the epoch bumped (KIP-360): it keeps the id
and gets epoch + 1, and its sequence numbers restart at 0 in every partition; a request naming an
older epoch than the latest granted is fenced (see kbroker.producers for the rules).
Version notes: v2 flexible · v3 producer_id/producer_epoch in the request (epoch bump) · v4
PRODUCER_FENCED instead of INVALID_PRODUCER_EPOCH · v5 TRANSACTION_ABORTABLE may be answered (only
to transactional producers: never here).
With a transactional id the transaction coordinator answers (``kbroker.txn``): a new id at epoch 0
for an unknown transactional id, else the epoch bumped (a new producer id when it would overflow);
an ongoing transaction of a previous incarnation is aborted first (fenced: CONCURRENT_TRANSACTIONS
until it is, the client retries); INVALID_TRANSACTION_TIMEOUT when the timeout exceeds
transaction.max.timeout.ms; NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS elsewhere.
Not implemented: keep_prepared_txn (v6, KIP-939; not in this version range).
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse


@handler(InitProducerIdRequest, versions=(0, 5))
async def init_producer_id(ctx: RequestContext, req: InitProducerIdRequest) -> InitProducerIdResponse:
    if req.transactional_id is not None:
        pid, epoch = (req.producer_id, req.producer_epoch) if ctx.api_version >= 3 else (-1, -1)
        error, pid, epoch = await ctx.services.transactions.init_producer_id(
            req.transactional_id, req.transaction_timeout_ms, pid, epoch)
        if error == ErrorCode.PRODUCER_FENCED and ctx.api_version < 4:
            error = ErrorCode.INVALID_PRODUCER_EPOCH
        return InitProducerIdResponse(throttle_time_ms=0, error_code=error, producer_id=pid, producer_epoch=epoch)
    pid, epoch = (req.producer_id, req.producer_epoch) if ctx.api_version >= 3 else (-1, -1)
    error, pid, epoch = ctx.producer_ids.init(pid, epoch, ctx.api_version)
    return InitProducerIdResponse(throttle_time_ms=0, error_code=error, producer_id=pid, producer_epoch=epoch)
