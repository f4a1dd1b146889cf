"""What every client scenario shares and the broker probes need too: the bound on one step, the
two ways a scenario ends early, and a deadline.  Kept apart from ``common`` (the scenarios'
records and checks) so ``probe`` can use them without importing ``common``, which uses ``probe``."""

from __future__ import annotations

import time

#: Upper bound for any single consume or produce step, so that a hang fails instead of blocking.
STEP_TIMEOUT = 90.0


class ScenarioSkipped(Exception):
    """The scenario cannot run here (a tool or codec is missing); the reason is the message."""


class ScenarioFailed(AssertionError):
    """The client and the broker disagreed; the message says where."""


class Deadline:
    def __init__(self, seconds: float = STEP_TIMEOUT) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0
