"""The pure parts of the CLI: the JSON encoding of bytes (every byte string round-trips and the three
cases never collide), kcat-style format strings, KEY=VALUE arguments and times."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbroker.admin import Header, Message, decode_bytes, encode_bytes
from kbroker.commands.common import UsageError, key_values, parse_time
from kbroker.commands.consume import render


@given(st.one_of(st.none(), st.binary(max_size=64)))
def test_bytes_round_trip_through_json(data) -> None:
    assert decode_bytes(json.loads(json.dumps(encode_bytes(data)))) == data


def test_bytes_encoding_cases() -> None:
    assert encode_bytes(None) is None and encode_bytes(b"") == "" and encode_bytes(b"caf\xc3\xa9") == "café"
    assert encode_bytes(b"\x80\x81") == {"base64": "gIE="}
    with pytest.raises(ValueError):
        decode_bytes({"hex": "00"})


def test_format_placeholders() -> None:
    m = Message("t", 2, 17, 1700000000000, b"k\xff", None, (Header("a", b"1"), Header("b", None)))
    assert render(r"%t %p %o %T %K %S [%h] %k|%s 100%%\n", m) == (
        b"t 2 17 1700000000000 2 -1 [a=1,b] k\xff| 100%\n")
    assert render(r"%s\t%x\\", Message("t", 0, 0, 0, None, b"v")) == b"v\t%x\\"


def test_key_values() -> None:
    assert key_values(["a=1,b=2", "c=x=y"], "--config") == {"a": "1", "b": "2", "c": "x=y"}
    assert key_values(["cleanup.policy=compact,delete"], "--config") == {"cleanup.policy": "compact,delete"}
    with pytest.raises(UsageError):
        key_values(["novalue"], "--config")


def test_parse_time() -> None:
    assert parse_time("1700000000000") == 1700000000000
    assert parse_time("2023-11-14T22:13:20") == 1700000000000  # no zone: UTC
    assert parse_time("2023-11-14T23:13:20+01:00") == 1700000000000
    with pytest.raises(UsageError):
        parse_time("yesterday")
