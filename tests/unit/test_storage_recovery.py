"""Crash recovery: torn tails at every byte, flipped bytes, lost or damaged indexes, a real kill -9."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from storage import PartitionLog
from storage.log import CLEAN_SHUTDOWN_FILE
from storage.segment import Segment
from tests.support import ROOT
from tests.support.logs import read_all
from tests.support.policies import log_config
from wire.records import build_batch, iter_batches, iter_records

CONFIG = log_config(segment_bytes=1500, index_interval_bytes=200)


def batch(i: int, count: int = 2, size: int = 40) -> bytearray:
    records = [(b"k", bytes([i % 251]) * size, None, 1_000 + 10 * i + j) for j in range(count)]
    return bytearray(build_batch(records))


def fill(log: PartitionLog, n: int) -> list[tuple[int, bytes]]:
    out = []
    for i in range(n):
        buf = batch(i, count=1 + i % 3, size=(i * 37) % 150)
        out.append((log.append(buf, 0).base_offset, bytes(buf)))
    return out


def check_every_offset(log: PartitionLog, ref: list[tuple[int, bytes]]) -> None:
    for (base, data), nxt in zip(ref, [*ref[1:], (log.log_end_offset, b"")], strict=True):
        for offset in range(base, nxt[0]):
            assert log.read_bytes(offset, 1) == data


def build(directory: Path, n: int = 35, clean: bool = False, alone: bool = False) -> list[tuple[int, bytes]]:
    """A multi-segment log; the last batch alone in the active segment if ``alone``."""
    log = PartitionLog(directory, CONFIG)
    ref = fill(log, n)
    if alone:
        buf = batch(n)
        info = log.append(buf, now_ms=CONFIG.segment_ms + 1)  # rolls by time
        ref.append((info.base_offset, bytes(buf)))
        assert log.segments[-1].size == len(buf)
    assert len(log.segments) > 3
    log.close(clean=clean)
    return ref


def last_log_file(directory: Path) -> Path:
    return max(directory.glob("*.log"))


def fresh_copy(src: Path, dst: Path) -> Path:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return dst


def assert_valid_prefix(work: Path, ref: list[tuple[int, bytes]], keep: int) -> None:
    """Exactly ref[:keep] remains; appending continues at the next offset; a reopen agrees."""
    log = PartitionLog(work, CONFIG)
    next_offset = ref[keep][0]
    assert log.log_end_offset == next_offset
    assert read_all(log) == b"".join(d for _, d in ref[:keep])
    assert log.read(next_offset, 100) is None
    info = log.append(batch(999), 0)
    assert info.base_offset == next_offset
    log.close()
    log = PartitionLog(work, CONFIG)
    assert log.log_end_offset == info.last_offset + 1
    stored, sent = log.read_bytes(next_offset, 1), bytes(batch(999))
    assert stored[8:12] + stored[16:] == sent[8:12] + sent[16:]  # all but baseOffset and leader epoch
    assert read_all(log)[: sum(len(d) for _, d in ref[:keep])] == b"".join(d for _, d in ref[:keep])
    log.close()


@pytest.mark.parametrize("alone", [False, True], ids=["shared", "alone"])
@pytest.mark.parametrize("clean", [False, True], ids=["crash", "marker"])
def test_cut_last_batch_at_every_byte(tmp_path: Path, clean: bool, alone: bool) -> None:
    src = tmp_path / "src"
    ref = build(src, clean=clean, alone=alone)
    path = last_log_file(src)
    size = path.stat().st_size
    start = size - len(ref[-1][1])
    for cut in range(start, size):
        work = fresh_copy(src, tmp_path / "work")
        os.truncate(work / path.name, cut)
        assert_valid_prefix(work, ref, len(ref) - 1)
        assert (work / path.name).stat().st_size >= start


def test_flip_each_byte_of_last_batch(tmp_path: Path) -> None:
    src = tmp_path / "src"
    ref = build(src)
    path = last_log_file(src)
    start = path.stat().st_size - len(ref[-1][1])
    for i in range(len(ref[-1][1])):
        if 12 <= i < 16:
            continue  # partitionLeaderEpoch: outside the CRC and not checkable (as in Kafka)
        work = fresh_copy(src, tmp_path / "work")
        with open(work / path.name, "r+b") as f:
            f.seek(start + i)
            byte = f.read(1)[0]
            f.seek(start + i)
            f.write(bytes([byte ^ 0xFF]))
        log = PartitionLog(work, CONFIG)
        assert log.log_end_offset == ref[-1][0], f"byte {i}"
        assert (work / path.name).stat().st_size == start
        assert read_all(log) == b"".join(d for _, d in ref[:-1])
        log.close()


def test_flip_byte_in_middle_batch_of_last_segment(tmp_path: Path) -> None:
    src = tmp_path / "src"
    ref = build(src, n=40)
    base = PartitionLog(src, CONFIG)
    segment = base.segments[-1]
    members = [i for i, (off, _) in enumerate(ref) if off >= segment.base_offset]
    base.close(clean=False)
    victim = members[len(members) // 2]
    position = sum(len(d) for _, d in ref[members[0] : victim]) + 70  # inside the records
    with open(last_log_file(src), "r+b") as f:
        f.seek(position)
        byte = f.read(1)[0]
        f.seek(position)
        f.write(bytes([byte ^ 0x01]))
    assert_valid_prefix(src, ref, victim)


def test_damaged_tail_of_earlier_segment_ends_the_log(tmp_path: Path) -> None:
    src = tmp_path / "src"
    ref = build(src)
    files = sorted(src.glob("*.log"))
    victim_file = files[1]
    next_base = int(files[2].stem)
    keep = next(i for i, (off, _) in enumerate(ref) if off == next_base) - 1  # last batch of segment 1
    for mode in ("cut", "flip"):
        work = fresh_copy(src, tmp_path / "work")
        size = (work / victim_file.name).stat().st_size
        if mode == "cut":
            os.truncate(work / victim_file.name, size - 5)
        else:
            with open(work / victim_file.name, "r+b") as f:
                f.seek(size - 3)
                f.write(b"\xde\xad\xbe")
        assert_valid_prefix(work, ref, keep)
        assert sorted(p.name for p in work.glob("*.log"))[-1] == victim_file.name


def test_unclean_shutdown_with_intact_files_keeps_everything(tmp_path: Path) -> None:
    ref = build(tmp_path / "t-0")
    log = PartitionLog(tmp_path / "t-0", CONFIG)
    assert read_all(log) == b"".join(d for _, d in ref)
    check_every_offset(log, ref)
    log.close()


def test_reopen_without_close_sees_every_append(tmp_path: Path) -> None:
    """A second instance on the same files (as after kill -9) sees everything append returned for."""
    writer = PartitionLog(tmp_path / "t-0", CONFIG)
    ref = fill(writer, 50)
    reader = PartitionLog(tmp_path / "t-0", CONFIG)
    assert read_all(reader) == b"".join(d for _, d in ref)
    reader.close(clean=False)
    writer.close(clean=False)


@pytest.mark.parametrize("which", ["index", "timeindex", "both"])
def test_deleted_indexes_are_rebuilt_identically(tmp_path: Path, which: str) -> None:
    directory = tmp_path / "t-0"
    ref = build(directory, n=150, clean=True)
    suffixes = {"index": [".index"], "timeindex": [".timeindex"], "both": [".index", ".timeindex"]}[which]
    originals = {p.name: p.read_bytes() for s in suffixes for p in directory.glob("*" + s)}
    assert any(originals.values()), "the test needs non-empty indexes"
    for name in originals:
        (directory / name).unlink()
    log = PartitionLog(directory, CONFIG)
    assert {name: (directory / name).read_bytes() for name in originals} == originals
    check_every_offset(log, ref)
    assert log.offset_for_timestamp(1_000 + 10 * 75) == (ref[75][0], 1_000 + 10 * 75)
    log.close()


def test_damaged_indexes_are_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "t-0"
    ref = build(directory, n=150, clean=True)
    files = sorted(directory.glob("*.index"))
    with open(files[0], "ab") as f:
        f.write(b"\x01\x02\x03")  # torn entry
    data = bytearray(files[1].read_bytes())
    data[-4:] = (10**6).to_bytes(4, "big")  # last entry points past the log
    files[1].write_bytes(bytes(data))
    data = bytearray(files[2].read_bytes())
    data[-5] ^= 0x40  # last entry's offset no longer names a batch start
    files[2].write_bytes(bytes(data))
    files[3].write_bytes(files[3].read_bytes()[:-8])  # stale but valid: one entry lost
    times = sorted(directory.glob("*.timeindex"))
    # time-index entries that are ordered but past the segment / in order but going backwards
    times[4].write_bytes(times[4].read_bytes() + struct.pack(">qI", 10**13, 10**6))
    times[5].write_bytes(times[5].read_bytes() + struct.pack(">qI", 5, 1))
    recovered: list[int] = []
    original = Segment.recover

    def spy(self: Segment, *args, **kwargs) -> int:
        recovered.append(self.base_offset)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Segment, "recover", spy)
    log = PartitionLog(directory, CONFIG)
    assert recovered == [int(files[i].stem) for i in (0, 1, 2)] + [int(times[i].stem) for i in (4, 5)]
    check_every_offset(log, ref)
    for i in (0, 40, 77, 149):
        assert log.offset_for_timestamp(1_000 + 10 * i) == (ref[i][0], 1_000 + 10 * i)
    log.close()


def test_marker_written_on_clean_close_only(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog(directory, CONFIG)
    fill(log, 3)
    log.close(clean=False)
    assert not (directory / CLEAN_SHUTDOWN_FILE).exists()
    log = PartitionLog(directory, CONFIG)
    log.close()
    assert (directory / CLEAN_SHUTDOWN_FILE).exists()
    log = PartitionLog(directory, CONFIG)
    assert not (directory / CLEAN_SHUTDOWN_FILE).exists()
    log.close(clean=False)


def test_stray_files_are_cleaned(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    ref = build(directory, clean=True)
    (directory / "00000000000000099999.index").write_bytes(b"\0" * 8)
    (directory / "00000000000000099999.timeindex").write_bytes(b"")
    (directory / "whatever.tmp").write_bytes(b"x")
    log = PartitionLog(directory, CONFIG)
    assert not (directory / "00000000000000099999.index").exists()
    assert not (directory / "whatever.tmp").exists()
    assert read_all(log) == b"".join(d for _, d in ref)
    log.close()


_CHILD = """
import sys
from pathlib import Path
from storage import PartitionLog
from tests.support.policies import log_config
from wire.records import build_batch
log = PartitionLog(Path(sys.argv[1]), log_config(segment_bytes=20000, index_interval_bytes=300))
i = 0
while True:
    info = log.append(bytearray(build_batch([(None, b"x" * (i % 700), None, i)])), 0)
    print(info.last_offset, flush=True)
    i += 1
"""


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(directory)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acked = -1
    for _ in range(3000):
        acked = int(proc.stdout.readline())
    proc.kill()
    proc.wait()
    proc.stdout.close()
    log = PartitionLog(directory, log_config())
    assert log.log_end_offset >= acked + 1
    data = read_all(log)
    values = [r.value for pos, _ in iter_batches(data) for r in iter_records(data, pos)]
    assert values == [b"x" * (i % 700) for i in range(log.log_end_offset)]
    log.close()
