"""The HTTP application: ``GET /metrics`` (Prometheus' text format) and whatever the setups add.

``setups`` are callables taking the ``web.Application`` and adding their routes (the web console
mounts itself at ``/`` this way); without any, ``/`` answers a short plain-text page pointing at
``/metrics``.  A scrape renders the registry on the event loop: the collector reads state only the
loop may touch, and it takes a few milliseconds for thousands of partitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Setup = Callable[[web.Application], None]


def build_app(metrics_source: CollectorRegistry, setups: Sequence[Setup] = ()) -> web.Application:
    app = web.Application()

    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(metrics_source)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
    for setup in setups:
        setup(app)
    if not setups:
        async def index(_request: web.Request) -> web.Response:
            return web.Response(text="kbroker: Prometheus metrics at /metrics\n")

        app.router.add_get("/", index)
    return app
