"""What a partition checks and changes in a produced record batch before it is appended: Kafka's
``LogValidator``.  Pure functions of the bytes and the topic's resolved config (no broker state), so
the decoding ones may run in a worker thread.

Checks, without decoding records (``check_batches``): the header-level rules of ``wire.records``
(size, CRC, magic 2, offset delta vs record count, no control batches), exactly one batch (Kafka's
rule for Produce v3+, the only versions served), ``max.message.bytes``, zstd needing Produce v7+, a
producer id with a sequence, and CreateTime timestamps within
``message.timestamp.before/after.max.ms`` (``TimestampOutOfRange``: the caller then lists the
offending records with ``timestamp_errors``).  ``message.timestamp.type=LogAppendTime`` stamps the
broker's time into the batch (``stamp_append_time``).

Looking inside (``inspect``), only where the topic needs it: every record of a compacted topic must
have a key (INVALID_RECORD, with ``record_errors`` naming each keyless record's index, as Kafka's
validator answers); a topic whose ``compression.type`` is a codec rewrites every batch in another
codec (``recompress``: the records are decoded and written into one new batch with the same producer
id, epoch, base sequence, transactional flag and timestamps — LogAppendTime batches stay
LogAppendTime — offset deltas 0..n-1 and a new CRC, at the topic's ``compression.<codec>.level``;
batches already in the target codec, and control batches, are left byte for byte).

Compression bombs: whenever the broker decompresses a produced batch it does so with a hard bound,
``decompressed_limit(max.message.bytes)``: a batch may expand to 64 times the topic's
``max.message.bytes`` (64 MiB at Kafka's default of 1 MiB), at least 64 MiB and at most 1 GiB. Kafka's
producer closes a batch at ``batch.size`` (16 KiB) of *estimated compressed* bytes and no single record
may exceed ``max.request.size``, so real batches stay far below that; a batch that decodes to more is
refused with INVALID_RECORD (not retriable) as soon as decoding passes the bound, so its cost is at
most the bound.  Records are decoded while decompressing (``wire.records.stream_records``: about one
record and one codec step in memory for the key check).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kbroker.topic_config import TopicConfig
from wire import records
from wire.errors import ErrorCode
from wire.records import BatchHeader

ZSTD = 4
SHOWN_RECORD_ERRORS = 3
# Kafka's defaults for compression.<codec>.level (zlib's 6 for gzip, lz4 9, zstd 3).
DEFAULT_LEVELS = {1: 6, 3: 9, 4: 3}

_EXPANSION = 64
_LIMIT_FLOOR = 64 << 20
_LIMIT_CEILING = 1 << 30

Batches = list[tuple[int, BatchHeader]]  # (position in the buffer, its parsed header)


@dataclass
class ProduceError(Exception):
    """A produced batch is refused: the partition's error code, message and record errors
    (``(index in the batch, message)``)."""

    code: int
    message: str | None = None
    record_errors: list[tuple[int, str]] = field(default_factory=list)


class TimestampOutOfRange(Exception):
    def __init__(self, message: str, batches: Batches, low: int, high: int) -> None:
        super().__init__(message)
        self.message = message
        self.batches = batches
        self.low = low
        self.high = high


def decompressed_limit(max_message_bytes: int) -> int:
    """How many bytes a produced batch's records may decompress to (see the module notes)."""
    return min(max(_EXPANSION * max_message_bytes, _LIMIT_FLOOR), _LIMIT_CEILING)


def check_batches(data: memoryview, config: TopicConfig, api_version: int, now: int) -> Batches:
    """The header-level checks; the batches with their positions. Raises ProduceError, or
    TimestampOutOfRange for CreateTime records outside the topic's bounds."""
    try:
        headers = records.validate_batches(data)
    except records.CorruptRecordError as e:
        raise ProduceError(ErrorCode.CORRUPT_MESSAGE, str(e)) from None
    except records.UnknownCodecError as e:
        raise ProduceError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, str(e)) from None
    except records.InvalidRecordError as e:
        raise ProduceError(ErrorCode.INVALID_RECORD, str(e)) from None
    if len(headers) > 1:
        raise ProduceError(ErrorCode.INVALID_RECORD, f"Produce requests with version {api_version} are only "
                           "allowed to contain exactly one record batch per partition")
    max_bytes = config.max_message_bytes
    before, after = config.timestamp_before_max_ms, config.timestamp_after_max_ms
    batches: Batches = []
    pos = 0
    for h in headers:
        if h.total_size > max_bytes:
            raise ProduceError(ErrorCode.MESSAGE_TOO_LARGE,
                               f"batch of {h.total_size} bytes exceeds max.message.bytes={max_bytes}")
        if h.compression == ZSTD and api_version < 7:
            raise ProduceError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, "zstd needs Produce v7+")
        if h.compression > ZSTD:
            raise ProduceError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, f"unknown codec {h.compression}")
        if h.producer_id >= 0 and h.base_sequence < 0:
            raise ProduceError(ErrorCode.INVALID_RECORD, f"producer {h.producer_id} sent sequence {h.base_sequence}")
        batches.append((pos, h))
        pos += h.total_size
    if not config.log_append_time:
        for _, h in batches:
            if h.max_timestamp > now + after or (h.base_timestamp >= 0 and h.base_timestamp < now - before):
                raise TimestampOutOfRange(f"One or more records have a timestamp outside [{now - before}, "
                                          f"{now + after}] (message.timestamp.before/after.max.ms)",
                                          batches, now - before, now + after)
    return batches


