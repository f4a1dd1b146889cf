"""The asyncio listener and per-connection request loop.

Each connection decodes frames as bytes arrive and serves its requests one at a time
in arrival order (as Kafka does: a connection's next request is read only after the
previous response is queued), so responses always go out in request order.

Kafka's rules for bad input: a frame size below 0 or above socket.request.max.bytes,
an unknown API key, an unsupported version of any API but ApiVersions, or a body that
does not parse closes the connection; an ApiVersions request at an unknown version
gets the v0-format reply with UNSUPPORTED_VERSION and the broker's own ranges.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import socket
from time import perf_counter
from typing import Any

from kbroker.context import RequestContext, Services
from kbroker.registry import HANDLERS, CloseConnection, supported_versions
from wire.codec import (
    RequestError,
    UnsupportedVersion,
    api_versions_fallback,
    decode_request,
    encode_response,
)
from wire.framing import FrameDecoder, FrameTooLarge
from wire.headers import API_VERSIONS_KEY
from wire.primitives import Writer

log = logging.getLogger("kbroker.server")

_MAX_QUEUED = 64  # frames buffered per connection before reading pauses
_HIGH_WATER = 4 << 20


class _FdFile:
    """What loop.sendfile wants of a file: fileno() and seek()."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def seek(self, *_: Any) -> None:
        pass


class Connection(asyncio.Protocol):
    def __init__(self, services: Services, connections: set[Any]) -> None:
        self.connections = connections
        self.decoder = FrameDecoder(services.config.socket_request_max_bytes)
        self.queue: collections.deque[bytearray] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.wakeup: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.reading_paused = False
        self.task: asyncio.Task[None] | None = None
        self.ctx = RequestContext(services)
        self.sendfile = services.config.get("fetch.transfer") == "sendfile"
        self.requests = services.requests  # counters (kbroker.metrics.counters)

    # ------------------------------------------------------------ protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        peer = transport.get_extra_info("peername")
        self.ctx.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        transport.set_write_buffer_limits(high=_HIGH_WATER)
        self.connections.add(self)
        self.requests.connections_created += 1
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.decoder.feed(data)
        except FrameTooLarge as e:
            log.info("closing %s: %s", self.ctx.peer, e)
            self.close()
            return
        if not frames:
            return
        self.queue.extend(frames)
        if len(self.queue) > _MAX_QUEUED and not self.reading_paused and self.transport:
            self.transport.pause_reading()
            self.reading_paused = True
        w = self.wakeup
        if w is not None and not w.done():
            w.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.requests.connections_closed += 1
        self.connections.discard(self)
        for fut in (self.wakeup, self.drain_waiter):
            if fut is not None and not fut.done():
                fut.set_result(None)

    def pause_writing(self) -> None:
        if self.drain_waiter is None or self.drain_waiter.done():
            self.drain_waiter = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        w = self.drain_waiter
        if w is not None and not w.done():
            w.set_result(None)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        w = self.wakeup
        if w is not None and not w.done():
            w.set_result(None)

    # ------------------------------------------------------------ request loop
    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not self.closed:
                if not self.queue:
                    self.wakeup = loop.create_future()
                    await self.wakeup
                    self.wakeup = None
                    continue
                frame = self.queue.popleft()
                if self.reading_paused and len(self.queue) < _MAX_QUEUED // 2 and self.transport:
                    self.reading_paused = False
                    self.transport.resume_reading()
                await self._handle(frame)
                if self.drain_waiter is not None and not self.drain_waiter.done():
                    await self.drain_waiter
        except CloseConnection as e:
            log.info("closing %s: %s", self.ctx.peer, e)
            self.close()
        except (ConnectionError, OSError) as e:
            log.debug("connection %s: %s", self.ctx.peer, e)
            self.close()
        except asyncio.CancelledError:
            self.close()
            raise
        except Exception:
            log.exception("unexpected error serving %s; closing it", self.ctx.peer)
            self.close()

    async def _handle(self, frame: bytearray) -> None:
        try:
            req = decode_request(frame, HANDLERS)
        except UnsupportedVersion as e:
            if e.api_key != API_VERSIONS_KEY:
                raise CloseConnection(str(e)) from None
            self._write(api_versions_fallback(e.correlation_id, supported_versions()))
            return
        except RequestError as e:
            raise CloseConnection(str(e)) from None
        started = perf_counter()
        ctx = self.ctx
        ctx.api_version = req.api_version
        ctx.correlation_id = req.correlation_id
        ctx.client_id = req.client_id
        resp = await HANDLERS[req.api_key].fn(ctx, req.body)
        if resp is not None and not self.closed:
            out = encode_response(req, resp)
            if out.inserts:
                await self._write_with_slices(out)
            else:
                self._write(out)
        self.requests.observe(req.api_key, (perf_counter() - started) * 1000, resp)

    def _write(self, data: bytes | bytearray) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    async def _write_with_slices(self, out: Writer) -> None:
        """Writes a response whose record data lives in segment files."""
        assert self.transport is not None
        start = 0
        if not self.sendfile:
            parts: list[Any] = []
            mv = memoryview(out)
            for pos, sl in out.inserts:
                parts.append(mv[start:pos])
                try:
                    with sl.use() as fd:  # pinned for this read (storage.handles)
                        data = os.pread(fd, sl.length, sl.position)
                except OSError as exc:
                    raise CloseConnection(f"segment closed while a fetch response was built: {exc}") from None
                if len(data) != sl.length:  # the file changed under us: pad so the frame stays whole
                    data = data + bytes(sl.length - len(data))
                parts.append(data)
                start = pos
            parts.append(mv[start:])
            if not self.closed:
                self.transport.writelines(parts)
            return
        loop = asyncio.get_running_loop()
        for pos, sl in out.inserts:
            self._write(bytes(out[start:pos]))
            start = pos
            if self.closed:
                return
            try:
                use = sl.use()
                fd = use.__enter__()  # pinned across the sendfile's awaits (storage.handles)
            except OSError:
                # The segment was closed (topic deleted) while earlier parts were sent: the
                # frame cannot be completed, so the connection must go.
                raise CloseConnection("segment closed while a fetch response was being sent") from None
            try:
                await loop.sendfile(self.transport, _FdFile(fd), sl.position, sl.length)  # type: ignore[arg-type]
            finally:
                use.__exit__(None, None, None)
        self._write(bytes(out[start:]))


