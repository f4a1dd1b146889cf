"""Producer state of one partition: what idempotent producers wrote, so a retried batch is not written
twice. Everything here is read from the 61-byte v2 batch headers (producerId, producerEpoch,
baseSequence, lastOffsetDelta, maxTimestamp); no record is decoded.

Per producer id: its latest epoch and the metadata of its last ``WINDOW`` (5) batches in that epoch,
its ongoing transaction and last marker (``storage.producer_snapshot`` describes the entry and why
five).

Rules (Kafka's, for batches from clients), checked by ``check`` before an append:

- A batch from a known producer, in its current epoch, whose first and last sequence equal one of the
  five remembered batches is a duplicate (a retry whose answer was lost): it is not written again and is
  answered with the original batch's offsets (``check`` returns that ``BatchMeta``).
- An epoch older than the producer's latest → ``InvalidProducerEpoch`` (INVALID_PRODUCER_EPOCH).
- A newer epoch must start at sequence 0, else ``OutOfOrderSequence``; so must a known producer's
  next batch in the same epoch continue right after its last one (Integer.MAX_VALUE wraps to 0).
- A producer this partition knows nothing about may start at any sequence. Kafka 0.11-2.x answered
  UNKNOWN_PRODUCER_ID here when the sequence was not 0; current Kafka (3.x, 4.x) accepts the batch,
  because the state may have expired or been removed with the log (``producer.id.expiration.ms``), and
  so does this module. UNKNOWN_PRODUCER_ID is never produced.

State is rebuilt when the log is opened: load the newest snapshot at or below the log end offset, then
replay the headers of every batch after it (``PartitionLog`` drives that). Replay does not validate.

Transactions (Kafka's ProducerStateManager): a transactional data batch from a producer with no
ongoing transaction on this partition starts one at its base offset (``current_txn_first_offset``);
a non-transactional batch from a producer whose transaction is ongoing is refused by ``check``
(``InvalidTxnState``, INVALID_TXN_STATE). A marker (``end_txn``) ends it: its producer epoch must
not be older than the producer's (``check_marker``: ``InvalidProducerEpoch``) and its coordinator
epoch not older than the last marker's (``CoordinatorFenced``, TRANSACTION_COORDINATOR_FENCED). A
marker with a newer epoch clears the batch window (Kafka's maybeUpdateProducerEpoch), so the entry
may hold zero batches; the next batch at that epoch must then start at sequence 0. A marker for a
producer with no ongoing transaction completes nothing. ``first_unstable_offset`` is the first
offset of the oldest ongoing transaction. Producers with an ongoing transaction never expire.

Snapshots (``<20-digit offset>.snapshot``, format v2 with the transaction fields, v1 still read) are
encoded by ``storage.producer_snapshot``, which also holds the per-producer records; written by
``write_snapshot`` at a segment roll and at clean shutdown. Snapshots above the log end offset after
crash recovery, or after a follower's truncation (``PartitionLog.truncate_to``, which then rebuilds the
state from the newest snapshot at or below the new log end offset), describe batches that were cut
off, so they are deleted; a damaged one is deleted and the next older one is tried. A follower records
every fetched batch with ``update`` and checks nothing (its leader did). The newest
``KEEP_SNAPSHOTS`` are kept; older ones are removed when a new one is written.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from wire.records import BatchHeader

from .checkpoint import write_atomic
from .producer_snapshot import WINDOW, BatchMeta, CompletedTxn, ProducerEntry, decode, encode
from .segment import file_name, parse_file_name

__all__ = [
    "WINDOW",
    "BatchMeta",
    "CompletedTxn",
    "ProducerEntry",
    "ProducerState",
    "OutOfOrderSequence",
    "InvalidProducerEpoch",
    "InvalidTxnState",
    "CoordinatorFenced",
    "SNAPSHOT_SUFFIX",
]

log = logging.getLogger("storage.producer_state")

KEEP_SNAPSHOTS = 3
SNAPSHOT_SUFFIX = ".snapshot"
INT32_MAX = 2**31 - 1


class OutOfOrderSequence(Exception):
    """OUT_OF_ORDER_SEQUENCE_NUMBER (45): a gap, or a new epoch not starting at sequence 0."""


class InvalidProducerEpoch(Exception):
    """INVALID_PRODUCER_EPOCH (47): the batch's epoch is older than the producer's latest."""


class InvalidTxnState(Exception):
    """INVALID_TXN_STATE (48): a non-transactional batch from a producer whose transaction is ongoing
    on this partition."""


class CoordinatorFenced(Exception):
    """TRANSACTION_COORDINATOR_FENCED (52): a marker whose coordinator epoch is older than the one of
    the producer's last marker."""


