"""Retention and the log start offset, driven directly (no broker): by time, by size, below the log
start offset, never the active segment, ``.deleted`` files and their delay, and recovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage import OffsetOutOfRange, PartitionLog
from storage.retention import enforce_retention, segments_to_delete
from tests.support.policies import log_config, retention_policy
from wire.records import BatchHeader, build_batch

NOW = 1_700_000_000_000
HOUR = 3_600_000


def append(log: PartitionLog, ts: int, n: int = 1, size: int = 100) -> None:
    log.append(bytearray(build_batch([(b"k", b"x" * size, None, ts)] * n)), NOW)


def make(path: Path, stamps: list[int]) -> PartitionLog:
    """One batch per timestamp; segment.bytes lets two batches share a segment."""
    log = PartitionLog(path, log_config(segment_bytes=400, index_interval_bytes=100))
    for ts in stamps:
        append(log, ts)
    return log


def test_by_time_deletes_a_prefix_never_the_active_segment(tmp_path: Path) -> None:
    log = make(tmp_path / "t-0", [NOW - 10 * HOUR] * 6 + [NOW - HOUR] * 2 + [NOW - 10 * HOUR] * 2)
    bases = [s.base_offset for s in log.segments]
    assert len(bases) == 5
    policy = retention_policy(retention_ms=5 * HOUR, file_delete_delay_ms=0)
    doomed = segments_to_delete(log, policy, NOW)
    assert [s.base_offset for s, _ in doomed] == bases[:3], "stops at the first young segment"
    result = enforce_retention(log, policy, NOW)
    assert result is not None and (result.segments, result.by_time) == (3, 3)
    assert log.log_start_offset == bases[3] == result.log_start_offset
    with pytest.raises(OffsetOutOfRange):
        log.read(bases[3] - 1, 100)
    assert BatchHeader(log.read_bytes(bases[3], 100)).base_offset == bases[3]
    # everything expired: still the active segment stays
    policy = retention_policy(retention_ms=0, file_delete_delay_ms=0)
    enforce_retention(log, policy, NOW + 100 * HOUR)
    assert len(log.segments) == 1 and log.log_start_offset == bases[4]
    assert log.log_end_offset == 10
    log.close()


def test_by_size_keeps_at_least_retention_bytes(tmp_path: Path) -> None:
    log = make(tmp_path / "t-0", [NOW] * 10)
    sizes = [s.size for s in log.segments]
    total = sum(sizes)
    policy = retention_policy(retention_ms=-1, retention_bytes=total - sizes[0] - sizes[1], file_delete_delay_ms=0)
    result = enforce_retention(log, policy, NOW)
    assert result is not None and (result.segments, result.by_size) == (2, 2)
    assert log.size_bytes == total - sizes[0] - sizes[1]
    assert enforce_retention(log, policy, NOW) is None
    log.close()


def test_compact_only_policy_ignores_time_and_size(tmp_path: Path) -> None:
    log = make(tmp_path / "t-0", [NOW - 10 * HOUR] * 6)
    policy = retention_policy(retention_ms=0, retention_bytes=0, delete=False, file_delete_delay_ms=0)
    assert segments_to_delete(log, policy, NOW) == []
    log.close()


def test_delete_records_moves_the_start_and_survives_reopen(tmp_path: Path) -> None:
    log = make(tmp_path / "t-0", [NOW - 10 * HOUR + i for i in range(10)])
    assert log.advance_log_start(5) == 5
    assert log.advance_log_start(3) == 5, "never moves back"
    with pytest.raises(OffsetOutOfRange):
        log.advance_log_start(11)
    with pytest.raises(OffsetOutOfRange):
        log.read(4, 100)
    assert log.offset_for_timestamp(0) == (5, NOW - 10 * HOUR + 5)
    log.close()
    log = make(tmp_path / "t-0", [])
    assert log.log_start_offset == 5
    # segments wholly below the start go at the next retention pass, whatever the policy
    policy = retention_policy(retention_ms=-1, delete=False, file_delete_delay_ms=0)
    result = enforce_retention(log, policy, NOW)
    assert result is not None and result.by_start == 2
    assert log.segments[0].base_offset == 4 and log.log_start_offset == 5
    assert log.advance_log_start(10) == 10
    log.close(clean=False)
    log = make(tmp_path / "t-0", [])
    assert (log.log_start_offset, log.log_end_offset) == (10, 10)
    assert log.read(10, 100) is None
    log.close()


def test_deleted_files_wait_for_the_delay_and_a_crash_removes_them(tmp_path: Path) -> None:
    log = make(tmp_path / "t-0", [NOW - 10 * HOUR] * 6)
    piece = log.read(0, 1000)
    assert piece is not None
    policy = retention_policy(retention_ms=HOUR, file_delete_delay_ms=60_000)
    assert enforce_retention(log, policy, NOW) is not None
    deleted = sorted(n for n in os.listdir(log.directory) if n.endswith(".deleted"))
    assert len(deleted) == 6  # two segments, three files each
    assert os.pread(piece.fd, piece.length, piece.position), "an old slice still reads"
    assert log.reap_retired(NOW + 59_999) == []
    log.close(clean=False)
    log = make(tmp_path / "t-0", [])
    assert not [n for n in os.listdir(log.directory) if n.endswith(".deleted")]
    assert log.log_start_offset == 4
    log.close()
