"""Bounded waits: a condition is polled until it holds or a timeout passes, and a timeout fails the
test with what was awaited.  Nothing here asserts on how long something took."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

WAIT = 90.0
"""The default upper bound of a wait: a hang fails instead of blocking."""


def wait_for(predicate: Callable[[], T], step: Callable[[], Any] | None = None, timeout: float = WAIT,
             what: str = "condition", interval: float = 0.1) -> T:
    """Polls ``predicate`` until it returns something truthy, and returns that; between polls calls
    ``step`` (when given: a client's poll, say) or sleeps ``interval`` seconds.  Raises
    AssertionError once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        if step is not None:
            step()
        else:
            time.sleep(interval)
