"""Leader epochs of one partition: which epoch led from which offset, as Kafka keeps them.

Each entry is ``(epoch, start offset)``: the first offset written while that epoch led. A leader calls
``assign(epoch, log end offset)`` when it becomes leader (its appends then stamp that epoch into
partitionLeaderEpoch); a follower's ``PartitionLog.append_as_follower`` assigns the epoch of every
fetched batch newer than the latest one, starting at that batch's base offset. A single broker never
changes leadership and stays at epoch 0 from the log start offset.

Rules (Kafka's):

- epochs strictly increase and start offsets never decrease; ``assign`` ignores an epoch that is not
  newer than the latest, and drops entries starting at or after the new entry's start offset (so
  the file stays ordered whatever the caller does);
- ``truncate_from_end(offset)`` (the log was truncated to ``offset``): entries starting at or after
  it go; the cache may become empty (``latest_epoch`` is then -1) until the next ``assign``;
- ``truncate_from_start(offset)`` (the log start offset moved up): entries starting at or before it
  go except the last of them, which now starts at ``offset``;
- ``clear()`` (the log was truncated fully): no entries.

File ``leader-epoch-checkpoint`` in the partition directory, Kafka's text format (ASCII, ``\\n`` line
ends)::

    0                     format version
    N                     number of entries (0 after a full truncation)
    <epoch> <offset>      N lines: the epoch and the first offset written in it, both increasing

Written with tmp → fsync → rename (``storage.checkpoint``) after every change; when a partition is
created, or when the file is missing or unreadable at open (a log from before leader epochs existed),
it is ``[(0, log start offset)]``. A file with no entries is kept as it is. Opening a log drops
entries that start above its log end offset (a crash between a truncation of the data and of this
file). Appends stamp the current epoch into each batch's partitionLeaderEpoch field (outside the CRC).

Threads: changes are serialised by a lock and replace ``entries`` (copy on write), so readers on any
thread see one consistent list.
"""

from __future__ import annotations

import logging
import threading
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
        self._lock = threading.Lock()  # one change (and file write) at a time
        self.entries: list[tuple[int, int]] = []
        try:
            self.entries = self._read()
        except (OSError, ValueError) as exc:
            if self.path.exists():
                log.warning("%s: unreadable (%s); starting again at epoch 0", self.path, exc)
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

    def _replace(self, entries: list[tuple[int, int]]) -> None:
        """Install ``entries`` (under ``_lock``) and write the file if they differ."""
        if entries != self.entries:
            self.entries = entries
            self._write()

    @property
    def latest_epoch(self) -> int:
        """The newest epoch, -1 (UNDEFINED) when there is none."""
        entries = self.entries
        return entries[-1][0] if entries else UNDEFINED

    @property
    def latest_entry(self) -> tuple[int, int] | None:
        """(epoch, start offset) of the newest epoch, None when there is none."""
        entries = self.entries
        return entries[-1] if entries else None

    def assign(self, epoch: int, start_offset: int) -> None:
        """A new leadership epoch starting at ``start_offset``: a leader calls it when it becomes
        leader (``start_offset`` = its log end offset), a follower for each fetched batch carrying a
        newer epoch (its base offset). An epoch not newer than the latest is ignored; entries
        starting at or after ``start_offset`` are dropped (Kafka's rule for non-monotonic entries)."""
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"epoch {epoch} / start offset {start_offset} must not be negative")
        with self._lock:
            if epoch <= self.latest_epoch:
                return
            kept = [(e, o) for e, o in self.entries if o < start_offset]
            if self.entries and self.entries[-1][1] > start_offset:
                log.warning("%s: epoch %d starts at %d, dropping later entries %s", self.path, epoch,
                            start_offset, self.entries[len(kept):])
            self._replace([*kept, (epoch, start_offset)])

    def truncate_from_end(self, end_offset: int) -> None:
        """The log was truncated to ``end_offset``: forget every epoch starting at or after it."""
        with self._lock:
            self._replace([(e, o) for e, o in self.entries if o < end_offset])

    def truncate_from_start(self, start_offset: int) -> None:
        """The log start offset moved up to ``start_offset``: the epoch that covers it now starts
        there, and the epochs before it are forgotten."""
        with self._lock:
            entries = self.entries
            i = bisect_right([o for _, o in entries], start_offset)  # entries[:i] start <= start_offset
            if i == 0:
                return
            self._replace([(entries[i - 1][0], start_offset), *entries[i:]])

    def clear(self) -> None:
        """The log was truncated fully: no epoch is known until the next ``assign``."""
        with self._lock:
            self._replace([])

    def end_offset_for(self, requested: int, log_end_offset: int) -> tuple[int, int]:
        """(epoch, end offset) answered by OffsetForLeaderEpoch: the largest epoch <= ``requested``
        and the first offset after it (the log end offset for the latest epoch); (-1, -1) when the
        requested epoch is undefined or newer than any known."""
        if requested == UNDEFINED:
            return UNDEFINED, UNDEFINED
        entries = self.entries  # one snapshot (see "Threads")
        if entries and requested == entries[-1][0]:
            return requested, log_end_offset
        epochs = [e for e, _ in entries]
        i = bisect_right(epochs, requested)  # entries[i] is the first epoch > requested
        if i == len(entries):
            return UNDEFINED, UNDEFINED
        if i == 0:
            return requested, entries[0][1]
        return entries[i - 1][0], entries[i][1]

    def epoch_for_offset(self, offset: int) -> int:
        """The epoch that wrote ``offset`` (-1 if before every known epoch)."""
        entries = self.entries
        i = bisect_right([o for _, o in entries], offset)
        return entries[i - 1][0] if i else UNDEFINED
