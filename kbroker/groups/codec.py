"""Records of the internal topic ``__consumer_offsets``, in Kafka's layout (no I/O).

Every record has a key and, except for tombstones, a value.  Both start with an int16
version; the rest is Kafka's classic (non-flexible) encoding: int16-length strings
(-1 = null), int32-length bytes, int32-count arrays, big-endian integers.

Offset commit — key version 1 (versions 0 and 1 share the layout)::

    key   = version:int16=1  group:string  topic:string  partition:int32
    value = version:int16=3  offset:int64  leader_epoch:int32  metadata:string
            commit_timestamp:int64
            (value v1 adds expire_timestamp:int64 after commit_timestamp; v0 and v2 have
            neither epoch nor expiry.  Versions 0-3 are read; 3 is written.)

Group metadata — key version 2::

    key   = version:int16=2  group:string
    value = version:int16=3  protocol_type:string  generation:int32
            protocol:nullable string  leader:nullable string  current_state_timestamp:int64
            members:[member_id:string  group_instance_id:nullable string  client_id:string
                     client_host:string  rebalance_timeout:int32  session_timeout:int32
                     subscription:bytes  assignment:bytes]
            (v0 has no rebalance_timeout, no timestamp, no instance id; v1 adds
            rebalance_timeout; v2 the timestamp; v3 the instance id.  Versions 0-3 are read.)

A null value is a tombstone: the offset, or the whole group's metadata, is deleted.
Versions 4+ of the values are flexible (tagged fields) and are not written by this
broker; reading them is refused (``ValueError``) rather than guessed at.

The partition of a group is ``abs(java_string_hash(group)) % partitions`` — Java's
String.hashCode over UTF-16 code units, with Kafka's abs that maps Integer.MIN_VALUE to 0 —
so the same group lands in the same partition as it would on a Kafka broker.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from wire.primitives import read_bytes, read_string, write_bytes, write_string

OFFSETS_TOPIC = "__consumer_offsets"
OFFSET_KEY_VERSION = 1
GROUP_KEY_VERSION = 2
OFFSET_VALUE_VERSION = 3
GROUP_VALUE_VERSION = 3

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


def java_string_hash(s: str) -> int:
    """Java's String.hashCode: s[0]*31^(n-1) + ... over UTF-16 code units, as a signed int32."""
    data = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def partition_for(group_id: str, partitions: int) -> int:
    h = java_string_hash(group_id)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


@dataclass(frozen=True, slots=True)
class OffsetKey:
    group: str
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class GroupKey:
    group: str


@dataclass(frozen=True, slots=True)
class OffsetValue:
    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp: int = -1
    expire_timestamp: int = -1


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout: int
    session_timeout: int
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupValue:
    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    current_state_timestamp: int
    members: tuple[MemberRecord, ...] = ()


# ---------------------------------------------------------------- encoding

def encode_offset_key(group: str, topic: str, partition: int) -> bytes:
    out = bytearray(_I16.pack(OFFSET_KEY_VERSION))
    write_string(out, group)
    write_string(out, topic)
    out += _I32.pack(partition)
    return bytes(out)


def encode_group_key(group: str) -> bytes:
    out = bytearray(_I16.pack(GROUP_KEY_VERSION))
    write_string(out, group)
    return bytes(out)


def encode_offset_value(v: OffsetValue) -> bytes:
    out = bytearray(_I16.pack(OFFSET_VALUE_VERSION))
    out += _I64.pack(v.offset)
    out += _I32.pack(v.leader_epoch)
    write_string(out, v.metadata)
    out += _I64.pack(v.commit_timestamp)
    return bytes(out)


def encode_group_value(v: GroupValue) -> bytes:
    out = bytearray(_I16.pack(GROUP_VALUE_VERSION))
    write_string(out, v.protocol_type)
    out += _I32.pack(v.generation)
    write_string(out, v.protocol)
    write_string(out, v.leader)
    out += _I64.pack(v.current_state_timestamp)
    out += _I32.pack(len(v.members))
    for m in v.members:
        write_string(out, m.member_id)
        write_string(out, m.group_instance_id)
        write_string(out, m.client_id)
        write_string(out, m.client_host)
        out += _I32.pack(m.rebalance_timeout)
        out += _I32.pack(m.session_timeout)
        write_bytes(out, m.subscription)
        write_bytes(out, m.assignment)
    return bytes(out)


# ---------------------------------------------------------------- decoding

def decode_key(buf: bytes) -> OffsetKey | GroupKey:
    (version,) = _I16.unpack_from(buf, 0)
    if version in (0, 1):
        group, pos = read_string(buf, 2)
        topic, pos = read_string(buf, pos)
        (partition,) = _I32.unpack_from(buf, pos)
        return OffsetKey(group or "", topic or "", partition)
    if version == 2:
        group, _ = read_string(buf, 2)
        return GroupKey(group or "")
    raise ValueError(f"unknown __consumer_offsets key version {version}")


def decode_offset_value(buf: bytes) -> OffsetValue:
    (version,) = _I16.unpack_from(buf, 0)
    if not 0 <= version <= 3:
        raise ValueError(f"unsupported offset commit value version {version}")
    (offset,) = _I64.unpack_from(buf, 2)
    pos = 10
    epoch = -1
    if version >= 3:
        (epoch,) = _I32.unpack_from(buf, pos)
        pos += 4
    metadata, pos = read_string(buf, pos)
    (ts,) = _I64.unpack_from(buf, pos)
    pos += 8
    expire = -1
    if version == 1:
        (expire,) = _I64.unpack_from(buf, pos)
    return OffsetValue(offset, epoch, metadata or "", ts, expire)


def decode_group_value(buf: bytes) -> GroupValue:
    (version,) = _I16.unpack_from(buf, 0)
    if not 0 <= version <= 3:
        raise ValueError(f"unsupported group metadata value version {version}")
    protocol_type, pos = read_string(buf, 2)
    (generation,) = _I32.unpack_from(buf, pos)
    protocol, pos = read_string(buf, pos + 4)
    leader, pos = read_string(buf, pos)
    ts = -1
    if version >= 2:
        (ts,) = _I64.unpack_from(buf, pos)
        pos += 8
    (n,) = _I32.unpack_from(buf, pos)
    pos += 4
    members = []
    for _ in range(max(n, 0)):
        member_id, pos = read_string(buf, pos)
        instance_id = None
        if version >= 3:
            instance_id, pos = read_string(buf, pos)
        client_id, pos = read_string(buf, pos)
        client_host, pos = read_string(buf, pos)
        (session,) = _I32.unpack_from(buf, pos)
        pos += 4
        rebalance = session  # v0 has only the session timeout
        if version >= 1:  # v1+: rebalance timeout first, then the session timeout
            rebalance = session
            (session,) = _I32.unpack_from(buf, pos)
            pos += 4
        subscription, pos = read_bytes(buf, pos)
        assignment, pos = read_bytes(buf, pos)
        members.append(MemberRecord(member_id or "", instance_id, client_id or "", client_host or "",
                                    rebalance, session, bytes(subscription or b""),
                                    bytes(assignment or b"")))
    return GroupValue(protocol_type or "", generation, protocol, leader, ts, tuple(members))
