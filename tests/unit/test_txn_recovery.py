"""Transactions across crashes and file moves: a crash cut at every byte of a marker, a crash between
a marker write and its index write, torn index tails, retention and truncation carrying ``.txnindex``
files, the cleaner's ``.swap`` leftovers, emptied control batches on the follower path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storage import PartitionLog
from storage.retention import enforce_retention
from storage.segment import Segment
from storage.txn_index import ENTRY_SIZE, AbortedTxn
from tests.support.policies import log_config, retention_policy
from tests.unit.test_txn_log import all_bytes, index_entries, plain, txn
from wire.records import CONTROL_BIT, TRANSACTIONAL_BIT, BatchHeader, iter_batches, rebuild_batch


def _state(log: PartitionLog) -> tuple:
    return (log.log_end_offset, index_entries(log), log.producer_state.ongoing_transactions(),
            log.first_unstable_offset)


def _build(directory: Path, segment_bytes: int) -> tuple[PartitionLog, tuple, int]:
    """A log whose last batch is an ABORT marker of producer 1; returns it, its state just before
    that marker, and the marker's size."""
    log = PartitionLog(directory, log_config(segment_bytes=segment_bytes))
    for i in range(4):
        log.append(txn(1, 2 * i), 0)
        log.append(txn(2, 2 * i), 0)
        log.append(plain(), 0)
        log.append_control(2, 0, i % 2 == 0, 0, 0)
    log.append(txn(1, 8), 0)
    before = _state(log)
    size_before = log.segments[-1].size
    log.append_control(1, 0, False, 0, 0)
    return log, before, log.segments[-1].size - size_before


@pytest.mark.parametrize("segment_bytes", [1 << 20, 700])
def test_crash_cut_at_every_byte_of_a_marker(tmp_path: Path, segment_bytes: int) -> None:
    log, before, marker_size = _build(tmp_path / "t-0", segment_bytes)
    after = _state(log)
    assert after[1][-1].producer_id == 1 and before[2] == {1: before[2][1]}
    config = log.config
    active = log.segments[-1].log_path
    full = active.stat().st_size
    log.close(clean=False)
    for keep in range(marker_size + 1):
        work = tmp_path / f"cut{keep}-0"
        shutil.copytree(tmp_path / "t-0", work)
        with open(work / active.name, "r+b") as f:
            f.truncate(full - marker_size + keep)
        reopened = PartitionLog(work, config)
        # a torn marker is cut off (with its index entry); a whole one stays (with its entry)
        assert _state(reopened) == (after if keep == marker_size else before), keep
        # and the log goes on: the coordinator's retry of the marker lands where it belongs
        if keep < marker_size:
            reopened.append_control(1, 0, False, 0, 0)
            assert _state(reopened) == after
        reopened.close()
        shutil.rmtree(work)


@pytest.mark.parametrize("lost", [ENTRY_SIZE, 1, ENTRY_SIZE - 1, 2 * ENTRY_SIZE])
def test_marker_written_but_index_entry_lost(tmp_path: Path, lost: int) -> None:
    log, _, _ = _build(tmp_path / "t-0", 700)
    after = _state(log)
    index = log.segments[-1].txn_index.path
    log.close(clean=False)
    size = index.stat().st_size
    with open(index, "r+b") as f:  # the crash came between the marker write and the index write
        f.truncate(max(size - lost, 0))
    reopened = PartitionLog(tmp_path / "t-0", log.config)
    assert _state(reopened) == after
    assert index.stat().st_size == size
    reopened.close(clean=False)
    index.unlink()  # even with no file at all
    reopened = PartitionLog(tmp_path / "t-0", log.config)
    assert _state(reopened) == after
    reopened.close()


def test_clean_restart_reads_indexes_as_written(tmp_path: Path) -> None:
    log, _, _ = _build(tmp_path / "t-0", 700)
    after = _state(log)
    assert len(log.segments) > 2 and sum(s.txn_index.exists for s in log.segments) >= 2
    log.close()
    reopened = PartitionLog(tmp_path / "t-0", log.config)
    assert _state(reopened) == after
    reopened.close()


def test_retention_carries_txnindex(tmp_path: Path) -> None:
    log, _, _ = _build(tmp_path / "t-0", 700)
    first = log.segments[0]
    assert first.txn_index.exists
    name = first.txn_index.path.name
    gone = [t for t in first.txn_index.entries()]
    kept = [t for s in log.segments[1:] for t in s.txn_index.entries()]
    log.advance_log_start(log.segments[1].base_offset)
    result = enforce_retention(log, retention_policy(file_delete_delay_ms=60_000), 0)
    assert result is not None and result.segments == 1
    assert not (tmp_path / "t-0" / name).exists() and (tmp_path / "t-0" / (name + ".deleted")).exists()
    assert index_entries(log) == kept
    assert log.aborted_transactions(log.log_start_offset, log.log_end_offset) == [
        t for t in kept if t.last_offset >= log.log_start_offset
    ]
    assert gone and all(t not in log.aborted_transactions(0, log.log_end_offset) for t in gone)
    paths = log.reap_retired(0, force=True)
    assert tmp_path / "t-0" / (name + ".deleted") in paths
    log.close()


