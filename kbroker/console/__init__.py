"""The web console: a few HTML pages and a small JSON API on aiohttp, mounted at ``/`` of an
application (the broker's HTTP listener, or the standalone server of ``python -m kbroker.console``).

Pages (each the same shell, kbroker/console/static/index.html; app.js draws the page its path names
from the JSON API): ``/`` overview with live throughput charts, ``/topics``, ``/topics/NAME``,
``/messages`` (the message browser), ``/produce``, ``/groups``, ``/groups/ID``. The API is in
kbroker.console.api; what it reads and changes goes through one ConsoleBackend (kbroker.console.backend),
a blocking client called on a small thread pool so that the event loop serving the console (and, when
mounted in the broker, the broker itself) never waits on it. Plain HTML, CSS and JavaScript, no CDN and
no build step: the static files ship in the package.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from kbroker.console.api import BACKEND, EXECUTOR, TOTALS, add_api_routes
from kbroker.console.backend import ConsoleBackend

STATIC = Path(__file__).parent / "static"
PAGES = ("/", "/topics", "/topics/{name}", "/messages", "/produce", "/groups", "/groups/{group}")
WORKERS = 4
"""Threads for backend calls: enough for a few browser tabs, few enough to leave the broker its CPU."""


def add_routes(app: web.Application, *, bootstrap: str, totals: Callable[[], Any] | None = None,
               backend: ConsoleBackend | None = None) -> None:
    """Mounts the console on ``app`` at ``/``, reading the cluster at ``bootstrap`` (host:port).

    ``totals`` returns the broker's cumulative counters since it started: an object with
    ``bytes_in``, ``bytes_out`` and ``messages_in`` attributes (kbroker.metrics' traffic totals) or a
    dict with those keys; without it the throughput charts are derived from the partitions' end
    offsets and sizes. ``backend`` replaces the client
    built from ``bootstrap``."""
    if backend is None:
        from kbroker.console.admin_backend import AdminBackend

        backend = AdminBackend(bootstrap)
    app[BACKEND] = backend
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="console")
    app[TOTALS] = totals
    add_api_routes(app)
    for path in PAGES:
        app.router.add_get(path, _page)
    app.router.add_static("/static/", STATIC, append_version=True)
    app.on_cleanup.append(_close)


def setup(*, bootstrap: str, totals: Callable[[], Any] | None = None) -> Callable[[web.Application], None]:
    """``add_routes`` with its arguments bound: one of the ``setups`` an HTTP app factory calls."""
    return functools.partial(add_routes, bootstrap=bootstrap, totals=totals)


async def _page(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC / "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


async def _close(app: web.Application) -> None:
    app[EXECUTOR].shutdown(wait=False, cancel_futures=True)
    app[BACKEND].close()
