"""Leader epochs of one partition: which epoch led from which offset, as Kafka keeps them.

A single broker leads every partition from the moment it is created, and leadership never moves, so
a partition has one epoch, 0, starting at the log start offset, and it never changes. The cache still
holds a list so that the file and the lookups stay Kafka's if leadership ever can change.

File ``leader-epoch-checkpoint`` in the partition directory, Kafka's text format (ASCII, ``\\n`` line
ends)::

    0                     format version
    N                     number of entries
    <epoch> <offset>      N lines: the epoch and the first offset written in it, both increasing

Written with tmp → fsync → rename (``storage.checkpoint``) when a partition is created, or when the file
is missing or unreadable at open (a log from before leader epochs existed: epoch 0 from its start).
Appends stamp the current epoch into each batch's partitionLeaderEpoch field (outside the CRC).
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from pathlib import Path

from .checkpoint import write_atomic

__all__ = ["LeaderEpochCache", "CHECKPOINT_FILE", "UNDEFINED"]

log = logging.getLogger("storage.leader_epoch")

CHECKPOINT_FILE = "leader-epoch-checkpoint"
UNDEFINED = -1  # Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET
_VERSION = 0


class LeaderEpochCache:
    def __init__(self, directory: Path, log_start_offset: int) -> None:
        self.path = Path(directory) / CHECKPOINT_FILE
        self.entries: list[tuple[int, int]] = []
        try:
            self.entries = self._read()
        except (OSError, ValueError) as exc:
            if self.path.exists():
                log.warning("%s: unreadable (%s); starting again at epoch 0", self.path, exc)
        if not self.entries:
            self.entries = [(0, log_start_offset)]
            self._write()

    def _read(self) -> list[tuple[int, int]]:
        lines = self.path.read_text("ascii").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) < 2 or int(lines[0]) != _VERSION or int(lines[1]) != len(lines) - 2:
            raise ValueError("bad header")
        entries = []
        for line in lines[2:]:
            epoch_s, offset_s = line.split(" ")
            entries.append((int(epoch_s), int(offset_s)))
        for (e0, o0), (e1, o1) in zip(entries, entries[1:], strict=False):
            if e1 <= e0 or o1 < o0:
                raise ValueError("entries out of order")
        if any(e < 0 or o < 0 for e, o in entries):
            raise ValueError("negative entry")
        return entries

    def _write(self) -> None:
        text = f"{_VERSION}\n{len(self.entries)}\n" + "".join(f"{e} {o}\n" for e, o in self.entries)
        write_atomic(self.path, text.encode("ascii"))

    @property
    def latest_epoch(self) -> int:
        return self.entries[-1][0]

    def assign(self, epoch: int, start_offset: int) -> None:
        """A new leadership epoch starting at ``start_offset`` (never called on a single broker)."""
        if epoch <= self.latest_epoch:
            return
        self.entries.append((epoch, start_offset))
        self._write()

    def end_offset_for(self, requested: int, log_end_offset: int) -> tuple[int, int]:
        """(epoch, end offset) answered by OffsetForLeaderEpoch: the largest epoch <= ``requested``
        and the first offset after it (the log end offset for the latest epoch); (-1, -1) when the
        requested epoch is undefined or newer than any known."""
        if requested == UNDEFINED:
            return UNDEFINED, UNDEFINED
        latest = self.latest_epoch
        if requested == latest:
            return requested, log_end_offset
        epochs = [e for e, _ in self.entries]
        i = bisect_right(epochs, requested)  # entries[i] is the first epoch > requested
        if i == len(self.entries):
            return UNDEFINED, UNDEFINED
        if i == 0:
            return requested, self.entries[0][1]
        return self.entries[i - 1][0], self.entries[i][1]

    def epoch_for_offset(self, offset: int) -> int:
        """The epoch that wrote ``offset`` (-1 if before every known epoch)."""
        offsets = [o for _, o in self.entries]
        i = bisect_right(offsets, offset)
        return self.entries[i - 1][0] if i else UNDEFINED
