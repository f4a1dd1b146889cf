"""Kafka RecordBatch v2 (magic 2): header view, CRC check, offset rewrite, validation.

Batch layout (all integers big-endian; 61-byte header, offsets from the start of the batch)::

    @0   baseOffset            i64   offset of the first record; the broker overwrites it on append
    @8   batchLength           i32   number of bytes that follow this field (total size - 12)
    @12  partitionLeaderEpoch  i32   set by the broker; outside the CRC
    @16  magic                 i8    must be 2 (0/1 are the legacy MessageSet formats; rejected)
    @17  crc                   u32   CRC-32C (Castagnoli) of bytes 21 .. end of batch
    @21  attributes            i16   bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd),
                                     bit 3 timestampType (1 = LogAppendTime), bit 4 transactional,
                                     bit 5 control batch; other bits unused
    @23  lastOffsetDelta       i32   offset delta of the last record (= recordCount - 1 from clients)
    @27  baseTimestamp         i64   timestamp of the first record
    @35  maxTimestamp          i64   largest record timestamp (or the append time with LogAppendTime)
    @43  producerId            i64   -1 when not idempotent
    @51  producerEpoch         i16
    @53  baseSequence          i32
    @57  recordCount           i32
    @61  records ...                 the record bytes, compressed as a whole when codec != 0

Each record (varint = zigzag-encoded base-128 varint, as in protobuf's sint32/sint64)::

    length          varint   bytes that follow in this record
    attributes      i8       unused (0)
    timestampDelta  varlong  timestamp - baseTimestamp
    offsetDelta     varint   offset - baseOffset
    keyLength       varint   -1 = null key
    key             bytes
    valueLength     varint   -1 = null value
    value           bytes
    headerCount     varint
    headers         headerCount x (keyLength varint, key utf-8, valueLength varint (-1 = null), value)

The 12 bytes before partitionLeaderEpoch (baseOffset, batchLength) are the "log overhead" shared with
the legacy formats, which is why ``peek_batch_size`` works on any magic and why the magic byte sits at
offset 16 in every format. baseOffset and partitionLeaderEpoch lie outside the CRC so the broker can
assign offsets without recomputing it; LogAppendTime changes attributes/maxTimestamp, which are inside
the CRC, so ``set_log_append_time`` recomputes it.

Producer-supplied batches are checked at header level only (``validate_batches``): the hot append path
never decodes individual records. Record iteration and batch building are for the cleaner, tests and
tools. This module does no I/O; it works on any buffer (bytes, bytearray, memoryview, mmap).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import crc32c as _crc32c_mod

__all__ = [
    "HEADER_SIZE",
    "LOG_OVERHEAD",
    "MAGIC",
    "CorruptRecordError",
    "InvalidRecordError",
    "BatchHeader",
    "peek_batch_size",
    "peek_magic",
    "crc_ok",
    "compute_crc",
    "set_base_offset",
    "set_partition_leader_epoch",
    "set_log_append_time",
    "iter_batches",
    "validate_batches",
]

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # baseOffset i64 + batchLength i32
MAGIC = 2

# attribute bits
COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20

# Byte positions inside a batch.
_MAGIC_POS = 16
_CRC_POS = 17
_ATTRIBUTES_POS = 21  # CRC covers from here to the end of the batch
_MAX_TIMESTAMP_POS = 35

# The smallest legal batchLength: the header after the log overhead (records may be empty only in
# theory; a producer batch with no records is rejected by validate_batches).
_MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD

_HEADER = struct.Struct(">qiibIhiqqqhii")
assert _HEADER.size == HEADER_SIZE
_I64 = struct.Struct(">q")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I16 = struct.Struct(">h")

_crc32c = _crc32c_mod.crc32c


class CorruptRecordError(ValueError):
    """Bytes that cannot be a well-formed batch: bad CRC, bad length, truncation (CORRUPT_MESSAGE)."""


class InvalidRecordError(ValueError):
    """A well-formed batch the broker refuses: legacy magic, bad counts, control batch (INVALID_RECORD)."""


class BatchHeader:
    """The 61-byte v2 header at ``pos`` of a buffer, unpacked once. Does not keep the buffer."""

    __slots__ = (
        "base_offset",
        "batch_length",
        "partition_leader_epoch",
        "magic",
        "crc",
        "attributes",
        "last_offset_delta",
        "base_timestamp",
        "max_timestamp",
        "producer_id",
        "producer_epoch",
        "base_sequence",
        "record_count",
    )

    def __init__(self, buf, pos: int = 0) -> None:
        if pos < 0 or len(buf) - pos < HEADER_SIZE:
            raise CorruptRecordError(
                f"need {HEADER_SIZE} bytes for a batch header at {pos}, have {max(len(buf) - pos, 0)}"
            )
        (
            self.base_offset,
            self.batch_length,
            self.partition_leader_epoch,
            self.magic,
            self.crc,
            self.attributes,
            self.last_offset_delta,
            self.base_timestamp,
            self.max_timestamp,
            self.producer_id,
            self.producer_epoch,
            self.base_sequence,
            self.record_count,
        ) = _HEADER.unpack_from(buf, pos)
        if self.magic != MAGIC:
            raise CorruptRecordError(f"batch at {pos} has magic {self.magic}, expected {MAGIC}")

    @property
    def total_size(self) -> int:
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_BIT)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_BIT)

    @property
    def log_append_time(self) -> bool:
        return bool(self.attributes & TIMESTAMP_TYPE_BIT)

    def __repr__(self) -> str:
        return (
            f"BatchHeader(base_offset={self.base_offset}, batch_length={self.batch_length}, "
            f"partition_leader_epoch={self.partition_leader_epoch}, crc={self.crc:#010x}, "
            f"attributes={self.attributes:#x}, last_offset_delta={self.last_offset_delta}, "
            f"base_timestamp={self.base_timestamp}, max_timestamp={self.max_timestamp}, "
            f"producer_id={self.producer_id}, producer_epoch={self.producer_epoch}, "
            f"base_sequence={self.base_sequence}, record_count={self.record_count})"
        )


def peek_batch_size(buf, pos: int = 0) -> int | None:
    """Total size (log overhead included) of the batch at ``pos``, or None if under 12 bytes remain.

    Works for every magic because the first 12 bytes are common to all formats. The value is not
    checked against the buffer: it may exceed what is there (a partial batch) or be nonsense.
    """
    if len(buf) - pos < LOG_OVERHEAD:
        return None
    return _I32.unpack_from(buf, pos + 8)[0] + LOG_OVERHEAD


def peek_magic(buf, pos: int = 0) -> int | None:
    """The magic byte of the batch (or legacy message) at ``pos``, or None if it is not there yet."""
    if len(buf) - pos <= _MAGIC_POS:
        return None
    return buf[pos + _MAGIC_POS]


def compute_crc(buf, pos: int, total_size: int) -> int:
    """CRC-32C of bytes 21..total_size of the batch at ``pos``."""
    with memoryview(buf) as mv:
        return _crc32c(mv[pos + _ATTRIBUTES_POS : pos + total_size])


def crc_ok(buf, pos: int, header: BatchHeader) -> bool:
    """True if the whole batch is in ``buf`` and its stored CRC matches its bytes."""
    size = header.total_size
    if header.batch_length < _MIN_BATCH_LENGTH or len(buf) - pos < size:
        return False
    return compute_crc(buf, pos, size) == header.crc


def set_base_offset(buf, pos: int, base_offset: int) -> None:
    """Overwrite baseOffset in a mutable buffer (outside the CRC: no recomputation needed)."""
    _I64.pack_into(buf, pos, base_offset)


def set_partition_leader_epoch(buf, pos: int, epoch: int) -> None:
    """Overwrite partitionLeaderEpoch in a mutable buffer (outside the CRC)."""
    _I32.pack_into(buf, pos + LOG_OVERHEAD, epoch)


def set_log_append_time(buf, pos: int, now_ms: int) -> None:
    """Mark the batch as LogAppendTime with maxTimestamp = ``now_ms`` and recompute the CRC."""
    size = peek_batch_size(buf, pos)
    if size is None or size < HEADER_SIZE or len(buf) - pos < size:
        raise CorruptRecordError(f"no whole batch at {pos}")
    attributes = _I16.unpack_from(buf, pos + _ATTRIBUTES_POS)[0]
    _I16.pack_into(buf, pos + _ATTRIBUTES_POS, attributes | TIMESTAMP_TYPE_BIT)
    _I64.pack_into(buf, pos + _MAX_TIMESTAMP_POS, now_ms)
    _U32.pack_into(buf, pos + _CRC_POS, compute_crc(buf, pos, size))


def iter_batches(buf) -> Iterator[tuple[int, BatchHeader]]:
    """Yield ``(pos, header)`` for each whole batch in ``buf``, stopping quietly at a partial tail.

    Raises CorruptRecordError when a whole-looking batch has a wrong magic or an impossible length
    (smaller than its own header). CRCs are not checked here; use ``crc_ok``.
    """
    n = len(buf)
    pos = 0
    while n - pos >= LOG_OVERHEAD:
        batch_length = _I32.unpack_from(buf, pos + 8)[0]
        if batch_length < _MIN_BATCH_LENGTH:
            raise CorruptRecordError(f"batch at {pos} has impossible batchLength {batch_length}")
        size = batch_length + LOG_OVERHEAD
        if n - pos < size:
            return
        yield pos, BatchHeader(buf, pos)
        pos += size


def validate_batches(buf) -> list[BatchHeader]:
    """Header-level checks of a producer's records blob; returns the headers in order.

    Raises InvalidRecordError for legacy magic 0/1, an unknown codec, recordCount <= 0,
    lastOffsetDelta + 1 != recordCount, or a control batch; CorruptRecordError for a bad magic,
    impossible or truncated lengths, trailing partial bytes, or a CRC mismatch. An empty blob gives
    an empty list (the caller decides whether that is an error). No record is decoded.
    """
    n = len(buf)
    pos = 0
    headers: list[BatchHeader] = []
    while pos < n:
        magic = peek_magic(buf, pos)
        if magic is not None and magic in (0, 1):
            raise InvalidRecordError(f"legacy message format not supported (magic {magic})")
        if n - pos < HEADER_SIZE:
            raise CorruptRecordError(f"{n - pos} trailing bytes at {pos} do not hold a batch header")
        header = BatchHeader(buf, pos)
        if header.batch_length < _MIN_BATCH_LENGTH:
            raise CorruptRecordError(f"batch at {pos} has impossible batchLength {header.batch_length}")
        size = header.total_size
        if n - pos < size:
            raise CorruptRecordError(f"batch at {pos} needs {size} bytes, {n - pos} present")
        if compute_crc(buf, pos, size) != header.crc:
            raise CorruptRecordError(f"CRC mismatch in batch at {pos}")
        if header.compression > 4:
            raise InvalidRecordError(f"unknown compression codec {header.compression}")
        if header.record_count <= 0:
            raise InvalidRecordError(f"batch at {pos} has recordCount {header.record_count}")
        if header.last_offset_delta + 1 != header.record_count:
            raise InvalidRecordError(
                f"batch at {pos}: lastOffsetDelta {header.last_offset_delta} does not match "
                f"recordCount {header.record_count}"
            )
        if header.is_control:
            raise InvalidRecordError(f"batch at {pos} is a control batch; clients may not send those")
        headers.append(header)
        pos += size
    return headers
