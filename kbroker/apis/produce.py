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
· v10 current_leader / node_endpoints tagged fields (sent with NOT_LEADER_OR_FOLLOWER in a cluster: the
leader this broker knows and its endpoint, KIP-951; a single broker leads every partition) · v11 no change (the
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
In a cluster (kbroker.cluster): only the leader appends (others answer NOT_LEADER_OR_FOLLOWER);
acks=all needs min.insync.replicas in the ISR (NOT_ENOUGH_REPLICAS, nothing appended) and is answered
once the high watermark covers the batch (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
it, REQUEST_TIMED_OUT after timeout_ms, NOT_LEADER_OR_FOLLOWER if leadership moved meanwhile).
Transactions: a transactional batch needs the request's transactional_id (without one the whole request
answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka's authorizer check does) and a producer id
(INVALID_RECORD); one request carries one transactional producer (two: INVALID_PRODUCER_ID_MAPPING on
every partition).  KIP-890 part 1 (``transaction.partition.verification.enable``, default true): the
partitions where the producer has no ongoing transaction are verified with the transaction coordinator in
one ``ctx.services.txn_verifier.verify`` call before anything is appended; INVALID_TXN_STATE ("Partition
was not added to the transaction") and INVALID_PRODUCER_EPOCH are answered as the coordinator says, its
PRODUCER_FENCED as INVALID_PRODUCER_EPOCH (Kafka never answers Produce with PRODUCER_FENCED: librdkafka
takes that as abortable, the epoch error as fatal fencing), and its retriable errors (CONCURRENT_TRANSACTIONS, NOT_COORDINATOR,
COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, NETWORK_EXCEPTION) become NOT_ENOUGH_REPLICAS,
as Kafka translates them so that every client version retries.  The append then checks the verification
is still current (``Partition.append``: a marker in between makes it INVALID_TXN_STATE); a
non-transactional batch of a producer with an ongoing transaction is INVALID_TXN_STATE (the log's
producer state).  Without a verifier (none composed) nothing is verified, as in Kafka without the
AddPartitionsToTxn manager.
Not implemented: KIP-890 part 2's implicit add of the partition to the transaction (v12+ produce is
verified like the older versions).
"""

from __future__ import annotations

import asyncio
import logging
import struct

from kbroker.context import RequestContext
from kbroker.log_validator import ProduceError
from kbroker.partition import Partition, VerificationGuard
from kbroker.registry import CloseConnection, handler
from wire.errors import ErrorCode
from wire.messages.produce import ProduceRequest, ProduceResponse
from wire.messages.produce import _ProduceResponse_BatchIndexAndErrorMessage as RecordError
from wire.messages.produce import _ProduceResponse_LeaderIdAndEpoch as LeaderIdAndEpoch
from wire.messages.produce import _ProduceResponse_NodeEndpoint as NodeEndpoint
from wire.messages.produce import _ProduceResponse_PartitionProduceResponse as PartResp
from wire.messages.produce import _ProduceResponse_TopicProduceResponse as TopicResp
from wire.records import HEADER_SIZE, TRANSACTIONAL_BIT

log = logging.getLogger("kbroker.produce")
E = ErrorCode
# the coordinator's retriable answers, which Kafka turns into one every producer version retries
_RETRY_AS_NOT_ENOUGH_REPLICAS = frozenset({E.CONCURRENT_TRANSACTIONS, E.NETWORK_EXCEPTION,
                                           E.COORDINATOR_LOAD_IN_PROGRESS, E.COORDINATOR_NOT_AVAILABLE,
                                           E.NOT_COORDINATOR})


def _error(index: int, code: int, message: str | None = None,
           record_errors: list[tuple[int, str]] | None = None) -> PartResp:
    r = PartResp(index=index, error_code=code, base_offset=-1, log_append_time_ms=-1,
                 log_start_offset=-1, error_message=message)
    if record_errors:
        r.record_errors = [RecordError(batch_index=i, batch_index_error_message=m) for i, m in record_errors]
    return r


def _not_leader(ctx: RequestContext, topic: str, index: int) -> PartResp:
    """NOT_LEADER_OR_FOLLOWER, with the leader this broker knows of (v10+, KIP-951)."""
    r = _error(index, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    info = ctx.cluster.partition(topic, index) if ctx.cluster is not None else None
    # not this broker itself: one that gave up its leadership (session expired) before the state
    # moved on must not send the client back to itself
    if info is not None and info.leader >= 0 and (ctx.cluster is None or info.leader != ctx.cluster.node_id):
        r.current_leader = LeaderIdAndEpoch(leader_id=info.leader, leader_epoch=info.leader_epoch)
    return r


_TXN_FIELDS = struct.Struct(">h")  # attributes, at byte 21 of a v2 batch
_PRODUCER = struct.Struct(">qh")  # producerId, producerEpoch, at byte 43


def _txn_producer(data: memoryview | None) -> tuple[int, int] | None:
    """(producer id, epoch) of a transactional first batch, None when the batch is not transactional
    (or too short to tell: the append refuses it).  Read straight from the two header fields: the
    partition's validation is where the header is parsed (once per batch)."""
    if data is None or len(data) < HEADER_SIZE:
        return None
    if not _TXN_FIELDS.unpack_from(data, 21)[0] & TRANSACTIONAL_BIT:
        return None
    producer_id, epoch = _PRODUCER.unpack_from(data, 43)
    return producer_id, epoch


def _verification_enabled(ctx: RequestContext) -> bool:
    value = ctx.config.get("transaction.partition.verification.enable")
    return value is None or value.strip().lower() == "true"


async def _verify(ctx: RequestContext, transactional_id: str, producer_id: int, producer_epoch: int,
                  guards: dict[tuple[str, int], VerificationGuard]) -> dict[tuple[str, int], PartResp]:
    """KIP-890 part 1: ask the coordinator about the partitions to verify (one call); the answers of
    those that failed, mapped as Kafka maps them for the producer."""
    verifier = ctx.services.txn_verifier
    if verifier is None or not guards:
        return {}
    try:
        codes = await verifier.verify(transactional_id, producer_id, producer_epoch, list(guards))
    except Exception:
        log.exception("verifying producer %d of %r failed", producer_id, transactional_id)
        codes = {tp: E.COORDINATOR_NOT_AVAILABLE for tp in guards}
    out = {}
    for tp in guards:
        code = int(codes.get(tp, E.INVALID_TXN_STATE))
        if code == E.NONE:
            continue
        if code == E.INVALID_TXN_STATE:
            out[tp] = _error(tp[1], code, "Partition was not added to the transaction")
        elif code == E.PRODUCER_FENCED:
            out[tp] = _error(tp[1], E.INVALID_PRODUCER_EPOCH)
        elif code in _RETRY_AS_NOT_ENOUGH_REPLICAS:
            out[tp] = _error(tp[1], E.NOT_ENOUGH_REPLICAS, "Unable to verify the partition has been added to "
                             f"the transaction. Underlying error: {E(code).name}")
        else:
            out[tp] = _error(tp[1], code)
    return out


async def _produce_partition(ctx: RequestContext, topic: str, index: int, data: memoryview | None, acks: int,
                             pending: list[tuple[PartResp, Partition, int]],
                             guard: VerificationGuard | None = None, verify: bool = False) -> tuple[PartResp, bool]:
    """The partition's answer, and whether the log must be synced before the response goes.
    acks=all in a cluster: the answer is put in ``pending`` with the offset the high watermark must reach."""
    part = ctx.topics.partition(topic, index)
    if part is None:
        if ctx.cluster is not None and ctx.cluster.partition(topic, index) is not None:
            return _not_leader(ctx, topic, index), False
        return _error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), False
    if data is None or len(data) == 0:
        return _error(index, ErrorCode.INVALID_RECORD, "no record batch"), False
    try:
        done = await part.append(data, ctx.api_version, acks, guard, verify)
    except ProduceError as e:
        if e.code == ErrorCode.NOT_LEADER_OR_FOLLOWER:
            return _not_leader(ctx, topic, index), False
        return _error(index, e.code, e.message, e.record_errors), False
    if not done.duplicate:
        ctx.services.traffic.record_in(topic, done.end_offset - done.base_offset, len(data))
    r = PartResp(index=index, error_code=0, base_offset=done.base_offset,
                 log_append_time_ms=done.log_append_time_ms, log_start_offset=done.log_start_offset)
    if acks == -1 and part.replicated:
        pending.append((r, part, done.end_offset))
    return r, part.needs_flush()


