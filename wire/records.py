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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wire.compression import (
    DecompressionError,
    DecompressionLimitError,
    UnsupportedCompressionError,
    compress,
    decompress,
    decompress_chunks,
)
from wire.crc import crc32c

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
    "Record",
    "iter_records",
    "stream_records",
    "decode_batch",
    "build_batch",
]

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # baseOffset i64 + batchLength i32
MAGIC = 2

# attribute bits
COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20
DELETE_HORIZON_BIT = 0x40  # set by a log cleaner: baseTimestamp holds the tombstones' delete horizon (KIP-534)

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

_crc32c = crc32c


class CorruptRecordError(ValueError):
    """Bytes that cannot be a well-formed batch: bad CRC, bad length, truncation (CORRUPT_MESSAGE)."""


class InvalidRecordError(ValueError):
    """A well-formed batch the broker refuses: legacy magic, bad counts, control batch (INVALID_RECORD)."""


class UnknownCodecError(InvalidRecordError):
    """The attributes name a compression codec that does not exist (UNSUPPORTED_COMPRESSION_TYPE)."""


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
    def delete_horizon_ms(self) -> int | None:
        """When a cleaner stamped the batch: the time after which its tombstones may go."""
        return self.base_timestamp if self.attributes & DELETE_HORIZON_BIT else None

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


def stamp_log_append_time(buf, pos: int, header: BatchHeader, now_ms: int) -> None:
    """``set_log_append_time`` on the batch at ``pos``, keeping its already-parsed ``header`` in step."""
    set_log_append_time(buf, pos, now_ms)
    header.attributes |= TIMESTAMP_TYPE_BIT
    header.max_timestamp = now_ms
    header.crc = _U32.unpack_from(buf, pos + _CRC_POS)[0]


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
            raise UnknownCodecError(f"unknown compression codec {header.compression}")
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


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded record. ``timestamp`` is the batch's maxTimestamp when it is LogAppendTime."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    attributes: int = 0


