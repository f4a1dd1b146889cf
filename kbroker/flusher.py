"""Flushing: group commit for the requests that need their data on disk before they answer
(``flush_soon``: every caller in one loop tick shares one fsync pass, run on a worker thread), and
the ``flush.ms`` / ``flush.messages`` timer (``log.flush.interval.*``) for logs that ask for it."""

from __future__ import annotations

import asyncio

from kbroker.background import cancel_and_wait
from kbroker.clock import now_ms
from storage.log import PartitionLog
from storage.topics import LogManager


def _flush_each(logs: list[PartitionLog]) -> None:
    for lg in logs:
        lg.flush()


class Flusher:
    def __init__(self, logs: LogManager) -> None:
        self._logs = logs
        self._pending: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def flush_soon(self) -> None:
        """Waits for one fsync pass that covers everything appended before the call."""
        fut = self._pending
        if fut is None or fut.done():
            loop = asyncio.get_running_loop()
            fut = self._pending = loop.create_future()
            loop.call_soon(self._start_flush, fut)
        await asyncio.shield(fut)

    def _start_flush(self, fut: asyncio.Future[None]) -> None:
        if self._pending is fut:
            self._pending = None
        task = asyncio.get_running_loop().run_in_executor(None, _flush_each, list(self._logs.logs().values()))

        def done(t: asyncio.Future[None]) -> None:
            if not fut.done():
                exc = t.exception()
                if exc is not None:
                    fut.set_exception(exc)
                else:
                    fut.set_result(None)

        task.add_done_callback(done)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        """Honours flush.ms / log.flush.interval.ms for logs that ask for it."""
        while True:
            await asyncio.sleep(0.05)
            due = self._logs.logs_needing_flush(now_ms())
            if due:
                await asyncio.get_running_loop().run_in_executor(None, _flush_each, due)
