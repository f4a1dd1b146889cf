"""The console never holds its event loop: a backend call that blocks (a slow cluster) runs on the
console's thread pool while the same loop keeps answering pages, static files and the throughput
counters; and a backend's refusals and failures become JSON errors with their statuses.

The backend here is a ConsoleBackend that blocks on an event or raises: it stands for a slow or
failing cluster at the console's own port, not for a Kafka client."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kbroker.console import add_routes
from kbroker.console.backend import ConsoleError

BOUND = 30.0


class SlowCluster:
    """``overview`` waits until released; ``topic`` refuses or fails by name."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.closed = False

    def overview(self) -> dict[str, Any]:
        self.entered.set()
        assert self.release.wait(BOUND), "never released"
        return {"cluster_id": "c", "controller": 1, "brokers": [], "topics": 0, "partitions": 0}

    def topic(self, name: str) -> dict[str, Any]:
        if name == "missing":
            raise ConsoleError("topic 'missing' does not exist", not_found=True)
        if name == "refused":
            raise ConsoleError("INVALID_CONFIG: retention.ms")
        raise RuntimeError("the cluster fell over")

    def close(self) -> None:
        self.closed = True


async def _wait(event: threading.Event) -> None:
    deadline = time.monotonic() + BOUND
    while not event.is_set():
        assert time.monotonic() < deadline, "the backend call never started"
        await asyncio.sleep(0.01)


def test_a_blocked_backend_call_does_not_hold_the_loop():
    backend = SlowCluster()

    async def main() -> None:
        app = web.Application()
        add_routes(app, bootstrap="127.0.0.1:1", backend=backend,  # type: ignore[arg-type]
                   totals=lambda: {"bytes_in": 10, "bytes_out": 20, "messages_in": 1})
        async with TestClient(TestServer(app)) as c:
            slow = asyncio.create_task(c.get("/api/overview"))
            await _wait(backend.entered)
            # the overview is still waiting on the cluster; everything else is answered meanwhile
            for path in ("/", "/topics", "/static/app.js"):
                assert (await c.get(path)).status == 200
            t = await (await c.get("/api/throughput")).json()
            assert (t["source"], t["bytes_in"], t["bytes_out"], t["messages_in"]) == ("metrics", 10, 20, 1)
            assert not slow.done()
            backend.release.set()
            r = await asyncio.wait_for(slow, BOUND)
            assert r.status == 200 and (await r.json())["cluster_id"] == "c"
        assert backend.closed  # the app's cleanup closes the backend

    asyncio.run(main())


def test_refusals_and_failures_are_json_errors():
    async def main() -> None:
        app = web.Application()
        add_routes(app, bootstrap="127.0.0.1:1", backend=SlowCluster())  # type: ignore[arg-type]
        async with TestClient(TestServer(app)) as c:
            for name, status, text in (("missing", 404, "does not exist"), ("refused", 400, "INVALID_CONFIG"),
                                       ("broken", 502, "RuntimeError: the cluster fell over")):
                r = await c.get(f"/api/topics/{name}")
                assert r.status == status and text in (await r.json())["error"], name
            bad = await c.post("/api/topics", data=b"not json", headers={"Content-Type": "application/json"})
            assert bad.status == 400 and "JSON object" in (await bad.json())["error"]
            r = await c.get("/api/topics/x/messages?partition=one")
            assert r.status == 400 and "partition must be an integer" in (await r.json())["error"]

    asyncio.run(main())
