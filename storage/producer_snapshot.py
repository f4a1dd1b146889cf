"""What the producer state (``storage.producer_state``) remembers per producer, and the snapshot
file it is saved in.

Per producer id (``ProducerEntry``): its latest epoch and the metadata of its last ``WINDOW`` (5)
batches in that epoch (``BatchMeta``: first sequence, last sequence, base offset, last offset, max
timestamp; five because a Kafka client keeps at most five requests in flight per partition with
idempotence on, so any retry it can send is one of those five), the first offset of its ongoing
transaction, and the coordinator epoch and timestamp of its last marker.

Snapshot file ``<20-digit offset>.snapshot`` in the partition directory, written by
``ProducerState.write_snapshot`` (tmp → fsync → rename) at a segment roll (offset = the new segment's
base) and at clean shutdown (offset = the log end offset). The offset means "covers every batch below
this offset". Format, all big-endian::

    magic        4 bytes  b"KBPS"
    version      u16      2 (1 is still read)
    crc          u32      zlib CRC-32 of every byte after this field
    offset       i64      same as in the file name
    count        u32      producers that follow
    count x      v2: producer_id i64, epoch i16, coordinator_epoch i32, current_txn_first_offset i64
                     (-1: none ongoing), marker_timestamp i64 (-1: none), n u8 (0..5), then n x batch
                 v1: producer_id i64, epoch i16, n u8 (1..5), then n x batch
                 batch: first_seq i32, last_seq i32, base_offset i64, last_offset i64, timestamp i64

Limits and why: n <= 5 (the window), 0 only in v2 (an epoch a marker bumped clears the window);
epochs are Kafka's i16, coordinator epochs and sequences i32, offsets and timestamps i64.
``marker_timestamp`` is the last marker's timestamp, so an entry with no batches still has an age for
expiry. v2 carries the ongoing transaction so that it survives a restart or kill -9 (a replay only
covers the batches after the snapshot). A v1 snapshot reads as producers with no transaction (v1 was
written before transactions existed). A bad magic, version, CRC, length or offset is a ValueError
(the caller deletes the file and tries an older one: a replay from further back gives the same state,
only slower).
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from dataclasses import dataclass, field

__all__ = ["WINDOW", "BatchMeta", "CompletedTxn", "ProducerEntry", "encode", "decode"]

WINDOW = 5
_MAGIC = b"KBPS"
_VERSION = 2
_HEAD = struct.Struct(">4sHI")  # magic, version, crc
_BODY_HEAD = struct.Struct(">qI")  # offset, count
_PRODUCER_V1 = struct.Struct(">qhB")
_PRODUCER = struct.Struct(">qhiqqB")  # pid, epoch, coordinator epoch, txn first offset, marker ts, n
_BATCH = struct.Struct(">iiqqq")


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


def encode(offset: int, producers: dict[int, ProducerEntry]) -> bytes:
    """The snapshot file of ``producers`` covering every batch below ``offset`` (version 2)."""
    body = bytearray(_BODY_HEAD.pack(offset, len(producers)))
    for pid, e in producers.items():
        body += _PRODUCER.pack(pid, e.epoch, e.coordinator_epoch, e.current_txn_first_offset,
                               e.marker_timestamp, len(e.batches))
        for b in e.batches:
            body += _BATCH.pack(b.first_seq, b.last_seq, b.base_offset, b.last_offset, b.timestamp)
    return _HEAD.pack(_MAGIC, _VERSION, zlib.crc32(body)) + bytes(body)


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

