"""InitProducerId (key 22), v0-5.

Behaviour: hands an idempotent producer a new producer id (unique across restarts) at epoch 0.  From
v3 a producer may send its current id and epoch to have the epoch bumped (KIP-360): it keeps the id
and gets epoch + 1, and its sequence numbers restart at 0 in every partition; a request naming an
older epoch than the latest granted is fenced (see kbroker.producers for the rules).
Version notes: v2 flexible · v3 producer_id/producer_epoch in the request (epoch bump) · v4
PRODUCER_FENCED instead of INVALID_PRODUCER_EPOCH · v5 TRANSACTION_ABORTABLE may be answered (only
to transactional producers: never here).
Not implemented: transactional ids (transactions come later): a transactional id gets
CLUSTER_AUTHORIZATION_FAILED, which every client treats as fatal, as FindCoordinator
answers for a transaction coordinator (with the reason: "kbroker does not support transactions
yet"); a transactional producer fails at once instead of retrying forever.
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse


@handler(InitProducerIdRequest, versions=(0, 5))
async def init_producer_id(ctx: RequestContext, req: InitProducerIdRequest) -> InitProducerIdResponse:
    if req.transactional_id is not None:
        return InitProducerIdResponse(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
                                      producer_id=-1, producer_epoch=-1)
    pid, epoch = (req.producer_id, req.producer_epoch) if ctx.api_version >= 3 else (-1, -1)
    error, pid, epoch = ctx.producer_ids.init(pid, epoch, ctx.api_version)
    return InitProducerIdResponse(throttle_time_ms=0, error_code=error, producer_id=pid, producer_epoch=epoch)
