"""__consumer_offsets records (Kafka's layouts), the group partition hash, and replaying
records into groups — no broker involved."""

from __future__ import annotations

from kbroker.groups import codec
from kbroker.groups.codec import GroupValue, MemberRecord, OffsetValue
from kbroker.groups.consumer_protocol import (
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)
from kbroker.groups.model import GroupConfig, GroupState
from kbroker.groups.store import load_groups


def test_java_string_hash_and_partition():
    assert codec.java_string_hash("") == 0
    assert codec.java_string_hash("hello") == 99162322
    assert codec.java_string_hash("héllo€") == codec.java_string_hash("héllo€")
    assert codec.java_string_hash("polygenelubricants") == -(2**31)  # Kafka's abs maps this to 0
    assert codec.partition_for("polygenelubricants", 50) == 0
    assert codec.partition_for("hello", 50) == 99162322 % 50
    assert codec.java_string_hash("hello world") == 1794106052
    # a negative hash: Kafka takes abs() before the modulo (Python's % alone would give 3)
    assert codec.java_string_hash("eszycidp") == -1773518497
    assert codec.partition_for("eszycidp", 50) == 47


def test_java_hash_counts_utf16_code_units():
    # U+1F600 is a surrogate pair in Java: two code units 0xD83D 0xDE00
    assert codec.java_string_hash("\U0001F600") == 0xD83D * 31 + 0xDE00


def test_offset_key_and_value_bytes():
    key = codec.encode_offset_key("g", "t", 3)
    assert key == b"\x00\x01" + b"\x00\x01g" + b"\x00\x01t" + b"\x00\x00\x00\x03"
    value = codec.encode_offset_value(OffsetValue(42, 7, "meta", 1000))
    assert value == (b"\x00\x03" + (42).to_bytes(8, "big") + (7).to_bytes(4, "big") + b"\x00\x04meta"
                     + (1000).to_bytes(8, "big"))
    assert codec.decode_key(key) == codec.OffsetKey("g", "t", 3)
    assert codec.decode_offset_value(value) == OffsetValue(42, 7, "meta", 1000)


def test_old_offset_value_versions_decode():
    v1 = b"\x00\x01" + (5).to_bytes(8, "big") + b"\x00\x00" + (9).to_bytes(8, "big") + (99).to_bytes(8, "big")
    assert codec.decode_offset_value(v1) == OffsetValue(5, -1, "", 9, 99)
    v0 = b"\x00\x00" + (5).to_bytes(8, "big") + b"\x00\x01m" + (9).to_bytes(8, "big")
    assert codec.decode_offset_value(v0) == OffsetValue(5, -1, "m", 9)


def test_group_value_round_trip():
    members = (MemberRecord("m1", "inst", "cli", "/127.0.0.1", 300000, 10000, b"sub", b"asg"),
               MemberRecord("m2", None, "cli", "/127.0.0.1", 300000, 10000, b"", b""))
    v = GroupValue("consumer", 4, "range", "m1", 12345, members)
    data = codec.encode_group_value(v)
    assert data[:2] == b"\x00\x03"
    assert codec.decode_group_value(data) == v
    key = codec.encode_group_key("g")
    assert key == b"\x00\x02\x00\x01g" and codec.decode_key(key) == codec.GroupKey("g")
    empty = GroupValue("consumer", 5, None, None, 1, ())
    assert codec.decode_group_value(codec.encode_group_value(empty)) == empty


def test_consumer_protocol_round_trip():
    sub = encode_subscription(["a", "b"])
    assert decode_subscription(sub) == ["a", "b"]
    asg = encode_assignment({"a": [0, 2], "b": [1]})
    assert decode_assignment(asg) == {"a": [0, 2], "b": [1]}
    assert decode_assignment(b"") == {}
    assert decode_subscription(b"\x00") is None and decode_assignment(b"\x00\x00\xff") is None


def test_replay_last_record_wins_and_tombstones_delete():
    cfg = GroupConfig()
    k = codec.encode_offset_key
    recs = [
        (k("g", "t", 0), codec.encode_offset_value(OffsetValue(1))),
        (k("g", "t", 0), codec.encode_offset_value(OffsetValue(5))),
        (k("g", "t", 1), codec.encode_offset_value(OffsetValue(7))),
        (k("g", "t", 1), None),
        (k("gone", "t", 0), codec.encode_offset_value(OffsetValue(1))),
        (k("gone", "t", 0), None),
        (codec.encode_group_key("gone"), None),
        (codec.encode_group_key("live"), codec.encode_group_value(GroupValue(
            "consumer", 3, "range", "m1", 10,
            (MemberRecord("m1", "i1", "c", "/h", 20000, 10000, b"s", b"a"),)))),
        (b"\x7f\x7f junk", b"junk"),
        (b"k", b"v"),  # shorter than a version
        (codec.encode_offset_key("g", "t", 2), b"\x00\x03\x00"),  # a truncated value
    ]
    groups = load_groups(iter(recs), cfg, now=1000)
    assert set(groups) == {"g", "live"}
    assert {tp: v.offset for tp, v in groups["g"].offsets.items()} == {("t", 0): 5}
    assert groups["g"].state == GroupState.EMPTY
    live = groups["live"]
    assert live.state == GroupState.STABLE and live.generation_id == 3 and live.leader_id == "m1"
    m = live.members["m1"]
    assert m.assignment == b"a" and m.metadata("range") == b"s" and m.heartbeat_deadline == 11000
    assert live.static_members == {"i1": "m1"}
