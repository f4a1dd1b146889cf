"""One registry of API handlers: it drives both dispatch and the ApiVersions answer,
so the broker never advertises a version it cannot serve."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wire.messages import RESPONSES


class CloseConnection(Exception):
    """Raised by a handler when Kafka would close the connection."""


@dataclass(frozen=True, slots=True)
class Handler:
    api_key: int
    request_cls: Any  # a generated message class (they share no base class)
    response_cls: Any
    min_version: int
    max_version: int
    fn: Callable[[Any, Any], Awaitable[Any]]


HANDLERS: dict[int, Handler] = {}


def handler(request_cls: Any, versions: tuple[int, int]) -> Callable:
    lo, hi = versions
    key = request_cls.API_KEY
    if not (request_cls.MIN_VERSION <= lo <= hi <= request_cls.MAX_VERSION):
        raise ValueError(f"{request_cls.__name__}: versions {versions} outside the generated range")

    def register(fn: Callable) -> Callable:
        if key in HANDLERS:
            raise ValueError(f"API key {key} registered twice")
        HANDLERS[key] = Handler(key, request_cls, RESPONSES[key], lo, hi, fn)
        return fn

    return register


def supported_versions() -> list[tuple[int, int, int]]:
    return sorted((h.api_key, h.min_version, h.max_version) for h in HANDLERS.values())
