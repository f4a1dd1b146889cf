"""Rewriting one batch of a closed segment against the offset map (``filter_batch``), and the empty
batch that stands for a run of batches that kept nothing (``mergeable``, ``empty_batch``).

Rules, per batch:

- the pass walks every batch in offset order through a ``txn.TxnWalk`` (``Pass.txns``): a data batch
  of an aborted transaction keeps nothing (an empty batch, below); a committed transactional batch
  is filtered like any other;
- a transaction marker (control batch) that still guards data of its transaction is copied as it
  is. One that guards nothing (``TxnWalk.on_marker``) is stamped with a delete horizon the first
  time (bit 6 and baseTimestamp = now + ``delete.retention.ms``, as for tombstones) and, in a pass
  at or after that horizon, keeps nothing (an empty control batch, so its offset stays covered and
  producer state still sees the producer's epoch). Kafka's rule: its marker goes
  ``delete.retention.ms`` after the first pass that finds its transaction empty;
- each record is kept unless its key is null, or the map holds a later offset for its key, or it is
  a tombstone (null value) in a batch whose delete horizon has passed;
- delete horizon (Kafka's KIP-534): the first pass that keeps a tombstone of a batch rewrites the
  batch with attribute bit 6 set and its baseTimestamp = that pass's time + ``delete.retention.ms``
  (each record's timestamp delta re-encoded against it, so record timestamps do not change). A
  tombstone therefore stays ``delete.retention.ms`` after it was first cleaned, whatever its own
  timestamp, and a later change of ``delete.retention.ms`` applies to batches cleaned afterwards;
- a batch that keeps every record is copied byte for byte (no recompression);
- a batch that keeps some is rebuilt from the kept records' bytes, unchanged (their offset and
  timestamp deltas still hold because baseOffset, baseTimestamp, lastOffsetDelta, the producer fields
  and the attributes are kept), recompressed with the batch's codec, maxTimestamp recomputed
  (CreateTime) and a new CRC;
- a batch that keeps nothing stays as an empty batch: a 61-byte header with recordCount 0,
  baseOffset, lastOffsetDelta and the producer fields kept, codec none, both timestamps = its
  maxTimestamp, and the transactional bit cleared on a data batch (Kafka deletes such batches; kept
  transactional, an empty batch would restart its transaction when producer state is rebuilt from
  the log, which its marker, emptied later, could no longer end). An emptied marker stays a
  transactional control batch with no record, as Kafka writes one. Consumers step over it (Java, librdkafka and kafka-python move on to lastOffset + 1);
  Spark needs exactly this to find a batch for every offset below the high watermark;
- a run of such empty batches that are alike (contiguous offsets, same producer id, epoch, leader
  epoch and attributes, and for an idempotent producer sequences that continue) is written as one
  empty batch spanning the run: consumers and producer state read it the same way, a long superseded
  stretch costs 61 bytes instead of 61 per batch, and a fetch into it still reaches later records
  (librdkafka reports MSG_SIZE_TOO_LARGE after about ten fetch responses in a row that hold no
  record, which a log of many empty batches would otherwise cause).

So offsets are never renumbered and never reused, and every offset from the log start to the end
stays covered by a batch. Every batch's CRC is checked before its records are read.
"""

from __future__ import annotations

from wire.compression import compress
from wire.records import (
    COMPRESSION_MASK,
    DELETE_HORIZON_BIT,
    TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
    BatchHeader,
    CorruptRecordError,
    crc_ok,
    read_varint,
    rebuild_batch,
    write_varint,
)

from .common import Pass, records_of

__all__ = ["EMPTY", "KEEP", "REBUILT", "empty_batch", "filter_batch", "mergeable"]

KEEP, EMPTY, REBUILT = 0, 1, 2
_SEQ_MOD = 2**31  # producer sequences wrap at 2^31


