"""Request and response headers.

Request header v1: api_key i16, api_version i16, correlation_id i32, client_id
(int16-length nullable string — never compact, even in v2).  v2 adds a tagged-field
section and is used iff the request's API version is flexible.

Response header v0: correlation_id i32.  v1 adds a tagged-field section for flexible
versions — except ApiVersions, whose response header is always v0 (a client must be
able to read it before it knows which versions the broker speaks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wire.primitives import I32, DecodeError, read_string, skip_tags, write_string

API_VERSIONS_KEY = 18
_HDR = __import__("struct").Struct(">hhi")


@dataclass(slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body_offset: int  # where the request body starts in the frame


def peek_request_header(frame: Any) -> tuple[int, int, int]:
    """api_key, api_version, correlation_id — readable for any request, even one the
    broker cannot otherwise parse."""
    if len(frame) < 8:
        raise DecodeError("request shorter than its header")
    return _HDR.unpack_from(frame, 0)


def decode_request_header(frame: Any, flexible: bool) -> RequestHeader:
    api_key, api_version, corr = peek_request_header(frame)
    client_id, pos = read_string(frame, 8)
    if flexible:
        pos = skip_tags(frame, pos)
    return RequestHeader(api_key, api_version, corr, client_id, pos)


def encode_request_header(out: bytearray, api_key: int, api_version: int, correlation_id: int,
                          client_id: str | None, flexible: bool) -> None:
    out += _HDR.pack(api_key, api_version, correlation_id)
    write_string(out, client_id)
    if flexible:
        out.append(0)


def response_header_flexible(api_key: int, flexible_request: bool) -> bool:
    return flexible_request and api_key != API_VERSIONS_KEY


def encode_response_header(out: bytearray, correlation_id: int, flexible: bool) -> None:
    out += I32.pack(correlation_id)
    if flexible:
        out.append(0)
