"""Kafka protocol primitive types, with no I/O.

Readers take ``(buf, pos)`` and return ``(value, new_pos)``; writers append to a
``Writer`` (a bytearray).  The generated message classes in ``wire.messages`` call
these directly, so they are kept small and branch-free.

Encodings (all big-endian):
  int8/16/32/64, uint16/32, float64  fixed width
  unsigned varint                    7 bits a byte, low group first, high bit = more
  (zigzag) varint / varlong          record internals only: (n << 1) ^ (n >> 63)
  string                             int16 length (-1 = null) + UTF-8
  compact string                     uvarint(length + 1) (0 = null) + UTF-8
  bytes / records                    int32 length (-1 = null) + bytes
  compact bytes / records            uvarint(length + 1) (0 = null) + bytes
  array                              int32 count (-1 = null) | compact: uvarint(count + 1)
  uuid                               16 bytes
  tagged fields                      uvarint count, then per field uvarint tag, uvarint size, data
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

I8 = struct.Struct(">b")
I16 = struct.Struct(">h")
I32 = struct.Struct(">i")
I64 = struct.Struct(">q")
U16 = struct.Struct(">H")
U32 = struct.Struct(">I")
F64 = struct.Struct(">d")

ZERO_UUID = uuid.UUID(int=0)


class DecodeError(ValueError):
    """The bytes do not parse as the message they claim to be."""


class Writer(bytearray):
    """Output buffer.  ``inserts`` holds (position, slice) pairs: record data that is
    sent from a file (zero copy) is not copied in; it is spliced in at that position
    when the frame is written to the socket."""

    __slots__ = ("inserts",)

    def __init__(self) -> None:
        super().__init__()
        self.inserts: list[tuple[int, Any]] = []

    def total_size(self) -> int:
        return len(self) + sum(s.length for _, s in self.inserts)


# ---------------------------------------------------------------- varints

def read_uvarint(buf: Any, pos: int) -> tuple[int, int]:
    b = buf[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    result = b & 0x7F
    shift = 7
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def write_uvarint(out: bytearray, v: int) -> None:
    if v < 0:
        raise ValueError("unsigned varint must be >= 0")
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def read_varint(buf: Any, pos: int) -> tuple[int, int]:
    """Zigzag-encoded signed varint (also used for varlong)."""
    v, pos = read_uvarint(buf, pos)
    return (v >> 1) ^ -(v & 1), pos


def write_varint(out: bytearray, v: int) -> None:
    write_uvarint(out, (v << 1) ^ (v >> 63))


def uvarint_size(v: int) -> int:
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


# ---------------------------------------------------------------- strings

def read_string(buf: Any, pos: int) -> tuple[str | None, int]:
    (n,) = I16.unpack_from(buf, pos)
    pos += 2
    if n < 0:
        return None, pos
    end = pos + n
    if end > len(buf):
        raise DecodeError("string past end of buffer")
    return str(buf[pos:end], "utf-8"), end


def read_cstring(buf: Any, pos: int) -> tuple[str | None, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = pos + n - 1
    if end > len(buf):
        raise DecodeError("string past end of buffer")
    return str(buf[pos:end], "utf-8"), end


def write_string(out: bytearray, s: str | None) -> None:
    if s is None:
        out += b"\xff\xff"
        return
    b = s.encode()
    out += I16.pack(len(b))
    out += b


def write_cstring(out: bytearray, s: str | None) -> None:
    if s is None:
        out.append(0)
        return
    b = s.encode()
    write_uvarint(out, len(b) + 1)
    out += b


# ---------------------------------------------------------------- bytes

def read_bytes(buf: Any, pos: int) -> tuple[bytes | None, int]:
    (n,) = I32.unpack_from(buf, pos)
    pos += 4
    if n < 0:
        return None, pos
    end = pos + n
    if end > len(buf):
        raise DecodeError("bytes past end of buffer")
    return bytes(buf[pos:end]), end


def read_cbytes(buf: Any, pos: int) -> tuple[bytes | None, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = pos + n - 1
    if end > len(buf):
        raise DecodeError("bytes past end of buffer")
    return bytes(buf[pos:end]), end


def write_bytes(out: bytearray, b: Any) -> None:
    if b is None:
        out += b"\xff\xff\xff\xff"
        return
    out += I32.pack(len(b))
    out += b


def write_cbytes(out: bytearray, b: Any) -> None:
    if b is None:
        out.append(0)
        return
    write_uvarint(out, len(b) + 1)
    out += b


def read_records(buf: Any, pos: int) -> tuple[memoryview | None, int]:
    """Record data is returned as a view into ``buf`` (no copy)."""
    (n,) = I32.unpack_from(buf, pos)
    pos += 4
    if n < 0:
        return None, pos
    end = pos + n
    if end > len(buf):
        raise DecodeError("records past end of buffer")
    return memoryview(buf)[pos:end], end


def read_crecords(buf: Any, pos: int) -> tuple[memoryview | None, int]:
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    end = pos + n - 1
    if end > len(buf):
        raise DecodeError("records past end of buffer")
    return memoryview(buf)[pos:end], end


def _is_inline(r: Any) -> bool:
    return isinstance(r, bytes | bytearray | memoryview)


def write_records(out: Writer, r: Any) -> None:
    if r is None or _is_inline(r):
        write_bytes(out, r)
        return
    out += I32.pack(r.length)
    out.inserts.append((len(out), r))


def write_crecords(out: Writer, r: Any) -> None:
    if r is None or _is_inline(r):
        write_cbytes(out, r)
        return
    write_uvarint(out, r.length + 1)
    out.inserts.append((len(out), r))


# ---------------------------------------------------------------- arrays, uuid, tags

def read_array_len(buf: Any, pos: int) -> tuple[int, int]:
    (n,) = I32.unpack_from(buf, pos)
    if n > len(buf):
        raise DecodeError("array longer than the frame")
    return n, pos + 4


def read_carray_len(buf: Any, pos: int) -> tuple[int, int]:
    n, pos = read_uvarint(buf, pos)
    if n > len(buf) + 1:
        raise DecodeError("array longer than the frame")
    return n - 1, pos


def write_array_len(out: bytearray, n: int) -> None:
    out += I32.pack(n)


def write_carray_len(out: bytearray, n: int) -> None:
    write_uvarint(out, n + 1)


def read_uuid(buf: Any, pos: int) -> tuple[uuid.UUID, int]:
    end = pos + 16
    if end > len(buf):
        raise DecodeError("uuid past end of buffer")
    return uuid.UUID(bytes=bytes(buf[pos:end])), end


def write_uuid(out: bytearray, u: uuid.UUID | None) -> None:
    out += (u or ZERO_UUID).bytes


def read_tags(buf: Any, pos: int) -> tuple[dict[int, tuple[int, int]], int]:
    """Returns {tag: (start, end)} spans of the raw tagged fields."""
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return {}, pos
    tags: dict[int, tuple[int, int]] = {}
    for _ in range(n):
        tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        end = pos + size
        if end > len(buf):
            raise DecodeError("tagged field past end of buffer")
        tags[tag] = (pos, end)
        pos = end
    return tags, pos


def skip_tags(buf: Any, pos: int) -> int:
    n, pos = read_uvarint(buf, pos)
    for _ in range(n):
        _, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
    if pos > len(buf):
        raise DecodeError("tagged field past end of buffer")
    return pos


def write_tags(out: bytearray, tagged: list[tuple[int, bytes]]) -> None:
    write_uvarint(out, len(tagged))
    for tag, data in tagged:
        write_uvarint(out, tag)
        write_uvarint(out, len(data))
        out += data