def stamp_append_time(data: memoryview, batches: Batches, now: int) -> None:
    """LogAppendTime: the broker's clock becomes each batch's timestamp (CRC recomputed)."""
    for pos, h in batches:
        records.stamp_log_append_time(data, pos, h, now)


def timestamp_errors(data: memoryview, batches: Batches, low: int, high: int, limit: int) -> list[tuple[int, str]]:
    """The records whose CreateTime lies outside [low, high] (may run in a worker thread)."""
    errors = []
    try:
        for pos, h in batches:
            for i, r in enumerate(records.stream_records(data, pos, limit, h)):
                if r.timestamp > high or (0 <= r.timestamp < low):
                    errors.append((i, f"Timestamp {r.timestamp} of record {i} is out of range; it should be "
                                      f"within [{low}, {high}]"))
    except (ValueError, records.CorruptRecordError):
        return []  # the batch-level answer stands
    return errors


def needs_inspection(config: TopicConfig, batches: Batches) -> bool:
    """Whether the records must be looked at (a compacted topic's keys, recompression)."""
    target = config.recompress_to
    return config.compact or (target is not None and any(h.compression != target for _, h in batches))


def inspect(data: memoryview, batches: Batches, tp: str, config: TopicConfig
            ) -> tuple[memoryview | bytearray, Batches]:
    """Check the keys of a compacted topic and recompress: the bytes to store and their batches.
    Raises ProduceError. May run in a worker thread."""
    limit = decompressed_limit(config.max_message_bytes)
    try:
        if config.compact:
            errors = []
            for pos, h in batches:
                for i, r in enumerate(records.stream_records(data, pos, limit, h)):
                    if r.key is None:
                        errors.append((i, f"Compacted topic cannot accept a record without a key in topic "
                                          f"partition {tp}."))
            if errors:
                shown = "; ".join(f"record {i}: {m}" for i, m in errors[:SHOWN_RECORD_ERRORS])
                raise ProduceError(ErrorCode.INVALID_RECORD, f"{len(errors)} record(s) rejected in {tp} "
                                   f"(showing at most {SHOWN_RECORD_ERRORS}): {shown}", errors)
        return recompress(data, batches, config.recompress_to, config.recompress_level, limit)
    except records.InvalidRecordError as e:
        raise ProduceError(ErrorCode.INVALID_RECORD, str(e)) from None
    except (ValueError, records.CorruptRecordError) as e:
        raise ProduceError(ErrorCode.CORRUPT_MESSAGE, str(e)) from None


def recompress(data: memoryview | bytearray, batches: Batches, target: int | None, level: int | None,
               limit: int = _LIMIT_CEILING) -> tuple[memoryview | bytearray, Batches]:
    """``data`` with every batch in codec ``target`` (None: unchanged); ``data`` itself when nothing
    needs to change. ``limit`` bounds each batch's decompressed size (InvalidRecordError beyond it);
    ``level`` is the codec's level (its Kafka default when None). Raises CorruptRecordError for
    records that do not decode."""
    if target is None or all(h.compression == target or h.is_control for _, h in batches):
        return data, batches
    if level is None:
        level = DEFAULT_LEVELS.get(target)
    out = bytearray()
    for pos, h in batches:
        if h.compression == target or h.is_control:
            out += data[pos : pos + h.total_size]
            continue
        # decoded while decompressing: the records, not also the whole decompressed blob
        recs = list(records.stream_records(data, pos, limit, h))
        out += records.build_batch(
            recs,
            compression=target,
            compression_level=level,
            producer_id=h.producer_id,
            producer_epoch=h.producer_epoch,
            base_sequence=h.base_sequence,
            transactional=h.is_transactional,
            partition_leader_epoch=h.partition_leader_epoch,
            log_append_time=h.log_append_time,
        )
        del recs
    return out, list(records.iter_batches(out))  # the rewritten batches' own headers
