"""One registry of API handlers: it drives both dispatch and the ApiVersions answer,
so the broker never advertises a version it cannot serve.

The table of what is served is ``kbroker.apis.SERVED`` (API key -> module and version range);
``HANDLERS`` imports an API's module on the first lookup of its key (the module's ``@handler``
registers it), so a broker starts without loading every handler and the message classes they use.
After that first lookup ``HANDLERS[key]`` is a plain dict lookup (wire.lazy)."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kbroker.apis import SERVED
from wire.lazy import LazyTable
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


def _import_handler(key: int, module: str) -> Handler:
    importlib.import_module(f"kbroker.apis.{module}")
    try:
        return dict.__getitem__(HANDLERS, key)  # put there by the module's @handler
    except KeyError:
        raise LookupError(f"kbroker.apis.{module} registered no handler for API key {key}") from None


HANDLERS: dict[int, Handler] = LazyTable({key: module for key, (module, _, _) in SERVED.items()}, _import_handler)


def handler(request_cls: Any, versions: tuple[int, int]) -> Callable:
    lo, hi = versions
    key = request_cls.API_KEY
    if not (request_cls.MIN_VERSION <= lo <= hi <= request_cls.MAX_VERSION):
        raise ValueError(f"{request_cls.__name__}: versions {versions} outside the generated range")
    served = SERVED.get(key)
    if served is None or served[1:] != (lo, hi):
        raise ValueError(f"{request_cls.__name__}: versions {versions} are not kbroker.apis.SERVED's "
                         f"{SERVED.get(key)}")

    def register(fn: Callable) -> Callable:
        if dict.__contains__(HANDLERS, key):
            raise ValueError(f"API key {key} registered twice")
        dict.__setitem__(HANDLERS, key, Handler(key, request_cls, RESPONSES[key], lo, hi, fn))
        return fn

    return register


def supported_versions() -> list[tuple[int, int, int]]:
    """(api_key, min, max) of every API served, without loading the handler modules."""
    return sorted((key, lo, hi) for key, (_, lo, hi) in SERVED.items())
