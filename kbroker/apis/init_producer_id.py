"""InitProducerId (key 22), v0-4.

Behaviour: hands an idempotent producer a new producer id (unique across restarts)
at epoch 0.  From v3 a producer may ask to bump its epoch by sending its current id
and epoch: it keeps the id and gets epoch + 1 (sequence numbers restart at 0).
Version notes: v2 flexible · v3 epoch bump (KIP-360) · v4 PRODUCER_FENCED.
Not implemented: transactional ids (transactions come later) → TRANSACTIONAL_ID_AUTHORIZATION_FAILED is
not used; a transactional id gets COORDINATOR_NOT_AVAILABLE so clients report it clearly.
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.init_producer_id import InitProducerIdRequest, InitProducerIdResponse

MAX_EPOCH = 32767


@handler(InitProducerIdRequest, versions=(0, 4))
async def init_producer_id(ctx: RequestContext, req: InitProducerIdRequest) -> InitProducerIdResponse:
    b = ctx.broker
    if req.transactional_id is not None:
        return InitProducerIdResponse(error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE, producer_id=-1,
                                      producer_epoch=-1)
    if req.producer_id >= 0 and req.producer_epoch >= 0 and req.producer_epoch < MAX_EPOCH - 1:
        return InitProducerIdResponse(error_code=0, producer_id=req.producer_id,
                                      producer_epoch=req.producer_epoch + 1)
    return InitProducerIdResponse(error_code=0, producer_id=b.producer_ids.allocate(), producer_epoch=0)
