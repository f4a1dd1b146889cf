"""Size-prefixed frames: an int32 length, then that many bytes.

``FrameDecoder`` is fed whatever bytes arrive (any split, one byte at a time is fine)
and hands back whole frames.  A negative size, or one above ``max_size``
(``socket.request.max.bytes``), raises ``FrameTooLarge``: Kafka closes the
connection then, and so does the server.

Frames are written by ``wire.codec``, which puts the size in front of each message.
"""

from __future__ import annotations

import struct

_SIZE = struct.Struct(">i")


class FrameTooLarge(ValueError):
    pass


class FrameDecoder:
    __slots__ = ("max_size", "_buf", "_need")

    def __init__(self, max_size: int = 104857600) -> None:
        self.max_size = max_size
        self._buf = bytearray()
        self._need = -1  # size of the frame being collected, -1 = reading the size

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytearray]:
        """Add bytes; return the frames completed by them (each a fresh bytearray)."""
        buf = self._buf
        buf += data
        frames: list[bytearray] = []
        pos = 0
        n = len(buf)
        while True:
            if self._need < 0:
                if n - pos < 4:
                    break
                (size,) = _SIZE.unpack_from(buf, pos)
                if size < 0 or size > self.max_size:
                    raise FrameTooLarge(f"frame size {size} outside 0..{self.max_size}")
                self._need = size
                pos += 4
            if n - pos < self._need:
                break
            frames.append(buf[pos:pos + self._need])
            pos += self._need
            self._need = -1
        if pos:
            del buf[:pos]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)
