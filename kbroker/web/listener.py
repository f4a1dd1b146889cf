"""Binds the HTTP application to ``http.listeners`` (``http://HOST:PORT``; port 0 takes a free port,
and ``port`` tells which) and stops it.  Runs in the broker's event loop; access logging is off."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiohttp import web
from prometheus_client import CollectorRegistry

from kbroker.web.app import Setup, build_app

log = logging.getLogger("kbroker.web")


class HttpListener:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> HttpListener:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = addresses[0][1]
        return self

    async def stop(self) -> None:
        try:
            await self._runner.cleanup()
        except Exception:
            log.exception("stopping the HTTP listener failed")


async def start_http(host: str, port: int, registry: CollectorRegistry, setups: Sequence[Setup] = ()) -> HttpListener:
    """Serve ``build_app(registry, setups)`` on ``host:port``; the bound port is logged."""
    listener = await HttpListener(build_app(registry, setups), host, port).start()
    log.info("kbroker http on %s:%d (console at /, metrics at /metrics)", host, listener.port)
    return listener
