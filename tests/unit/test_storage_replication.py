"""Storage for replication: follower appends, truncation (to an offset, fully), leader epoch cache
truncation, the high-watermark checkpoint. Real files, no server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from storage import PartitionLog, UnexpectedAppendOffset, hw_checkpoint
from storage.cleaner.plan import read_checkpoint, write_checkpoint
from storage.leader_epoch import CHECKPOINT_FILE, LeaderEpochCache
from storage.log import whole_batches_length
from tests.support.logs import read_all
from tests.support.policies import log_config
from wire.records import (
    BatchHeader,
    CorruptRecordError,
    build_batch,
    iter_batches,
    set_base_offset,
    set_partition_leader_epoch,
)

CONFIG = log_config(segment_bytes=1500, index_interval_bytes=200)


def batch(i: int, count: int = 2, size: int = 40, **kw) -> bytearray:
    records = [(b"k", bytes([i % 251]) * size, None, 1_000 + 10 * i + j) for j in range(count)]
    return bytearray(build_batch(records, **kw))


def leader_log(directory: Path, epochs: dict[int, int], n: int = 40) -> PartitionLog:
    """A leader's log of ``n`` batches; ``epochs`` maps batch index -> the epoch it becomes leader in."""
    log = PartitionLog(directory, CONFIG)
    for i in range(n):
        if i in epochs:
            log.leader_epochs.assign(epochs[i], log.log_end_offset)
        log.append(batch(i, count=1 + i % 3, size=(i * 37) % 150), 0)
    return log


def headers(data: bytes) -> list[BatchHeader]:
    return [h for _, h in iter_batches(data)]


def replicate(leader: PartitionLog, follower: PartitionLog, max_bytes: int = 700) -> None:
    """Fetch from the follower's end until it has everything, answers cut at ``max_bytes`` (mid-batch)."""
    for _ in range(10_000):
        end = follower.log_end_offset
        if end == leader.log_end_offset:
            return
        answer = leader.read_bytes(end, 1 << 20)[:max_bytes]
        if whole_batches_length(answer) == 0:  # the first batch is larger than the cut: take it whole
            answer = leader.read_bytes(end, 1)
        follower.append_as_follower(answer, 0)
    raise AssertionError("replication did not finish")


def test_follower_append_keeps_offsets_epochs_and_bytes(tmp_path: Path) -> None:
    leader = leader_log(tmp_path / "leader", {0: 0, 10: 3, 25: 7})
    follower = PartitionLog(tmp_path / "follower", CONFIG)
    replicate(leader, follower)
    assert read_all(follower) == read_all(leader)  # byte for byte: offsets and epochs kept
    assert len(follower.segments) > 3
    assert follower.leader_epochs.entries == leader.leader_epochs.entries
    assert [e for e, _ in follower.leader_epochs.entries] == [0, 3, 7]
    assert follower.leader_epoch == 7
    # indexes work: every offset reads back from its batch
    for offset in range(0, follower.log_end_offset, 7):
        assert follower.read_bytes(offset, 1) == leader.read_bytes(offset, 1)
    assert follower.offset_for_timestamp(1_200) == leader.offset_for_timestamp(1_200)
    follower.close()
    reopened = PartitionLog(tmp_path / "follower", CONFIG)
    assert read_all(reopened) == read_all(leader)
    assert reopened.leader_epochs.entries == leader.leader_epochs.entries
    reopened.close()
    leader.close()


def test_follower_append_partial_tail_and_rejections(tmp_path: Path) -> None:
    follower = PartitionLog(tmp_path / "f", CONFIG)
    one = batch(1, count=3)
    two = batch(2, count=2)
    set_base_offset(two, 0, 3)
    set_partition_leader_epoch(one, 0, 2)
    set_partition_leader_epoch(two, 0, 2)
    buf = bytes(one + two)
    # empty, or only a piece of the first batch: nothing written
    for piece in (b"", buf[:10], buf[: len(one) - 1]):
        info = follower.append_as_follower(piece, 0)
        assert (info.base_offset, info.last_offset) == (0, -1)
    assert follower.log_end_offset == 0
    info = follower.append_as_follower(buf[: len(one) + 30], 0)  # ends inside the second batch
    assert (info.base_offset, info.last_offset) == (0, 2)
    assert whole_batches_length(buf[: len(one) + 30]) == len(one)
    assert follower.leader_epochs.entries == [(2, 0)]  # epoch 2 from offset 0 replaces epoch 0 there
    with pytest.raises(UnexpectedAppendOffset) as exc:  # the first batch again: overlaps
        follower.append_as_follower(bytes(one), 0)
    assert (exc.value.expected, exc.value.base_offset) == (3, 0)
    gap = bytearray(two)
    set_base_offset(gap, 0, 4)
    with pytest.raises(UnexpectedAppendOffset):  # a gap
        follower.append_as_follower(bytes(gap), 0)
    bad = bytearray(two)
    bad[8:12] = (5).to_bytes(4, "big")  # batchLength smaller than a header
    with pytest.raises(CorruptRecordError):
        follower.append_as_follower(bytes(bad), 0)
    assert follower.log_end_offset == 3
    info = follower.append_as_follower(bytes(two), 0)
    assert (info.base_offset, info.last_offset, follower.log_end_offset) == (3, 4, 5)
    assert [h.partition_leader_epoch for h in headers(read_all(follower))] == [2, 2]
    follower.close()