def _read_varint(data, pos: int) -> tuple[int, int]:
    """Zigzag varint/varlong at ``pos`` -> (value, next pos). IndexError when the data runs out."""
    b = data[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    value = b & 0x7F
    shift = 7
    while True:
        pos += 1
        b = data[pos]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return (value >> 1) ^ -(value & 1), pos + 1
        shift += 7
        if shift > 63:
            raise CorruptRecordError("varint longer than 10 bytes")


def write_varint(out: bytearray, n: int) -> None:
    v = (n << 1) ^ (n >> 63)  # zigzag, valid for the int64 range
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _write_nullable(out: bytearray, data) -> None:
    if data is None:
        out.append(1)  # zigzag(-1)
    else:
        write_varint(out, len(data))
        out += data


def _records_data(buf, pos: int, header: BatchHeader, limit: int | None = None):
    """The record bytes of the batch at ``pos``, decompressed (a private copy, not a view of buf).
    With ``limit``, records that decompress to more than ``limit`` bytes raise InvalidRecordError
    (decompression stops there: a compression bomb costs at most ``limit`` bytes)."""
    if header.batch_length < _MIN_BATCH_LENGTH or len(buf) - pos < header.total_size:
        raise CorruptRecordError(f"no whole batch at {pos}")
    with memoryview(buf) as mv, mv[pos + HEADER_SIZE : pos + header.total_size] as body:
        if not header.compression:
            return bytes(body)
        try:
            return decompress(header.compression, body, limit)
        except DecompressionLimitError as exc:
            raise InvalidRecordError(f"batch at {pos}: {exc}") from exc
        except (DecompressionError, UnsupportedCompressionError) as exc:
            raise CorruptRecordError(f"batch at {pos}: {exc}") from exc


def iter_records(buf, pos: int = 0, limit: int | None = None) -> Iterator[Record]:
    """Decode the records of the batch at ``pos`` (decompressing as needed). CRC is not checked.

    Raises CorruptRecordError on any inconsistency: lengths that overrun their record or batch,
    a record count that does not match the data, bytes left over after the last record.
    """
    header = BatchHeader(buf, pos)
    return _iter_records(_records_data(buf, pos, header, limit), header)


def _iter_records(data, header: BatchHeader) -> Iterator[Record]:
    base_offset = header.base_offset
    base_timestamp = header.base_timestamp
    append_time = header.max_timestamp if header.log_append_time else None
    read = _read_varint
    n = len(data)
    pos = 0
    try:
        for _ in range(header.record_count):
            length, pos = read(data, pos)
            end = pos + length
            if length <= 0 or end > n:
                raise CorruptRecordError(f"record length {length} at {pos} overruns the batch")
            attributes = data[pos]
            ts_delta, pos = read(data, pos + 1)
            offset_delta, pos = read(data, pos)
            size, pos = read(data, pos)
            if size < 0:
                key = None
            else:
                key = bytes(data[pos : pos + size])
                pos += size
            size, pos = read(data, pos)
            if size < 0:
                value = None
            else:
                value = bytes(data[pos : pos + size])
                pos += size
            count, pos = read(data, pos)
            headers: tuple[tuple[str, bytes | None], ...] = ()
            if count:
                items: list[tuple[str, bytes | None]] = []
                for _ in range(count):
                    size, pos = read(data, pos)
                    if size < 0:
                        raise CorruptRecordError("null header key")
                    # Java decodes header keys leniently; surrogateescape keeps odd bytes round-trippable.
                    hkey = bytes(data[pos : pos + size]).decode("utf-8", "surrogateescape")
                    pos += size
                    size, pos = read(data, pos)
                    if size < 0:
                        items.append((hkey, None))
                    else:
                        items.append((hkey, bytes(data[pos : pos + size])))
                        pos += size
                headers = tuple(items)
            if pos != end:
                raise CorruptRecordError(f"record ends at {pos}, its length says {end}")
            yield Record(
                base_offset + offset_delta,
                base_timestamp + ts_delta if append_time is None else append_time,
                key,
                value,
                headers,
                attributes - 256 if attributes > 127 else attributes,
            )
    except IndexError:
        raise CorruptRecordError("record data ends early") from None
    if pos != n:
        raise CorruptRecordError(f"{n - pos} bytes after the last of {header.record_count} records")


class _ChunkReader:
    """Bytes pulled on demand from an iterator of decompressed chunks; consumed bytes are dropped,
    so it holds about one record plus one chunk."""

    __slots__ = ("chunks", "buf", "pos")

    def __init__(self, chunks: Iterator) -> None:
        self.chunks = chunks
        self.buf = bytearray()
        self.pos = 0

    def _fill(self, n: int) -> bool:
        while len(self.buf) - self.pos < n:
            chunk = next(self.chunks, None)
            if chunk is None:
                return False
            if self.pos:
                del self.buf[: self.pos]
                self.pos = 0
            self.buf += chunk
        return True

    def varint(self) -> int:
        value = shift = 0
        while True:
            if not self._fill(1):
                raise CorruptRecordError("record data ends early")
            b = self.buf[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return (value >> 1) ^ -(value & 1)
            shift += 7
            if shift > 63:
                raise CorruptRecordError("varint longer than 10 bytes")

    def take(self, n: int) -> bytes:
        if not self._fill(n):
            raise CorruptRecordError("record data ends early")
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def at_end(self) -> bool:
        return not self._fill(1)


def stream_records(buf, pos: int = 0, limit: int = 1 << 30, header: BatchHeader | None = None) -> Iterator[Record]:
    """The records of the batch at ``pos``, decoded while decompressing: holds about one record and
    one codec step at a time, never the whole decompressed batch. Decompressing past ``limit``
    bytes raises InvalidRecordError; inconsistencies raise CorruptRecordError as iter_records does.
    ``header``: the batch's header when the caller has already parsed it (it is not read again)."""
    if header is None:
        header = BatchHeader(buf, pos)
    if header.batch_length < _MIN_BATCH_LENGTH or len(buf) - pos < header.total_size:
        raise CorruptRecordError(f"no whole batch at {pos}")
    append_time = header.max_timestamp if header.log_append_time else None
    with memoryview(buf) as mv:
        body = mv[pos + HEADER_SIZE : pos + header.total_size]
        try:
            reader = _ChunkReader(decompress_chunks(header.compression, body, limit))
            for _ in range(header.record_count):
                length = reader.varint()
                if length <= 0:
                    raise CorruptRecordError(f"record length {length} in the batch at {pos}")
                data = reader.take(length)
                yield _parse_record(data, header.base_offset, header.base_timestamp, append_time)
            if not reader.at_end():
                raise CorruptRecordError(f"bytes after the last of {header.record_count} records")
        except DecompressionLimitError as exc:
            raise InvalidRecordError(f"batch at {pos}: {exc}") from exc
        except (DecompressionError, UnsupportedCompressionError) as exc:
            raise CorruptRecordError(f"batch at {pos}: {exc}") from exc
        finally:
            body.release()


def _parse_record(data: bytes, base_offset: int, base_timestamp: int, append_time: int | None) -> Record:
    """One record from its bytes (after the length varint)."""
    read = _read_varint
    end = len(data)
    try:
        attributes = data[0]
        ts_delta, p = read(data, 1)
        offset_delta, p = read(data, p)
        size, p = read(data, p)
        key = None if size < 0 else data[p : p + size]
        p += max(size, 0)
        size, p = read(data, p)
        value = None if size < 0 else data[p : p + size]
        p += max(size, 0)
        count, p = read(data, p)
        items: list[tuple[str, bytes | None]] = []
        for _ in range(count):
            size, p = read(data, p)
            if size < 0:
                raise CorruptRecordError("null header key")
            hkey = data[p : p + size].decode("utf-8", "surrogateescape")
            p += size
            size, p = read(data, p)
            items.append((hkey, None if size < 0 else data[p : p + size]))
            p += max(size, 0)
    except IndexError:
        raise CorruptRecordError("record data ends early") from None
    if p != end:
        raise CorruptRecordError(f"record ends at {p}, its length says {end}")
    return Record(
        base_offset + offset_delta,
        base_timestamp + ts_delta if append_time is None else append_time,
        key,
        value,
        tuple(items),
        attributes - 256 if attributes > 127 else attributes,
    )


def decode_batch(buf, pos: int = 0, limit: int | None = None) -> tuple[BatchHeader, list[Record]]:
    """The header and all records of the batch at ``pos`` (``limit`` as for iter_records)."""
    header = BatchHeader(buf, pos)
    return header, list(_iter_records(_records_data(buf, pos, header, limit), header))


def _fields(record) -> tuple:
    if hasattr(record, "key"):
        return record.key, record.value, record.headers, record.timestamp
    key, value, headers, timestamp = record
    return key, value, headers, timestamp


def build_batch(
    records: Iterable,
    *,
    base_offset: int = 0,
    compression: int = 0,
    compression_level: int | None = None,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    partition_leader_epoch: int = -1,
    log_append_time: bool = False,
    control: bool = False,
) -> bytes:
    """Encode one v2 batch. Each record is an object with key, value, headers, timestamp attributes
    (a ``Record`` works) or a ``(key, value, headers, timestamp)`` tuple; headers is a sequence of
    ``(str | bytes, bytes | None)`` or None, timestamp None means -1 (no timestamp).
    ``compression_level`` is the codec's level (its default when None)."""
    items = [_fields(r) for r in records]
    if not items:
        raise ValueError("a record batch needs at least one record")
    timestamps = [-1 if r[3] is None else r[3] for r in items]
    base_timestamp = timestamps[0]
    body = bytearray()
    rec = bytearray()
    for delta, ((key, value, headers, _), timestamp) in enumerate(zip(items, timestamps, strict=True)):
        rec.clear()
        rec.append(0)  # record attributes: unused
        write_varint(rec, timestamp - base_timestamp)
        write_varint(rec, delta)
        _write_nullable(rec, key)
        _write_nullable(rec, value)
        headers = headers or ()
        write_varint(rec, len(headers))
        for hkey, hvalue in headers:
            _write_nullable(rec, hkey.encode("utf-8", "surrogateescape") if isinstance(hkey, str) else hkey)
            _write_nullable(rec, hvalue)
        write_varint(body, len(rec))
        body += rec
    payload = compress(compression, body, compression_level) if compression else body
    attributes = compression
    if log_append_time:
        attributes |= TIMESTAMP_TYPE_BIT
    if transactional:
        attributes |= TRANSACTIONAL_BIT
    if control:
        attributes |= CONTROL_BIT
    header = bytearray(HEADER_SIZE)
    _HEADER.pack_into(
        header,
        0,
        base_offset,
        _MIN_BATCH_LENGTH + len(payload),
        partition_leader_epoch,
        MAGIC,
        0,
        attributes,
        len(items) - 1,
        base_timestamp,
        max(timestamps),
        producer_id,
        producer_epoch,
        base_sequence,
        len(items),
    )
    crc = _crc32c(payload, _crc32c(memoryview(header)[_ATTRIBUTES_POS:]))
    _U32.pack_into(header, _CRC_POS, crc)
    return b"".join((header, payload))


# -- rewriting stored batches (the log cleaner) ---------------------------------------------------

__all__ += [
    "COMPRESSION_MASK",
    "TIMESTAMP_TYPE_BIT",
    "TRANSACTIONAL_BIT",
    "CONTROL_BIT",
    "DELETE_HORIZON_BIT",
    "MIN_BATCH_LENGTH",
    "read_varint",
    "write_varint",
    "rebuild_batch",
]

MIN_BATCH_LENGTH = _MIN_BATCH_LENGTH
"""The smallest legal batchLength: a batch of no records (HEADER_SIZE - LOG_OVERHEAD)."""

read_varint = _read_varint
"""Zigzag varint/varlong at ``pos`` of ``data`` -> (value, next pos); IndexError when the data runs
out, CorruptRecordError past 10 bytes. The same function the record decoder uses (no wrapper: it is
called once per field in loops over every record of a log)."""


def rebuild_batch(
    header: BatchHeader,
    payload,
    *,
    attributes: int,
    record_count: int,
    base_timestamp: int,
    max_timestamp: int,
    last_offset_delta: int | None = None,
) -> bytes:
    """A v2 batch around ``payload``: record bytes already encoded, and compressed with the codec of
    ``attributes`` (not checked here). baseOffset, partitionLeaderEpoch and the producer fields come
    from ``header``, so does lastOffsetDelta unless ``last_offset_delta`` is given; attributes,
    recordCount and both timestamps are the ones given; the CRC is computed. For rewriting a stored
    batch without decoding its records (the log cleaner); ``payload`` may be empty."""
    out = bytearray(HEADER_SIZE)
    _HEADER.pack_into(
        out,
        0,
        header.base_offset,
        _MIN_BATCH_LENGTH + len(payload),
        header.partition_leader_epoch,
        MAGIC,
        0,
        attributes,
        header.last_offset_delta if last_offset_delta is None else last_offset_delta,
        base_timestamp,
        max_timestamp,
        header.producer_id,
        header.producer_epoch,
        header.base_sequence,
        record_count,
    )
    _U32.pack_into(out, _CRC_POS, _crc32c(payload, _crc32c(memoryview(out)[_ATTRIBUTES_POS:])))
    return b"".join((out, payload))


# -- control batches (transaction markers) --------------------------------------------------------

__all__ += ["ABORT_MARKER", "COMMIT_MARKER", "build_control_batch", "control_type", "ControlMarker"]

ABORT_MARKER, COMMIT_MARKER = 0, 1
_CONTROL_KEY = struct.Struct(">hh")  # version 0, type (0 abort, 1 commit)
_CONTROL_VALUE = struct.Struct(">hi")  # version 0, coordinator epoch


@dataclass(frozen=True, slots=True)
class ControlMarker:
    """The one record of a transaction marker: its type and the coordinator epoch that wrote it."""

    commit: bool
    coordinator_epoch: int


def build_control_batch(producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int,
                        timestamp_ms: int, partition_leader_epoch: int = -1) -> bytes:
    """A transaction marker as Kafka writes it (EndTransactionMarker): a control, transactional
    batch of the producer (base sequence -1) holding one record whose key is (version 0, type:
    0 abort / 1 commit) and whose value is (version 0, coordinator epoch)."""
    key = _CONTROL_KEY.pack(0, COMMIT_MARKER if commit else ABORT_MARKER)
    value = _CONTROL_VALUE.pack(0, coordinator_epoch)
    return build_batch([(key, value, None, timestamp_ms)], producer_id=producer_id, producer_epoch=producer_epoch,
                       base_sequence=-1, transactional=True, control=True,
                       partition_leader_epoch=partition_leader_epoch)


def control_type(buf, pos: int = 0) -> ControlMarker:
    """The marker of the control batch at ``pos``; CorruptRecordError if it is not a control batch or
    its record is not a marker (a key shorter than 4 bytes, a negative version, a type other than
    abort or commit)."""
    header = BatchHeader(buf, pos)
    if not header.is_control:
        raise CorruptRecordError(f"batch at {header.base_offset} is not a control batch")
    for rec in iter_records(buf, pos):
        if rec.key is None or len(rec.key) < _CONTROL_KEY.size:
            raise CorruptRecordError("control record without a 4-byte key")
        version, kind = _CONTROL_KEY.unpack_from(rec.key, 0)
        if version < 0 or kind not in (ABORT_MARKER, COMMIT_MARKER):
            raise CorruptRecordError(f"control record version {version} type {kind}")
        epoch = -1
        if rec.value is not None and len(rec.value) >= _CONTROL_VALUE.size:
            epoch = _CONTROL_VALUE.unpack_from(rec.value, 0)[1]
        return ControlMarker(kind == COMMIT_MARKER, epoch)
    raise CorruptRecordError("control batch without a record")
