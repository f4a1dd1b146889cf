"""The log cleaner, driven directly (no broker): latest value per key, offsets kept, empty batches,
tombstones, compaction lags, codecs, control batches, crash at every swap step, and appends/reads
running while another thread cleans."""

from __future__ import annotations

import os
import random
import shutil
import threading
from pathlib import Path

import pytest

from storage import PartitionLog
from storage.cleaner import STEPS, clean, inspect, read_checkpoint
from tests.support.logs import read_all
from tests.support.policies import cleaner_config, log_config
from wire.records import BatchHeader, build_batch, crc_ok, iter_batches, iter_records

NOW = 1_700_000_000_000
FORCE = cleaner_config(min_cleanable_ratio=0.0, file_delete_delay_ms=0)


class Crash(BaseException):
    """Stands for the process dying: nothing after the hook runs, no cleanup either."""


def kbatch(items, ts: int = NOW - 1000, codec: int = 0, **kw) -> bytearray:
    """A batch of (key, value) records."""
    return bytearray(build_batch([(k, v, None, ts + i) for i, (k, v) in enumerate(items)], compression=codec, **kw))


def consume_all(log: PartitionLog) -> dict[bytes, bytes]:
    """Read the log the way a consumer does while a cleaner may swap segments between two reads:
    each read's first batch contains the position asked for (after a swap it may be a merged empty
    batch that starts lower); batches within a read are contiguous and CRC-valid; records below the
    position are skipped. Returns the latest value per key seen."""
    seen: dict[bytes, bytes] = {}
    position = log.log_start_offset
    last_record = -1
    while position < log.log_end_offset:
        data = log.read_bytes(position, 1 << 20)
        assert data, f"nothing readable at {position} below the log end {log.log_end_offset}"
        first = BatchHeader(data)
        assert first.base_offset <= position < first.next_offset, (first, position)
        for pos, header in iter_batches(data):
            assert crc_ok(data, pos, header)
            assert header.base_offset <= position < header.next_offset, "batches must stay contiguous"
            for record in iter_records(data, pos):
                if record.offset >= position:
                    assert record.offset > last_record, "offsets strictly increase"
                    last_record = record.offset
                    seen[record.key] = record.value
            position = header.next_offset
    return seen


def records_of(data: bytes) -> list:
    return [r for pos, _ in iter_batches(data) for r in iter_records(data, pos)]


def check_layout(data: bytes, start: int, end: int) -> None:
    """Every offset in [start, end) is covered by exactly one batch, in order, each CRC-valid."""
    expected = None
    for pos, header in iter_batches(data):
        assert crc_ok(data, pos, header)
        if expected is not None:
            assert header.base_offset == expected, "batches must stay contiguous"
        expected = header.next_offset
        assert header.record_count <= header.last_offset_delta + 1
    assert expected == end
    first = BatchHeader(data)
    assert first.base_offset <= start < first.next_offset


def fill(log: PartitionLog, keys: int, updates: int, codec: int = 0, seed: int = 7) -> dict[bytes, bytes]:
    """``updates`` rounds over ``keys`` keys, several records per batch; returns the latest values."""
    rng = random.Random(seed)
    latest: dict[bytes, bytes] = {}
    for u in range(updates):
        order = list(range(keys))
        rng.shuffle(order)
        for i in range(0, keys, 5):
            items = [(b"key-%03d" % k, b"v%d-%d-" % (k, u) + rng.randbytes(rng.randint(0, 40))) for k in order[i : i + 5]]
            log.append(kbatch(items, codec=codec), NOW - 1000)
            latest.update(items)
    return latest


def small_log(path: Path, segment_bytes: int = 4000) -> PartitionLog:
    return PartitionLog(path, log_config(segment_bytes=segment_bytes, index_interval_bytes=300))


