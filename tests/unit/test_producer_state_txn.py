"""Producer state's transaction rules on their own: first unstable offset, marker checks, the
epoch a marker bumps, expiry, and the v2 snapshot (v1 still read)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from storage.producer_state import (
    BatchMeta,
    CompletedTxn,
    CoordinatorFenced,
    InvalidProducerEpoch,
    InvalidTxnState,
    OutOfOrderSequence,
    ProducerEntry,
    ProducerState,
)
from wire.records import BatchHeader, build_batch


def header(pid: int, epoch: int, seq: int, offset: int, count: int = 1, transactional: bool = True,
           ts: int = 1_000) -> BatchHeader:
    data = build_batch([(b"k", b"v", None, ts)] * count, base_offset=offset, producer_id=pid,
                       producer_epoch=epoch, base_sequence=seq, transactional=transactional)
    return BatchHeader(data)


def test_first_unstable_offset_and_last_stable_offsets(tmp_path: Path) -> None:
    state = ProducerState(tmp_path)
    assert state.first_unstable_offset() is None
    state.update(header(1, 0, 0, 10))
    state.update(header(2, 0, 0, 11))
    state.update(header(1, 0, 1, 12))  # same transaction: first offset stays 10
    assert state.first_unstable_offset() == 10
    assert state.ongoing_transactions() == {1: 10, 2: 11}
    done = state.end_txn(2, 0, False, 0, 13, 5)
    assert done == CompletedTxn(2, 11, 13, True, 10)  # oldest other ongoing: producer 1
    assert state.first_unstable_offset() == 10
    done = state.end_txn(1, 0, True, 0, 14, 5)
    assert done == CompletedTxn(1, 10, 14, False, 15)
    assert state.first_unstable_offset() is None
    assert state.end_txn(1, 0, True, 0, 15, 5) is None  # nothing ongoing: nothing completed


def test_marker_checks_and_epoch_bump(tmp_path: Path) -> None:
    state = ProducerState(tmp_path)
    state.check_marker(9, 0, 0)  # unknown producer: anything goes
    state.update(header(1, 3, 0, 0, count=2))
    with pytest.raises(InvalidProducerEpoch):
        state.check_marker(1, 2, 0)
    state.check_marker(1, 4, 0)
    state.end_txn(1, 3, False, 7, 2, 5)
    with pytest.raises(CoordinatorFenced):
        state.check_marker(1, 3, 6)
    state.check_marker(1, 3, 7)
    entry = state.get(1)
    assert entry is not None and len(entry.batches) == 1, "same epoch: the window stays"
    state.end_txn(1, 4, False, 7, 3, 5)  # newer epoch: the window goes
    assert entry.epoch == 4 and len(entry.batches) == 0 and entry.coordinator_epoch == 7
    with pytest.raises(OutOfOrderSequence):
        state.check([header(1, 4, 2, 4)])
    assert state.check([header(1, 4, 0, 4)]) is None


def test_invalid_txn_state(tmp_path: Path) -> None:
    state = ProducerState(tmp_path)
    state.update(header(1, 0, 0, 0))
    with pytest.raises(InvalidTxnState):
        state.check([header(1, 0, 1, 1, transactional=False)])
    with pytest.raises(InvalidTxnState):
        state.check([header(2, 0, 0, 1), header(2, 0, 1, 2, transactional=False)])
    assert state.check([header(2, 0, 0, 1, transactional=False), header(2, 0, 1, 2)]) is None
    # a duplicate of a transactional batch is still answered as a duplicate
    dup = state.check([header(1, 0, 0, 0)])
    assert dup is not None and dup.base_offset == 0


def test_expiry_spares_ongoing_transactions(tmp_path: Path) -> None:
    state = ProducerState(tmp_path)
    state.update(header(1, 0, 0, 0, ts=100))
    state.update(header(2, 0, 0, 1, ts=100, transactional=False))
    state.end_txn(3, 0, True, 0, 2, 100)  # a marker-only entry: its age is the marker's
    assert state.expire(1_000_000, 1_000) == 2
    assert list(state.producers) == [1]
    state.end_txn(1, 0, True, 0, 3, 999_500)
    assert state.expire(1_000_000, 1_000) == 0
    assert state.expire(1_000_500, 1_000) == 1


def test_snapshot_v2_round_trip(tmp_path: Path) -> None:
    state = ProducerState(tmp_path)
    for i in range(7):
        state.update(header(1, 2, i, 10 + i))
    state.update(header(2, 0, 0, 20, transactional=False))
    state.update(header(3, 1, 0, 21))
    state.end_txn(1, 2, False, 4, 22, 5_000)
    state.end_txn(4, 6, True, 9, 23, 6_000)  # no batches at all
    state.update(header(1, 2, 7, 24))  # a new transaction of producer 1
    state.write_snapshot(25)
    loaded = ProducerState(tmp_path)
    assert loaded.load(25) == 25
    assert loaded.producers == state.producers
    assert loaded.ongoing_transactions() == {3: 21, 1: 24} == state.ongoing_transactions()
    assert loaded.first_unstable_offset() == 21
    entry = loaded.get(4)
    assert entry == ProducerEntry(6, current_txn_first_offset=-1, coordinator_epoch=9, marker_timestamp=6_000)


def _v1_snapshot(offset: int, producers: dict[int, tuple[int, list[BatchMeta]]]) -> bytes:
    body = struct.pack(">qI", offset, len(producers))
    for pid, (epoch, batches) in producers.items():
        body += struct.pack(">qhB", pid, epoch, len(batches))
        for b in batches:
            body += struct.pack(">iiqqq", b.first_seq, b.last_seq, b.base_offset, b.last_offset, b.timestamp)
    return b"KBPS" + struct.pack(">HI", 1, zlib.crc32(body)) + body


def test_snapshot_v1_still_read(tmp_path: Path) -> None:
    batches = [BatchMeta(0, 1, 0, 1, 100), BatchMeta(2, 2, 5, 5, 200)]
    (tmp_path / "00000000000000000006.snapshot").write_bytes(_v1_snapshot(6, {7: (3, batches)}))
    state = ProducerState(tmp_path)
    assert state.load(10) == 6
    entry = state.get(7)
    assert entry is not None and entry.epoch == 3 and list(entry.batches) == batches
    assert (entry.current_txn_first_offset, entry.coordinator_epoch) == (-1, -1)
    assert state.first_unstable_offset() is None
    assert state.check([header(7, 3, 3, 6, transactional=False)]) is None


def test_damaged_v2_snapshot_falls_back(tmp_path: Path) -> None:
    state = ProducerState(tmp_path)
    state.update(header(1, 0, 0, 0))
    state.write_snapshot(1)
    state.update(header(2, 0, 0, 1))
    state.write_snapshot(2)
    path = tmp_path / "00000000000000000002.snapshot"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    loaded = ProducerState(tmp_path)
    assert loaded.load(5) == 1 and loaded.ongoing_transactions() == {1: 0}
    assert not path.exists()
