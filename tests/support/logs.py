"""A partition log read directly (no broker), for the storage tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage import PartitionLog
from wire.records import iter_batches


def read_all(log: PartitionLog, max_bytes: int = 1 << 20, check: Callable[[bytes], Any] | None = None) -> bytes:
    """Every stored byte from the log start to the log end, read ``max_bytes`` at a time; ``check``,
    when given, is called on each piece read."""
    out = bytearray()
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read_bytes(offset, max_bytes)
        assert data, f"nothing readable at {offset} below the log end {log.log_end_offset}"
        if check is not None:
            check(data)
        out += data
        *_, (_, last) = iter_batches(data)
        offset = last.next_offset
    return bytes(out)
