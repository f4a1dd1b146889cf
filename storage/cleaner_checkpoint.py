"""The cleaner's checkpoint of one partition directory: ``cleaner-offset-checkpoint``.

Format (ASCII): ``0`` (version), the first dirty offset, the earliest delete horizon of a kept
tombstone (-1: none), one per line; replaced with tmp → fsync → rename (``storage.checkpoint``).
Below both the log (truncation lowers it) and the cleaner (``storage.cleaner.plan`` reads it,
``storage.cleaner.run`` writes it after a pass)."""

from __future__ import annotations

from pathlib import Path

from .checkpoint import write_atomic

__all__ = ["CHECKPOINT_FILE", "read_checkpoint", "write_checkpoint"]

CHECKPOINT_FILE = "cleaner-offset-checkpoint"


def read_checkpoint(directory: Path) -> tuple[int, int]:
    """(first dirty offset, earliest delete horizon of a kept tombstone or -1); (0, -1) if absent."""
    try:
        parts = (directory / CHECKPOINT_FILE).read_text("ascii").split()
        if len(parts) == 3 and parts[0] == "0":
            return int(parts[1]), int(parts[2])
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    return 0, -1


def write_checkpoint(directory: Path, first_dirty: int, earliest_horizon_ms: int) -> None:
    write_atomic(directory / CHECKPOINT_FILE, b"0\n%d\n%d\n" % (first_dirty, earliest_horizon_ms))