def test_follower_records_producers_without_checks(tmp_path: Path) -> None:
    follower = PartitionLog(tmp_path / "f", CONFIG)
    offset = 0
    for seq in (0, 7):  # a sequence gap the leader accepted (its state may have expired): no check here
        b = batch(seq, count=2, producer_id=9, producer_epoch=1, base_sequence=seq)
        set_base_offset(b, 0, offset)
        follower.append_as_follower(bytes(b), 0)
        offset += 2
    entry = follower.producer_state.get(9)
    assert entry is not None and [(m.first_seq, m.base_offset) for m in entry.batches] == [(0, 0), (7, 2)]
    follower.close()


def test_truncate_inside_and_across_segments_then_append_again(tmp_path: Path) -> None:
    leader = leader_log(tmp_path / "leader", {0: 0, 20: 4})
    follower = PartitionLog(tmp_path / "f", CONFIG)
    replicate(leader, follower)
    ref = [(h.base_offset, h.next_offset) for h in headers(read_all(leader))]
    bases = [s.base_offset for s in follower.segments]
    assert len(bases) > 4
    # a batch boundary in the middle of the third segment
    boundary = next(b for b, _ in ref if bases[2] < b < bases[3])
    before = read_all(follower)
    kept = before[: _prefix_len(before, boundary)]
    assert follower.truncate_to(boundary, now_ms=0, delete_delay_ms=0) == boundary
    assert follower.log_end_offset == boundary
    assert [s.base_offset for s in follower.segments] == bases[:3]
    assert read_all(follower) == kept
    assert len(list((tmp_path / "f").glob("*.deleted"))) == 3 * (len(bases) - 3)
    for path in follower.reap_retired(0):
        path.unlink()
    assert not list((tmp_path / "f").glob("*.deleted"))
    # inside a batch: cut at its base offset
    multi = next((b, n) for b, n in ref if n - b > 1 and bases[1] < b and n < boundary)
    assert follower.truncate_to(multi[0] + 1) == multi[0]
    assert follower.log_end_offset == multi[0]
    # the epoch that started above the cut is gone, the rest kept
    assert all(o < follower.log_end_offset for _, o in follower.leader_epochs.entries)
    # past the end: nothing changes
    assert follower.truncate_to(follower.log_end_offset + 5) == multi[0]
    # the leader's batches continue the log again, through a re-roll at the same bases
    replicate(leader, follower, max_bytes=300)
    assert read_all(follower) == read_all(leader)
    assert follower.leader_epochs.entries == leader.leader_epochs.entries
    for offset in range(0, follower.log_end_offset, 3):
        assert follower.read_bytes(offset, 1) == leader.read_bytes(offset, 1)
    # truncating twice at the same segment base while the first retired files still wait
    base = follower.segments[-2].base_offset
    follower.truncate_to(base - 1, delete_delay_ms=60_000)
    replicate(leader, follower)
    follower.truncate_to(base - 1, delete_delay_ms=60_000)
    replicate(leader, follower)
    assert read_all(follower) == read_all(leader)
    assert follower.retired_count >= 2
    follower.close()
    leader.close()


def _prefix_len(data: bytes, offset: int) -> int:
    for pos, h in iter_batches(data):
        if h.base_offset >= offset:
            return pos
    return len(data)