def filter_batch(work: Pass, buf: bytes, pos: int, header: BatchHeader) -> tuple[int, bytes | None, int]:
    """(KEEP, EMPTY or REBUILT; the rebuilt batch; records removed)."""
    stats = work.stats
    stats.batches_read += 1
    stats.bytes_read += header.total_size
    if not crc_ok(buf, pos, header):
        raise CorruptRecordError(
            f"{work.log.directory}: CRC mismatch in the batch at offset {header.base_offset}"
        )
    if header.is_control or header.is_transactional:
        if header.is_control:
            return _filter_marker(work, buf, pos, header)
        if work.txns.on_batch(header):
            if header.record_count <= 0:
                return EMPTY, None, 0
            stats.records_read += header.record_count
            stats.aborted_dropped += header.record_count
            stats.batches_emptied += 1
            return EMPTY, None, header.record_count
    if header.record_count <= 0:
        return EMPTY, None, 0
    data = records_of(buf, pos, header)
    base, count = header.base_offset, header.record_count
    stats.records_read += count
    stamped = header.delete_horizon_ms
    tombstones_expire = stamped is not None and stamped <= work.now_ms
    offset_map = work.map
    varint = read_varint
    kept: list[tuple[int, int]] = []
    max_delta = -1
    kept_tombstone = False
    p = 0
    for _ in range(count):  # one-byte varints inline, as in offset_map.map_batch
        start = p
        b = data[p]
        if b < 0x80:
            length, q = (b >> 1) ^ -(b & 1), p + 1
        elif data[p + 1] < 0x80:  # records of 64 B to 8 KiB
            length = ((b & 0x7F) | (data[p + 1] << 7)) >> 1
            q = p + 2
        else:
            length, q = varint(data, p)
        p = q + length
        b = data[q + 1]
        if b < 0x80:
            ts_delta, q = (b >> 1) ^ -(b & 1), q + 2
        else:
            ts_delta, q = varint(data, q + 1)
        b = data[q]
        if b < 0x80:
            delta, q = (b >> 1) ^ -(b & 1), q + 1
        else:
            delta, q = varint(data, q)
        b = data[q]
        if b < 0x80:
            key_len, q = (b >> 1) ^ -(b & 1), q + 1
        else:
            key_len, q = varint(data, q)
        if key_len < 0:
            continue  # a keyless record cannot be compacted (Kafka drops it too)
        latest = offset_map.get(data[q : q + key_len])
        if latest is not None and latest > base + delta:
            continue
        tombstone = data[q + key_len] == 1  # valueLength -1: zigzag 1, one byte
        if tombstone:
            if tombstones_expire:
                stats.tombstones_dropped += 1
                continue
            kept_tombstone = True
        kept.append((start, p))
        if ts_delta > max_delta:
            max_delta = ts_delta
    if p != len(data):
        raise CorruptRecordError(f"batch at offset {base}: records do not fill the batch")
    stamp = kept_tombstone and stamped is None  # first pass to keep a tombstone of this batch
    if kept_tombstone:
        horizon = work.now_ms + work.config.delete_retention_ms if stamped is None else stamped
        if stats.earliest_horizon_ms < 0 or horizon < stats.earliest_horizon_ms:
            stats.earliest_horizon_ms = horizon
    stats.records_kept += len(kept)
    if len(kept) == count and not stamp:
        return KEEP, None, 0
    if not kept:
        stats.batches_emptied += 1
        return EMPTY, None, count
    if header.attributes & TIMESTAMP_TYPE_BIT:
        max_ts = header.max_timestamp
    else:
        max_ts = header.base_timestamp + max_delta
    if stamp:
        base_ts = horizon
        attributes = header.attributes | DELETE_HORIZON_BIT
        body = _rebase(data, kept, header.base_timestamp - base_ts)
    else:
        base_ts, attributes = header.base_timestamp, header.attributes
        body = b"".join(data[s:e] for s, e in kept)
    codec = header.attributes & COMPRESSION_MASK
    payload = compress(codec, body) if codec else body
    new = rebuild_batch(
        header,
        payload,
        attributes=attributes,
        record_count=len(kept),
        base_timestamp=base_ts,
        max_timestamp=max_ts,
    )
    return REBUILT, new, count - len(kept)


