"""Mode ``thread``: the broker runs in this process, on its own thread's asyncio event loop.

The thread runs ``kbroker.cli.serve`` — the same start-up and shutdown as ``kbroker serve`` — with a
stop event instead of signals (a thread other than the main one cannot take signals). ``asyncio.run``
owns the loop, so at the end the leftover tasks are cancelled and the loop's default executor (where
the broker's blocking disk work runs) is shut down: a stopped broker leaves no thread behind.

What the broker shares with the test process: the interpreter (one GIL, so a busy test and the broker
take turns), the process-wide segment file-descriptor cache (``storage.handles``, thread-safe), the
idle decode pool of ``kbroker.partition`` and the ``kbroker`` loggers (pytest captures them).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from kbroker.testing.errors import BrokerCrashed


class ThreadRunner:
    """One broker thread: ``start`` returns (host, port) once it listens, ``stop`` ends and joins it."""

    def __init__(self, props: dict[str, str], name: str) -> None:
        self.props = props
        self.name = name
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._address: tuple[str, int] | None = None

    def start(self, timeout: float) -> tuple[str, int]:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        # the thread sets _ready once it listens, or when it ends (a start-up failure)
        if not self._ready.wait(timeout):
            self.stop(timeout)
            raise BrokerCrashed(f"the broker thread did not start within {timeout}s")
        if self._address is None:
            self._thread.join(timeout)
            raise BrokerCrashed(f"the broker failed to start: {self.error!r}") from self.error
        return self._address

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 - every way out of the loop is reported by check/stop
            self.error = e
        finally:
            self._ready.set()

    async def _main(self) -> None:
        from kbroker.cli import serve
        from kbroker.config import BrokerConfig

        config = BrokerConfig(self.props)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stopping:  # stop() came before the loop existed
            self._stop.set()
        ready = asyncio.Event()
        server: asyncio.Task[Any] = asyncio.ensure_future(serve(config, ready, self._stop))
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait({server, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            lst = config.listener  # the real port: serve() resolved a configured port 0
            self._address = (lst.host, lst.port)
            self._ready.set()
        else:
            waiter.cancel()
        await server  # a failure of serve() (at start-up or later) is raised from here

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def check(self) -> None:
        """Raises ``BrokerCrashed`` when the broker thread has ended without being asked to."""
        if self._thread is not None and not self._thread.is_alive() and not self._stopping:
            raise BrokerCrashed(f"the broker thread ended on its own: {self.error!r}") from self.error

    def stop(self, timeout: float) -> None:
        """Ends the broker and joins its thread; raises ``BrokerCrashed`` if it had crashed, or
        failed to stop cleanly."""
        crashed = self._thread is not None and not self._thread.is_alive() and not self._stopping
        self._stopping = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop is already closed: the thread has ended
                pass
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise BrokerCrashed(f"the broker thread did not stop within {timeout}s")
        if self.error is not None and (crashed or not isinstance(self.error, asyncio.CancelledError)):
            raise BrokerCrashed(f"the broker thread failed: {self.error!r}") from self.error
