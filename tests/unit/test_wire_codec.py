"""wire.codec: whole request and response frames in both directions (no sockets).

A frame made by one side is read back by the other, for a flexible and a non-flexible
version; the ApiVersions response header is v0 at every version; each way a request can
be refused raises its own error carrying the request's identity; record data sent from
files stays out of the buffer and is counted in the frame size."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest

from wire.codec import (
    MalformedRequest,
    Request,
    RequestError,
    UnknownApiKey,
    UnsupportedVersion,
    api_versions_fallback,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from wire.errors import ErrorCode
from wire.framing import FrameDecoder
from wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from wire.messages.fetch import FetchResponse
from wire.messages.metadata import MetadataRequest, MetadataResponse
from wire.primitives import Writer


@dataclass(frozen=True)
class Served:
    min_version: int
    max_version: int


SUPPORTED = {3: Served(0, 12), 18: Served(0, 3), 1: Served(4, 17)}
RANGES = [(1, 4, 17), (3, 0, 12), (18, 0, 3)]


def unframe(data: bytes | bytearray) -> bytearray:
    """The one frame in ``data``, as the receiving side's FrameDecoder hands it out."""
    d = FrameDecoder()
    frames = d.feed(data)
    assert len(frames) == 1 and d.pending == 0
    return frames[0]


def metadata_request() -> MetadataRequest:
    return MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="t")],
                           allow_auto_topic_creation=False)


def metadata_response() -> MetadataResponse:
    M = MetadataResponse
    return M(brokers=[M.MetadataResponseBroker(node_id=1, host="h", port=9092)], cluster_id="c",
             controller_id=1, topics=[M.MetadataResponseTopic(name="t", partitions=[
                 M.MetadataResponsePartition(partition_index=0, leader_id=1, replica_nodes=[1], isr_nodes=[1])])])


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("version", [1, 12])  # Metadata is flexible from v9
def test_request_round_trip(version):
    data = encode_request(metadata_request(), version, 42, "me")
    (size,) = struct.unpack_from(">i", data)
    assert size == len(data) - 4
    req = decode_request(unframe(data), SUPPORTED)
    assert (req.api_key, req.api_version, req.correlation_id, req.client_id) == (3, version, 42, "me")
    assert req.flexible is (version >= 9)
    assert req.body == MetadataRequest.decode(metadata_request().encode(version), version)


@pytest.mark.parametrize("version", [1, 12])
def test_response_round_trip(version):
    req = decode_request(unframe(encode_request(metadata_request(), version, 7, None)), SUPPORTED)
    out = encode_response(req, metadata_response())
    assert isinstance(out, Writer) and not out.inserts
    corr, body = decode_response(unframe(out), 3, version)
    assert corr == 7
    assert body == MetadataResponse.decode(metadata_response().encode(version), version)


@pytest.mark.parametrize("version", [1, 12])
def test_response_header_follows_request_flexibility(version):
    req = decode_request(unframe(encode_request(metadata_request(), version, 5, "x")), SUPPORTED)
    frame = unframe(encode_response(req, metadata_response()))
    header = b"\x00\x00\x00\x05" + (b"\x00" if version >= 9 else b"")  # v1 adds empty tagged fields
    assert bytes(frame) == header + bytes(metadata_response().encode(version))


def test_client_reads_tagged_fields_in_response_header():
    frame = b"\x00\x00\x00\x09" + b"\x01\x00\x02zz" + bytes(metadata_response().encode(12))
    corr, body = decode_response(frame, 3, 12)
    assert corr == 9 and body.cluster_id == "c"


# ---------------------------------------------------------------- ApiVersions header rule


@pytest.mark.parametrize("version", [0, 3])  # ApiVersions is flexible from v3
def test_api_versions_response_header_is_v0(version):
    req = decode_request(unframe(encode_request(ApiVersionsRequest(
        client_software_name="n", client_software_version="1"), version, 11, "c")), SUPPORTED)
    assert req.flexible is (version >= 3)
    body = ApiVersionsResponse(api_keys=[ApiVersionsResponse.ApiVersion(api_key=18, min_version=0,
                                                                        max_version=3)])
    frame = unframe(encode_response(req, body))
    assert bytes(frame) == b"\x00\x00\x00\x0b" + bytes(body.encode(version))  # no tagged-field byte
    corr, back = decode_response(frame, 18, version)
    assert corr == 11 and back == body