def _filter_marker(work: Pass, buf: bytes, pos: int, header: BatchHeader) -> tuple[int, bytes | None, int]:
    """A control batch: kept while it guards something, then stamped, then emptied."""
    discardable = work.txns.on_marker(buf, pos, header)
    count = header.record_count
    if count <= 0:
        return EMPTY, None, 0
    if not discardable:
        return KEEP, None, 0
    stats = work.stats
    horizon = header.delete_horizon_ms
    if horizon is not None and horizon <= work.now_ms:
        stats.markers_removed += 1
        return EMPTY, None, count
    if horizon is None:
        horizon = work.now_ms + work.config.delete_retention_ms
    if stats.earliest_horizon_ms < 0 or horizon < stats.earliest_horizon_ms:
        stats.earliest_horizon_ms = horizon
    if header.delete_horizon_ms is not None:
        return KEEP, None, 0
    stats.markers_stamped += 1
    data = records_of(buf, pos, header)
    spans, p = [], 0
    for _ in range(count):
        length, q = read_varint(data, p)
        spans.append((p, q + length))
        p = q + length
    new = rebuild_batch(
        header,
        _rebase(data, spans, header.base_timestamp - horizon),
        attributes=(header.attributes | DELETE_HORIZON_BIT) & ~COMPRESSION_MASK,
        record_count=count,
        base_timestamp=horizon,
        max_timestamp=header.max_timestamp,
    )
    return REBUILT, new, 0


def _rebase(data: bytes, spans: list[tuple[int, int]], shift: int) -> bytes:
    """The records ``data[start:end]`` of ``spans`` with ``shift`` added to each timestamp delta
    (a new baseTimestamp); every other byte of a record is kept."""
    out = bytearray()
    for start, end in spans:
        _, q = read_varint(data, start)  # the record's length, rewritten below
        ts_delta, r = read_varint(data, q + 1)  # after the record's attributes byte
        body = bytearray(data[q : q + 1])
        write_varint(body, ts_delta + shift)
        body += data[r:end]
        write_varint(out, len(body))
        out += body
    return bytes(out)


def mergeable(first: BatchHeader, last: BatchHeader, h: BatchHeader) -> bool:
    """Can empty batch ``h`` extend the run ``first`` .. ``last``? Only if the result reads the same
    to a consumer and to producer state: contiguous offsets, same producer, epoch, leader epoch and
    attributes, and (for an idempotent producer) sequences that continue the run's."""
    ignored = COMPRESSION_MASK | DELETE_HORIZON_BIT | TRANSACTIONAL_BIT  # h is never a control batch
    if (
        h.base_offset != last.next_offset
        or h.producer_id != first.producer_id
        or h.producer_epoch != first.producer_epoch
        or h.partition_leader_epoch != first.partition_leader_epoch
        or (h.attributes | ignored) != (first.attributes | ignored)
        or h.is_control
        or h.last_offset - first.base_offset > 2**31 - 1
    ):
        return False
    if first.producer_id < 0:
        return True
    expected = (first.base_sequence + (h.base_offset - first.base_offset)) % _SEQ_MOD
    return first.base_sequence >= 0 and h.base_sequence == expected


def empty_batch(run: list[BatchHeader]) -> bytes:
    """One empty batch standing for the ``mergeable`` run of empty batches ``run``: codec none, no
    delete horizon (nothing is left to delete), not transactional unless it is a control batch (see
    the module's rules), both timestamps the run's largest maxTimestamp."""
    first, last = run[0], run[-1]
    max_ts = max(h.max_timestamp for h in run)
    cleared = COMPRESSION_MASK | DELETE_HORIZON_BIT | (0 if first.is_control else TRANSACTIONAL_BIT)
    return rebuild_batch(
        first,
        b"",
        attributes=first.attributes & ~cleared,
        record_count=0,
        base_timestamp=max_ts,
        max_timestamp=max_ts,
        last_offset_delta=last.last_offset - first.base_offset,
    )