async def _await_replication(pending: list[tuple[PartResp, Partition, int]], timeout_ms: int) -> None:
    """acks=all: every partition's answer waits until its high watermark covers the batch (all at
    once, like Kafka's delayed produce); an error replaces the answer's offsets."""
    codes = await asyncio.gather(*(part.wait_replicated(end, timeout_ms) for _, part, end in pending))
    for (r, _, _), code in zip(pending, codes, strict=True):
        if code:
            r.error_code = code
            r.base_offset = r.log_append_time_ms = r.log_start_offset = -1


@handler(ProduceRequest, versions=(0, 13))
async def produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | None:
    if ctx.api_version < 3:
        raise CloseConnection(f"Produce v{ctx.api_version} is not supported (message format v2 needs v3+)")
    acks = req.acks
    topics: list[TopicResp] = []
    need_flush = False
    pending: list[tuple[PartResp, Partition, int]] = []
    by_id = (ctx.cluster.topic_ids() if ctx.cluster is not None else ctx.topics.ids()) if ctx.api_version >= 13 else {}
    names = [by_id.get(t.topic_id) if ctx.api_version >= 13 else t.name for t in req.topic_data or []]
    txn = {(n, p.index): _txn_producer(p.records) for t, n in zip(req.topic_data or [], names, strict=True)
           if n is not None for p in t.partition_data or []}
    txn_pids = {info[0] for info in txn.values() if info is not None and info[0] >= 0}
    whole_error = None
    if any(info is not None for info in txn.values()) and req.transactional_id is None:
        whole_error = E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    elif len(txn_pids) > 1:
        whole_error = E.INVALID_PRODUCER_ID_MAPPING
    guards: dict[tuple[str, int], VerificationGuard] = {}
    answered: dict[tuple[str, int], PartResp] = {}
    verify = False
    if whole_error is None and txn_pids and acks in (0, 1, -1) and _verification_enabled(ctx) \
            and ctx.services.txn_verifier is not None:
        verify = True
        (pid,) = txn_pids
        epoch = -1
        for tp, info in txn.items():
            part = ctx.topics.partition(*tp)
            if info is None or part is None or not part.is_leader:
                continue  # answered by the append
            guard = part.start_verification(pid)
            if guard is not None:
                guards[tp] = guard
                epoch = info[1]
        assert req.transactional_id is not None
        answered = await _verify(ctx, req.transactional_id, pid, epoch, guards)
    for t, name in zip(req.topic_data or [], names, strict=True):
        parts = []
        for p in t.partition_data or []:
            info = txn.get((name, p.index)) if name is not None else None
            if acks not in (0, 1, -1):
                parts.append(_error(p.index, ErrorCode.INVALID_REQUIRED_ACKS))
            elif whole_error is not None:
                parts.append(_error(p.index, whole_error))
            elif name is None:
                parts.append(_error(p.index, ErrorCode.UNKNOWN_TOPIC_ID))
            elif info is not None and info[0] < 0:
                parts.append(_error(p.index, ErrorCode.INVALID_RECORD, "a transactional batch without a producer id"))
            elif (name, p.index) in answered:
                parts.append(answered[name, p.index])
            else:
                r, flush = await _produce_partition(ctx, name, p.index, p.records, acks, pending,
                                                    guards.get((name, p.index)), verify)
                parts.append(r)
                need_flush = need_flush or flush
        topics.append(TopicResp(name=t.name, topic_id=t.topic_id, partition_responses=parts))
    if need_flush:
        await ctx.flusher.flush_soon()
    if pending:
        purgatory = ctx.services.purgatory
        purgatory.produce += 1
        try:
            await _await_replication(pending, req.timeout_ms)
        finally:
            purgatory.produce -= 1
    if acks == 0:
        if any(p.error_code for t in topics for p in t.partition_responses):
            raise CloseConnection("error on an acks=0 produce")
        return None
    endpoints = []
    if ctx.cluster is not None and ctx.api_version >= 10:
        leaders = {p.current_leader.leader_id for t in topics for p in t.partition_responses
                   if p.current_leader.leader_id >= 0}
        endpoints = [NodeEndpoint(node_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
                     for b in ctx.cluster.brokers() if b.broker_id in leaders]
    return ProduceResponse(responses=topics, throttle_time_ms=0, node_endpoints=endpoints)
