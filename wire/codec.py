"""Whole Kafka request and response frames, both directions, with no I/O.

This is the one place that puts a message into a frame and takes it out again; the
server, the command-line tools and the tests all go through it.

Frames handed in are what ``wire.framing.FrameDecoder`` hands out (no size prefix);
frames handed back are ready to send (size prefix included).

Server direction:
  ``decode_request(frame, supported)``  header + body of a request, or one of the typed
      errors below; ``supported`` maps each API key the broker serves to its version range.
  ``encode_response(request, body)``    size + response header + body, in a ``Writer``
      whose ``inserts`` (record data sent from files) are kept for the caller to splice.
  ``api_versions_fallback(corr, ranges)`` the answer to an ApiVersions request at a
      version the broker does not speak: v0 format, UNSUPPORTED_VERSION, its ranges.

Client direction:
  ``encode_request(body, version, corr, client_id)`` size + request header + body.
  ``decode_response(frame, api_key, version)``       (correlation id, body).

Rules:
  * the request header is v2 iff the API version is flexible (``FLEXIBLE_FROM``), else v1;
  * the response header follows the request's flexibility, except ApiVersions, whose
    response header is always v0 (``wire.headers.response_header_flexible``);
  * the api key, version and correlation id are read before anything else, so even a
    request whose body does not parse is identified in the error.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from wire.errors import ErrorCode
from wire.headers import (
    decode_request_header,
    encode_request_header,
    encode_response_header,
    peek_request_header,
    response_header_flexible,
)
from wire.messages import REQUESTS, RESPONSES
from wire.messages.api_versions import ApiVersionsResponse
from wire.primitives import I32, DecodeError, Writer, skip_tags

# What a body that does not parse raises out of the generated decoders.
_MALFORMED = (ValueError, IndexError, struct.error, UnicodeDecodeError, DecodeError)


class VersionRange(Protocol):
    """The versions of one API the broker serves (``kbroker.registry.Handler`` is one)."""

    @property
    def min_version(self) -> int: ...

    @property
    def max_version(self) -> int: ...


# ---------------------------------------------------------------- errors


class RequestError(Exception):
    """A request frame the broker cannot serve.  ``api_key``, ``api_version`` and
    ``correlation_id`` are None only when the frame is too short to hold them."""

    def __init__(self, message: str, api_key: int | None = None, api_version: int | None = None,
                 correlation_id: int | None = None) -> None:
        super().__init__(message)
        self.api_key = api_key
        self.api_version = api_version
        self.correlation_id = correlation_id


class UnknownApiKey(RequestError):
    """No handler for this API key: Kafka closes the connection."""


class UnsupportedVersion(RequestError):
    """A version outside the broker's range: Kafka closes the connection, except for
    ApiVersions, which gets ``api_versions_fallback``."""

    api_key: int
    api_version: int
    correlation_id: int

    def __init__(self, message: str, api_key: int, api_version: int, correlation_id: int) -> None:
        super().__init__(message, api_key, api_version, correlation_id)


class MalformedRequest(RequestError):
    """The header or body does not parse: Kafka closes the connection."""


# ---------------------------------------------------------------- server direction


@dataclass(slots=True)
class Request:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    flexible: bool  # the request header was v2 (so the response header is v1, ApiVersions aside)
    body: Any  # an instance of wire.messages.REQUESTS[api_key]


def decode_request(frame: Any, supported: Mapping[int, VersionRange]) -> Request:
    """The request in ``frame``; raises UnknownApiKey, UnsupportedVersion or MalformedRequest."""
    try:
        api_key, version, corr = peek_request_header(frame)
    except DecodeError as e:
        raise MalformedRequest(str(e)) from None
    # subscripts, not .get(): both tables may be wire.lazy ones, whose [] is a plain dict lookup once
    # the key has been used (their .get is a Python-level call)
    try:
        served = supported[api_key]
        request_cls = REQUESTS[api_key]
    except KeyError:
        raise UnknownApiKey(f"unknown API key {api_key}", api_key, version, corr) from None
    if not served.min_version <= version <= served.max_version:
        raise UnsupportedVersion(f"unsupported version {version} of API {api_key}", api_key, version, corr)
    flexible = version >= request_cls.FLEXIBLE_FROM  # type: ignore[attr-defined]
    try:
        hdr = decode_request_header(frame, flexible)
        body = request_cls._decode(frame, hdr.body_offset, version)[0]  # type: ignore[attr-defined]
    except _MALFORMED as e:
        raise MalformedRequest(f"malformed request (API {api_key} v{version}): {e}",
                               api_key, version, corr) from None
    return Request(api_key, version, corr, hdr.client_id, flexible, body)


def encode_response(request: Request, body: Any) -> Writer:
    """The response frame to ``request``.  Its size counts the file slices in
    ``inserts``, which the caller writes at their positions."""
    out = _start_frame()
    encode_response_header(out, request.correlation_id,
                           response_header_flexible(request.api_key, request.flexible))
    body._encode(out, request.api_version)
    return _finish_frame(out)


def api_versions_fallback(correlation_id: int, ranges: Iterable[tuple[int, int, int]]) -> bytes:
    """The reply to an ApiVersions request at a version the broker does not speak: header v0,
    a v0 body with UNSUPPORTED_VERSION and the broker's (api_key, min, max) ranges, so the
    client can retry at a version both know."""
    body = ApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=[ApiVersionsResponse.ApiVersion(api_key=k, min_version=lo, max_version=hi)
                  for k, lo, hi in ranges],
    )
    out = _start_frame()
    encode_response_header(out, correlation_id, False)
    body._encode(out, 0)
    return bytes(_finish_frame(out))


# ---------------------------------------------------------------- client direction


def encode_request(body: Any, version: int, correlation_id: int, client_id: str | None) -> bytes:
    """A whole request frame for ``body`` (a generated request instance) at ``version``."""
    flexible = version >= body.FLEXIBLE_FROM
    out = _start_frame()
    encode_request_header(out, body.API_KEY, version, correlation_id, client_id, flexible)
    body._encode(out, version)
    return bytes(_finish_frame(out))


def decode_response(frame: Any, api_key: int, version: int) -> tuple[int, Any]:
    """(correlation_id, body) of the response, at ``version``, to a request of ``api_key``."""
    response_cls: Any = RESPONSES[api_key]
    (corr,) = I32.unpack_from(frame, 0)
    pos = 4
    if response_header_flexible(api_key, version >= response_cls.FLEXIBLE_FROM):
        pos = skip_tags(frame, pos)  # response header v1's tagged-field section
    return corr, response_cls.decode(frame, version, pos)


# ---------------------------------------------------------------- size prefix


def _start_frame() -> Writer:
    out = Writer()
    out += b"\0\0\0\0"
    return out


def _finish_frame(out: Writer) -> Writer:
    I32.pack_into(out, 0, out.total_size() - 4)
    return out
