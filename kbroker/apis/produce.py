"""Produce (key 0), v0-13 advertised (Kafka 4.1.1's range); v0-2 are rejected at request time (connection
closed), as Kafka 4 does: they predate message format v2.

Behaviour: per partition, exactly one batch (more → INVALID_RECORD, as Kafka answers v3+),
validated without decoding records (size, CRC, magic 2, offset delta vs record count, no
control batches; each batch header is parsed once), then only the base offset is rewritten and the
bytes are appended.  Records are decoded only where the topic needs it: keys on a compacted topic,
recompression, records to name in an INVALID_TIMESTAMP answer.  acks=0 gets no response, and any
error with acks=0 closes the connection (Kafka's way of telling such a producer).
Idempotent batches: a duplicate is answered NONE with its original offset, a gap or a new epoch not
starting at 0 gets OUT_OF_ORDER_SEQUENCE_NUMBER, a stale epoch INVALID_PRODUCER_EPOCH; never
UNKNOWN_SERVER_ERROR.
Version notes: v3 transactional_id · v5 log_start_offset · v7 zstd · v8 record errors · v9 flexible
· v10 current_leader / node_endpoints tagged fields (only sent with NOT_LEADER_OR_FOLLOWER, which a
single broker that leads every partition never answers, so they stay absent) · v11 no change (the
client may use the leader it learned from those fields) · v12 KIP-890 part 2, implicit add of the
partition to the producer's transaction (transactional produce keeps today's answer below;
non-transactional produce unchanged) · v13 topics by topic_id (KIP-516): the topic is resolved by
id, an unknown id answers UNKNOWN_TOPIC_ID on each of its partitions, the response carries topic_id
instead of the name.
This handler maps the request to partitions and their answers to the response; what happens to a
batch (validation, LogAppendTime, key checks, recompression, compression-bomb bounds, idempotence,
the append) is the partition's (kbroker.partition, kbroker.log_validator).
v8 record errors: keyless records on a compacted topic fail the batch with INVALID_RECORD,
``record_errors`` naming each such record's index in the batch and ``error_message`` a summary, as
Kafka's validator answers; nothing is appended. Likewise CreateTime records outside
message.timestamp.before/after.max.ms get INVALID_TIMESTAMP with each such record in record_errors.
Not implemented: transactional produce (INVALID_TXN_STATE).
"""

from __future__ import annotations

from kbroker.context import RequestContext
from kbroker.log_validator import ProduceError
from kbroker.registry import CloseConnection, handler
from wire.errors import ErrorCode
from wire.messages.produce import ProduceRequest, ProduceResponse
from wire.messages.produce import _ProduceResponse_BatchIndexAndErrorMessage as RecordError
from wire.messages.produce import _ProduceResponse_PartitionProduceResponse as PartResp
from wire.messages.produce import _ProduceResponse_TopicProduceResponse as TopicResp


def _error(index: int, code: int, message: str | None = None,
           record_errors: list[tuple[int, str]] | None = None) -> PartResp:
    r = PartResp(index=index, error_code=code, base_offset=-1, log_append_time_ms=-1,
                 log_start_offset=-1, error_message=message)
    if record_errors:
        r.record_errors = [RecordError(batch_index=i, batch_index_error_message=m) for i, m in record_errors]
    return r


async def _produce_partition(ctx: RequestContext, topic: str, index: int, data: memoryview | None
                             ) -> tuple[PartResp, bool]:
    """The partition's answer, and whether the log must be synced before the response goes."""
    part = ctx.topics.partition(topic, index)
    if part is None:
        return _error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), False
    if data is None or len(data) == 0:
        return _error(index, ErrorCode.INVALID_RECORD, "no record batch"), False
    try:
        done = await part.append(data, ctx.api_version)
    except ProduceError as e:
        return _error(index, e.code, e.message, e.record_errors), False
    return (PartResp(index=index, error_code=0, base_offset=done.base_offset,
                     log_append_time_ms=done.log_append_time_ms, log_start_offset=done.log_start_offset),
            part.needs_flush())


@handler(ProduceRequest, versions=(0, 13))
async def produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | None:
    if ctx.api_version < 3:
        raise CloseConnection(f"Produce v{ctx.api_version} is not supported (message format v2 needs v3+)")
    acks = req.acks
    topics: list[TopicResp] = []
    need_flush = False
    by_id = ctx.topics.ids() if ctx.api_version >= 13 else {}
    for t in req.topic_data or []:
        parts = []
        name = by_id.get(t.topic_id) if ctx.api_version >= 13 else t.name
        for p in t.partition_data or []:
            if acks not in (0, 1, -1):
                parts.append(_error(p.index, ErrorCode.INVALID_REQUIRED_ACKS))
            elif name is None:
                parts.append(_error(p.index, ErrorCode.UNKNOWN_TOPIC_ID))
            elif req.transactional_id is not None:
                parts.append(_error(p.index, ErrorCode.INVALID_TXN_STATE, "transactions are not supported yet"))
            else:
                r, flush = await _produce_partition(ctx, name, p.index, p.records)
                parts.append(r)
                need_flush = need_flush or flush
        topics.append(TopicResp(name=t.name, topic_id=t.topic_id, partition_responses=parts))
    if need_flush:
        await ctx.flusher.flush_soon()
    if acks == 0:
        if any(p.error_code for t in topics for p in t.partition_responses):
            raise CloseConnection("error on an acks=0 produce")
        return None
    return ProduceResponse(responses=topics, throttle_time_ms=0)
