"""Golden frames captured from real clients (``python -m compat.capture_golden``).

For every file under tests/golden/<client>/: parse the header with the right header
version, decode the body with our class, check every byte was read, re-encode header and
body and get the identical frame.  Requests are the clients' own bytes (the valuable
part); responses were written by kbroker, so for them this is self-consistency plus the
header rules: ApiVersions replies always use response header v0, and an ApiVersions
request at a version the broker does not know gets a v0-format UNSUPPORTED_VERSION reply.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from wire.errors import ErrorCode
from wire.headers import (
    decode_request_header,
    encode_request_header,
    encode_response_header,
    peek_request_header,
    response_header_flexible,
)
from wire.messages import REQUESTS as _REQUESTS
from wire.messages import RESPONSES as _RESPONSES

GOLDEN = ROOT / "tests" / "golden"
REQUESTS: dict[int, Any] = _REQUESTS
RESPONSES: dict[int, Any] = _RESPONSES
META = re.compile(r"# api_key=(-?\d+) api_version=(-?\d+) direction=(request|response)")


@dataclass(frozen=True)
class Golden:
    path: Path
    client: str
    api_key: int
    api_version: int
    direction: str
    data: bytes


def load(path: Path) -> Golden:
    lines = path.read_text().splitlines()
    m = META.fullmatch(lines[0])
    assert m, f"{path}: first line must be '# api_key=.. api_version=.. direction=..'"
    hexed = "".join(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))
    return Golden(path, path.parent.name, int(m[1]), int(m[2]), m[3], bytes.fromhex(hexed))


FILES = sorted(GOLDEN.glob("*/*.hex"))


def beyond_our_range(g: Golden) -> bool:
    """ApiVersions above our range: only its header and the v0 error reply are checked
    (test_unsupported_api_versions_reply)."""
    return g.api_key == 18 and g.api_version > REQUESTS[18].MAX_VERSION


def golden_params() -> list:
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in FILES if not beyond_our_range(load(p))]


def test_golden_files_exist():
    """Run `python -m compat.capture_golden` to (re)capture them."""
    clients = {p.parent.name for p in FILES}
    assert {"kafka-python", "confluent-kafka", "aiokafka", "raw"} <= clients, clients


def flexible(cls: Any, version: int) -> bool:
    return version >= cls.FLEXIBLE_FROM


@pytest.mark.parametrize("path", golden_params())
def test_golden_frame_round_trips(path: Path):
    g = load(path)
    if g.direction == "request":
        cls = REQUESTS[g.api_key]
        assert peek_request_header(g.data)[:2] == (g.api_key, g.api_version)
        flex = flexible(cls, g.api_version)
        hdr = decode_request_header(g.data, flex)
        head = bytearray()
        encode_request_header(head, hdr.api_key, hdr.api_version, hdr.correlation_id, hdr.client_id, flex)
        assert bytes(head) == g.data[:hdr.body_offset], "request header did not re-encode identically"
        body_at = hdr.body_offset
    else:
        cls = RESPONSES[g.api_key]
        flex = response_header_flexible(g.api_key, flexible(cls, g.api_version))
        body_at = 5 if flex else 4
        if flex:
            assert g.data[4] == 0, "no tagged fields expected in a response header"
        head = bytearray()
        encode_response_header(head, struct.unpack_from(">i", g.data)[0], flex)
        assert bytes(head) == g.data[:body_at]
    msg, end = cls._decode(g.data, body_at, g.api_version)
    assert end == len(g.data), f"{len(g.data) - end} bytes left after the body"
    again = bytes(head) + bytes(msg.encode(g.api_version))
    assert again == g.data, "re-encoding changed the bytes"


def response_files(api_key: int) -> list[Golden]:
    return [g for g in map(load, FILES) if g.api_key == api_key and g.direction == "response"]


def test_api_versions_responses_use_header_v0():
    """Even for a flexible (v3+) ApiVersions request, the reply header is the bare
    correlation id: the body's error code follows at once."""
    seen = set()
    for g in response_files(18):
        if g.api_version > RESPONSES[18].MAX_VERSION:
            continue
        seen.add(g.api_version)
        resp, end = RESPONSES[18]._decode(g.data, 4, g.api_version)
        assert end == len(g.data)
        assert resp.error_code == 0
        assert any(k.api_key == 18 for k in resp.api_keys)
    assert any(v >= RESPONSES[18].FLEXIBLE_FROM for v in seen), seen


def test_api_versions_requests_from_clients():
    """Which ApiVersions each client sent, with its header version: v3+ use header v2
    (tagged fields after a non-compact client_id)."""
    for g in (load(p) for p in FILES):
        if g.api_key != 18 or g.direction != "request" or g.client == "raw":
            continue
        flex = g.api_version >= 3
        hdr = decode_request_header(g.data, flex)
        assert hdr.client_id, g.path
        req = REQUESTS[18].decode(g.data, g.api_version, hdr.body_offset)
        if flex:
            assert req.client_software_name, g.path


def test_unsupported_api_versions_reply():
    """ApiVersions v99 (sent by hand): the broker must not parse the body and must answer
    in the v0 format with UNSUPPORTED_VERSION and its own ApiVersions range."""
    reqs = [load(p) for p in FILES if p.parent.name == "raw" and "request" in p.name]
    resps = [g for g in response_files(18) if g.api_version > RESPONSES[18].MAX_VERSION]
    assert reqs and resps, "no raw ApiVersions v99 capture: run compat/capture_golden.py"
    assert [peek_request_header(g.data) for g in reqs] == [(18, 99, 1)]
    for g in resps:
        (corr,) = struct.unpack_from(">i", g.data)
        assert corr == 1
        resp, end = RESPONSES[18]._decode(g.data, 4, 0)  # header v0, body v0
        assert end == len(g.data), "the error reply must be exactly a v0 body"
        assert resp.error_code == ErrorCode.UNSUPPORTED_VERSION
        ranges = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
        assert 18 in ranges and ranges[18][0] == 0 and ranges[18][1] >= 3
        assert bytes(resp.encode(0)) == g.data[4:]


def test_requests_carry_client_ids():
    """Every recorded request header parses, with the client id each library sends."""
    for g in (load(p) for p in FILES):
        if g.direction != "request" or g.api_version > REQUESTS[g.api_key].MAX_VERSION:
            continue
        hdr = decode_request_header(g.data, flexible(REQUESTS[g.api_key], g.api_version))
        assert hdr.client_id is not None and hdr.client_id.startswith(("golden-", "rdkafka")), \
            (g.path, hdr.client_id)


def test_produce_requests_carry_v2_batches_with_headers():
    from wire.records import iter_batches, iter_records

    n = 0
    for g in (load(p) for p in FILES):
        if g.api_key != 0 or g.direction != "request":
            continue
        hdr = decode_request_header(g.data, flexible(REQUESTS[0], g.api_version))
        req = REQUESTS[0].decode(g.data, g.api_version, hdr.body_offset)
        for t in req.topic_data:
            for p in t.partition_data:
                data = bytes(p.records)
                for pos, _ in iter_batches(data):
                    for rec in iter_records(data, pos):
                        assert rec.headers and rec.headers[0][0] == "h", (g.path, rec)
                        n += 1
    assert n > 0
