"""FindCoordinator (key 10), v0-6.

Behaviour: this broker coordinates every group (key_type 0), so it answers with itself;
the first lookup creates ``__consumer_offsets`` (as Kafka does on demand).  In a cluster the
coordinator is the leader of the group's ``__consumer_offsets`` partition; the topic is created
(offsets.topic.replication.factor replicas) once that many brokers are alive, and until then — or
while the partition has no leader — the answer is COORDINATOR_NOT_AVAILABLE, as Kafka's.
v4+ looks up a batch of keys at once.
Transaction coordinators (key_type 1): the leader of the id's ``__transaction_state`` partition.
A single broker creates the topic on first lookup and answers itself; a cluster creates it
(transaction.state.log.replication.factor replicas, min.insync.replicas =
transaction.state.log.min.isr) once that many brokers are alive, COORDINATOR_NOT_AVAILABLE until
then and while the partition has no leader.
Share-group keys (key_type 2, v6+): share groups are not enabled (as in a default Kafka 4.1
node), so a well-formed "groupId:topicId:partition" key gets COORDINATOR_NOT_AVAILABLE and a
malformed one, or key_type 2 below v6, INVALID_REQUEST, as Kafka answers; other key types
INVALID_REQUEST.
Version notes: v1 key_type, throttle, error message · v3 flexible · v4 batched keys ·
v5 TRANSACTION_ABORTABLE may be answered (never here) · v6 share-group keys.
Not implemented: share groups.
"""

import base64
import binascii
import uuid

from kbroker.context import RequestContext
from kbroker.groups.codec import OFFSETS_TOPIC, partition_for
from kbroker.registry import handler
from kbroker.txn.codec import TXN_TOPIC
from wire.errors import ErrorCode
from wire.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse
from wire.messages.find_coordinator import _FindCoordinatorResponse_Coordinator as Coordinator

GROUP, TRANSACTION, SHARE = 0, 1, 2
MALFORMED = ("This most likely occurs because of a request being malformed by the client library or the message "
             "was sent to an incompatible broker. See the broker logs for more details.")


def share_key_valid(key: str) -> bool:
    """Kafka's share-partition key shape: "groupId:topicId:partition" (topic id in base64)."""
    parts = key.split(":")
    if len(parts) != 3 or not parts[0]:
        return False
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        uuid.UUID(bytes=raw)
        return int(parts[2]) >= 0
    except (ValueError, binascii.Error):
        return False


def _error(key: str, code: int, message: str) -> Coordinator:
    return Coordinator(key=key, node_id=-1, host="", port=-1, error_code=code, error_message=message)


def _in_cluster(ctx: RequestContext, key: str, key_type: int) -> Coordinator:
    """The leader of the key's partition of the internal topic; the topic is created on first use
    once its replication factor's brokers are alive (COORDINATOR_NOT_AVAILABLE until then, and
    while the partition has no leader)."""
    cluster = ctx.cluster
    assert cluster is not None
    c = ctx.config
    if key_type == TRANSACTION:
        topic = TXN_TOPIC
        created = cluster.ensure_internal_topic(topic, c.get_int("transaction.state.log.num.partitions"),
                                                c.get_int("transaction.state.log.replication.factor"),
                                                ctx.services.transactions.log.configs())
    else:
        topic = OFFSETS_TOPIC
        created = cluster.ensure_internal_topic(topic, c.get_int("offsets.topic.num.partitions"),
                                                c.get_int("offsets.topic.replication.factor"),
                                                {"cleanup.policy": "compact",
                                                 "segment.bytes": str(c.get_int("offsets.topic.segment.bytes")),
                                                 "compression.type": "producer"})
    if not created:
        return _error(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.")
    n = len(cluster.metadata.assignments[topic].partitions)
    info = cluster.partition(topic, partition_for(key, n))
    leader = cluster.metadata.brokers.get(info.leader) if info is not None else None
    if leader is None:
        return _error(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.")
    return Coordinator(key=key, node_id=leader.broker_id, host=leader.host, port=leader.port, error_code=0)


def _lookup(ctx: RequestContext, key: str, key_type: int) -> Coordinator:
    if key_type in (GROUP, TRANSACTION) and ctx.cluster is not None:
        return _in_cluster(ctx, key, key_type)
    if key_type in (GROUP, TRANSACTION):
        if key_type == GROUP:
            ctx.groups.topic.ensure()
        else:
            ctx.services.transactions.log.ensure()
        adv = ctx.identity.advertised
        return Coordinator(key=key, node_id=ctx.node_id, host=adv.host, port=adv.port, error_code=0)
    if key_type == SHARE:
        if ctx.api_version >= 6 and share_key_valid(key):
            return _error(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, "")
        return _error(key, ErrorCode.INVALID_REQUEST, "")
    return _error(key, ErrorCode.INVALID_REQUEST, MALFORMED)


@handler(FindCoordinatorRequest, versions=(0, 6))
async def find_coordinator(ctx: RequestContext, req: FindCoordinatorRequest) -> FindCoordinatorResponse:
    if ctx.api_version >= 4:
        return FindCoordinatorResponse(throttle_time_ms=0, coordinators=[
            _lookup(ctx, k, req.key_type) for k in req.coordinator_keys or []])
    c = _lookup(ctx, req.key, req.key_type)
    message = c.error_message if c.error_code else "NONE"  # Kafka's text for no error before v4
    return FindCoordinatorResponse(throttle_time_ms=0, error_code=c.error_code, error_message=message,
                                   node_id=c.node_id, host=c.host, port=c.port)