def last_sequence(header: BatchHeader) -> int:
    """The batch's last sequence number; sequences wrap from Integer.MAX_VALUE to 0."""
    return (header.base_sequence + header.last_offset_delta) % (INT32_MAX + 1)


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == INT32_MAX)


class ProducerState:
    """The producer entries of one partition and its snapshot files in ``directory``. Used by one
    thread (the one that appends); no locking. ``_ongoing`` maps the producers with an ongoing
    transaction to its first offset, in first-offset order (appends come in offset order, so
    insertion order is that order; a load sorts it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.producers: dict[int, ProducerEntry] = {}
        self._ongoing: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.producers)

    def get(self, producer_id: int) -> ProducerEntry | None:
        return self.producers.get(producer_id)

    def clear(self) -> None:
        self.producers = {}
        self._ongoing = {}

    def _set_producers(self, producers: dict[int, ProducerEntry]) -> None:
        self.producers = producers
        ongoing = sorted((e.current_txn_first_offset, pid) for pid, e in producers.items()
                         if e.current_txn_first_offset >= 0)
        self._ongoing = {pid: first for first, pid in ongoing}

    # -- transactions -----------------------------------------------------------------------------

    def first_unstable_offset(self) -> int | None:
        """The first offset of the oldest ongoing transaction, None when none is ongoing."""
        for first in self._ongoing.values():
            return first
        return None

    def ongoing_transactions(self) -> dict[int, int]:
        """Producer id -> first offset of its ongoing transaction, oldest first (a copy)."""
        return dict(self._ongoing)

    def check_marker(self, producer_id: int, producer_epoch: int, coordinator_epoch: int) -> None:
        """The leader's checks before it writes a marker (Kafka's appendEndTxnMarker): raises
        InvalidProducerEpoch or CoordinatorFenced."""
        entry = self.producers.get(producer_id)
        if entry is None:
            return
        if producer_epoch < entry.epoch:
            raise InvalidProducerEpoch(
                f"producer {producer_id}: marker epoch {producer_epoch} is older than {entry.epoch}"
            )
        if coordinator_epoch < entry.coordinator_epoch:
            raise CoordinatorFenced(
                f"producer {producer_id}: coordinator epoch {coordinator_epoch} is older than "
                f"{entry.coordinator_epoch}"
            )

    def end_txn(self, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int,
                offset: int, timestamp: int) -> CompletedTxn | None:
        """Record a marker written at ``offset`` (no checks: ``check_marker`` is the leader's). Returns
        the transaction it completed, None if the producer had none ongoing (nothing to complete)."""
        entry = self.producers.get(producer_id)
        if entry is None:
            entry = self.producers[producer_id] = ProducerEntry(producer_epoch)
        completed = None
        first = entry.current_txn_first_offset
        if first >= 0:
            lso = next((f for pid, f in self._ongoing.items() if pid != producer_id), offset + 1)
            completed = CompletedTxn(producer_id, first, offset, not commit, lso)
            self._ongoing.pop(producer_id, None)
        entry.bump_epoch(producer_epoch)
        entry.current_txn_first_offset = -1
        entry.coordinator_epoch = coordinator_epoch
        entry.marker_timestamp = timestamp
        return completed

    # -- appends ----------------------------------------------------------------------------------

    def check(self, headers: Sequence[BatchHeader]) -> BatchMeta | None:
        """Validate the idempotent batches of one append, in order, before offsets are assigned.
        Returns the remembered metadata if a batch is a duplicate (then nothing should be written);
        raises OutOfOrderSequence, InvalidProducerEpoch or InvalidTxnState. Batches without a producer
        id pass."""
        # producer id -> (epoch, last seq, in a transaction) within this append
        pending: dict[int, tuple[int, int, bool]] = {}
        for h in headers:
            pid = h.producer_id
            if pid < 0:
                continue
            entry = self.producers.get(pid)
            epoch, first = h.producer_epoch, h.base_sequence
            if entry is not None and pid not in pending and epoch == entry.epoch:
                dup = entry.find(first, last_sequence(h))
                if dup is not None:
                    return dup
            if pid in pending:
                cur_epoch, cur_last, in_txn = pending[pid]
            elif entry is not None:
                cur_epoch, cur_last = entry.epoch, entry.last_seq
                in_txn = entry.current_txn_first_offset >= 0
            else:
                cur_epoch, cur_last, in_txn = -1, -1, False
            if epoch < cur_epoch:
                raise InvalidProducerEpoch(
                    f"producer {pid}: epoch {epoch} is older than the latest epoch {cur_epoch}"
                )
            if epoch != cur_epoch:
                if first != 0 and cur_epoch != -1:
                    raise OutOfOrderSequence(
                        f"producer {pid}: new epoch {epoch} must start at sequence 0, not {first}"
                    )
            elif cur_last >= 0 and not _in_sequence(cur_last, first):
                raise OutOfOrderSequence(
                    f"producer {pid} epoch {epoch}: sequence {first} does not follow {cur_last}"
                )
            elif cur_last < 0 and first != 0 and cur_epoch != -1:
                # the epoch a marker set, with no batch yet: it starts at 0 (Kafka's inSequence(-1, n))
                raise OutOfOrderSequence(
                    f"producer {pid} epoch {epoch}: first batch of the epoch must start at 0, not {first}"
                )
            if in_txn and not h.is_transactional:
                raise InvalidTxnState(
                    f"producer {pid}: non-transactional batch while its transaction is ongoing"
                )
            pending[pid] = (epoch, last_sequence(h), in_txn or h.is_transactional)
        return None

    def update(self, header: BatchHeader) -> None:
        """Record an appended data batch (its base offset already assigned). Also used by replay.
        Control batches are ignored here (``end_txn`` records markers)."""
        pid = header.producer_id
        if pid < 0 or header.is_control:
            return
        entry = self.producers.get(pid)
        if entry is None:
            entry = self.producers[pid] = ProducerEntry(header.producer_epoch)
        else:
            entry.bump_epoch(header.producer_epoch)
        entry.batches.append(
            BatchMeta(
                header.base_sequence,
                last_sequence(header),
                header.base_offset,
                header.base_offset + header.last_offset_delta,
                header.max_timestamp,
            )
        )
        if header.is_transactional and entry.current_txn_first_offset < 0:
            entry.current_txn_first_offset = header.base_offset
            self._ongoing[pid] = header.base_offset

    def replay(self, headers: Iterable[BatchHeader]) -> None:
        """Data batches only; markers need their record (``PartitionLog`` replays them)."""
        for header in headers:
            self.update(header)

    def expire(self, now_ms: int, max_idle_ms: int) -> int:
        """Forget producers whose last batch's (or marker's) timestamp is ``max_idle_ms`` or more
        before ``now_ms`` (Kafka's producer.id.expiration.ms), but never one whose transaction is
        ongoing. Returns how many were removed."""
        doomed = [pid for pid, e in self.producers.items()
                  if e.current_txn_first_offset < 0 and now_ms - e.last_timestamp >= max_idle_ms]
        for pid in doomed:
            del self.producers[pid]
        return len(doomed)

    # -- snapshots --------------------------------------------------------------------------------

    def snapshot_offsets(self) -> list[int]:
        out = []
        for path in self.directory.iterdir():
            parsed = parse_file_name(path.name)
            if parsed is not None and parsed[1] == SNAPSHOT_SUFFIX:
                out.append(parsed[0])
        return sorted(out)

    def _path(self, offset: int) -> Path:
        return self.directory / file_name(offset, SNAPSHOT_SUFFIX)

    def encode(self, offset: int) -> bytes:
        return encode(offset, self.producers)

    @staticmethod
    def decode(data: bytes, offset: int) -> dict[int, ProducerEntry]:
        """Entries of a snapshot file (version 2 or 1); ValueError if it is damaged or not for
        ``offset``."""
        return decode(data, offset)

    def write_snapshot(self, offset: int) -> None:
        """Persist the current state as covering every batch below ``offset``; keep the newest few."""
        write_atomic(self._path(offset), self.encode(offset))
        for old in self.snapshot_offsets()[:-KEEP_SNAPSHOTS]:
            self._path(old).unlink(missing_ok=True)

    def load(self, log_end_offset: int) -> int | None:
        """Replace the state with the newest readable snapshot at or below ``log_end_offset``, deleting
        snapshots above it and damaged ones. Returns the snapshot's offset (replay from there), or
        None when there is none (replay the whole log)."""
        self.clear()
        for offset in reversed(self.snapshot_offsets()):
            path = self._path(offset)
            if offset > log_end_offset:
                path.unlink(missing_ok=True)
                continue
            try:
                producers = self.decode(path.read_bytes(), offset)
            except (OSError, ValueError, struct.error) as exc:
                log.warning("%s: unusable producer snapshot (%s); removed", path, exc)
                path.unlink(missing_ok=True)
                continue
            self._set_producers(producers)
            return offset
        return None

    def delete_snapshots_above(self, offset: int) -> None:
        """Remove the snapshots above ``offset`` (the log is about to be truncated there)."""
        for found in self.snapshot_offsets():
            if found > offset:
                self._path(found).unlink(missing_ok=True)

    def delete_snapshots(self) -> None:
        for offset in self.snapshot_offsets():
            try:
                os.unlink(self._path(offset))
            except FileNotFoundError:
                pass
