"""The "consumer" embedded protocol: what consumers put in JoinGroup metadata (their
subscription) and what the leader hands out in SyncGroup (assignments).  The broker
only reads these, to tell which topics a group uses and to show assignments; it never
needs them to run a group.

Both are an int16 version followed by ConsumerProtocolSubscription / ...Assignment at
that version.  A version newer than we know is read as our newest (Kafka's rule:
newer versions only append fields).  Anything unreadable gives None.
"""

from __future__ import annotations

import struct

from wire.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from wire.messages.consumer_protocol_subscription import ConsumerProtocolSubscription
from wire.primitives import Writer

_I16 = struct.Struct(">h")
CONSUMER = "consumer"


def decode_subscription(data: bytes | None) -> list[str] | None:
    """The subscribed topic names, or None if the bytes are not a consumer subscription."""
    if not data or len(data) < 2:
        return None
    try:
        (version,) = _I16.unpack_from(data, 0)
        if version < 0:
            return None
        sub = ConsumerProtocolSubscription.decode(data, min(version, ConsumerProtocolSubscription.MAX_VERSION), 2)
        return [t for t in sub.topics or [] if t is not None]
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return None


def decode_assignment(data: bytes | None) -> dict[str, list[int]] | None:
    """topic -> assigned partitions, or None if the bytes are not a consumer assignment
    (empty bytes, as a member with no assignment has, give an empty dict)."""
    if not data:
        return {}
    if len(data) < 2:
        return None
    try:
        (version,) = _I16.unpack_from(data, 0)
        if version < 0:
            return None
        a = ConsumerProtocolAssignment.decode(data, min(version, ConsumerProtocolAssignment.MAX_VERSION), 2)
        out: dict[str, list[int]] = {}
        for tp in a.assigned_partitions or []:
            out.setdefault(tp.topic or "", []).extend(tp.partitions or [])
        return out
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return None


def encode_subscription(topics: list[str], version: int = 0) -> bytes:
    out = Writer()
    out += _I16.pack(version)
    ConsumerProtocolSubscription(topics=topics)._encode(out, version)
    return bytes(out)


def encode_assignment(assigned: dict[str, list[int]], version: int = 0) -> bytes:
    out = Writer()
    out += _I16.pack(version)
    tps = [ConsumerProtocolAssignment.TopicPartition(topic=t, partitions=p) for t, p in assigned.items()]
    ConsumerProtocolAssignment(assigned_partitions=tps)._encode(out, version)
    return bytes(out)
