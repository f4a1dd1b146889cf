"""The console's JSON API under ``/api/``: parses the request, runs the backend call in the
console's thread pool (the event loop never waits on a Kafka client), and answers JSON.

Errors are JSON too: ``{"error": message}`` with 400 for a bad request or a refusal the user can
fix, 404 for something that does not exist, 502 when the cluster or the client failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from aiohttp import web

from kbroker.console import render
from kbroker.console.backend import ConsoleBackend, ConsoleError, NewTopic

log = logging.getLogger(__name__)

T = TypeVar("T")

BACKEND: web.AppKey[ConsoleBackend] = web.AppKey("console_backend", ConsoleBackend)
EXECUTOR: web.AppKey[Executor] = web.AppKey("console_executor", Executor)
TOTALS: web.AppKey[Callable[[], Any] | None] = web.AppKey("console_totals", object)  # type: ignore[arg-type]


async def _call(request: web.Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on the console's thread pool; ConsoleError and client failures
    become JSON error answers."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(request.app[EXECUTOR], lambda: fn(*args, **kwargs))
    except ConsoleError as e:
        raise _error(404 if e.not_found else 400, str(e)) from None
    except Exception as e:  # the cluster or the client failed: say so, keep serving
        log.warning("console: %s failed: %s", getattr(fn, "__name__", fn), e, exc_info=True)
        raise _error(502, f"{type(e).__name__}: {e}") from None


def _error(status: int, message: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 404: web.HTTPNotFound}.get(status, web.HTTPBadGateway)
    return cls(text=_dumps({"error": message}), content_type="application/json")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json(value: Any) -> web.Response:
    return web.json_response(value, dumps=_dumps)


def _int(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _error(400, f"{name} must be an integer, not {raw!r}") from None


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _error(400, "the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _error(400, "the request body must be a JSON object")
    return body


def _backend(request: web.Request) -> ConsoleBackend:
    return request.app[BACKEND]


async def overview(request: web.Request) -> web.Response:
    return _json(await _call(request, _backend(request).overview))


async def topics(request: web.Request) -> web.Response:
    return _json(await _call(request, _backend(request).topics))


async def topic(request: web.Request) -> web.Response:
    return _json(await _call(request, _backend(request).topic, request.match_info["name"]))


async def create_topic(request: web.Request) -> web.Response:
    body = await _body(request)
    name = str(body.get("name", "")).strip()
    if not name:
        raise _error(400, "a topic needs a name")
    try:
        partitions = int(body.get("partitions", 1))
        replication = int(body.get("replication_factor", 1))
    except (TypeError, ValueError):
        raise _error(400, "partitions and replication_factor must be integers") from None
    configs = body.get("configs") or {}
    if isinstance(configs, str):
        configs = parse_configs(configs)
    if not isinstance(configs, dict):
        raise _error(400, "configs must be an object of name: value")
    new = NewTopic(name=name, partitions=partitions, replication_factor=replication,
                   configs={str(k): str(v) for k, v in configs.items()})
    await _call(request, _backend(request).create_topic, new)
    return _json({"created": name})


def parse_configs(text: str) -> dict[str, str]:
    """``k=v`` pairs, one a line or comma-separated, as a user types them in the create form."""
    configs: dict[str, str] = {}
    for part in text.replace(",", "\n").splitlines():
        part = part.strip()
        if not part:
            continue
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            raise _error(400, f"config {part!r} is not name=value")
        configs[k.strip()] = v.strip()
    return configs


async def delete_topic(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await _call(request, _backend(request).delete_topic, name)
    return _json({"deleted": name})


async def messages(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    partition = _int(request, "partition", 0)
    offset = _int(request, "offset")
    ts_raw = request.query.get("timestamp", "").strip()
    timestamp = None
    if ts_raw and offset is None:
        try:
            timestamp = render.parse_time(ts_raw)
        except ValueError as e:
            raise _error(400, str(e)) from None
    limit = render.clamp_limit(_int(request, "limit"))
    assert partition is not None
    read = await _call(request, _backend(request).read, name, partition, offset=offset,
                       timestamp=timestamp, limit=limit)
    offsets = [r.offset for r in read.records]
    page = render.page_of(read.start, limit, read.earliest, read.latest, offsets, read.position)
    return _json({
        "topic": name, "partition": partition, "earliest": read.earliest, "latest": read.latest,
        "offset": page.offset, "limit": limit, "prev": page.prev, "next": page.next,
        "records": [render.render_record(r.partition, r.offset, r.timestamp, r.key, r.value, r.headers)
                    for r in read.records],
    })


async def produce(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    body = await _body(request)
    try:
        key_encoding = body.get("key_encoding") or "text"
        # an empty text key is no key (null), as producers' tools treat it
        key = None if key_encoding == "text" and not body.get("key") else \
            render.parse_input(body.get("key"), key_encoding)
        value = render.parse_input(body.get("value"), body.get("value_encoding") or "text")
        headers = [(str(h["key"]), render.parse_input(h.get("value"), h.get("encoding") or "text"))
                   for h in body.get("headers") or [] if str(h.get("key", "")).strip()]
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise _error(400, f"bad message: {e}") from None
    partition_raw = body.get("partition")
    try:
        partition = None if partition_raw in (None, "", "any") else int(partition_raw)
    except (TypeError, ValueError):
        raise _error(400, "partition must be an integer or empty") from None
    produced = await _call(request, _backend(request).produce, name, partition=partition, key=key,
                           value=value, headers=headers)
    return _json({"topic": name, "partition": produced.partition, "offset": produced.offset})


async def groups(request: web.Request) -> web.Response:
    return _json(await _call(request, _backend(request).groups))


async def group(request: web.Request) -> web.Response:
    return _json(await _call(request, _backend(request).group, request.match_info["group"]))


async def reset_offsets(request: web.Request) -> web.Response:
    group_id = request.match_info["group"]
    body = await _body(request)
    to = str(body.get("to", ""))
    if to not in ("earliest", "latest", "datetime"):
        raise _error(400, "to must be earliest, latest or datetime")
    timestamp = None
    if to == "datetime":
        try:
            timestamp = render.parse_time(str(body.get("datetime", "")))
        except ValueError as e:
            raise _error(400, str(e)) from None
    topic_name = str(body.get("topic") or "").strip() or None
    result = await _call(request, _backend(request).reset_offsets, group_id, topic_name, to=to,
                         timestamp=timestamp)
    return _json({"group_id": group_id, "offsets": result})


async def throughput(request: web.Request) -> web.Response:
    """Cumulative counters and the time they were read; the browser turns two of them into rates.
    From the broker's metrics when the console was given ``totals``, else from the partitions'
    end offsets and sizes (messages in and bytes stored, no bytes out)."""
    totals = request.app[TOTALS]
    now = int(time.time() * 1000)
    if totals is not None:
        t = totals()
        return _json({"time": now, "source": "metrics", "bytes_in": _total(t, "bytes_in"),
                      "bytes_out": _total(t, "bytes_out"), "messages_in": _total(t, "messages_in")})
    ends = await _call(request, _backend(request).end_totals)
    return _json({"time": now, "source": "offsets", "bytes_in": ends.get("bytes"), "bytes_out": None,
                  "messages_in": ends.get("messages")})


def _total(totals: Any, name: str) -> int | None:
    """One counter of a ``totals()`` read: an attribute (the broker's traffic totals) or a key; a
    counter that is itself a mapping gives its ``total``."""
    value = totals.get(name) if isinstance(totals, dict) else getattr(totals, name, None)
    if isinstance(value, dict):
        value = value.get("total")
    return int(value) if isinstance(value, (int, float)) else None


def add_api_routes(app: web.Application) -> None:
    app.router.add_get("/api/overview", overview)
    app.router.add_get("/api/topics", topics)
    app.router.add_post("/api/topics", create_topic)
    app.router.add_get("/api/topics/{name}", topic)
    app.router.add_delete("/api/topics/{name}", delete_topic)
    app.router.add_get("/api/topics/{name}/messages", messages)
    app.router.add_post("/api/topics/{name}/messages", produce)
    app.router.add_get("/api/groups", groups)
    app.router.add_get("/api/groups/{group}", group)
    app.router.add_post("/api/groups/{group}/reset-offsets", reset_offsets)
    app.router.add_get("/api/throughput", throughput)
