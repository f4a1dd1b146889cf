"""Transactions in the partition log, without a server: commit/abort bookkeeping, the first unstable
offset with interleaved producers, the aborted-transaction index and what read_committed Fetch gets
from it, restarts (clean and unclean), the follower path and truncation."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import PartitionLog
from storage.producer_state import (
    CoordinatorFenced,
    InvalidProducerEpoch,
    InvalidTxnState,
    OutOfOrderSequence,
)
from storage.txn_index import AbortedTxn
from tests.support.policies import log_config
from wire.records import build_batch, control_type, iter_batches


def txn(pid: int, seq: int, count: int = 2, epoch: int = 0, ts: int = 1_000) -> bytearray:
    records = [(b"k", b"v%d" % (seq + i), None, ts + i) for i in range(count)]
    return bytearray(build_batch(records, producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                 transactional=True))


def idem(pid: int, seq: int, count: int = 1, epoch: int = 0) -> bytearray:
    return bytearray(build_batch([(b"k", b"i", None, 1_000)] * count, producer_id=pid, producer_epoch=epoch,
                                 base_sequence=seq))


def plain(count: int = 1) -> bytearray:
    return bytearray(build_batch([(b"k", b"x", None, 1_000)] * count))


def all_bytes(log: PartitionLog) -> bytes:
    out = b""
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read_bytes(offset, 1 << 30)
        out += data
        offset = [h for _, h in iter_batches(data)][-1].next_offset
    return out


def index_entries(log: PartitionLog) -> list[AbortedTxn]:
    return [t for s in log.segments for t in s.txn_index.entries()]


def test_commit_and_abort_bookkeeping(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    assert log.first_unstable_offset is None
    log.append(plain(), 0)  # 0
    log.append(txn(1, 0), 0)  # 1-2: producer 1's transaction starts at 1
    assert log.first_unstable_offset == 1
    log.append(txn(1, 2), 0)  # 3-4: same transaction
    assert log.first_unstable_offset == 1
    info = log.append_control(1, 0, True, 0, 5_000)  # commit marker at 5
    assert (info.base_offset, info.last_offset) == (5, 5)
    assert log.first_unstable_offset is None
    assert index_entries(log) == [] and not log.segments[-1].txn_index.exists
    log.append(txn(1, 4), 0)  # 6-7: next transaction
    assert log.first_unstable_offset == 6
    log.append_control(1, 0, False, 0, 5_000)  # abort marker at 8
    assert log.first_unstable_offset is None
    assert index_entries(log) == [AbortedTxn(1, 6, 8, 9)]
    assert log.segments[-1].txn_index.path.name == "00000000000000000000.txnindex"
    assert log.segments[-1].txn_index.path.stat().st_size == 34
    # the markers as stored: control batches of the producer, the leader epoch stamped
    markers = [(h.base_offset, control_type(all_bytes(log), pos)) for pos, h in iter_batches(all_bytes(log))
               if h.is_control]
    assert [(o, m.commit, m.coordinator_epoch) for o, m in markers] == [(5, True, 0), (8, False, 0)]
    log.close()


def test_marker_without_transaction_is_written(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    assert log.append_control(4, 0, False, 3, 0).base_offset == 0
    assert log.log_end_offset == 1 and index_entries(log) == []
    entry = log.producer_state.get(4)
    assert entry is not None and (entry.epoch, entry.coordinator_epoch, len(entry.batches)) == (0, 3, 0)
    log.close()


def test_marker_checks(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    log.append(txn(1, 0, epoch=2), 0)
    with pytest.raises(InvalidProducerEpoch):
        log.append_control(1, 1, False, 0, 0)
    log.append_control(1, 2, False, 5, 0)
    with pytest.raises(CoordinatorFenced):
        log.append_control(1, 2, True, 4, 0)
    assert log.log_end_offset == 3, "a refused marker writes nothing"
    # a marker at a newer epoch (the coordinator fenced the producer) clears the batch window:
    # the next batch at that epoch must start at 0
    log.append(txn(1, 2, epoch=2), 0)
    log.append_control(1, 3, False, 5, 0)
    with pytest.raises(OutOfOrderSequence):
        log.append(txn(1, 4, epoch=3), 0)
    assert log.append(txn(1, 0, epoch=3), 0).base_offset == log.log_end_offset - 2
    log.close()


def test_non_transactional_batch_during_transaction(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    log.append(txn(1, 0), 0)
    with pytest.raises(InvalidTxnState):
        log.append(idem(1, 2), 0)
    with pytest.raises(InvalidTxnState):  # within one append too
        log.append(txn(2, 0) + idem(2, 2), 0)
    assert log.log_end_offset == 2
    log.append_control(1, 0, True, 0, 0)
    assert log.append(idem(1, 2), 0).base_offset == 3
    log.close()


def test_lso_and_index_with_interleaved_producers(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    log.append(txn(1, 0), 0)  # 0-1  p1 starts
    log.append(txn(2, 0), 0)  # 2-3  p2 starts
    log.append(txn(3, 0), 0)  # 4-5  p3 starts
    assert log.first_unstable_offset == 0
    log.append_control(2, 0, False, 0, 0)  # 6: abort p2; oldest other ongoing is p1 at 0
    assert log.first_unstable_offset == 0
    log.append_control(1, 0, True, 0, 0)  # 7: commit p1
    assert log.first_unstable_offset == 4
    log.append(txn(1, 2), 0)  # 8-9  p1 again
    log.append_control(3, 0, False, 0, 0)  # 10: abort p3; oldest other is p1 at 8
    assert log.first_unstable_offset == 8
    log.append_control(1, 0, False, 0, 0)  # 11: abort p1; none other: 12
    assert log.first_unstable_offset is None
    assert index_entries(log) == [AbortedTxn(2, 2, 6, 0), AbortedTxn(3, 4, 10, 8), AbortedTxn(1, 8, 11, 12)]
    # what read_committed Fetch gets for a range: last_offset >= start and first_offset < upper
    assert log.aborted_transactions(0, 12) == index_entries(log)
    assert log.aborted_transactions(7, 12) == [AbortedTxn(3, 4, 10, 8), AbortedTxn(1, 8, 11, 12)]
    assert log.aborted_transactions(0, 3) == [AbortedTxn(2, 2, 6, 0)]
    assert log.aborted_transactions(0, 2) == []
    assert log.aborted_transactions(11, 12) == [AbortedTxn(1, 8, 11, 12)]
    assert log.aborted_transactions(12, 12) == []
    log.close()


def test_aborted_transactions_across_segments(tmp_path: Path) -> None:
    config = log_config(segment_bytes=400)
    log = PartitionLog(tmp_path / "t-0", config)
    expected = []
    for i in range(8):
        first = log.append(txn(1, 2 * i), 0).base_offset
        log.append(plain(), 0)
        marker = log.append_control(1, 0, i % 2 == 1, 0, 0).base_offset
        if i % 2 == 0:
            expected.append(AbortedTxn(1, first, marker, marker + 1))
    assert len(log.segments) > 3
    assert index_entries(log) == expected
    for start in range(log.log_end_offset + 1):
        for upper in range(start, log.log_end_offset + 1):
            want = [t for t in expected if t.last_offset >= start and t.first_offset < upper]
            assert log.aborted_transactions(start, upper) == want, (start, upper)
    log.close()


@pytest.mark.parametrize("clean", [True, False])
def test_restart_keeps_ongoing_transaction_and_index(tmp_path: Path, clean: bool) -> None:
    config = log_config(segment_bytes=600)
    log = PartitionLog(tmp_path / "t-0", config)
    for i in range(6):
        log.append(txn(1, 2 * i), 0)
        log.append(txn(2, 2 * i), 0)
        log.append_control(1, 0, i % 2 == 0, 0, 0)
    log.append(txn(3, 0), 0)
    ongoing = log.producer_state.ongoing_transactions()
    entries, fuo = index_entries(log), log.first_unstable_offset
    assert set(ongoing) == {2, 3}
    log.close(clean=clean)
    log = PartitionLog(tmp_path / "t-0", config)
    assert log.producer_state.ongoing_transactions() == ongoing
    assert (index_entries(log), log.first_unstable_offset) == (entries, fuo)
    log.append_control(2, 0, False, 0, 0)
    assert index_entries(log)[-1].producer_id == 2
    log.close()


def test_follower_path_equals_leader_path(tmp_path: Path) -> None:
    config = log_config(segment_bytes=500)
    leader = PartitionLog(tmp_path / "l-0", config)
    for i in range(5):
        leader.append(txn(1, 2 * i), 0)
        leader.append(txn(2, 2 * i), 0)
        leader.append_control(2, 0, i % 2 == 0, 0, 0)
        leader.append_control(1, 0, i % 3 == 0, 0, 0)
    leader.append(txn(1, 10), 0)
    follower = PartitionLog(tmp_path / "f-0", config)
    follower.append_as_follower(all_bytes(leader), 0)
    assert follower.log_end_offset == leader.log_end_offset
    assert index_entries(follower) == index_entries(leader) != []
    assert follower.first_unstable_offset == leader.first_unstable_offset is not None
    assert follower.producer_state.ongoing_transactions() == leader.producer_state.ongoing_transactions()
    leader.close()
    follower.close()


def test_truncate_below_marker_restores_ongoing_transaction(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    log.append(txn(1, 0), 0)  # 0-1
    log.append(txn(2, 0), 0)  # 2-3
    log.append_control(1, 0, False, 0, 0)  # 4
    log.append_control(2, 0, False, 0, 0)  # 5
    assert log.first_unstable_offset is None and len(index_entries(log)) == 2
    assert log.truncate_to(5) == 5
    assert index_entries(log) == [AbortedTxn(1, 0, 4, 2)]
    assert log.producer_state.ongoing_transactions() == {2: 2}
    assert log.truncate_to(4) == 4
    assert index_entries(log) == [] and log.first_unstable_offset == 0
    assert log.producer_state.ongoing_transactions() == {1: 0, 2: 2}
    # the leader's log continues differently: commit instead
    log.append_as_follower(bytes(_marker_bytes(tmp_path, 4)), 0)
    assert log.first_unstable_offset == 2 and index_entries(log) == []
    log.close()
    log = PartitionLog(tmp_path / "t-0", log_config())
    assert log.producer_state.ongoing_transactions() == {2: 2} and index_entries(log) == []
    log.truncate_fully_and_start_at(10)
    assert log.first_unstable_offset is None and index_entries(log) == []
    log.close()


def _marker_bytes(tmp_path: Path, offset: int) -> bytes:
    """A COMMIT marker of producer 1 at ``offset``, as a leader wrote it."""
    other = PartitionLog(tmp_path / "other-0", log_config())
    other.truncate_fully_and_start_at(offset)
    other.append_control(1, 0, True, 0, 0)
    data = all_bytes(other)
    other.delete()
    return data
