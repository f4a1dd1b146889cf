"""WriteTxnMarkers (key 27), v1 (Kafka 4.1.1's only version; v0 was removed with KIP-896).

Sent by a transaction coordinator to the leaders of a transaction's partitions: per marker, append a
COMMIT (``transaction_result`` true) or ABORT control batch of the producer to each listed partition
and answer once it is committed.  The work is ``ctx.services.markers`` (``kbroker.txn_markers``:
per partition UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, INVALID_PRODUCER_EPOCH,
TRANSACTION_COORDINATOR_FENCED, NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT,
KAFKA_STORAGE_ERROR); the markers of one request are written concurrently and each is answered with its
producer id and per-topic partition results, in the request's order.  The wait for replication is
bounded by Kafka's ``request.timeout.ms`` default (30 s), as Kafka bounds it by that config.
Not done: authorization (CLUSTER_ACTION is not checked: kbroker has no ACLs).
"""

from __future__ import annotations

import asyncio

from kbroker.context import RequestContext
from kbroker.registry import handler
from kbroker.txn.ports import MarkerWriter, TxnMarker
from kbroker.txn_markers import LocalMarkerWriter
from wire.messages.write_txn_markers import WriteTxnMarkersRequest, WriteTxnMarkersResponse
from wire.messages.write_txn_markers import (
    _WriteTxnMarkersResponse_WritableTxnMarkerPartitionResult as PartResult,
)
from wire.messages.write_txn_markers import _WriteTxnMarkersResponse_WritableTxnMarkerResult as MarkerResult
from wire.messages.write_txn_markers import (
    _WriteTxnMarkersResponse_WritableTxnMarkerTopicResult as TopicResult,
)

MARKER_TIMEOUT_MS = 30_000  # Kafka's request.timeout.ms default, which bounds its marker appends


def _writer(ctx: RequestContext) -> MarkerWriter:
    markers = ctx.services.markers
    if markers is None:  # not composed: the local writer over this broker's partitions
        markers = LocalMarkerWriter(ctx.topics, ctx.groups, ctx.cluster)
    return markers


@handler(WriteTxnMarkersRequest, versions=(1, 1))
async def write_txn_markers(ctx: RequestContext, req: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse:
    writer = _writer(ctx)
    markers = [TxnMarker(m.producer_id, m.producer_epoch, m.transaction_result, m.coordinator_epoch,
                         tuple((t.name, p) for t in m.topics for p in t.partition_indexes))
               for m in req.markers]
    answers = await asyncio.gather(*(writer.write(m, MARKER_TIMEOUT_MS) for m in markers))
    out = []
    for m, codes in zip(req.markers, answers, strict=True):
        topics = [TopicResult(name=t.name, partitions=[PartResult(partition_index=p, error_code=codes[(t.name, p)])
                                                       for p in t.partition_indexes])
                  for t in m.topics]
        out.append(MarkerResult(producer_id=m.producer_id, topics=topics))
    return WriteTxnMarkersResponse(markers=out)
