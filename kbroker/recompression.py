"""Broker-side recompression for a topic's ``compression.type`` (Kafka's semantics).

``producer`` (the default) keeps each batch as the producer compressed it; ``uncompressed``,
``gzip``, ``snappy``, ``lz4`` or ``zstd`` makes the broker rewrite every batch that uses another
codec before it is appended: the records are decoded and written into one new batch with the same
producer id, epoch, base sequence, transactional flag and timestamps (LogAppendTime batches stay
LogAppendTime), offset deltas 0..n-1 and a new CRC. Batches already in the target codec, and
control batches, are left byte for byte. This is the one place where Produce decodes every record,
so it costs what Kafka's recompression costs: only topics that ask for it pay.
"""

from __future__ import annotations

from wire.records import build_batch, decode_batch, iter_batches

__all__ = ["TARGETS", "recompress"]

TARGETS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def recompress(data: memoryview | bytearray, compression_type: str) -> memoryview | bytearray:
    """``data`` (validated v2 batches) with every batch in the topic's codec; ``data`` itself when
    nothing needs to change. Raises CorruptRecordError for records that do not decode."""
    target = TARGETS.get(compression_type)
    if target is None:
        return data
    headers = list(iter_batches(data))
    if all(h.compression == target or h.is_control for _, h in headers):
        return data
    out = bytearray()
    for pos, h in headers:
        if h.compression == target or h.is_control:
            out += data[pos : pos + h.total_size]
            continue
        _, records = decode_batch(data, pos)
        out += build_batch(
            records,
            compression=target,
            producer_id=h.producer_id,
            producer_epoch=h.producer_epoch,
            base_sequence=h.base_sequence,
            transactional=h.is_transactional,
            partition_leader_epoch=h.partition_leader_epoch,
            log_append_time=h.log_append_time,
        )
    return out