def test_api_versions_fallback_is_a_v0_reply_with_the_ranges():
    frame = unframe(api_versions_fallback(77, RANGES))
    (corr,) = struct.unpack_from(">i", frame)
    assert corr == 77
    body, end = ApiVersionsResponse._decode(frame, 4, 0)
    assert end == len(frame)
    assert body.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert [(k.api_key, k.min_version, k.max_version) for k in body.api_keys] == RANGES


# ---------------------------------------------------------------- refused requests


def test_unknown_api_key():
    data = struct.pack(">hhi", 3, 1, 5) + b"\xff\xff" + bytes(metadata_request().encode(1))
    with pytest.raises(UnknownApiKey) as e:
        decode_request(data, {18: Served(0, 3)})  # the broker serves no Metadata
    assert (e.value.api_key, e.value.api_version, e.value.correlation_id) == (3, 1, 5)
    with pytest.raises(UnknownApiKey, match="unknown API key 9999"):  # no such API at all
        decode_request(struct.pack(">hhi", 9999, 0, 1), {9999: Served(0, 0)})


def test_unsupported_version_carries_identity_and_skips_the_body():
    data = struct.pack(">hhi", 18, 99, 1) + b"not a body at all"
    with pytest.raises(UnsupportedVersion, match="unsupported version 99 of API 18") as e:
        decode_request(data, SUPPORTED)
    assert (e.value.api_key, e.value.api_version, e.value.correlation_id) == (18, 99, 1)
    with pytest.raises(UnsupportedVersion):
        decode_request(encode_request(metadata_request(), 13, 2, "c")[4:], SUPPORTED)  # above 12


@pytest.mark.parametrize("cut", [10, 14, 20])
def test_truncated_body_is_malformed(cut):
    frame = unframe(encode_request(metadata_request(), 12, 3, "c"))
    with pytest.raises(MalformedRequest, match=r"malformed request \(API 3 v12\)") as e:
        decode_request(frame[:cut], SUPPORTED)
    assert (e.value.api_key, e.value.api_version, e.value.correlation_id) == (3, 12, 3)


def test_bad_utf8_is_malformed():
    in_client_id = struct.pack(">hhih", 3, 1, 4, 2) + b"\xff\xfe" + bytes(metadata_request().encode(1))
    in_topic_name = struct.pack(">hhih", 3, 1, 4, -1) + struct.pack(">ih", 1, 2) + b"\xff\xfe"
    for frame in (in_client_id, in_topic_name):
        with pytest.raises(MalformedRequest, match=r"malformed request \(API 3 v1\)"):
            decode_request(frame, SUPPORTED)
    assert decode_request(in_topic_name.replace(b"\xff\xfe", b"ok"), SUPPORTED).body.topics[0].name == "ok"


def test_frame_shorter_than_a_header_is_malformed_without_identity():
    with pytest.raises(MalformedRequest, match="shorter than its header") as e:
        decode_request(b"\x00\x03\x00", SUPPORTED)
    assert (e.value.api_key, e.value.api_version, e.value.correlation_id) == (None, None, None)


def test_errors_share_a_base():
    for cls in (UnknownApiKey, UnsupportedVersion, MalformedRequest):
        assert issubclass(cls, RequestError)


# ---------------------------------------------------------------- record data from files


class FakeSlice:
    """Stands in for a storage file slice: only its length is read while encoding."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)


def splice(out: Writer) -> bytes:
    parts, start = [], 0
    for pos, sl in out.inserts:
        parts += [bytes(out[start:pos]), sl.data]
        start = pos
    return b"".join(parts) + bytes(out[start:])


@pytest.mark.parametrize("version", [11, 12])  # Fetch is flexible from v12
def test_response_with_file_slices_keeps_them(version):
    F = FetchResponse
    slices = [FakeSlice(b"A" * 70), FakeSlice(b"B" * 5)]
    body = F(responses=[F.FetchableTopicResponse(topic="t", partitions=[
        F.PartitionData(partition_index=i, high_watermark=3, records=sl) for i, sl in enumerate(slices)])])
    req = Request(api_key=1, api_version=version, correlation_id=21, client_id="c",
                  flexible=version >= 12, body=None)
    out = encode_response(req, body)
    assert [sl for _, sl in out.inserts] == slices
    (size,) = struct.unpack_from(">i", out)
    assert size == out.total_size() - 4 == len(out) - 4 + 75
    corr, back = decode_response(unframe(splice(out)), 1, version)
    assert corr == 21
    assert [bytes(p.records) for p in back.responses[0].partitions] == [b"A" * 70, b"B" * 5]

