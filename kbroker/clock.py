"""The broker's clock: wall-clock milliseconds, as Kafka's timestamps count them."""

from __future__ import annotations

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
