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

Snapshot file ``<20-digit offset>.snapshot`` in the partition directory, written by ``write_snapshot``
(tmp → fsync → rename) at a segment roll (offset = the new segment's base) and at clean shutdown
(offset = the log end offset). The offset means "covers every batch below this offset". Format, all
big-endian::

    magic        4 bytes  b"KBPS"
    version      u16      1
    crc          u32      zlib CRC-32 of every byte after this field
    offset       i64      same as in the file name
    count        u32      producers that follow
    count x      producer_id i64, epoch i16, n u8 (1..5), then n x batch:
                 first_seq i32, last_seq i32, base_offset i64, last_offset i64, timestamp i64

Limits and why: n <= 5 (the window); epochs are Kafka's i16, sequences i32, offsets i64. A snapshot
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
    "ProducerEntry",
    "ProducerState",
    "OutOfOrderSequence",
    "InvalidProducerEpoch",
    "SNAPSHOT_SUFFIX",
]

log = logging.getLogger("storage.producer_state")

WINDOW = 5
KEEP_SNAPSHOTS = 3
SNAPSHOT_SUFFIX = ".snapshot"
INT32_MAX = 2**31 - 1

_MAGIC = b"KBPS"
_VERSION = 1
_HEAD = struct.Struct(">4sHI")  # magic, version, crc
_BODY_HEAD = struct.Struct(">qI")  # offset, count
_PRODUCER = struct.Struct(">qhB")
_BATCH = struct.Struct(">iiqqq")


class OutOfOrderSequence(Exception):
    """OUT_OF_ORDER_SEQUENCE_NUMBER (45): a gap, or a new epoch not starting at sequence 0."""


class InvalidProducerEpoch(Exception):
    """INVALID_PRODUCER_EPOCH (47): the batch's epoch is older than the producer's latest."""


@dataclass(frozen=True, slots=True)
class BatchMeta:
    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int
    timestamp: int


@dataclass(slots=True)
class ProducerEntry:
    epoch: int
    batches: deque[BatchMeta] = field(default_factory=lambda: deque(maxlen=WINDOW))

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_timestamp(self) -> int:
        return self.batches[-1].timestamp if self.batches else -1

    def find(self, first_seq: int, last_seq: int) -> BatchMeta | None:
        for b in self.batches:
            if b.first_seq == first_seq and b.last_seq == last_seq:
                return b
        return None


def last_sequence(header: BatchHeader) -> int:
    """The batch's last sequence number; sequences wrap from Integer.MAX_VALUE to 0."""
    return (header.base_sequence + header.last_offset_delta) % (INT32_MAX + 1)


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == INT32_MAX)


class ProducerState:
    """The producer entries of one partition and its snapshot files in ``directory``. Used by one
    thread (the one that appends); no locking."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.producers: dict[int, ProducerEntry] = {}

    def __len__(self) -> int:
        return len(self.producers)

    def get(self, producer_id: int) -> ProducerEntry | None:
        return self.producers.get(producer_id)

    # -- appends ----------------------------------------------------------------------------------

    def check(self, headers: Sequence[BatchHeader]) -> BatchMeta | None:
        """Validate the idempotent batches of one append, in order, before offsets are assigned.
        Returns the remembered metadata if a batch is a duplicate (then nothing should be written);
        raises OutOfOrderSequence or InvalidProducerEpoch. Batches without a producer id pass."""
        pending: dict[int, tuple[int, int]] = {}  # producer id -> (epoch, last seq) within this append
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
                cur_epoch, cur_last = pending[pid]
            elif entry is not None:
                cur_epoch, cur_last = entry.epoch, entry.last_seq
            else:
                cur_epoch, cur_last = -1, -1
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
            pending[pid] = (epoch, last_sequence(h))
        return None

    def update(self, header: BatchHeader) -> None:
        """Record an appended batch (its base offset already assigned). Also used by replay."""
        pid = header.producer_id
        if pid < 0 or header.is_control:
            return
        entry = self.producers.get(pid)
        if entry is None or entry.epoch != header.producer_epoch:
            entry = self.producers[pid] = ProducerEntry(header.producer_epoch)
        entry.batches.append(
            BatchMeta(
                header.base_sequence,
                last_sequence(header),
                header.base_offset,
                header.base_offset + header.last_offset_delta,
                header.max_timestamp,
            )
        )

    def replay(self, headers: Iterable[BatchHeader]) -> None:
        for header in headers:
            self.update(header)

    def expire(self, now_ms: int, max_idle_ms: int) -> int:
        """Forget producers whose last batch's timestamp is ``max_idle_ms`` or more before ``now_ms``
        (Kafka's producer.id.expiration.ms). Returns how many were removed."""
        doomed = [pid for pid, e in self.producers.items() if now_ms - e.last_timestamp >= max_idle_ms]
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
        for pid, entry in self.producers.items():
            body += _PRODUCER.pack(pid, entry.epoch, len(entry.batches))
            for b in entry.batches:
                body += _BATCH.pack(b.first_seq, b.last_seq, b.base_offset, b.last_offset, b.timestamp)
        return _HEAD.pack(_MAGIC, _VERSION, zlib.crc32(body)) + bytes(body)

    @staticmethod
    def decode(data: bytes, offset: int) -> dict[int, ProducerEntry]:
        """Entries of a snapshot file; ValueError if it is damaged or not for ``offset``."""
        if len(data) < _HEAD.size + _BODY_HEAD.size:
            raise ValueError("snapshot too short")
        magic, version, crc = _HEAD.unpack_from(data, 0)
        if magic != _MAGIC or version != _VERSION:
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
            pid, epoch, n = _PRODUCER.unpack_from(body, pos)
            pos += _PRODUCER.size
            if not 1 <= n <= WINDOW:
                raise ValueError(f"producer {pid} has {n} batches")
            entry = ProducerEntry(epoch)
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
        self.producers = {}
        for offset in reversed(self.snapshot_offsets()):
            path = self._path(offset)
            if offset > log_end_offset:
                path.unlink(missing_ok=True)
                continue
            try:
                self.producers = self.decode(path.read_bytes(), offset)
            except (OSError, ValueError, struct.error) as exc:
                log.warning("%s: unusable producer snapshot (%s); removed", path, exc)
                path.unlink(missing_ok=True)
                continue
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
