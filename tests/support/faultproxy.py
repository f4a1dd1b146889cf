"""A TCP proxy on loopback that loses some Produce responses, for idempotence tests.

It runs its own asyncio loop in a thread, accepts client connections, and for each opens one to the
broker and pumps bytes both ways. It reads the frames (size prefix + request header) only to learn
each request's API key and correlation id. A chosen fraction of Produce requests is forwarded to the
broker as usual, but their responses never reach the client:

- ``mode="close"``: when the broker's response to a chosen request arrives (so the write happened),
  it is dropped and both connections are closed. The client sees its in-flight requests fail and
  retries them, up to five of them already written.
- ``mode="withhold"``: the response and every later one on that connection are held back (responses
  are in order, so nothing after it could be delivered either) until the client gives up on the
  request (request.timeout.ms), closes the connection and retries.

Clients must keep talking through the proxy after bootstrapping: start the proxy first (``start()``
binds its port) and run the broker with ``advertised.listeners`` set to the proxy's address, then tell
the proxy where the broker really is (``target``).
"""

from __future__ import annotations

import asyncio
import random
import struct
import threading
from dataclasses import dataclass, field

from wire.framing import FrameDecoder
from wire.headers import peek_request_header

_I32 = struct.Struct(">i")
PRODUCE = 0


@dataclass
class Stats:
    connections: int = 0
    produce_requests: int = 0
    dropped: int = 0
    dropped_correlation_ids: list[int] = field(default_factory=list)


class FaultProxy:
    def __init__(self, drop_rate: float = 0.1, mode: str = "close", max_drops: int = 1_000_000,
                 seed: int = 1, skip_first: int = 0) -> None:
        assert mode in ("close", "withhold")
        self.broker = ("127.0.0.1", 0)
        self.drop_rate = drop_rate
        self.mode = mode
        self.max_drops = max_drops
        self.skip_first = skip_first  # never drop the first N produce requests
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def target(self, bootstrap: str) -> FaultProxy:
        host, port = bootstrap.rsplit(":", 1)
        self.broker = (host, int(port))
        return self

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for w in list(self._writers):
                w.close()
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ one connection
    async def _serve(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            breader, bwriter = await asyncio.open_connection(*self.broker)
        except OSError:
            cwriter.close()
            return
        self._writers.update((cwriter, bwriter))
        pending: dict[int, tuple[int, int]] = {}  # correlation id -> (api key, version)
        doomed: set[int] = set()
        closed = asyncio.Event()

        def close_both() -> None:
            closed.set()
            cwriter.close()
            bwriter.close()

        async def upstream() -> None:
            decoder = FrameDecoder(max_size=2**31 - 1)
            while not closed.is_set():
                data = await creader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    key, version, corr = peek_request_header(frame)
                    pending[corr] = (key, version)
                    if key == PRODUCE:
                        self.stats.produce_requests += 1
                        if (self.stats.produce_requests > self.skip_first
                                and self.stats.dropped < self.max_drops
                                and self.rng.random() < self.drop_rate):
                            doomed.add(corr)
                            self.stats.dropped += 1
                            self.stats.dropped_correlation_ids.append(corr)
                    bwriter.write(_I32.pack(len(frame)) + bytes(frame))
                await bwriter.drain()

        async def downstream() -> None:
            decoder = FrameDecoder(max_size=2**31 - 1)
            withholding = False
            while not closed.is_set():
                data = await breader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    (corr,) = _I32.unpack_from(frame, 0)
                    pending.pop(corr, None)
                    if corr in doomed:
                        if self.mode == "close":
                            close_both()
                            return
                        withholding = True
                    if withholding:
                        continue
                    cwriter.write(_I32.pack(len(frame)) + bytes(frame))
                await cwriter.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            close_both()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._writers.discard(cwriter)
            self._writers.discard(bwriter)


def proxied_broker(broker_factory, mode: str = "close", drop_rate: float = 0.05, seed: int = 1,
                   overrides: dict[str, str] | None = None):
    """(proxy, broker): a broker from the tests' ``broker_factory`` fixture that advertises a started
    FaultProxy in front of it. Stop the proxy when done (the fixture stops the broker)."""
    proxy = FaultProxy(drop_rate=drop_rate, mode=mode, skip_first=3, seed=seed).start()
    b = broker_factory({**(overrides or {}), "advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
    proxy.target(b.bootstrap)
    return proxy, b
