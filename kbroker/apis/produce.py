"""Produce (key 0), v0-13 advertised (Kafka 4.1.1's range); v0-2 are rejected at request time (connection
closed), as Kafka 4 does: they predate message format v2.

Behaviour: per partition, exactly one batch (more → INVALID_RECORD, as Kafka answers v3+),
validated without decoding records (size, CRC, magic 2, offset delta vs record count, no
control batches), then only the base
offset is rewritten and the bytes are appended.  Records are decoded only where the
topic needs it: keys on a compacted topic, recompression, records to name in an INVALID_TIMESTAMP
answer.  acks=0 gets no response, and any error
with acks=0 closes the connection (Kafka's way of telling such a producer).
Idempotent batches are checked by the partition log against the producer's last five
(storage.producer_state): a duplicate is answered NONE with its original offset, a gap or a
new epoch not starting at 0 gets OUT_OF_ORDER_SEQUENCE_NUMBER, a stale epoch
INVALID_PRODUCER_EPOCH; never UNKNOWN_SERVER_ERROR.
Version notes: v3 transactional_id · v5 log_start_offset · v7 zstd · v8 record errors · v9 flexible
· v10 current_leader / node_endpoints tagged fields (only sent with NOT_LEADER_OR_FOLLOWER, which a
single broker that leads every partition never answers, so they stay absent) · v11 no change (the
client may use the leader it learned from those fields) · v12 KIP-890 part 2, implicit add of the
partition to the producer's transaction (transactional produce keeps today's answer below;
non-transactional produce unchanged) · v13 topics by topic_id (KIP-516): the topic is resolved by
id, an unknown id answers UNKNOWN_TOPIC_ID on each of its partitions, the response carries topic_id
instead of the name.
Topics with a compression.type other than producer get their batches recompressed
(kbroker.recompression), at the topic's compression.<codec>.level.
v8 record errors: keyless records on a compacted topic fail the batch with INVALID_RECORD,
``record_errors`` naming each such record's index in the batch and ``error_message`` a summary, as
Kafka's validator answers; nothing is appended. Likewise CreateTime records outside
message.timestamp.before/after.max.ms get INVALID_TIMESTAMP with each such record in record_errors.
Compression bombs: where the broker must look inside a compressed batch (compacted key check,
recompression, per-record timestamp errors) records are decoded while decompressing
(wire.records.stream_records: about one record and one codec step in memory for the key check),
decompression is bounded (kbroker.recompression.decompressed_limit; INVALID_RECORD beyond it)
and runs in a worker thread (two at most, so two bombs cannot hold more than twice the bound), so
one producer cannot stall the event loop; batches that need no look inside take the
fast path untouched (no decoding at all).
Not implemented: transactional produce (INVALID_TXN_STATE).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from kbroker.broker import now_ms
from kbroker.context import RequestContext
from kbroker.recompression import LEVEL_CONFIGS, TARGETS, decompressed_limit, recompress
from kbroker.registry import CloseConnection, handler
from storage.errors import StorageError
from storage.producer_state import InvalidProducerEpoch, OutOfOrderSequence
from wire import records
from wire.errors import ErrorCode
from wire.messages.produce import ProduceRequest, ProduceResponse
from wire.messages.produce import _ProduceResponse_BatchIndexAndErrorMessage as RecordError
from wire.messages.produce import _ProduceResponse_PartitionProduceResponse as PartResp
from wire.messages.produce import _ProduceResponse_TopicProduceResponse as TopicResp

ZSTD = 4
# Decoding of compressed batches (compacted key checks, recompression) runs here, off the loop.
_DECODER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="produce-decode")
_SHOWN_RECORD_ERRORS = 3


def _error(index: int, code: int, message: str | None = None) -> PartResp:
    return PartResp(index=index, error_code=code, base_offset=-1, log_append_time_ms=-1,
                    log_start_offset=-1, error_message=message)


def _validate(ctx: RequestContext, topic: str, data: memoryview) -> tuple[int, str | None, list]:
    b = ctx.broker
    try:
        headers = records.validate_batches(data)
    except records.CorruptRecordError as e:
        return ErrorCode.CORRUPT_MESSAGE, str(e), []
    except records.UnknownCodecError as e:
        return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, str(e), []
    except records.InvalidRecordError as e:
        return ErrorCode.INVALID_RECORD, str(e), []
    if len(headers) > 1:  # Kafka's rule for Produce v3+ (the only versions served)
        return (ErrorCode.INVALID_RECORD, f"Produce requests with version {ctx.api_version} are only allowed "
                "to contain exactly one record batch per partition", [])
    max_bytes = int(b.topic_config(topic, "max.message.bytes"))
    now = now_ms()
    ts_type = b.topic_config(topic, "message.timestamp.type")
    before = int(b.topic_config(topic, "message.timestamp.before.max.ms"))
    after = int(b.topic_config(topic, "message.timestamp.after.max.ms"))
    pos = 0
    for h in headers:
        if h.total_size > max_bytes:
            return ErrorCode.MESSAGE_TOO_LARGE, f"batch of {h.total_size} bytes exceeds max.message.bytes={max_bytes}", []
        if h.compression == ZSTD and ctx.api_version < 7:
            return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, "zstd needs Produce v7+", []
        if h.compression > ZSTD:
            return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, f"unknown codec {h.compression}", []
        if h.producer_id >= 0 and h.base_sequence < 0:
            return ErrorCode.INVALID_RECORD, f"producer {h.producer_id} sent sequence {h.base_sequence}", []
        if ts_type == "CreateTime":
            if h.max_timestamp > now + after or (h.base_timestamp >= 0 and h.base_timestamp < now - before):
                # headers returned: the caller lists the offending records (record_errors)
                return (ErrorCode.INVALID_TIMESTAMP, f"One or more records have a timestamp outside "
                        f"[{now - before}, {now + after}] (message.timestamp.before/after.max.ms)", headers)
        pos += h.total_size
    if ts_type == "LogAppendTime":
        pos = 0
        for h in headers:
            records.set_log_append_time(data, pos, now)
            pos += h.total_size
    return ErrorCode.NONE, None, headers


def _level(ctx: RequestContext, topic: str, compression_type: str) -> int | None:
    """The topic's level for the codec it recompresses to (None: the codec's Kafka default, also
    while kbroker.topic_config does not know the compression.<codec>.level configs)."""
    key = LEVEL_CONFIGS.get(TARGETS.get(compression_type, -1))
    if key is None:
        return None
    try:
        return int(ctx.broker.topic_config(topic, key))
    except (KeyError, ValueError, TypeError):
        return None


def _timestamp_errors(data: memoryview, headers: list, lo: int, hi: int, limit: int) -> list:
    """The records whose CreateTime lies outside [lo, hi] (may run in a worker thread)."""
    errors = []
    pos = 0
    try:
        for h in headers:
            for i, r in enumerate(records.stream_records(data, pos, limit)):
                if r.timestamp > hi or (0 <= r.timestamp < lo):
                    errors.append(RecordError(batch_index=i, batch_index_error_message=(
                        f"Timestamp {r.timestamp} of record {i} is out of range; it should be within [{lo}, {hi}]")))
            pos += h.total_size
    except (ValueError, records.CorruptRecordError):
        return []  # the batch-level answer stands
    return errors


def _inspect(data: memoryview, headers: list, tp: str, compact: bool, compression_type: str,
             limit: int, level: int | None) -> tuple[int, str | None, list, memoryview | bytearray]:
    """Look inside the batches (compacted key check) and recompress them: (error code, message,
    record errors, the bytes to store). Pure (no broker state): may run in a worker thread."""
    try:
        if compact:
            pos = 0
            errors = []
            for h in headers:
                for i, r in enumerate(records.stream_records(data, pos, limit)):
                    if r.key is None:
                        errors.append(RecordError(batch_index=i, batch_index_error_message=(
                            f"Compacted topic cannot accept a record without a key in topic partition {tp}.")))
                pos += h.total_size
            if errors:
                shown = "; ".join(f"record {e.batch_index}: {e.batch_index_error_message}"
                                  for e in errors[:_SHOWN_RECORD_ERRORS])
                return (ErrorCode.INVALID_RECORD, f"{len(errors)} record(s) rejected in {tp} "
                        f"(showing at most {_SHOWN_RECORD_ERRORS}): {shown}", errors, data)
        stored = recompress(data, compression_type, limit=limit, level=level)
    except records.InvalidRecordError as e:
        return ErrorCode.INVALID_RECORD, str(e), [], data
    except (ValueError, records.CorruptRecordError) as e:
        return ErrorCode.CORRUPT_MESSAGE, str(e), [], data
    return ErrorCode.NONE, None, [], stored


async def _produce_partition(ctx: RequestContext, topic: str, index: int, data: memoryview | None) -> PartResp:
    b = ctx.broker
    meta = b.topic(topic)
    if meta is None or not 0 <= index < meta.partitions:
        return _error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if data is None or len(data) == 0:
        return _error(index, ErrorCode.INVALID_RECORD, "no record batch")
    code, msg, headers = _validate(ctx, topic, data)
    if code == ErrorCode.INVALID_TIMESTAMP and headers:
        now = now_ms()
        ts_args = (data, headers, now - int(b.topic_config(topic, "message.timestamp.before.max.ms")),
                   now + int(b.topic_config(topic, "message.timestamp.after.max.ms")),
                   decompressed_limit(int(b.topic_config(topic, "max.message.bytes"))))
        if any(h.compression for h in headers):
            errors = await asyncio.get_running_loop().run_in_executor(_DECODER, _timestamp_errors, *ts_args)
        else:
            errors = _timestamp_errors(*ts_args)
        r = _error(index, code, msg)
        r.record_errors = errors
        return r
    if code:
        return _error(index, code, msg)
    plog = b.get_log(topic, index)
    if plog is None:
        return _error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    compact = "compact" in b.topic_config(topic, "cleanup.policy")
    compression_type = b.topic_config(topic, "compression.type")
    recompressing = compression_type in TARGETS and any(
        h.compression != TARGETS[compression_type] for h in headers)
    if compact or recompressing:
        args = (data, headers, f"{topic}-{index}", compact, compression_type,
                decompressed_limit(int(b.topic_config(topic, "max.message.bytes"))),
                _level(ctx, topic, compression_type))
        if any(h.compression for h in headers):  # decompression: off the event loop
            code, msg, errors, stored = await asyncio.get_running_loop().run_in_executor(_DECODER, _inspect, *args)
        else:
            code, msg, errors, stored = _inspect(*args)
        if code:
            r = _error(index, code, msg)
            r.record_errors = errors
            return r
        if b.get_log(topic, index) is not plog:  # deleted (or recreated) while decoding
            return _error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    else:
        stored = data
    now = now_ms()
    try:
        info = plog.append(stored, now)
    except OutOfOrderSequence as e:
        return _error(index, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, str(e))
    except InvalidProducerEpoch as e:
        return _error(index, ErrorCode.INVALID_PRODUCER_EPOCH, str(e))
    except (OSError, StorageError) as e:
        return _error(index, ErrorCode.KAFKA_STORAGE_ERROR, str(e))
    log_append_time = b.topic_config(topic, "message.timestamp.type") == "LogAppendTime"
    if info.duplicate is not None:  # a retry of a batch already written: its original offset
        return PartResp(index=index, error_code=0, base_offset=info.base_offset,
                        log_append_time_ms=info.duplicate.timestamp if log_append_time else -1,
                        log_start_offset=info.log_start_offset)
    b.notify_append(topic, index)
    lat = now if log_append_time else -1
    return PartResp(index=index, error_code=0, base_offset=info.base_offset, log_append_time_ms=lat,
                    log_start_offset=info.log_start_offset)


@handler(ProduceRequest, versions=(0, 13))
async def produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | None:
    if ctx.api_version < 3:
        raise CloseConnection(f"Produce v{ctx.api_version} is not supported (message format v2 needs v3+)")
    acks = req.acks
    topics: list[TopicResp] = []
    need_flush = False
    by_id = {m.topic_id: m.name for m in ctx.broker.all_topics()} if ctx.api_version >= 13 else {}
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
                r = await _produce_partition(ctx, name, p.index, p.records)
                parts.append(r)
                if r.error_code == 0:
                    plog = ctx.broker.get_log(name, p.index)
                    need_flush = need_flush or (plog is not None and plog.needs_flush(now_ms()))
        topics.append(TopicResp(name=t.name, topic_id=t.topic_id, partition_responses=parts))
    if need_flush:
        await ctx.broker.flush_soon()
    if acks == 0:
        if any(p.error_code for t in topics for p in t.partition_responses):
            raise CloseConnection("error on an acks=0 produce")
        return None
    return ProduceResponse(responses=topics, throttle_time_ms=0)
