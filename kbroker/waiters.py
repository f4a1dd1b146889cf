"""Long-poll waiters: a Fetch with less than ``min_bytes`` available parks a future on each of its
partitions, and an append to (or the deletion of) any of them wakes it.  Event loop only."""

from __future__ import annotations

import asyncio

TopicPartition = tuple[str, int]


class AppendWaiters:
    def __init__(self) -> None:
        self._waiters: dict[TopicPartition, list[asyncio.Future[None]]] = {}

    def add(self, tps: list[TopicPartition]) -> asyncio.Future[None]:
        """A future woken by the next append to any of ``tps``; pass it to ``remove`` afterwards."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for tp in tps:
            self._waiters.setdefault(tp, []).append(fut)
        return fut

    def remove(self, tps: list[TopicPartition], fut: asyncio.Future[None]) -> None:
        for tp in tps:
            ws = self._waiters.get(tp)
            if ws is not None:
                try:
                    ws.remove(fut)
                except ValueError:
                    pass
                if not ws:
                    del self._waiters[tp]

    def notify(self, topic: str, partition: int) -> None:
        """Records were appended to (or the partition went away from) ``topic``-``partition``."""
        if self._waiters:
            ws = self._waiters.pop((topic, partition), None)
            if ws:
                for fut in ws:
                    if not fut.done():
                        fut.set_result(None)

    def wake_all(self) -> None:
        """Shutdown: every parked fetch answers with what it has."""
        for ws in self._waiters.values():
            for fut in ws:
                if not fut.done():
                    fut.set_result(None)
        self._waiters.clear()
