"""How the console shows bytes and pages through a partition; pure functions, no I/O.

A record's key, value and header values are bytes. The browser is given every view of them at once
(``text`` when the bytes are UTF-8, ``json`` when that text parses as JSON, always ``hex``), so
switching the view needs no second request, and ``auto`` picks the first that applies
(json → text → hex). A field bigger than ``MAX_SHOWN`` bytes is cut to that many and marked
``truncated``: a browser page is no place for a 1 MB value, and the size is still shown.

Paging is by offset: a page is ``limit`` records starting at ``offset``; *next* starts after the last
record shown (none when the page came back empty), *prev* starts ``limit`` before
the page, never before the partition's earliest offset. The offsets are hints, not record counts:
a compacted or transactional log has gaps, and a page may hold fewer than ``limit`` records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_SHOWN = 16 * 1024
"""Bytes of one key, value or header shown at most (the rest is cut and flagged)."""

MAX_LIMIT = 500
"""Records on one page at most: bounds the read the broker and the browser do for one request."""

VIEWS = ("auto", "json", "text", "hex")


def render_bytes(data: bytes | None) -> dict[str, Any]:
    """Every view of one field: ``null``, ``size``, ``truncated``, ``text`` (or None when not
    UTF-8), ``json`` (pretty-printed, or None), ``hex`` and ``auto`` (the view to show by default)."""
    if data is None:
        return {"null": True, "size": 0, "truncated": False, "text": None, "json": None, "hex": "",
                "auto": "text"}
    size = len(data)
    shown = bytes(data[:MAX_SHOWN])
    truncated = size > MAX_SHOWN
    text = _utf8(shown, truncated)
    pretty = _json(text) if text is not None and not truncated else None
    auto = "json" if pretty is not None else "text" if text is not None else "hex"
    return {"null": False, "size": size, "truncated": truncated, "text": text, "json": pretty,
            "hex": shown.hex(" "), "auto": auto}


def _utf8(data: bytes, truncated: bool) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        # a cut may split the last character: that is still text
        if truncated and e.start >= len(data) - 3 and e.reason == "unexpected end of data":
            return data[: e.start].decode("utf-8")
        return None


def _json(text: str) -> str | None:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[\"" and not _is_json_scalar(stripped):
        return None
    try:
        return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
    except ValueError:
        return None


def _is_json_scalar(text: str) -> bool:
    # numbers, true/false/null: shown as JSON only when the whole text is that scalar
    return text in ("true", "false", "null") or text[0] in "-0123456789"


def parse_input(text: str | None, encoding: str) -> bytes | None:
    """Bytes from what a user typed in the produce form: ``text`` (UTF-8), ``json`` (validated,
    sent compact), ``hex`` (spaces allowed), or ``null`` for a null field. Raises ValueError with a
    message fit for the user."""
    if encoding == "null" or text is None:
        return None
    if encoding == "text":
        return text.encode("utf-8")
    if encoding == "json":
        try:
            return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except ValueError as e:
            raise ValueError(f"not valid JSON: {e}") from None
    if encoding == "hex":
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError("not valid hex (pairs of 0-9a-f, spaces allowed)") from None
    raise ValueError(f"unknown encoding {encoding!r} (text, json, hex or null)")


def render_record(partition: int, offset: int, timestamp: int, key: bytes | None, value: bytes | None,
                  headers: Iterable[tuple[str, bytes | None]]) -> dict[str, Any]:
    """One record as the message browser shows it."""
    return {
        "partition": partition,
        "offset": offset,
        "timestamp": timestamp,
        "time": format_ms(timestamp),
        "key": render_bytes(key),
        "value": render_bytes(value),
        "headers": [{"key": k, "value": render_bytes(v)} for k, v in headers],
    }


def format_ms(ms: int | None) -> str | None:
    """A Kafka timestamp (ms since the epoch) as ISO-8601 UTC, or None for -1/None."""
    if ms is None or ms < 0:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> int:
    """A point in time from a form: milliseconds since the epoch, or an ISO-8601 date/time (UTC
    unless it names a zone). Raises ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("empty time")
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (ISO-8601 like 2026-01-31T12:00:00Z, or ms)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def clamp_limit(limit: int | None, default: int = 20) -> int:
    """The page size asked for, bounded to 1..MAX_LIMIT."""
    if limit is None:
        return default
    return max(1, min(MAX_LIMIT, limit))


@dataclass(frozen=True, slots=True)
class Page:
    """Where a page starts and where its neighbours start (None: there is none)."""

    offset: int
    limit: int
    prev: int | None
    next: int | None


def page_of(offset: int, limit: int, earliest: int, latest: int, offsets: Sequence[int],
            position: int | None = None) -> Page:
    """The paging links of a page that started at ``offset`` and returned records at ``offsets``,
    in a partition holding ``earliest`` ≤ offset < ``latest``; ``position`` is where the reader
    stopped when it knows (past control records a page does not show)."""
    start = max(offset, earliest)
    prev = max(earliest, start - limit) if start > earliest else None
    nxt: int | None
    if offsets:
        nxt = max(offsets[-1] + 1, position or 0)
    else:
        nxt = position if position is not None and position > start else None
    if nxt is not None and nxt >= latest:
        nxt = None
    return Page(offset=start, limit=limit, prev=prev, next=nxt)
