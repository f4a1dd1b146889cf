"""The log cleaner on transactional logs, driven directly (no broker): logs built with real
transactional batches and markers (``PartitionLog.append_control``), cleaned, then read the way a
read_committed consumer reads them (aborted transactions from ``PartitionLog.aborted_transactions``,
dropped until their ABORT marker; nothing at or above the first unstable offset)."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from storage import PartitionLog
from storage.cleaner import STEPS, clean, inspect, read_checkpoint
from storage.txn_index import AbortedTxn
from tests.support.logs import read_all
from tests.support.policies import cleaner_config, log_config
from wire.records import BatchHeader, build_batch, control_type, crc_ok, iter_batches, iter_records

NOW = 1_700_000_000_000
RETENTION = 86_400_000  # delete.retention.ms default
FORCE = cleaner_config(min_cleanable_ratio=0.0, file_delete_delay_ms=0)


class Crash(BaseException):
    """Stands for the process dying at a step of the swap."""


class Writer:
    """Appends to one log as a set of producers: plain (no producer id), or transactional ones."""

    def __init__(self, log: PartitionLog) -> None:
        self.log = log
        self.seqs: dict[int, int] = {}

    def plain(self, *items: tuple[bytes | None, bytes | None]) -> int:
        recs = [(k, v, None, NOW - 1000) for k, v in items]
        return self.log.append(bytearray(build_batch(recs)), NOW - 1000).base_offset

    def txn(self, pid: int, *items: tuple[bytes | None, bytes | None], codec: int = 0) -> int:
        seq = self.seqs.get(pid, 0)
        self.seqs[pid] = seq + len(items)
        recs = [(k, v, None, NOW - 1000) for k, v in items]
        batch = build_batch(recs, producer_id=pid, producer_epoch=0, base_sequence=seq, transactional=True,
                            compression=codec)
        return self.log.append(bytearray(batch), NOW - 1000).base_offset

    def end(self, pid: int, commit: bool) -> int:
        return self.log.append_control(pid, 0, commit, 0, NOW - 1000).base_offset


def small_log(path: Path, segment_bytes: int = 100) -> PartitionLog:
    """One batch per segment: a pass sees many segments and groups."""
    return PartitionLog(path, log_config(segment_bytes=segment_bytes, index_interval_bytes=100))


def batches(log: PartitionLog) -> list[tuple[bytes, int, BatchHeader]]:
    data = read_all(log)
    return [(data, pos, h) for pos, h in iter_batches(data)]


def check_layout(log: PartitionLog) -> None:
    """Every offset from the log start to the log end is in exactly one CRC-valid batch."""
    expected = log.log_start_offset
    for data, pos, h in batches(log):
        assert crc_ok(data, pos, h)
        assert h.base_offset == expected, "batches must stay contiguous"
        expected = h.next_offset
    assert expected == log.log_end_offset


def committed_view(log: PartitionLog) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of what a read_committed consumer gets, in order."""
    lso = log.first_unstable_offset
    lso = log.log_end_offset if lso is None else lso
    aborted = sorted(log.aborted_transactions(log.log_start_offset, lso), key=lambda t: t.first_offset)
    open_aborts: set[int] = set()
    out = []
    i = 0
    for data, pos, h in batches(log):
        if h.base_offset >= lso:
            break
        while i < len(aborted) and aborted[i].first_offset <= h.last_offset:
            open_aborts.add(aborted[i].producer_id)
            i += 1
        if h.is_control:
            if h.record_count and not control_type(data, pos).commit:
                open_aborts.discard(h.producer_id)
            continue
        if h.is_transactional and h.producer_id in open_aborts:
            continue
        out += [(r.offset, r.key, r.value) for r in iter_records(data, pos)]
    return out


def latest(view: list[tuple[int, bytes | None, bytes | None]]) -> dict[bytes, bytes]:
    """What compaction must preserve: the latest value of every key not deleted by a tombstone."""
    state: dict[bytes, bytes | None] = {}
    for _, k, v in view:
        if k is not None:
            state[k] = v
    return {k: v for k, v in state.items() if v is not None}


def markers(log: PartitionLog) -> list[tuple[BatchHeader, bool | None]]:
    """Every control batch: (header, commit) — commit None for a marker the cleaner emptied."""
    return [(h, control_type(d, p).commit if h.record_count else None) for d, p, h in batches(log) if h.is_control]


