"""Broker-side recompression for a topic's ``compression.type`` (Kafka's semantics), and the bound
on how far a produced batch may expand when the broker has to look inside it.

``producer`` (the default) keeps each batch as the producer compressed it; ``uncompressed``,
``gzip``, ``snappy``, ``lz4`` or ``zstd`` makes the broker rewrite every batch that uses another
codec before it is appended: the records are decoded and written into one new batch with the same
producer id, epoch, base sequence, transactional flag and timestamps (LogAppendTime batches stay
LogAppendTime), offset deltas 0..n-1 and a new CRC. Batches already in the target codec, and
control batches, are left byte for byte. The new batch uses the topic's level for its codec
(``compression.gzip.level``, ``compression.lz4.level``, ``compression.zstd.level``; Kafka's
defaults when the topic configs are not known). This is the one place where Produce decodes every
record, so it costs what Kafka's recompression costs: only topics that ask for it pay.

Compression bombs: whenever the broker decompresses a produced batch (a compacted topic's key check,
recompression) it does so with a hard bound, ``decompressed_limit(max.message.bytes)``: a batch may
expand to 64 times the topic's ``max.message.bytes`` (64 MiB at Kafka's default of 1 MiB), at least
64 MiB and at most 1 GiB. Kafka's producer closes a batch at ``batch.size`` (16 KiB) of *estimated
compressed* bytes and no single record may exceed ``max.request.size``, so real batches stay far below
that (a 64x compression ratio on a full 1 MiB batch); a batch that decodes to more is refused with
INVALID_RECORD (not retriable, like Kafka's InvalidRecordException for records it will not accept)
as soon as decoding passes the bound, so its cost is at most the bound. The decoding itself runs in
a worker thread (kbroker.apis.produce), never on the event loop.
"""

from __future__ import annotations

from wire.records import build_batch, iter_batches, stream_records

__all__ = ["TARGETS", "DEFAULT_LEVELS", "decompressed_limit", "recompress"]

TARGETS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
# Kafka's defaults for compression.<codec>.level (GzipCompression.DEFAULT_LEVEL is zlib's 6 via
# Deflater's default, Lz4Compression 9, ZstdCompression 3).
DEFAULT_LEVELS = {1: 6, 3: 9, 4: 3}
LEVEL_CONFIGS = {1: "compression.gzip.level", 3: "compression.lz4.level", 4: "compression.zstd.level"}

_EXPANSION = 64
_LIMIT_FLOOR = 64 << 20
_LIMIT_CEILING = 1 << 30


def decompressed_limit(max_message_bytes: int) -> int:
    """How many bytes a produced batch's records may decompress to (see the module notes)."""
    return min(max(_EXPANSION * max_message_bytes, _LIMIT_FLOOR), _LIMIT_CEILING)


def recompress(data: memoryview | bytearray, compression_type: str, *, limit: int | None = None,
               level: int | None = None) -> memoryview | bytearray:
    """``data`` (validated v2 batches) with every batch in the topic's codec; ``data`` itself when
    nothing needs to change. ``limit`` bounds each batch's decompressed size (InvalidRecordError
    beyond it); ``level`` is the target codec's level (its Kafka default when None). Raises
    CorruptRecordError for records that do not decode."""
    target = TARGETS.get(compression_type)
    if target is None:
        return data
    headers = list(iter_batches(data))
    if all(h.compression == target or h.is_control for _, h in headers):
        return data
    if level is None:
        level = DEFAULT_LEVELS.get(target)
    out = bytearray()
    for pos, h in headers:
        if h.compression == target or h.is_control:
            out += data[pos : pos + h.total_size]
            continue
        # decoded while decompressing: the records, not also the whole decompressed blob
        records = list(stream_records(data, pos, limit or _LIMIT_CEILING))
        out += build_batch(
            records,
            compression=target,
            compression_level=level,
            producer_id=h.producer_id,
            producer_epoch=h.producer_epoch,
            base_sequence=h.base_sequence,
            transactional=h.is_transactional,
            partition_leader_epoch=h.partition_leader_epoch,
            log_append_time=h.log_append_time,
        )
        del records
    return out
