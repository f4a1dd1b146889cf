"""Producer state and leader epochs in the partition log, without a server: Kafka's sequence rules,
snapshots, replay after a crash, damaged or stale snapshots, the leader-epoch checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage import PartitionLog
from storage.leader_epoch import CHECKPOINT_FILE, LeaderEpochCache
from storage.producer_state import InvalidProducerEpoch, OutOfOrderSequence, ProducerState
from tests.support.policies import log_config
from wire.records import BatchHeader, build_batch, iter_batches

INT32_MAX = 2**31 - 1


def pbatch(pid: int, epoch: int, seq: int, count: int = 2, ts: int = 1_000) -> bytearray:
    records = [(b"k", b"v%d" % (seq + i), None, ts + i) for i in range(count)]
    return bytearray(build_batch(records, producer_id=pid, producer_epoch=epoch, base_sequence=seq))


def plain(count: int = 1) -> bytearray:
    return bytearray(build_batch([(b"k", b"x", None, 1_000)] * count))


def all_headers(log: PartitionLog) -> list[BatchHeader]:
    out: list[BatchHeader] = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read_bytes(offset, 1 << 30)
        hs = [h for _, h in iter_batches(data)]
        out += hs
        offset = hs[-1].next_offset
    return out


def test_sequence_rules(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    a = log.append(pbatch(7, 0, 0), 0)
    assert (a.base_offset, a.last_offset, a.duplicate) == (0, 1, None)
    b = log.append(pbatch(7, 0, 2), 0)
    assert b.base_offset == 2
    # a retry of either of them: answered with the original offsets, nothing written
    again = log.append(pbatch(7, 0, 0), 0)
    assert again.duplicate is not None and (again.base_offset, again.last_offset) == (0, 1)
    assert log.append(pbatch(7, 0, 2), 0).base_offset == 2
    assert log.log_end_offset == 4
    with pytest.raises(OutOfOrderSequence):  # gap
        log.append(pbatch(7, 0, 5), 0)
    with pytest.raises(OutOfOrderSequence):  # overlaps but is not one of the batches
        log.append(pbatch(7, 0, 1), 0)
    with pytest.raises(OutOfOrderSequence):  # new epoch must start at 0
        log.append(pbatch(7, 1, 4), 0)
    assert log.append(pbatch(7, 1, 0), 0).base_offset == 4  # new epoch from 0
    with pytest.raises(InvalidProducerEpoch):
        log.append(pbatch(7, 0, 4), 0)
    # an unknown producer may start anywhere (current Kafka; state may have expired)
    assert log.append(pbatch(8, 3, 1000), 0).base_offset == 6
    # plain batches are not looked at
    assert log.append(plain(), 0).base_offset == 8
    assert log.log_end_offset == 9
    # every batch carries the leader epoch
    assert {h.partition_leader_epoch for h in all_headers(log)} == {0}
    log.close()


def test_window_is_five_batches(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    for i in range(7):
        log.append(pbatch(1, 0, 2 * i), 0)
    for i in range(2, 7):
        assert log.append(pbatch(1, 0, 2 * i), 0).duplicate is not None
    with pytest.raises(OutOfOrderSequence):  # batch 1 fell out of the window
        log.append(pbatch(1, 0, 2), 0)
    log.close()


def test_sequence_wraps_at_int32_max(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    log.append(pbatch(1, 0, INT32_MAX - 1, count=2), 0)  # last sequence INT32_MAX
    assert log.append(pbatch(1, 0, 0), 0).base_offset == 2
    log.append(pbatch(2, 0, INT32_MAX, count=3), 0)  # wraps inside: 2147483647, 0, 1
    st = log.producer_state.get(2)
    assert st is not None and st.last_seq == 1
    assert log.append(pbatch(2, 0, INT32_MAX, count=3), 0).duplicate is not None
    assert log.append(pbatch(2, 0, 2), 0).duplicate is None
    log.close()


def test_several_batches_in_one_append(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    info = log.append(pbatch(1, 0, 0) + pbatch(1, 0, 2) + plain(), 0)
    assert (info.base_offset, info.last_offset) == (0, 4)
    with pytest.raises(OutOfOrderSequence):  # second batch does not follow the first
        log.append(pbatch(1, 0, 4) + pbatch(1, 0, 7), 0)
    assert log.log_end_offset == 5, "a refused append writes nothing"
    log.close()


def state_of(log: PartitionLog) -> dict:
    return {pid: (e.epoch, list(e.batches)) for pid, e in log.producer_state.producers.items()}


def fill(log: PartitionLog, producers: int = 3, batches: int = 12) -> None:
    for i in range(batches):
        for pid in range(producers):
            log.append(pbatch(100 + pid, 0, 3 * i, count=3), 0)
            log.append(plain(2), 0)


def test_state_survives_clean_close_and_crash(tmp_path: Path) -> None:
    config = log_config(segment_bytes=1500, index_interval_bytes=200)
    log = PartitionLog(tmp_path / "t-0", config)
    fill(log)
    before = state_of(log)
    assert len(log.segments) > 3
    log.close()
    snaps = sorted(p.name for p in (tmp_path / "t-0").glob("*.snapshot"))
    assert len(snaps) == 3 and int(snaps[-1].split(".")[0]) == 15 * 12
    log = PartitionLog(tmp_path / "t-0", config)
    assert state_of(log) == before
    # a retry after the restart is still answered with its first offset
    dup = log.append(pbatch(101, 0, 33, count=3), 0)
    assert dup.duplicate is not None and dup.base_offset == before[101][1][-1].base_offset
    log.append(pbatch(101, 0, 36, count=3), 0)
    after = state_of(log)
    log.close(clean=False)  # crash: no snapshot at the end, replay from the last roll's
    log = PartitionLog(tmp_path / "t-0", config)
    assert state_of(log) == after
    log.close(clean=False)
    for p in (tmp_path / "t-0").glob("*.snapshot"):
        p.unlink()  # no snapshot at all: replay the whole log
    log = PartitionLog(tmp_path / "t-0", config)
    assert state_of(log) == after
    log.close()


def test_damaged_and_stale_snapshots(tmp_path: Path) -> None:
    config = log_config(segment_bytes=1500, index_interval_bytes=200)
    d = tmp_path / "t-0"
    log = PartitionLog(d, config)
    fill(log)
    want = state_of(log)
    log.close()
    newest = max(d.glob("*.snapshot"))
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0xFF
    newest.write_bytes(bytes(data))  # bad CRC: removed, an older one plus replay gives the same state
    (d / f"{10**6:020d}.snapshot").write_bytes(b"from a future that was cut off")
    log = PartitionLog(d, config)
    assert state_of(log) == want
    assert not newest.exists() and not (d / f"{10**6:020d}.snapshot").exists()
    log.close()


def test_snapshot_above_truncated_log_end_is_ignored(tmp_path: Path) -> None:
    d = tmp_path / "t-0"
    log = PartitionLog(d, log_config())
    log.append(pbatch(5, 0, 0), 0)
    size_after_first = log.size_bytes
    log.append(pbatch(5, 0, 2), 0)
    log.close()  # snapshot at 4 knows sequences 0-3
    with open(d / f"{0:020d}.log", "r+b") as f:
        f.truncate(size_after_first + 30)  # a torn second batch (as after a crash)
    os.unlink(d / ".clean-shutdown")
    log = PartitionLog(d, log_config())
    assert log.log_end_offset == 2
    assert not (d / f"{4:020d}.snapshot").exists()
    # the lost batch is not a duplicate: the producer's retry is written again
    info = log.append(pbatch(5, 0, 2), 0)
    assert info.duplicate is None and info.base_offset == 2
    log.close()


def test_expire(tmp_path: Path) -> None:
    state = ProducerState(tmp_path)
    for pid, ts in ((1, 1_000), (2, 5_000)):
        state.update(BatchHeader(bytes(pbatch(pid, 0, 0, ts=ts))))
    assert state.expire(now_ms=6_000, max_idle_ms=4_000) == 1
    assert list(state.producers) == [2]


def test_leader_epoch_cache(tmp_path: Path) -> None:
    cache = LeaderEpochCache(tmp_path, 0)
    assert (tmp_path / CHECKPOINT_FILE).read_text() == "0\n1\n0 0\n"
    assert cache.end_offset_for(0, 42) == (0, 42)
    assert cache.end_offset_for(1, 42) == (-1, -1)
    assert cache.end_offset_for(-1, 42) == (-1, -1)
    cache.assign(3, 10)
    cache.assign(5, 20)
    assert LeaderEpochCache(tmp_path, 0).entries == [(0, 0), (3, 10), (5, 20)]
    assert cache.end_offset_for(0, 42) == (0, 10)
    assert cache.end_offset_for(4, 42) == (3, 20)
    assert cache.end_offset_for(5, 42) == (5, 42)
    assert cache.epoch_for_offset(15) == 3
    (tmp_path / CHECKPOINT_FILE).write_text("garbage")
    assert LeaderEpochCache(tmp_path, 7).entries == [(0, 7)]
    sub = tmp_path / "sub"
    sub.mkdir()
    assert LeaderEpochCache(sub, 3).end_offset_for(0, 9) == (0, 9)
