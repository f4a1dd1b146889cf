"""Size-prefixed framing and request/response headers (no sockets)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire.messages as msgs
from wire.framing import FrameDecoder, FrameTooLarge
from wire.headers import (
    API_VERSIONS_KEY,
    decode_request_header,
    encode_request_header,
    encode_response_header,
    peek_request_header,
    response_header_flexible,
)
from wire.primitives import DecodeError

# kafka-python 3.0 loads its definitions with a deprecated importlib.resources call.
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated. Use files:DeprecationWarning")

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

payloads = st.lists(st.binary(max_size=40), max_size=8)


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def stream_of(frames: list[bytes]) -> bytes:
    return b"".join(frame(p) for p in frames)


# ---------------------------------------------------------------- FrameDecoder


def test_whole_stream_at_once():
    data = stream_of([b"one", b"", b"three"])
    d = FrameDecoder()
    assert d.feed(data) == [bytearray(b"one"), bytearray(b""), bytearray(b"three")]
    assert d.pending == 0


def test_one_byte_at_a_time_equals_all_at_once():
    parts = [b"x" * n for n in (0, 1, 3, 4, 5, 100, 0, 7)]
    data = stream_of(parts)
    got = []
    d = FrameDecoder()
    for i in range(len(data)):
        got += d.feed(data[i:i + 1])
    assert got == FrameDecoder().feed(data) == [bytearray(p) for p in parts]
    assert d.pending == 0


def test_partial_frame_stays_pending():
    d = FrameDecoder()
    assert d.feed(b"\x00\x00\x00\x05ab") == []
    assert d.pending == 2  # the size is consumed, two body bytes wait
    assert d.feed(b"cd") == []
    assert d.feed(b"e\x00\x00") == [bytearray(b"abcde")]
    assert d.pending == 2


def test_frames_are_independent_copies():
    d = FrameDecoder()
    f1, f2 = d.feed(stream_of([b"aa", b"bb"]))
    f1[0] = ord("z")
    assert f2 == b"bb"
    assert d.feed(stream_of([b"cc"])) == [bytearray(b"cc")]


def test_memoryview_input():
    d = FrameDecoder()
    assert d.feed(memoryview(stream_of([b"mv"]))) == [bytearray(b"mv")]


@FAST
@given(payloads, st.data())
def test_random_splits(parts, data):
    stream = stream_of(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    d = FrameDecoder()
    got: list[bytearray] = []
    prev = 0
    for c in cuts + [len(stream)]:
        got += d.feed(stream[prev:c])
        prev = c
    assert got == [bytearray(p) for p in parts]
    assert d.pending == 0


@FAST
@given(payloads, st.binary(min_size=1, max_size=3))
def test_trailing_partial_size_is_kept(parts, tail):
    d = FrameDecoder()
    assert d.feed(stream_of(parts) + tail) == [bytearray(p) for p in parts]
    assert d.pending == len(tail)


def test_negative_size_raises():
    with pytest.raises(FrameTooLarge):
        FrameDecoder().feed(b"\xff\xff\xff\xff")
    with pytest.raises(FrameTooLarge):
        FrameDecoder().feed(struct.pack(">i", -(1 << 31)))


def test_size_over_max_raises_before_the_body_arrives():
    d = FrameDecoder(max_size=10)
    assert d.feed(frame(b"x" * 10)) == [bytearray(b"x" * 10)]  # == max is fine
    with pytest.raises(FrameTooLarge):
        d.feed(struct.pack(">i", 11))


def test_oversize_detected_one_byte_at_a_time():
    d = FrameDecoder(max_size=100)
    data = frame(b"ok") + struct.pack(">i", 101)
    got = []
    with pytest.raises(FrameTooLarge):
        for i in range(len(data)):
            got += d.feed(data[i:i + 1])
    assert got == [bytearray(b"ok")]


def test_default_max_is_socket_request_max_bytes():
    d = FrameDecoder()
    assert d.max_size == 100 * 1024 * 1024
    assert d.feed(struct.pack(">i", 100 * 1024 * 1024)) == []
    with pytest.raises(FrameTooLarge):
        FrameDecoder().feed(struct.pack(">i", 100 * 1024 * 1024 + 1))


# ---------------------------------------------------------------- request header

ids = st.none() | st.text(max_size=20)


@FAST
@given(st.integers(-(1 << 15), (1 << 15) - 1), st.integers(0, 100), st.integers(-(1 << 31), (1 << 31) - 1),
       ids, st.booleans(), st.binary(max_size=10))
def test_request_header_round_trip(key, version, corr, client_id, flexible, body):
    out = bytearray()
    encode_request_header(out, key, version, corr, client_id, flexible)
    frame_bytes = bytes(out) + body
    h = decode_request_header(frame_bytes, flexible)
    assert (h.api_key, h.api_version, h.correlation_id, h.client_id) == (key, version, corr, client_id)
    assert frame_bytes[h.body_offset:] == body
    assert peek_request_header(frame_bytes) == (key, version, corr)
    again = bytearray()
    encode_request_header(again, h.api_key, h.api_version, h.correlation_id, h.client_id, flexible)
    assert bytes(again) == frame_bytes[:h.body_offset]


def test_request_header_v2_client_id_is_not_compact():
    out = bytearray()
    encode_request_header(out, 3, 12, 7, "abc", flexible=True)
    assert bytes(out) == b"\x00\x03\x00\x0c\x00\x00\x00\x07" + b"\x00\x03abc" + b"\x00"
    out = bytearray()
    encode_request_header(out, 3, 8, 7, None, flexible=False)
    assert bytes(out) == b"\x00\x03\x00\x08\x00\x00\x00\x07\xff\xff"


def test_request_header_v2_skips_tagged_fields():
    hdr = b"\x00\x12\x00\x03\x00\x00\x00\x01" + b"\x00\x02id" + b"\x01\x05\x02zz"
    h = decode_request_header(hdr + b"BODY", flexible=True)
    assert h.client_id == "id" and (hdr + b"BODY")[h.body_offset:] == b"BODY"


def test_header_bytes_match_kafka_python():
    from kafka.protocol.api_header import RequestHeader

    for flexible in (False, True):
        theirs = RequestHeader(request_api_key=3, request_api_version=9 if flexible else 5,
                               correlation_id=42, client_id="kp").encode(flexible=flexible)
        out = bytearray()
        encode_request_header(out, 3, 9 if flexible else 5, 42, "kp", flexible)
        assert bytes(out) == bytes(theirs)


def test_peek_request_header():
    data = struct.pack(">hhi", 18, 99, 12345) + b"garbage that is not a valid body"
    assert peek_request_header(data) == (18, 99, 12345)
    assert peek_request_header(bytearray(data[:8])) == (18, 99, 12345)
    assert peek_request_header(memoryview(data)) == (18, 99, 12345)
    with pytest.raises(DecodeError):
        peek_request_header(data[:7])


def test_truncated_client_id_is_a_decode_error():
    data = struct.pack(">hhih", 3, 1, 1, 10) + b"abc"
    with pytest.raises(DecodeError):
        decode_request_header(data, flexible=False)


# ---------------------------------------------------------------- response header


def test_response_header_versions():
    out = bytearray()
    encode_response_header(out, 7, flexible=False)
    assert bytes(out) == b"\x00\x00\x00\x07"
    out = bytearray()
    encode_response_header(out, 7, flexible=True)
    assert bytes(out) == b"\x00\x00\x00\x07\x00"


def test_api_versions_response_header_is_always_v0():
    assert API_VERSIONS_KEY == 18
    assert response_header_flexible(18, flexible_request=True) is False
    assert response_header_flexible(18, flexible_request=False) is False
    for key, cls in msgs.RESPONSES.items():
        if key == 18:
            continue
        assert response_header_flexible(key, True) is True, cls.__name__
        assert response_header_flexible(key, False) is False, cls.__name__


def test_api_versions_v3_response_reads_like_kafka_python():
    """A whole ApiVersions v3 reply (header v0 + flexible body) as kafka-python parses it."""
    from kafka.protocol.metadata import ApiVersionsResponse as KAV

    body = msgs.ApiVersionsResponse(error_code=0, throttle_time_ms=0, api_keys=[
        msgs.ApiVersionsResponse.ApiVersion(api_key=18, min_version=0, max_version=3)]).encode(3)
    out = bytearray()
    encode_response_header(out, 5, response_header_flexible(18, True))
    parsed = KAV.decode(bytes(out) + bytes(body), version=3, header=True)
    assert parsed.header.correlation_id == 5
    assert [(a.api_key, a.min_version, a.max_version) for a in parsed.api_keys] == [(18, 0, 3)]
