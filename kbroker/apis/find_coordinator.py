"""FindCoordinator (key 10), v0-4.

Behaviour: this broker coordinates every group (key_type 0), so it answers with itself;
the first lookup creates ``__consumer_offsets`` (as Kafka does on demand).
v4+ looks up a batch of keys at once.
Version notes: v1 key_type, throttle, error message · v3 flexible · v4 batched keys.
Not implemented: transaction coordinators (key_type 1 → COORDINATOR_NOT_AVAILABLE: there are
no transactions yet); share-group keys (key_type 2 → INVALID_REQUEST).
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from wire.messages.find_coordinator import _FindCoordinatorResponse_Coordinator as Coordinator

GROUP, TRANSACTION = 0, 1


def _lookup(ctx: RequestContext, key: str, key_type: int) -> Coordinator:
    b = ctx.broker
    if key_type == GROUP:
        b.groups.topic.ensure()
        adv = b.advertised
        return Coordinator(key=key, node_id=b.node_id, host=adv.host, port=adv.port, error_code=0)
    if key_type == TRANSACTION:
        return Coordinator(key=key, node_id=-1, host="", port=-1, error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE,
                           error_message="transactions are not supported by this broker")
    return Coordinator(key=key, node_id=-1, host="", port=-1, error_code=ErrorCode.INVALID_REQUEST,
                       error_message=f"unsupported key type {key_type}")


@handler(FindCoordinatorRequest, versions=(0, 4))
async def find_coordinator(ctx: RequestContext, req: FindCoordinatorRequest) -> FindCoordinatorResponse:
    if ctx.api_version >= 4:
        return FindCoordinatorResponse(throttle_time_ms=0, coordinators=[
            _lookup(ctx, k, req.key_type) for k in req.coordinator_keys or []])
    c = _lookup(ctx, req.key, req.key_type)
    return FindCoordinatorResponse(throttle_time_ms=0, error_code=c.error_code, error_message=c.error_message,
                                   node_id=c.node_id, host=c.host, port=c.port)
