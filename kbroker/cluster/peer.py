"""A connection from this broker to another one (a follower to its leader), speaking the Kafka
protocol through the sans-IO codec (``wire.codec``): one request at a time, each with a timeout.
``PeerPool``: a connection per broker for the coordinators' broker-to-broker requests."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from wire.codec import decode_response, encode_request

_SIZE = struct.Struct(">i")


class PeerError(Exception):
    pass


class PeerConnection:
    def __init__(self, host: str, port: int, client_id: str, timeout_s: float) -> None:
        self.host, self.port = host, port
        self._client_id = client_id
        self._timeout = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._corr = 0

    async def _connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self._timeout)
        except (OSError, TimeoutError) as e:
            raise PeerError(f"cannot connect to {self.host}:{self.port}: {e}") from None

    async def request(self, body: Any, version: int, timeout_s: float | None = None) -> Any:
        if self._writer is None:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        self._corr = (self._corr + 1) & 0x7FFFFFFF
        corr = self._corr
        try:
            self._writer.write(encode_request(body, version, corr, self._client_id))
            await self._writer.drain()
            size_b = await asyncio.wait_for(self._reader.readexactly(4), timeout_s or self._timeout)
            (size,) = _SIZE.unpack(size_b)
            frame = await asyncio.wait_for(self._reader.readexactly(size), timeout_s or self._timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
            self.close()
            raise PeerError(f"{self.host}:{self.port}: {type(e).__name__} {e}") from None
        got, resp = decode_response(frame, body.API_KEY, version)
        if got != corr:
            self.close()
            raise PeerError(f"{self.host}:{self.port}: correlation id {got}, expected {corr}")
        return resp

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class PeerPool:
    """One connection per other broker for the coordinators' requests (WriteTxnMarkers, the KIP-890
    verification), one request at a time on each; an address change or an error opens a new one."""

    def __init__(self, client_id: str, timeout_s: float = 30.0) -> None:
        self._client_id = client_id
        self._timeout = timeout_s
        self._conns: dict[int, tuple[PeerConnection, asyncio.Lock]] = {}

    async def request(self, broker_id: int, host: str, port: int, body: Any, version: int,
                      timeout_s: float | None = None) -> Any:
        """The response, or PeerError (no connection, a timeout, a broken frame)."""
        entry = self._conns.get(broker_id)
        if entry is None or (entry[0].host, entry[0].port) != (host, port):
            if entry is not None:
                entry[0].close()
            entry = self._conns[broker_id] = (PeerConnection(host, port, self._client_id, self._timeout),
                                              asyncio.Lock())
        conn, lock = entry
        async with lock:
            return await conn.request(body, version, timeout_s)

    def close(self) -> None:
        for conn, _ in self._conns.values():
            conn.close()
        self._conns.clear()