def test_latest_value_per_key_and_offsets_kept(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    latest = fill(log, 100, 20)
    end = log.log_end_offset
    before_segments = len(log.segments)
    active = log.segments[-1]
    stats = clean(log, FORCE, NOW)
    assert stats is not None and stats.records_kept < stats.records_read
    assert log.segments[-1] is active, "the active segment is never cleaned"
    assert len(log.segments) < before_segments / 2, "cleaned segments merge as they are written"
    assert stats.empty_batches_merged > 0
    assert log.log_end_offset == end and log.log_start_offset == 0
    data = read_all(log)
    check_layout(data, 0, end)
    recs = records_of(data)
    offsets = [r.offset for r in recs]
    assert offsets == sorted(set(offsets)), "offsets strictly increase"
    final: dict[bytes, bytes] = {}
    for r in recs:
        final[r.key] = r.value
    assert final == latest
    # closed segments hold one record per key at most; only the active segment may repeat keys
    closed_end = active.base_offset
    closed_keys = [r.key for r in recs if r.offset < closed_end]
    assert len(closed_keys) == len(set(closed_keys))
    assert len(recs) < 100 * 20 / 4
    assert read_checkpoint(log.directory)[0] == closed_end
    log.close()


def test_reopen_after_cleaning_clean_and_unclean(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    fill(log, 30, 10)
    clean(log, FORCE, NOW)
    expected = read_all(log)
    log.close(clean=True)
    log = small_log(tmp_path / "t-0")
    assert read_all(log) == expected
    log.close(clean=False)  # crash: every older segment is checked, the empty batches included
    (tmp_path / "t-0" / f"{0:020d}.index").unlink()
    log = small_log(tmp_path / "t-0")
    assert read_all(log) == expected
    log.append(kbatch([(b"key-000", b"after")]), NOW)
    assert records_of(read_all(log))[-1].value == b"after"
    log.close()


def test_emptied_batches_keep_their_header(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=200)
    first = log.append(kbatch([(b"a", b"1"), (b"b", b"1"), (b"c", b"1")]), NOW)
    log.append(kbatch([(b"a", b"2"), (b"b", b"2"), (b"c", b"2")]), NOW)
    log.append(kbatch([(b"z", b"z")]), NOW)  # rolls: the two batches above are in closed segments
    clean(log, FORCE, NOW)
    data = read_all(log)
    headers = [h for _, h in iter_batches(data)]
    assert headers[0].base_offset == first.base_offset
    assert (headers[0].record_count, headers[0].last_offset_delta) == (0, 2)
    assert headers[0].batch_length == 49 and headers[0].compression == 0
    assert [r.value for r in records_of(data)] == [b"2", b"2", b"2", b"z"]
    # a fetch at any offset of the emptied batch gets that batch (Spark needs one for every offset)
    for offset in range(3):
        got = log.read_bytes(offset, 1)
        assert BatchHeader(got).base_offset == 0 and BatchHeader(got).record_count == 0
    log.close()


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_compressed_batches_are_recompressed_with_their_codec(tmp_path: Path, codec: int) -> None:
    log = small_log(tmp_path / "t-0")
    latest = fill(log, 20, 6, codec=codec)
    clean(log, FORCE, NOW)
    data = read_all(log)
    check_layout(data, 0, log.log_end_offset)
    codecs = {h.compression for _, h in iter_batches(data) if h.record_count}
    assert codecs == {codec}
    assert {r.key: r.value for r in records_of(data)} == latest
    log.close()


def test_partially_kept_batch_keeps_offsets_and_timestamps(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=120)
    log.append(kbatch([(b"a", b"1"), (b"b", b"1"), (b"c", b"1")], ts=NOW - 500, producer_id=9,
                      producer_epoch=1, base_sequence=0), NOW)
    log.append(kbatch([(b"a", b"2"), (b"c", b"2")], ts=NOW - 100), NOW)
    log.append(kbatch([(b"z", b"z")]), NOW)
    clean(log, FORCE, NOW)
    data = read_all(log)
    header = BatchHeader(data)
    assert (header.base_offset, header.last_offset_delta, header.record_count) == (0, 2, 1)
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (9, 1, 0)
    [b] = list(iter_records(data, 0))
    assert (b.offset, b.key, b.value, b.timestamp) == (1, b"b", b"1", NOW - 499)
    assert header.max_timestamp == NOW - 499
    log.close()


@pytest.mark.parametrize("codec", [0, 1, 4])
def test_tombstones_stay_for_delete_retention_after_first_cleaning_then_go(tmp_path: Path, codec: int) -> None:
    """Kafka's delete horizon (KIP-534): the first pass that keeps a tombstone stamps its batch with
    now + delete.retention.ms; the tombstone goes only once that horizon has passed, however old
    its own timestamp is, and record timestamps read the same after the stamp."""
    log = small_log(tmp_path / "t-0", segment_bytes=300)
    old = NOW - 500_000_000  # a tombstone written with a timestamp far older than delete.retention.ms
    log.append(kbatch([(b"a", b"1"), (b"b", b"1")], ts=NOW - 10_000, codec=codec), NOW)
    log.append(kbatch([(b"a", None), (b"e", b"1")], ts=old, codec=codec), NOW)
    log.append(kbatch([(b"c", b"1")] * 3, codec=codec), NOW)
    log.append(kbatch([(b"d", b"1")], codec=codec), NOW)
    config = cleaner_config(min_cleanable_ratio=0.0, delete_retention_ms=60_000, file_delete_delay_ms=0)
    stats = clean(log, config, NOW)
    assert stats is not None and stats.earliest_horizon_ms == NOW + 60_000
    data = read_all(log)
    check_layout(data, 0, log.log_end_offset)
    recs = {r.offset: r for r in records_of(data)}
    assert (recs[2].key, recs[2].value, recs[2].timestamp) == (b"a", None, old), "kept, timestamp unchanged"
    assert (recs[3].key, recs[3].value, recs[3].timestamp) == (b"e", b"1", old + 1)
    assert 0 not in recs, "the value the tombstone deletes is gone"
    stamped = [h for _, h in iter_batches(data) if h.base_offset == 2]
    assert [h.delete_horizon_ms for h in stamped] == [NOW + 60_000]
    assert stamped[0].max_timestamp == old + 1 and stamped[0].compression == codec
    assert not inspect(log, config, NOW + 59_999).due(1.0)
    # A pass before the horizon, even with a lowered delete.retention.ms, keeps the stamped horizon.
    clean(log, cleaner_config(min_cleanable_ratio=0.0, delete_retention_ms=1, file_delete_delay_ms=0),
          NOW + 30_000, force=True)
    assert read_checkpoint(log.directory)[1] == NOW + 60_000
    assert (b"a", None) in [(r.key, r.value) for r in records_of(read_all(log))]
    assert inspect(log, config, NOW + 60_000).tombstones_due, "a passed horizon makes the log due"
    clean(log, config, NOW + 60_000)
    data = read_all(log)
    check_layout(data, 0, log.log_end_offset)
    kv = [(r.key, r.value) for r in records_of(data)]
    assert all(k != b"a" for k, _ in kv) and (b"b", b"1") in kv and (b"e", b"1") in kv
    assert read_checkpoint(log.directory)[1] == -1
    log.close()


def test_min_compaction_lag_and_dirty_ratio(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=300)
    for i in range(6):
        log.append(kbatch([(b"k", b"%d" % i)] * 3, ts=NOW - 100_000 + i * 10_000), NOW)
    lag = cleaner_config(min_cleanable_ratio=0.0, min_compaction_lag_ms=75_000, file_delete_delay_ms=0)
    state = inspect(log, lag, NOW)
    young = [s for s in log.segments if s.max_timestamp > NOW - 75_000]
    assert state.first_uncleanable == young[0].base_offset
    clean(log, lag, NOW)
    recs = records_of(read_all(log))
    old = [r for r in recs if r.offset < young[0].base_offset]
    young_recs = [r for r in recs if r.offset >= young[0].base_offset]
    assert len(old) == 1, "below the lag only the latest of the cleanable records stays"
    assert len(young_recs) == sum(3 for s in young for _ in [0]) or young_recs, "young segments untouched"
    assert all(r.value != b"0" for r in recs)
    # nothing dirty below the lag now: a ratio pass is not due, a forced one changes nothing
    assert not inspect(log, lag, NOW).due(0.0)
    strict = cleaner_config(min_cleanable_ratio=0.99)
    log.append(kbatch([(b"k", b"x")]), NOW)
    assert clean(log, strict, NOW) is None
    log.close()


def test_max_compaction_lag_forces_a_pass(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=300)
    for i in range(4):
        log.append(kbatch([(b"k%d" % i, b"v")] * 3, ts=NOW - 50_000), NOW)
    high = cleaner_config(min_cleanable_ratio=1.1)
    assert not inspect(log, high, NOW).due(1.1)
    due = cleaner_config(min_cleanable_ratio=1.1, max_compaction_lag_ms=10_000, file_delete_delay_ms=0)
    assert inspect(log, due, NOW).max_lag_due
    assert clean(log, due, NOW) is not None
    log.close()


def test_control_transactional_and_keyless(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=300)
    log.append(kbatch([(b"t", b"1"), (b"t", b"2")], transactional=True, producer_id=5, producer_epoch=0,
                      base_sequence=0), NOW)
    log.append_control(5, 0, True, 0, NOW)
    log.append(kbatch([(None, b"keyless"), (b"t", b"3")]), NOW)
    log.append(kbatch([(b"z", b"z")]), NOW)
    before = read_all(log)
    clean(log, FORCE, NOW)
    after = read_all(log)
    hb = [h for _, h in iter_batches(before)]
    pa = list(iter_batches(after))
    assert [h.base_offset for h in hb] == [h.base_offset for _, h in pa]
    assert pa[0][1].record_count == 0, "a committed transaction's superseded records go like any others"
    marker = before[hb[0].total_size : hb[0].total_size + hb[1].total_size]
    assert after[pa[1][0] : pa[1][0] + pa[1][1].total_size] == marker, "its marker stays (this pass saw data)"
    assert [(r.key, r.value) for r in iter_records(after, pa[2][0])] == [(b"t", b"3")], "keyless records go"
    log.close()


def test_second_pass_is_idempotent(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0")
    fill(log, 50, 8)
    clean(log, FORCE, NOW)
    once = read_all(log)
    clean(log, FORCE, NOW)
    assert read_all(log) == once
    log.close()


def test_small_dedupe_buffer_cleans_in_several_passes(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=2000)
    latest = fill(log, 60, 6)
    tiny = cleaner_config(min_cleanable_ratio=0.0, dedupe_buffer_size=24 * 30, file_delete_delay_ms=0)
    first = clean(log, tiny, NOW)
    assert first is not None and first.end_offset < log.segments[-1].base_offset
    for _ in range(100):
        if read_checkpoint(log.directory)[0] >= log.segments[-1].base_offset:
            break
        clean(log, tiny, NOW)
    assert {r.key: r.value for r in records_of(read_all(log))} == latest
    log.close()


def _crash_case(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A log and its bytes before and after one cleaning (one group, several segments merged)."""
    src = tmp_path / "src-0"
    log = small_log(src, segment_bytes=3000)
    fill(log, 40, 6)
    log.close()
    ref = tmp_path / "ref-0"
    shutil.copytree(src, ref)
    log = PartitionLog(ref, log_config(segment_bytes=1 << 20, index_interval_bytes=300))
    before = read_all(log)
    stats = clean(log, FORCE, NOW)
    assert stats is not None and len(stats.groups) == 1 and stats.groups[0][1] > 2
    after = read_all(log)
    log.close()
    assert after != before
    return src, before, after


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("clean_close", [False, True])
def test_crash_at_each_step_reads_as_before_or_after(tmp_path: Path, step: str, clean_close: bool) -> None:
    src, before, after = _crash_case(tmp_path)
    work = tmp_path / "work-0"
    shutil.copytree(src, work)
    log = PartitionLog(work, log_config(segment_bytes=1 << 20, index_interval_bytes=300))

    def hook(name: str) -> None:
        if name == step:
            raise Crash(name)

    with pytest.raises(Crash):
        clean(log, FORCE, NOW, hook=hook)
    if clean_close and step in ("cleaned_partial", "cleaned_written", "indexes_swap", "log_swap"):
        log.close(clean=True)  # a clean shutdown between steps (outside the swap's lock)
    else:
        log.close(clean=False)
    names = os.listdir(work)
    log = PartitionLog(work, log_config(segment_bytes=1 << 20, index_interval_bytes=300))
    committed = STEPS.index(step) >= STEPS.index("log_swap")
    got = read_all(log)
    assert got == (after if committed else before), (step, names)
    assert not [n for n in os.listdir(work) if n.endswith((".cleaned", ".swap", ".deleted"))]
    # and cleaning again converges to the same log
    clean(log, FORCE, NOW)
    assert read_all(log) == after
    log.close()


def test_retired_segments_keep_serving_old_slices(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=500)
    fill(log, 10, 10)
    piece = log.read(0, 1 << 20)
    assert piece is not None
    old = os.pread(piece.fd, piece.length, piece.position)
    config = cleaner_config(min_cleanable_ratio=0.0, file_delete_delay_ms=30_000)
    clean(log, config, NOW)
    assert os.pread(piece.fd, piece.length, piece.position) == old, "the old fd still reads its bytes"
    deleted = [n for n in os.listdir(log.directory) if n.endswith(".deleted")]
    assert deleted and log.retired_count
    assert log.reap_retired(NOW + 29_999) == []
    paths = log.reap_retired(NOW + 30_000)
    assert piece.segment.closed, "reaped"
    # The slice pins its descriptor: it is closed only when the slice is released, never under it.
    assert os.pread(piece.fd, piece.length, piece.position) == old, "a pinned fd outlives the reap"
    fd = piece.fd
    piece.release()
    with pytest.raises(OSError):
        os.fstat(fd)
    for p in paths:
        p.unlink(missing_ok=True)
    assert not [n for n in os.listdir(log.directory) if n.endswith(".deleted")]
    log.close()


def test_appends_and_reads_while_another_thread_cleans(tmp_path: Path) -> None:
    log = small_log(tmp_path / "t-0", segment_bytes=3000)
    latest: dict[bytes, bytes] = {}
    stop = threading.Event()
    errors: list[BaseException] = []
    passes = [0]

    def cleaner() -> None:
        try:
            while not stop.is_set():
                if clean(log, FORCE, NOW) is not None:
                    passes[0] += 1
                log.reap_retired(NOW + 10**9, force=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=cleaner)
    thread.start()
    rng = random.Random(3)
    try:
        for i in range(1500):
            items = [(b"k%02d" % rng.randrange(40), b"%d" % i)]
            log.append(kbatch(items), NOW)
            latest.update(items)
            if i % 50 == 0:
                assert consume_all(log) == latest
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert passes[0] > 0
    log.reap_retired(0, force=True)
    assert {r.key: r.value for r in records_of(read_all(log))} == latest
    log.close()