def values_at(log: PartitionLog) -> dict[int, bytes | None]:
    """The data records' values by offset (markers left out)."""
    return {r.offset: r.value for d, p, h in batches(log) if not h.is_control for r in iter_records(d, p)}


# -- 1. the cleanable range stops at the first unstable offset ---------------------------------------


def test_ongoing_transaction_is_never_cleaned(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    for i in range(4):
        w.plain((b"k", b"plain-%d" % i), (b"other", b"o%d" % i))
    first = w.txn(7, (b"k", b"txn-1"))  # ongoing from here
    for i in range(4):
        w.plain((b"k", b"after-%d" % i))
    w.txn(7, (b"k", b"txn-2"))
    w.plain((b"z", b"active"))
    assert log.first_unstable_offset == first
    holder = next(s for s in reversed(log.segments) if s.base_offset <= first)
    before = read_all(log)
    state = inspect(log, FORCE, NOW)
    assert state.first_uncleanable == holder.base_offset
    stats = clean(log, FORCE, NOW, force=True)
    assert stats is not None and stats.end_offset <= holder.base_offset
    after = read_all(log)
    tail_before = before[sum(h.total_size for _, h in iter_batches(before) if h.base_offset < holder.base_offset):]
    assert after.endswith(tail_before), "nothing at or after the ongoing transaction's segment changes"
    kept = values_at(log)
    assert kept[first] == b"txn-1" and b"plain-3" in kept.values()
    assert b"plain-0" not in kept.values(), "the stable part before it is compacted"

    w.end(7, commit=True)
    for i in range(3):
        w.plain((b"z", b"roll-%d" % i))
    assert log.first_unstable_offset is None
    clean(log, FORCE, NOW, force=True)
    assert latest(committed_view(log))[b"k"] == b"txn-2"
    assert [v for v in values_at(log).values() if v and v.startswith((b"txn", b"after", b"plain"))] == [b"txn-2"]
    log.close()


# -- 2. aborted data removed, never in the offset map ------------------------------------------------


@pytest.mark.parametrize("codec", [0, 1])
def test_aborted_data_is_removed_and_never_shadows_committed(tmp_path: Path, codec: int) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    w.plain((b"k", b"committed"), (b"j", b"j1"))
    first = w.txn(5, (b"k", b"aborted-1"), (b"j", b"aborted-j"), codec=codec)
    w.plain((b"x", b"interleaved"))  # another producer's data inside the transaction's range
    w.txn(5, (b"k", b"aborted-2"), codec=codec)
    marker = w.end(5, commit=False)
    w.plain((b"z", b"active"))
    assert log.aborted_transactions(0, log.log_end_offset) == [AbortedTxn(5, first, marker, marker + 1)]
    view_before = latest(committed_view(log))
    assert view_before == {b"k": b"committed", b"j": b"j1", b"x": b"interleaved", b"z": b"active"}
    stats = clean(log, FORCE, NOW, force=True)
    assert stats is not None and stats.aborted_dropped == 3
    check_layout(log)
    vals = values_at(log)
    assert b"committed" in vals.values() and b"j1" in vals.values(), "aborted keys are not in the map"
    assert not [v for v in vals.values() if v and v.startswith(b"aborted")]
    assert latest(committed_view(log)) == view_before
    emptied = [h for _, _, h in batches(log) if h.producer_id == 5 and not h.is_control]
    assert emptied and all(h.record_count == 0 and not h.is_transactional for h in emptied)
    log.close()


# -- 3. committed transactional records are compacted ------------------------------------------------


def test_committed_transactions_compact_like_plain_records(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    w.txn(1, (b"a", b"t1-a"), (b"b", b"t1-b"))
    w.plain((b"a", b"plain-a"), (b"c", b"plain-c"))
    w.end(1, commit=True)
    w.txn(2, (b"b", b"t2-b"))
    w.txn(1, (b"c", b"t1-c2"))
    w.end(2, commit=True)
    w.txn(1, (b"d", b"t1-d"))
    w.end(1, commit=True)
    w.plain((b"z", b"active"))
    expected = {b"a": b"plain-a", b"b": b"t2-b", b"c": b"t1-c2", b"d": b"t1-d", b"z": b"active"}
    assert latest(committed_view(log)) == expected
    stats = clean(log, FORCE, NOW, force=True)
    assert stats is not None
    check_layout(log)
    assert latest(committed_view(log)) == expected
    kept = sorted(v for v in values_at(log).values() if v is not None)
    assert kept == sorted(expected.values()), "one record per key is left, transactional or not"
    partial = [h for _, _, h in batches(log) if h.producer_id == 1 and not h.is_control and h.record_count]
    assert partial and all(h.is_transactional for h in partial), "a batch that keeps records stays transactional"
    log.close()


def test_tombstone_in_a_committed_transaction_follows_tombstone_rules(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    w.plain((b"k", b"v"))
    w.txn(3, (b"k", None), (b"m", b"m1"))
    w.end(3, commit=True)
    w.plain((b"z", b"active"))
    clean(log, FORCE, NOW, force=True)
    hs = [h for _, _, h in batches(log) if h.producer_id == 3 and not h.is_control]
    assert hs[0].record_count == 2 and hs[0].delete_horizon_ms == NOW + RETENTION
    assert hs[0].is_transactional
    assert b"v" not in values_at(log).values()
    clean(log, FORCE, NOW + RETENTION, force=True)
    hs = [h for _, _, h in batches(log) if h.producer_id == 3 and not h.is_control]
    assert hs[0].record_count == 1, "the tombstone goes at its horizon, the other record stays"
    assert latest(committed_view(log)) == {b"m": b"m1", b"z": b"active"}
    log.close()


# -- 4. markers: kept while they guard data, then a delete horizon, then gone --------------------------


def test_commit_marker_lifecycle(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    w.txn(9, (b"k", b"old"))
    w.end(9, commit=True)
    w.plain((b"k", b"new"))
    w.plain((b"z", b"active"))
    [(m, commit)] = markers(log)
    assert commit is True and m.delete_horizon_ms is None

    clean(log, FORCE, NOW, force=True)  # the transaction's record goes; its batch was seen, so its marker stays
    [(m, commit)] = markers(log)
    assert commit is True and m.delete_horizon_ms is None

    stats = clean(log, FORCE, NOW + 10, force=True)  # nothing left to guard: the delete horizon is stamped
    assert stats is not None and stats.markers_stamped == 1
    [(m, commit)] = markers(log)
    assert commit is True and m.delete_horizon_ms == NOW + 10 + RETENTION
    assert read_checkpoint(log.directory)[1] == NOW + 10 + RETENTION
    assert not inspect(log, cleaner_config(), NOW + 10 + RETENTION - 1).due(0.5)
    assert inspect(log, cleaner_config(), NOW + 10 + RETENTION).tombstones_due, "a pass is due at the horizon"

    clean(log, FORCE, NOW + 10 + RETENTION - 1, force=True)
    [(m, commit)] = markers(log)
    assert commit is True, "kept until its horizon"
    stats = clean(log, cleaner_config(file_delete_delay_ms=0), NOW + 10 + RETENTION)
    assert stats is not None and stats.markers_removed == 1
    [(m, commit)] = markers(log)
    assert commit is None and m.record_count == 0 and m.is_transactional, "an empty control batch"
    check_layout(log)
    assert latest(committed_view(log)) == {b"k": b"new", b"z": b"active"}
    log.close()


def test_marker_of_an_empty_transaction_is_stamped_at_the_first_pass(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    w.plain((b"k", b"v"))
    w.end(4, commit=False)  # a marker with no data before it (an empty transaction)
    w.end(6, commit=True)
    w.plain((b"z", b"active"))
    clean(log, FORCE, NOW, force=True)
    assert [(m.delete_horizon_ms, c) for m, c in markers(log)] == [(NOW + RETENTION, False), (NOW + RETENTION, True)]
    clean(log, FORCE, NOW + RETENTION, force=True)
    assert [(m.record_count, c) for m, c in markers(log)] == [(0, None), (0, None)]
    check_layout(log)
    log.close()


def test_marker_stays_while_its_transaction_keeps_records(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    w.txn(2, (b"k", b"kept"))
    w.end(2, commit=True)
    w.plain((b"z", b"active"))
    for t in (NOW, NOW + 1, NOW + 2 * RETENTION):
        clean(log, FORCE, t, force=True)
        [(m, commit)] = markers(log)
        assert commit is True and m.delete_horizon_ms is None
    log.close()


# -- 5. the aborted-transaction index of cleaned segments ---------------------------------------------


def test_abort_marker_and_its_index_entry(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    first = w.txn(8, (b"k", b"aborted"))
    w.plain((b"k", b"plain"))
    marker = w.end(8, commit=False)
    w.plain((b"z", b"active"))
    entry = AbortedTxn(8, first, marker, marker + 1)

    clean(log, FORCE, NOW, force=True)  # the data goes; the marker and its entry stay, in the cleaned segment
    [(m, commit)] = markers(log)
    assert commit is False and m.delete_horizon_ms is None
    holder = next(s for s in reversed(log.segments) if s.base_offset <= marker)
    assert holder.txn_index.entries() == [entry]
    assert os.path.exists(holder.txn_index.path) and holder.txn_index.path.name.endswith(".txnindex")
    assert log.aborted_transactions(0, log.log_end_offset) == [entry]

    clean(log, FORCE, NOW + 1, force=True)  # no data left: the marker gets its horizon and the entry goes
    [(m, commit)] = markers(log)
    assert commit is False and m.delete_horizon_ms == NOW + 1 + RETENTION
    assert log.aborted_transactions(0, log.log_end_offset) == []
    assert not [n for n in os.listdir(log.directory) if n.endswith(".txnindex")]

    clean(log, FORCE, NOW + 1 + RETENTION, force=True)
    [(m, commit)] = markers(log)
    assert commit is None
    assert latest(committed_view(log)) == {b"k": b"plain", b"z": b"active"}
    log.close()


def test_partly_cleaned_log_still_hides_aborted_data(tmp_path: Path) -> None:
    """A small dedupe buffer stops the map before the ABORT marker's segment: the aborted data below
    it is emptied, the marker's segment (and its entry) stays, and readers see the same records."""
    log = small_log(tmp_path / "t-0")
    w = Writer(log)
    first = w.txn(5, (b"a", b"aborted-a"))
    w.plain((b"a", b"plain-a"))
    w.txn(5, (b"b", b"aborted-b"))
    for i in range(6):
        w.plain((b"key-%d" % i, b"x"))
    marker = w.end(5, commit=False)
    w.txn(5, (b"b", b"committed-b"))  # the producer's next transaction, committed
    w.end(5, commit=True)
    w.plain((b"z", b"active"))
    expected = latest(committed_view(log))
    assert expected[b"b"] == b"committed-b" and expected[b"a"] == b"plain-a"
    small = cleaner_config(min_cleanable_ratio=0.0, file_delete_delay_ms=0, dedupe_buffer_size=24 * 3)
    stats = clean(log, small, NOW)
    assert stats is not None and stats.end_offset <= marker, "the map stopped before the marker"
    assert stats.aborted_dropped >= 1
    check_layout(log)
    assert log.aborted_transactions(0, log.log_end_offset) == [AbortedTxn(5, first, marker, marker + 1)]
    assert latest(committed_view(log)) == expected
    for t in (NOW + 1, NOW + 2, NOW + 3 + RETENTION, NOW + 4 + RETENTION):
        clean(log, small, t, force=True)
        check_layout(log)
        assert latest(committed_view(log)) == expected
    log.close()


def test_crash_at_each_step_keeps_the_index_consistent(tmp_path: Path) -> None:
    src = tmp_path / "src-0"
    log = small_log(src, segment_bytes=1 << 20)
    w = Writer(log)
    for round_ in range(3):
        w.txn(1, (b"a", b"aborted-%d" % round_))
        w.plain((b"a", b"plain-%d" % round_))
        w.end(1, commit=False)
    w.plain((b"z", b"active"))
    log.close()
    log = PartitionLog(src, log_config(segment_bytes=500, index_interval_bytes=100))
    w = Writer(log)
    w.plain((b"z", b"roll"))  # the big segment is closed now
    w.plain((b"z", b"roll2"))
    log.close()
    for step in STEPS:
        work = tmp_path / f"work-{step}"
        shutil.copytree(src, work)
        log = PartitionLog(work, log_config(segment_bytes=500, index_interval_bytes=100))
        expected = latest(committed_view(log))
        entries = log.aborted_transactions(0, log.log_end_offset)
        assert len(entries) == 3

        def hook(name: str, step: str = step) -> None:
            if name == step:
                raise Crash(name)

        try:
            clean(log, FORCE, NOW, hook=hook, force=True)
        except Crash:
            pass
        log.close(clean=False)
        log = PartitionLog(work, log_config(segment_bytes=500, index_interval_bytes=100))
        assert latest(committed_view(log)) == expected, step
        assert not [n for n in os.listdir(work) if n.endswith((".cleaned", ".swap"))], step
        # before or after the pass, every marker still guards data: its entry is there
        assert log.aborted_transactions(0, log.log_end_offset) == entries, step
        clean(log, FORCE, NOW, force=True)
        assert latest(committed_view(log)) == expected, step
        check_layout(log)
        log.close()


# -- 6. mixed producers, many passes, reopened ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_random_mixed_workload(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    log = small_log(tmp_path / "t-0", segment_bytes=rng.choice([200, 400, 800]))
    w = Writer(log)
    pids = [11, 12, 13]
    in_txn: set[int] = set()
    for step in range(120):
        key = b"k%d" % rng.randrange(8)
        value = None if rng.random() < 0.1 else b"v%d" % step
        choice = rng.random()
        if choice < 0.35:
            w.plain((key, value), (b"k%d" % rng.randrange(8), b"w%d" % step))
        else:
            pid = rng.choice(pids)
            if pid in in_txn and rng.random() < 0.35:
                w.end(pid, commit=rng.random() < 0.6)
                in_txn.discard(pid)
            else:
                w.txn(pid, (key, value))
                in_txn.add(pid)
    ongoing = pids[seed % 3] if seed % 2 else None
    for pid in sorted(in_txn - {ongoing}):
        w.end(pid, commit=rng.random() < 0.5)
    w.plain((b"z", b"active"))
    expected = latest(committed_view(log))
    unstable = log.first_unstable_offset
    assert (unstable is None) == (ongoing not in in_txn)
    holder = None
    if unstable is not None:
        holder = next(s for s in reversed(log.segments) if s.base_offset <= unstable)
    before = {h.base_offset: d[p : p + h.total_size] for d, p, h in batches(log)}
    # a tombstone goes at its horizon (third pass), its marker is stamped at the fourth and goes at the fifth
    for t in (NOW, NOW + 1, NOW + 2 + RETENTION, NOW + 3 + RETENTION, NOW + 4 + 2 * RETENTION):
        clean(log, cleaner_config(min_cleanable_ratio=0.0, file_delete_delay_ms=0), t, force=True)
        check_layout(log)
        assert latest(committed_view(log)) == expected, t
        if holder is not None:
            after = {h.base_offset: d[p : p + h.total_size] for d, p, h in batches(log)}
            assert all(after[o] == b for o, b in before.items() if o >= holder.base_offset), "unstable part kept"
    # every batch of an aborted transaction is empty; a remaining marker guards records
    if unstable is None:
        open_data: dict[int, int] = {}
        active = log.segments[-1].base_offset  # never cleaned
        for d, p, h in batches(log):
            if h.base_offset >= active:
                break
            if h.is_control:
                if h.record_count:
                    assert open_data.get(h.producer_id, 0) > 0, "a marker guarding nothing is gone"
                    assert control_type(d, p).commit, "an aborted transaction has no records left"
                open_data[h.producer_id] = 0
            elif h.is_transactional:
                open_data[h.producer_id] = open_data.get(h.producer_id, 0) + h.record_count
    view = committed_view(log)
    log.close()
    log = small_log(tmp_path / "t-0")
    assert log.first_unstable_offset == unstable, "producer state rebuilt from the cleaned log agrees"
    assert committed_view(log) == view
    log.close(clean=False)
    for name in os.listdir(tmp_path / "t-0"):
        if name.endswith(".snapshot"):
            os.unlink(tmp_path / "t-0" / name)  # rebuilt from the whole log this time
    log = small_log(tmp_path / "t-0")
    assert log.first_unstable_offset == unstable
    assert committed_view(log) == view
    log.close()