@pytest.mark.parametrize("clean", [True, False])
def test_truncate_survives_reopen(tmp_path: Path, clean: bool) -> None:
    leader = leader_log(tmp_path / "leader", {0: 0, 15: 2, 30: 5})
    follower = PartitionLog(tmp_path / "f", CONFIG)
    replicate(leader, follower)
    follower.flush()
    ref = [(h.base_offset, h.next_offset) for h in headers(read_all(leader))]
    cut = ref[22][0]
    assert follower.truncate_to(cut) == cut
    data, epochs = read_all(follower), follower.leader_epochs.entries
    assert follower.recovery_point <= cut
    follower.close(clean=clean)
    again = PartitionLog(tmp_path / "f", CONFIG)
    assert (again.log_end_offset, again.log_start_offset) == (cut, 0)
    assert read_all(again) == data
    assert again.leader_epochs.entries == epochs == [(0, 0), (2, ref[15][0])]
    assert not list((tmp_path / "f").glob("*.deleted"))
    replicate(leader, again)
    assert read_all(again) == read_all(leader)
    again.close()
    leader.close()


def test_producer_state_after_truncation_forgets_batches_above(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t", CONFIG)
    for seq in range(0, 60, 2):  # several segments, so rolls write snapshots
        log.append(batch(seq, count=2, size=100, producer_id=5, producer_epoch=0, base_sequence=seq), 0)
    assert len(log.segments) > 3
    snapshots = log.producer_state.snapshot_offsets()
    cut = 31  # inside the batch [30, 31]
    assert log.truncate_to(cut) == 30
    entry = log.producer_state.get(5)
    assert entry is not None and entry.last_seq == 29 and entry.batches[-1].last_offset == 29
    assert all(o <= 30 for o in log.producer_state.snapshot_offsets())
    assert set(log.producer_state.snapshot_offsets()) <= set(snapshots) | {30}
    # the producer continues where the log now ends: sequence 30 is accepted, not a duplicate
    info = log.append(batch(30, count=2, producer_id=5, producer_epoch=0, base_sequence=30), 0)
    assert (info.base_offset, info.duplicate) == (30, None)
    log.close()
    reopened = PartitionLog(tmp_path / "t", CONFIG)
    entry = reopened.producer_state.get(5)
    assert entry is not None and entry.last_seq == 31
    reopened.close()


def test_truncation_lowers_cleaner_checkpoint_and_recovery_point(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t", CONFIG)
    for i in range(30):
        log.append(batch(i), 0)
    log.flush()
    assert log.recovery_point == 60
    write_checkpoint(log.directory, 50, 123)
    log.truncate_to(20)
    assert log.recovery_point == 20
    assert read_checkpoint(log.directory) == (20, 123)
    log.close()


def test_truncate_fully_and_start_at(tmp_path: Path) -> None:
    leader = leader_log(tmp_path / "leader", {0: 0, 5: 1})
    follower = PartitionLog(tmp_path / "f", CONFIG)
    replicate(leader, follower)
    follower.truncate_fully_and_start_at(500)
    assert (follower.log_start_offset, follower.log_end_offset) == (500, 500)
    assert [s.base_offset for s in follower.segments] == [500]
    assert follower.leader_epochs.entries == [] and follower.leader_epoch == -1
    assert len(follower.producer_state) == 0 and follower.producer_state.snapshot_offsets() == []
    assert follower.read_bytes(500, 100) == b""
    b = batch(1, count=2)
    set_base_offset(b, 0, 500)
    set_partition_leader_epoch(b, 0, 6)
    follower.append_as_follower(bytes(b), 0)
    assert follower.leader_epochs.entries == [(6, 500)]
    follower.close(clean=False)
    again = PartitionLog(tmp_path / "f", CONFIG)
    assert (again.log_start_offset, again.log_end_offset) == (500, 502)
    assert again.read_bytes(500, 1 << 20) == bytes(b)
    assert again.leader_epochs.entries == [(6, 500)]
    # below the log start offset: a full truncation that starts the log there
    again.truncate_to(100)
    assert (again.log_start_offset, again.log_end_offset) == (100, 100)
    again.close()
    # a log start moved inside a batch (DeleteRecords) and a cut in that batch: start again at offset
    log = PartitionLog(tmp_path / "g", CONFIG)
    log.append(batch(1, count=5), 0)
    log.append(batch(2, count=5), 0)
    log.advance_log_start(7)
    assert log.truncate_to(8) == 8
    assert (log.log_start_offset, log.log_end_offset) == (8, 8)
    log.close()
    leader.close()


def test_leader_epoch_cache_truncation(tmp_path: Path) -> None:
    cache = LeaderEpochCache(tmp_path, 0)
    for epoch, start in ((2, 10), (4, 20), (7, 35)):
        cache.assign(epoch, start)
    assert cache.latest_entry == (7, 35)
    cache.assign(7, 40)  # not newer: ignored
    cache.assign(5, 50)
    assert cache.entries == [(0, 0), (2, 10), (4, 20), (7, 35)]
    cache.truncate_from_end(21)
    assert cache.entries == [(0, 0), (2, 10), (4, 20)]
    cache.truncate_from_end(20)
    assert cache.entries == [(0, 0), (2, 10)]
    assert LeaderEpochCache(tmp_path, 0).entries == [(0, 0), (2, 10)]
    cache.assign(4, 20)
    cache.truncate_from_start(15)  # the epoch covering 15 (2) now starts there
    assert cache.entries == [(2, 15), (4, 20)]
    cache.truncate_from_start(20)
    assert cache.entries == [(4, 20)]
    cache.truncate_from_start(3)  # below every entry: nothing
    assert cache.entries == [(4, 20)]
    assert (tmp_path / CHECKPOINT_FILE).read_text() == "0\n1\n4 20\n"
    cache.assign(6, 10)  # newer epoch starting below the latest entry: the later entries go
    assert cache.entries == [(6, 10)]
    cache.truncate_from_end(10)
    assert cache.entries == [] and cache.latest_epoch == -1 and cache.latest_entry is None
    assert cache.end_offset_for(3, 50) == (-1, -1)
    again = LeaderEpochCache(tmp_path, 0)  # an empty file stays empty
    assert again.entries == []
    again.assign(0, 0)
    assert LeaderEpochCache(tmp_path, 0).entries == [(0, 0)]
    again.clear()
    assert LeaderEpochCache(tmp_path, 0).entries == []


def test_log_start_moves_the_epoch_cache(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t", CONFIG)
    log.append(batch(1, count=4), 0)
    log.leader_epochs.assign(3, 4)
    log.append(batch(2, count=4), 0)
    log.advance_log_start(2)
    assert log.leader_epochs.entries == [(0, 2), (3, 4)]
    log.advance_log_start(6)
    assert log.leader_epochs.entries == [(3, 6)]
    log.close()


def test_open_drops_epochs_above_the_log_end(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t", CONFIG)
    log.append(batch(1, count=4), 0)
    log.leader_epochs.assign(2, 4)  # a leader's epoch at its log end: kept
    log.close()
    (tmp_path / "t" / CHECKPOINT_FILE).write_text("0\n3\n0 0\n2 4\n5 9\n")  # 9 is above the end
    log = PartitionLog(tmp_path / "t", CONFIG)
    assert log.leader_epochs.entries == [(0, 0), (2, 4)]
    log.close()


def test_hw_checkpoint_round_trip_and_malformed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / hw_checkpoint.CHECKPOINT_FILE
    assert hw_checkpoint.read(path) == {}  # missing
    marks = {("orders", 0): 42, ("orders", 11): 0, ("a.b_c-d", 3): 2**62}
    hw_checkpoint.write(path, marks)
    assert path.read_text() == "0\n3\na.b_c-d 3 4611686018427387904\norders 0 42\norders 11 0\n"
    assert hw_checkpoint.read(path) == marks
    hw_checkpoint.write(path, {})
    assert path.read_text() == "0\n0\n" and hw_checkpoint.read(path) == {}
    with pytest.raises(ValueError):
        hw_checkpoint.write(path, {("two words", 0): 1})
    assert hw_checkpoint.read(path) == {}  # nothing was written
    for bad in ("", "1\n0\n", "0\n2\norders 0 42\n", "0\n1\norders 0\n", "0\n1\norders x 42\n",
                "0\n1\norders 0 -1\n", "0\n2\norders 0 1\norders 0 2\n", "garbage"):
        path.write_text(bad)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="storage.hw_checkpoint"):
            assert hw_checkpoint.read(path) == {}, bad
        assert any("malformed" in r.message for r in caplog.records), bad


def test_truncate_at_the_log_end_drops_an_empty_epoch_begun_as_leader(tmp_path: Path) -> None:
    """A replica that became leader (epoch 2 at its log end) and wrote nothing before losing
    leadership must forget that epoch when it follows again, or its last fetched epoch (2) would
    diverge from the new leader's log at every fetch."""
    log = leader_log(tmp_path / "p", {0: 0, 10: 1}, n=20)
    end = log.log_end_offset
    log.leader_epochs.assign(2, end)
    assert log.leader_epoch == 2
    assert log.truncate_to(end) == end
    assert log.leader_epoch == 1 and log.log_end_offset == end
    assert LeaderEpochCache(tmp_path / "p", 0).entries == log.leader_epochs.entries  # on disk too
