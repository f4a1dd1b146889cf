"""PartitionLog: append/read round trips, rolls, KIP-74, timestamps, reopen, flush."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest

from storage import LogClosedError, LogConfig, OffsetOutOfRange, PartitionLog
from storage.log import CLEAN_SHUTDOWN_FILE
from tests.support.logs import read_all
from tests.support.policies import log_config
from wire.records import BatchHeader, build_batch, crc_ok, iter_batches, iter_records


def batch(count: int = 1, ts: int = 1000, size: int = 10, seed: int = 0, **kw) -> bytearray:
    rng = random.Random(seed)
    records = [(b"k%d" % i, rng.randbytes(size), None, ts + i) for i in range(count)]
    return bytearray(build_batch(records, **kw))


def batches_of(data: bytes) -> list[tuple[BatchHeader, bytes]]:
    out = []
    for pos, header in iter_batches(data):
        out.append((header, bytes(data[pos : pos + header.total_size])))
    assert sum(len(b) for _, b in out) == len(data), "slice must end on a batch boundary"
    return out


def fill(log: PartitionLog, n: int, seed: int = 1) -> list[tuple[int, int, bytes]]:
    """Append n random batches; returns (base, last, bytes as stored) per batch."""
    rng = random.Random(seed)
    ref = []
    for i in range(n):
        buf = batch(rng.randint(1, 5), ts=10_000 + 10 * i, size=rng.randint(0, 300), seed=i)
        info = log.append(buf, now_ms=0)
        ref.append((info.base_offset, info.last_offset, bytes(buf)))
    return ref


@pytest.fixture
def small() -> LogConfig:
    return log_config(segment_bytes=2000, index_interval_bytes=256)


def test_append_assigns_contiguous_offsets_in_place(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    assert (log.log_start_offset, log.log_end_offset, log.size_bytes) == (0, 0, 0)
    buf = batch(3) + batch(2, seed=1)
    info = log.append(buf, now_ms=5)
    assert (info.base_offset, info.last_offset, info.log_append_time, info.log_start_offset) == (0, 4, -1, 0)
    headers = [h for _, h in iter_batches(buf)]
    assert [h.base_offset for h in headers] == [0, 3]
    assert all(crc_ok(buf, pos, h) for pos, h in iter_batches(buf)), "offset rewrite is outside the CRC"
    info = log.append(batch(1), now_ms=5)
    assert (info.base_offset, info.last_offset) == (5, 5)
    assert log.log_end_offset == 6
    assert log.size_bytes == len(buf) + len(batch(1))
    assert log.read_bytes(0, 1 << 20) == bytes(buf) + log.read_bytes(5, 100)
    log.close()


def test_round_trip_across_many_rolls(tmp_path: Path, small: LogConfig) -> None:
    log = PartitionLog(tmp_path / "t-0", small)
    ref = fill(log, 300)
    assert len(log.segments) > 20
    assert log.log_end_offset == ref[-1][1] + 1
    assert read_all(log, check=batches_of) == b"".join(r[2] for r in ref)
    for segment in log.segments:
        assert segment.size <= small.segment_bytes
    assert log.size_bytes == sum(len(r[2]) for r in ref)
    log.close()


def test_read_at_every_offset_starts_with_containing_batch(tmp_path: Path, small: LogConfig) -> None:
    log = PartitionLog(tmp_path / "t-0", small)
    ref = fill(log, 150)
    rng = random.Random(7)
    for base, last, data in ref:
        for offset in range(base, last + 1):
            one = log.read_bytes(offset, 1)
            assert one == data  # KIP-74: one whole batch even though max_bytes is 1
            max_bytes = rng.randint(1, 3000)
            got = batches_of(log.read_bytes(offset, max_bytes))
            assert got[0][1] == data
            total = sum(len(b) for _, b in got)
            assert total <= max_bytes or len(got) == 1
            piece = log.read(offset, max_bytes)
            assert piece is not None and piece.length == total
            seg = piece.segment
            assert seg.base_offset <= base and piece.position + piece.length <= seg.size
            # it stops only at the segment's end or because the next batch would not fit
            end = piece.position + piece.length
            if end < seg.size:
                assert total + len(log.read_bytes(got[-1][0].next_offset, 1)) > max_bytes
    log.close()


def test_read_bounds(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    assert log.read(0, 100) is None
    assert log.read_bytes(0, 100) == b""
    with pytest.raises(OffsetOutOfRange):
        log.read(1, 100)
    fill(log, 5)
    end = log.log_end_offset
    assert log.read(end, 100) is None
    with pytest.raises(OffsetOutOfRange):
        log.read(end + 1, 100)
    with pytest.raises(OffsetOutOfRange):
        log.read(-1, 100)
    log.close()
    with pytest.raises(LogClosedError):
        log.read(0, 100)
    with pytest.raises(LogClosedError):
        log.append(batch(), 0)


def test_max_offset_stops_before_batches_at_or_after_it(tmp_path: Path, small: LogConfig) -> None:
    log = PartitionLog(tmp_path / "t-0", small)
    ref = fill(log, 80)
    for base, last, _ in ref[::3]:
        for max_offset in (base, base + 1, last + 1, last + 7):
            for offset in range(max(0, base - 4), last + 1):
                data = log.read_bytes(offset, 1 << 20, max_offset=max_offset)
                got = batches_of(data)
                assert all(h.base_offset < max_offset for h, _ in got)
                containing = log.read_bytes(offset, 1)
                if BatchHeader(containing).base_offset < max_offset:  # it straddles or precedes
                    assert got and got[0][1] == containing
                    # the batch holding max_offset - 1 is included when it is in the same segment
                    holder = log.read(min(max_offset - 1, log.log_end_offset), 1)
                    if holder is not None and holder.segment is log.read(offset, 1).segment:
                        assert got[-1][0].last_offset >= max_offset - 1
                else:
                    assert data == b""
                    assert log.read(offset, 1 << 20, max_offset=max_offset) is None
    log.close()


def test_kip74_oversize_batch_and_segment(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config(segment_bytes=1000))
    log.append(batch(2), 0)
    big = batch(3, size=5000)
    info = log.append(big, 0)
    assert len(log.segments) == 2 and log.segments[1].base_offset == info.base_offset
    assert log.read_bytes(info.base_offset, 10) == bytes(big)
    assert log.read_bytes(info.base_offset + 2, 4999) == bytes(big)
    log.append(batch(1), 0)
    assert len(log.segments) == 3  # the oversize segment rolls at the next append
    log.close()


def test_roll_by_time_from_first_append(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config(segment_ms=1000))
    log.append(batch(), now_ms=50_000)
    log.append(batch(), now_ms=51_000)
    assert len(log.segments) == 1
    log.append(batch(), now_ms=51_001)
    assert [s.base_offset for s in log.segments] == [0, 2]
    log.append(batch(), now_ms=51_500)
    assert len(log.segments) == 2
    log.close()


def test_roll_when_index_full(tmp_path: Path) -> None:
    config = log_config(index_interval_bytes=0, segment_index_bytes=24)  # 3 offset / 2 time entries
    log = PartitionLog(tmp_path / "t-0", config)
    ref = fill(log, 40)
    assert len(log.segments) >= 10
    assert all(len(s.index) <= 3 for s in log.segments)
    assert read_all(log, 700, check=batches_of) == b"".join(r[2] for r in ref)
    log.close()


def test_timestamp_lookup_matches_brute_force(tmp_path: Path) -> None:
    rng = random.Random(3)
    log = PartitionLog(tmp_path / "t-0", log_config(segment_bytes=3000, index_interval_bytes=200))
    records: list[tuple[int, int]] = []  # (offset, timestamp) in log order
    for i in range(200):
        count = rng.randint(1, 4)
        stamps = [rng.randint(0, 5000) + 20 * i for _ in range(count)]  # rising, with jitter
        buf = bytearray(build_batch([(None, b"v", None, t) for t in stamps], log_append_time=(i % 17 == 5)))
        info = log.append(buf, 0)
        if i % 17 == 5:
            stamps = [max(stamps)] * count
        records += list(zip(range(info.base_offset, info.last_offset + 1), stamps, strict=True))

    def brute(ts: int) -> tuple[int, int] | None:
        return next(((o, t) for o, t in records if t >= ts), None)

    def check(log: PartitionLog) -> None:
        for ts in [-1, 0, 1, *range(0, 10_000, 37), 9999, 100_000]:
            assert log.offset_for_timestamp(ts) == brute(ts), ts
        top = max(t for _, t in records)
        assert log.max_timestamp() == next((o, t) for o, t in records if t == top)

    check(log)
    log.close()
    log = PartitionLog(tmp_path / "t-0", log_config())
    check(log)
    log.close(clean=False)
    for path in (tmp_path / "t-0").glob("*.timeindex"):
        path.unlink()
    log = PartitionLog(tmp_path / "t-0", log_config())
    check(log)
    log.close()


def test_timestamps_on_empty_log(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    assert log.offset_for_timestamp(0) is None
    assert log.max_timestamp() is None
    log.append(bytearray(build_batch([(None, b"v", None, None)])), 0)  # no timestamp (-1)
    assert log.max_timestamp() is None
    assert log.offset_for_timestamp(0) is None
    log.close()


def test_reopen_after_clean_close(tmp_path: Path, small: LogConfig) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog(directory, small)
    ref = fill(log, 120)
    before = read_all(log, check=batches_of)
    log.close()
    assert (directory / CLEAN_SHUTDOWN_FILE).exists()
    log = PartitionLog(directory, small)
    assert not (directory / CLEAN_SHUTDOWN_FILE).exists(), "marker must go so a later crash is seen"
    assert log.log_end_offset == ref[-1][1] + 1
    assert read_all(log, check=batches_of) == before
    info = log.append(batch(2), 0)
    assert info.base_offset == ref[-1][1] + 1
    assert log.recovery_point == info.base_offset
    log.close()
    log = PartitionLog(directory, small)
    assert log.log_end_offset == info.last_offset + 1
    assert read_all(log, check=batches_of)[: len(before)] == before
    log.close()


def test_needs_flush_by_messages_and_time(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "a-0", log_config(flush_interval_messages=5))
    log.append(batch(4), 0)
    assert not log.needs_flush(0)
    log.append(batch(1), 0)
    assert log.needs_flush(0)
    log.flush()
    assert log.recovery_point == 5 and not log.needs_flush(10**9)
    log.close()

    log = PartitionLog(tmp_path / "b-0", log_config(flush_interval_ms=100))
    assert not log.needs_flush(10**9)
    log.append(batch(), now_ms=1000)
    log.append(batch(), now_ms=1050)
    assert not log.needs_flush(1099)
    assert log.needs_flush(1100)
    log.flush()
    assert not log.needs_flush(5000)
    log.close()

    log = PartitionLog(tmp_path / "c-0", log_config())
    log.append(batch(100), 0)
    assert not log.needs_flush(10**12), "default: never"
    log.close()


def test_flush_on_worker_thread_while_appending(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config(segment_bytes=4000, flush_interval_messages=1))
    stop = threading.Event()
    errors: list[BaseException] = []

    def flusher() -> None:
        try:
            while not stop.is_set():
                log.flush()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=flusher)
    thread.start()
    try:
        ref = fill(log, 300)
    finally:
        stop.set()
        thread.join()
    assert not errors
    log.flush()
    assert log.recovery_point == log.log_end_offset
    assert not any(s.dirty for s in log.segments)
    assert read_all(log, check=batches_of) == b"".join(r[2] for r in ref)
    log.close()


def test_records_survive_and_decode(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config(segment_bytes=500))
    for i in range(30):
        log.append(bytearray(build_batch([(b"key", b"value-%d" % i, [("h", b"x")], 7 + i)])), 0)
    values = [r.value for r in iter_records_all(read_all(log, check=batches_of))]
    assert values == [b"value-%d" % i for i in range(30)]
    log.close()


def iter_records_all(data: bytes):
    for pos, _ in iter_batches(data):
        yield from iter_records(data, pos)


def test_delete_removes_directory(tmp_path: Path) -> None:
    log = PartitionLog(tmp_path / "t-0", log_config())
    fill(log, 3)
    log.delete()
    assert not (tmp_path / "t-0").exists()
    assert log.closed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"segment_bytes": 13},
        {"segment_bytes": 2**31},
        {"segment_ms": 0},
        {"index_interval_bytes": -1},
        {"segment_index_bytes": 4},
        {"flush_interval_messages": 0},
        {"flush_interval_ms": -1},
        {"segment_bytes": "1000"},
    ],
)
def test_log_config_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        log_config(**kwargs)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_inactive_segments_hold_one_file_descriptor(tmp_path: Path, small: LogConfig) -> None:
    before = open_fds()
    log = PartitionLog(tmp_path / "t-0", small)
    ref = fill(log, 200)
    segments = len(log.segments)
    assert segments > 10
    assert open_fds() - before == segments + 2  # every .log, plus the active segment's two indexes
    log.close()
    assert open_fds() == before
    log = PartitionLog(tmp_path / "t-0", small)
    assert open_fds() - before == segments + 2
    assert read_all(log, 500, check=batches_of) == b"".join(r[2] for r in ref)  # lookups in every segment's index
    log.flush()
    assert open_fds() - before == segments + 2
    log.close()
    assert open_fds() == before
