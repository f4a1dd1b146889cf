"""Records of the internal topic ``__transaction_state``, in Kafka's layout (no I/O).

Kafka's TransactionLogKey.json / TransactionLogValue.json; both key and value start with an int16
version.

Key — version 0 (not flexible)::

    key   = version:int16=0  transactional_id:string(int16 length)

Value — versions 0 (classic) and 1 (flexible: compact strings and arrays, tagged fields)::

    value = version:int16  producer_id:int64  producer_epoch:int16  transaction_timeout_ms:int32
            status:int8  partitions:nullable [topic:string  partition_ids:[int32]]
            last_update_timestamp_ms:int64  start_timestamp_ms:int64
            (v1: each partitions entry ends with its (empty) tagged fields, and the value with the
            tagged fields 0 previous_producer_id:int64 (default -1), 1 next_producer_id:int64
            (default -1), 2 client_transaction_version:int16 (default 0), written only when not
            the default.)

Status: 0 Empty, 1 Ongoing, 2 PrepareCommit, 3 PrepareAbort, 4 CompleteCommit, 5 CompleteAbort,
6 Dead, 7 PrepareEpochFence (Kafka's TransactionState ids).  A null value is a tombstone: the
transactional id expired.  ``partitions`` is null in the Empty state (as Kafka writes it).

Written: value version 0 (this broker finalizes transaction.version 0, where Kafka writes 0 too);
both are read.  Unknown tags are skipped.  Value versions above 1 are refused (``ValueError``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from wire.primitives import (
    read_carray_len,
    read_cstring,
    read_string,
    read_tags,
    write_carray_len,
    write_cstring,
    write_string,
    write_tags,
)

TXN_TOPIC = "__transaction_state"

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_FIXED = struct.Struct(">qhib")  # producer id, epoch, timeout, status


@dataclass(frozen=True, slots=True)
class TxnLogValue:
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    status: int
    partitions: dict[str, tuple[int, ...]] | None  # topic -> partition ids (None: written null)
    last_update_ms: int
    start_ms: int
    previous_producer_id: int = -1
    next_producer_id: int = -1
    client_transaction_version: int = 0
    extra: dict[int, bytes] = field(default_factory=dict)  # unknown tags, kept verbatim


def encode_key(transactional_id: str) -> bytes:
    out = bytearray(_I16.pack(0))
    write_string(out, transactional_id)
    return bytes(out)


def decode_key(data: bytes) -> str:
    (version,) = _I16.unpack_from(data, 0)
    if version != 0:
        raise ValueError(f"unknown {TXN_TOPIC} key version {version}")
    tid, _ = read_string(data, 2)
    if tid is None:
        raise ValueError("null transactional id")
    return tid


def encode_value(v: TxnLogValue, version: int = 0) -> bytes:
    if version not in (0, 1):
        raise ValueError(f"value version {version}")
    out = bytearray(_I16.pack(version))
    out += _I64.pack(v.producer_id)
    out += _I16.pack(v.producer_epoch)
    out += _I32.pack(v.timeout_ms)
    out += struct.pack(">b", v.status)
    parts = v.partitions
    if version == 0:
        if parts is None:
            out += _I32.pack(-1)
        else:
            out += _I32.pack(len(parts))
            for topic, ids in parts.items():
                write_string(out, topic)
                out += _I32.pack(len(ids))
                for i in ids:
                    out += _I32.pack(i)
    else:
        if parts is None:
            out += b"\x00"
        else:
            write_carray_len(out, len(parts))
            for topic, ids in parts.items():
                write_cstring(out, topic)
                write_carray_len(out, len(ids))
                for i in ids:
                    out += _I32.pack(i)
                out += b"\x00"  # no tagged fields
    out += _I64.pack(v.last_update_ms)
    out += _I64.pack(v.start_ms)
    if version >= 1:
        tags: list[tuple[int, bytes]] = []
        if v.previous_producer_id != -1:
            tags.append((0, _I64.pack(v.previous_producer_id)))
        if v.next_producer_id != -1:
            tags.append((1, _I64.pack(v.next_producer_id)))
        if v.client_transaction_version != 0:
            tags.append((2, _I16.pack(v.client_transaction_version)))
        tags.extend(v.extra.items())
        write_tags(out, sorted(tags))
    return bytes(out)


def decode_value(data: bytes) -> TxnLogValue:
    (version,) = _I16.unpack_from(data, 0)
    if version not in (0, 1):
        raise ValueError(f"unknown {TXN_TOPIC} value version {version}")
    pid, epoch, timeout, status = _FIXED.unpack_from(data, 2)
    pos = 2 + _FIXED.size
    parts: dict[str, tuple[int, ...]] | None
    if version == 0:
        (n,) = _I32.unpack_from(data, pos)
        pos += 4
    else:
        n, pos = read_carray_len(data, pos)
    if n < 0:
        parts = None
    else:
        parts = {}
        for _ in range(n):
            if version == 0:
                topic, pos = read_string(data, pos)
                (m,) = _I32.unpack_from(data, pos)
                pos += 4
            else:
                topic, pos = read_cstring(data, pos)
                m, pos = read_carray_len(data, pos)
            ids = struct.unpack_from(f">{max(m, 0)}i", data, pos)
            pos += 4 * max(m, 0)
            if version >= 1:
                _, pos = read_tags(data, pos)
            if topic is None:
                raise ValueError("null topic in a transaction's partitions")
            parts[topic] = tuple(ids)
    last_update, start = struct.unpack_from(">qq", data, pos)
    pos += 16
    prev = nxt = -1
    tv = 0
    extra: dict[int, bytes] = {}
    if version >= 1:
        tags, pos = read_tags(data, pos)
        for tag, (s, e) in tags.items():
            raw = bytes(data[s:e])
            if tag == 0:
                (prev,) = _I64.unpack(raw)
            elif tag == 1:
                (nxt,) = _I64.unpack(raw)
            elif tag == 2:
                (tv,) = _I16.unpack(raw)
            else:
                extra[tag] = raw
    return TxnLogValue(pid, epoch, timeout, status, parts, last_update, start, prev, nxt, tv, extra)


__all__ = ["TXN_TOPIC", "TxnLogValue", "decode_key", "decode_value", "encode_key", "encode_value",
]