_ACCEPT_LOG_INTERVAL = 10.0  # seconds between two reports of failing accepts


class _AcceptErrorLimiter:
    """asyncio reports every failed accept() (EMFILE, ENFILE, ENOBUFS ...) with a traceback; it already
    pauses accepting for a second after each. Log such failures once per interval, with a count and
    without the traceback, and pass every other report on to the previous handler."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous
        self.suppressed = 0
        self.last = -_ACCEPT_LOG_INTERVAL

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and "accept" in str(context.get("message", "")):
            now = loop.time()
            if now - self.last >= _ACCEPT_LOG_INTERVAL:
                more = f" ({self.suppressed} more since the last report)" if self.suppressed else ""
                log.error("cannot accept connections: %s%s; retrying", exc, more)
                self.last, self.suppressed = now, 0
            else:
                self.suppressed += 1
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


def bind_ephemeral(host: str) -> socket.socket:
    """A TCP socket bound to ``host`` on a port the OS chooses (a listener configured with port 0): one
    address only, so the broker has a single real port to advertise."""
    family = socket.getaddrinfo(host or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    return socket.create_server((host, 0), family=family)


async def start_server(services: Services, connections: set[Any], host: str, port: int,
                       sock: socket.socket | None = None) -> asyncio.Server:
    """Listen on ``host:port``, or on the already bound ``sock`` when given; every connection is served
    with ``services`` and kept in ``connections`` while open (the broker closes them at shutdown)."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop.get_exception_handler(), _AcceptErrorLimiter):
        loop.set_exception_handler(_AcceptErrorLimiter(loop.get_exception_handler()))
    factory = lambda: Connection(services, connections)  # noqa: E731
    if sock is not None:
        return await loop.create_server(factory, sock=sock, backlog=1024)
    return await loop.create_server(factory, host, port, reuse_address=True, backlog=1024)