def test_truncate_to_retires_txnindex_of_removed_segments(tmp_path: Path) -> None:
    log, _, _ = _build(tmp_path / "t-0", 700)
    doomed = [s for s in log.segments[2:] if s.txn_index.exists]  # segments[1] is cut, not removed
    assert doomed and log.segments[1].txn_index.exists
    cut = log.segments[1].base_offset
    want = [t for t in index_entries(log) if t.last_offset < cut]
    log.truncate_to(cut)
    assert index_entries(log) == want and log.segments[-1].txn_index.entries() == []
    for segment in doomed:
        assert segment.txn_index.path.name.endswith(".deleted") and segment.txn_index.path.exists()
    log.close()
    reopened = PartitionLog(tmp_path / "t-0", log.config)
    assert index_entries(reopened) == want
    assert not list((tmp_path / "t-0").glob("*.deleted"))
    reopened.close()


def test_stray_and_swap_txnindex_files(tmp_path: Path) -> None:
    log, _, _ = _build(tmp_path / "t-0", 700)
    after = _state(log)
    base = log.segments[0].base_offset
    log.close()
    d = tmp_path / "t-0"
    # an index whose .log is gone, and an uncommitted swap: both removed
    (d / "00000000000000999999.txnindex").write_bytes(AbortedTxn(1, 0, 1, 2).encode())
    (d / f"{base:020d}.txnindex.swap").write_bytes(AbortedTxn(5, 0, 1, 2).encode())
    reopened = PartitionLog(d, log.config)
    assert _state(reopened) == after
    assert not (d / "00000000000000999999.txnindex").exists()
    assert not (d / f"{base:020d}.txnindex.swap").exists()
    reopened.close()
    # a committed swap of the first segment whose cleaned index holds one entry less
    old = (d / f"{base:020d}.txnindex").read_bytes()
    for ext in (".log", ".index", ".timeindex"):
        shutil.copy(d / f"{base:020d}{ext}", d / f"{base:020d}{ext}.swap")
    (d / f"{base:020d}.txnindex.swap").write_bytes(old[ENTRY_SIZE:])
    reopened = PartitionLog(d, log.config)
    assert (d / f"{base:020d}.txnindex").read_bytes() == old[ENTRY_SIZE:]
    assert not list(d.glob("*.swap"))
    assert reopened.segments[0].txn_index.entries() == after[1][1 : len(old) // ENTRY_SIZE]
    reopened.close()


def test_emptied_marker_on_follower_path(tmp_path: Path) -> None:
    """The cleaner may empty a marker's batch (its transaction is gone from the log): a follower
    copying it completes nothing and does not fail."""
    leader = PartitionLog(tmp_path / "l-0", log_config())
    leader.append(txn(1, 0), 0)
    leader.append_control(1, 0, False, 0, 0)
    data = all_bytes(leader)
    (pos0, h0), (pos1, h1) = list(iter_batches(data))
    assert h1.is_control
    empty = rebuild_batch(h1, b"", attributes=TRANSACTIONAL_BIT | CONTROL_BIT, record_count=0,
                          base_timestamp=h1.base_timestamp, max_timestamp=h1.max_timestamp)
    assert BatchHeader(empty).record_count == 0
    follower = PartitionLog(tmp_path / "f-0", log_config())
    follower.append_as_follower(data[:pos1] + empty, 0)
    assert follower.log_end_offset == 3 and index_entries(follower) == []
    assert follower.producer_state.ongoing_transactions() == {1: 0}
    follower.close(clean=False)
    reopened = PartitionLog(tmp_path / "f-0", log_config())
    assert reopened.producer_state.ongoing_transactions() == {1: 0}
    reopened.close()
    leader.close()


def test_cleaner_style_segment_files_carry_txnindex(tmp_path: Path) -> None:
    """A segment written under ``.cleaned`` names with a transaction index, renamed ``.swap`` (the
    commit point) and left there by a crash: the next open installs its ``.txnindex`` with it."""
    d = tmp_path / "t-0"
    d.mkdir()
    source = PartitionLog(tmp_path / "src-0", log_config())
    source.append(txn(1, 0), 0)
    source.append_control(1, 0, False, 0, 0)
    data = bytearray(all_bytes(source))
    source.delete()
    writer = Segment(d, 0, create=True, suffix=".cleaned")
    batches = list(iter_batches(data))
    writer.append(data, batches, 0, 4096)
    writer.txn_index.append(AbortedTxn(1, 0, 2, 3))
    assert writer.txn_index.path.name == "00000000000000000000.txnindex.cleaned"
    writer.seal()
    writer.flush()
    writer.rename_suffix(".cleaned", ".swap")
    writer.close()
    assert sorted(p.name for p in d.iterdir()) == [
        "00000000000000000000.index.swap", "00000000000000000000.log.swap",
        "00000000000000000000.timeindex.swap", "00000000000000000000.txnindex.swap",
    ]
    log = PartitionLog(d, log_config())
    assert log.log_end_offset == 3 and index_entries(log) == [AbortedTxn(1, 0, 2, 3)]
    assert log.aborted_transactions(0, 3) == [AbortedTxn(1, 0, 2, 3)]
    log.close()
