"""__transaction_state records (Kafka's TransactionLogKey / TransactionLogValue layouts), byte for
byte and round trips — no broker involved."""

from __future__ import annotations

import struct

import pytest

from kbroker.txn import codec
from kbroker.txn.codec import TxnLogValue
from kbroker.txn.log import from_value, to_value
from kbroker.txn.state import TxnMeta, TxnState


def test_key_layout():
    assert codec.encode_key("tx-1") == b"\x00\x00\x00\x04tx-1"
    assert codec.decode_key(b"\x00\x00\x00\x04tx-1") == "tx-1"
    with pytest.raises(ValueError):
        codec.decode_key(b"\x00\x01\x00\x04tx-1")


def test_value_v0_layout():
    v = TxnLogValue(7, 3, 60000, 1, {"t": (0, 2)}, 1000, 900)
    expected = (struct.pack(">hqhib", 0, 7, 3, 60000, 1) + struct.pack(">i", 1) + struct.pack(">h", 1) + b"t"
                + struct.pack(">iii", 2, 0, 2) + struct.pack(">qq", 1000, 900))
    assert codec.encode_value(v) == expected
    assert codec.decode_value(expected) == v


def test_value_v0_null_partitions():
    v = TxnLogValue(7, 0, 60000, 0, None, 5, -1)
    data = codec.encode_value(v)
    assert data[2 + 15:2 + 19] == b"\xff\xff\xff\xff"
    assert codec.decode_value(data) == v


def test_value_v1_flexible_with_tags():
    v = TxnLogValue(9, 1, 100, 2, {"a": (1,), "bb": (0, 3)}, 11, 10, previous_producer_id=4,
                    client_transaction_version=2)
    data = codec.encode_value(v, version=1)
    # compact array of 2 -> uvarint 3; compact string "a" -> 2,"a"; array of 1 -> 2; int32 1; no tags
    head = struct.pack(">hqhib", 1, 9, 1, 100, 2)
    assert data.startswith(head + b"\x03\x02a\x02" + struct.pack(">i", 1) + b"\x00")
    # tagged fields: two of them: tag 0 (8 bytes), tag 2 (2 bytes)
    assert data.endswith(b"\x02\x00\x08" + struct.pack(">q", 4) + b"\x02\x02" + struct.pack(">h", 2))
    assert codec.decode_value(data) == v
    empty = TxnLogValue(9, 1, 100, 0, None, 11, -1)
    data = codec.encode_value(empty, version=1)
    assert data.endswith(struct.pack(">qq", 11, -1) + b"\x00")  # no tags when all are defaults
    assert codec.decode_value(data) == empty


def test_unknown_tag_kept_and_bad_version():
    v = TxnLogValue(1, 0, 1, 0, None, 0, 0, extra={5: b"xy"})
    assert codec.decode_value(codec.encode_value(v, 1)) == v
    with pytest.raises(ValueError):
        codec.decode_value(struct.pack(">h", 2) + b"\x00" * 40)


@pytest.mark.parametrize("state", list(TxnState))
def test_metadata_round_trip(state):
    parts = frozenset() if state == TxnState.EMPTY else frozenset({("t", 0), ("t", 3), ("u", 1)})
    m = TxnMeta("id", 42, 5, 30000, state, parts, 100, 200)
    value = to_value(m)
    assert (value.partitions is None) == (state == TxnState.EMPTY)
    assert from_value("id", codec.decode_value(codec.encode_value(value))) == m
