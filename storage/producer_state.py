"""Producer state of one partition: what idempotent producers wrote, so a retried batch is not written
twice. Everything here is read from the 61-byte v2 batch headers (producerId, producerEpoch,
baseSequence, lastOffsetDelta, maxTimestamp); no record is decoded.

Per producer id: its latest epoch and the metadata of its last ``WINDOW`` (5) batches in that epoch:
first sequence, last sequence, base offset, last offset, max timestamp. Five because a Kafka client
keeps at most five requests in flight per partition with idempotence on, so any retry it can send is
one of those five.

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

Snapshot file ``<20-digit offset>.snapshot`` in the partition directory, written by ``write_snapshot``
(tmp → fsync → rename) at a segment roll (offset = the new segment's base) and at clean shutdown
(offset = the log end offset). The offset means "covers every batch below this offset". Format, all
big-endian::

    magic        4 bytes  b"KBPS"
    version      u16      2 (1 is still read)
    crc          u32      zlib CRC-32 of every byte after this field
    offset       i64      same as in the file name
    count        u32      producers that follow
    count x      v2: producer_id i64, epoch i16, coordinator_epoch i32, current_txn_first_offset i64
                     (-1: none ongoing), marker_timestamp i64 (-1: none), n u8 (0..5), then n x batch
                 v1: producer_id i64, epoch i16, n u8 (1..5), then n x batch
                 batch: first_seq i32, last_seq i32, base_offset i64, last_offset i64, timestamp i64

Limits and why: n <= 5 (the window), 0 only in v2 (an epoch a marker bumped); epochs are Kafka's
i16, coordinator epochs and sequences i32, offsets and timestamps i64. ``marker_timestamp`` is the
last marker's timestamp, so an entry with no batches still has an age for expiry. A v1 snapshot
reads as producers with no transaction (v1 was written before transactions existed). A snapshot
with a bad magic, version, CRC, length or offset is deleted and the next older one is tried (a replay
from further back gives the same state, only slower). Snapshots above the log end offset after crash
recovery, or after a follower's truncation (``PartitionLog.truncate_to``, which then rebuilds the state
from the newest snapshot at or below the new log end offset), describe batches that were cut off, so
they are deleted. A follower records every fetched batch with ``update`` and checks nothing (its
leader did). The newest ``KEEP_SNAPSHOTS`` are kept; older ones are removed when a new one is
written.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wire.records import BatchHeader

from .checkpoint import write_atomic
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

WINDOW = 5
KEEP_SNAPSHOTS = 3
SNAPSHOT_SUFFIX = ".snapshot"
INT32_MAX = 2**31 - 1

_MAGIC = b"KBPS"
_VERSION = 2
_HEAD = struct.Struct(">4sHI")  # magic, version, crc
_BODY_HEAD = struct.Struct(">qI")  # offset, count
_PRODUCER_V1 = struct.Struct(">qhB")
_PRODUCER = struct.Struct(">qhiqqB")  # pid, epoch, coordinator epoch, txn first offset, marker ts, n
_BATCH = struct.Struct(">iiqqq")


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


@dataclass(frozen=True, slots=True)
class BatchMeta:
    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class CompletedTxn:
    """A transaction a marker ended (Kafka's CompletedTxn), with the partition's last stable offset
    once it completed: the first offset of the oldest other ongoing transaction, else
    ``last_offset + 1``."""

    producer_id: int
    first_offset: int
    last_offset: int  # the marker's offset
    aborted: bool
    last_stable_offset: int


@dataclass(slots=True)
class ProducerEntry:
    epoch: int
    batches: deque[BatchMeta] = field(default_factory=lambda: deque(maxlen=WINDOW))
    current_txn_first_offset: int = -1  # first offset of the ongoing transaction, -1: none
    coordinator_epoch: int = -1  # of the last marker
    marker_timestamp: int = -1  # of the last marker

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_timestamp(self) -> int:
        last = self.batches[-1].timestamp if self.batches else -1
        return max(last, self.marker_timestamp)

    def find(self, first_seq: int, last_seq: int) -> BatchMeta | None:
        for b in self.batches:
            if b.first_seq == first_seq and b.last_seq == last_seq:
                return b
        return None

    def bump_epoch(self, epoch: int) -> None:
        """A new epoch forgets the batch window (Kafka's maybeUpdateProducerEpoch); an ongoing
        transaction and the coordinator epoch stay."""
        if epoch != self.epoch:
            self.batches.clear()
            self.epoch = epoch


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
        body = bytearray(_BODY_HEAD.pack(offset, len(self.producers)))
        for pid, e in self.producers.items():
            body += _PRODUCER.pack(pid, e.epoch, e.coordinator_epoch, e.current_txn_first_offset,
                                   e.marker_timestamp, len(e.batches))
            for b in e.batches:
                body += _BATCH.pack(b.first_seq, b.last_seq, b.base_offset, b.last_offset, b.timestamp)
        return _HEAD.pack(_MAGIC, _VERSION, zlib.crc32(body)) + bytes(body)

    @staticmethod
    def decode(data: bytes, offset: int) -> dict[int, ProducerEntry]:
        """Entries of a snapshot file (version 2 or 1); ValueError if it is damaged or not for
        ``offset``."""
        if len(data) < _HEAD.size + _BODY_HEAD.size:
            raise ValueError("snapshot too short")
        magic, version, crc = _HEAD.unpack_from(data, 0)
        if magic != _MAGIC or version not in (1, 2):
            raise ValueError(f"bad magic/version {magic!r}/{version}")
        body = memoryview(data)[_HEAD.size :]
        if zlib.crc32(body) != crc:
            raise ValueError("CRC mismatch")
        stored, count = _BODY_HEAD.unpack_from(body, 0)
        if stored != offset:
            raise ValueError(f"snapshot says offset {stored}, file name says {offset}")
        pos = _BODY_HEAD.size
        producers: dict[int, ProducerEntry] = {}
        for _ in range(count):
            if version == 1:
                pid, epoch, n = _PRODUCER_V1.unpack_from(body, pos)
                pos += _PRODUCER_V1.size
                entry = ProducerEntry(epoch)
                low = 1
            else:
                pid, epoch, coordinator_epoch, txn_first, marker_ts, n = _PRODUCER.unpack_from(body, pos)
                pos += _PRODUCER.size
                entry = ProducerEntry(epoch, current_txn_first_offset=txn_first,
                                      coordinator_epoch=coordinator_epoch, marker_timestamp=marker_ts)
                low = 0
            if not low <= n <= WINDOW:
                raise ValueError(f"producer {pid} has {n} batches")
            for _ in range(n):
                entry.batches.append(BatchMeta(*_BATCH.unpack_from(body, pos)))
                pos += _BATCH.size
            producers[pid] = entry
        if pos != len(body):
            raise ValueError(f"{len(body) - pos} bytes after the last producer")
        return producers

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
