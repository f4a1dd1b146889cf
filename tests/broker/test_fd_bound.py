"""Thousands of partitions under ``ulimit -n 1024`` (issue 9, section 4): the broker keeps its open
segment files within a budget (storage.handles), so a topic of 2,000 partitions is created, served
(every partition written and read back), and the broker stops and starts again under the same
limit. The broker's descriptor count is sampled from /proc throughout and must stay below the limit.

The broker runs under ``prlimit --nofile=1024:1024`` from its start, so raising the soft limit to
the hard one at start-up gains nothing."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.brokerproc import BrokerProcess
from tests.support.tools import IN_CI

LIMIT = 1024
PARTITIONS = 2000
TOPIC = "many"


class FdSampler:
    """Samples the number of open descriptors of a process until stopped; keeps the maximum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.max = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> int:
        try:
            n = len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:  # the process is gone
            return 0
        self.max = max(self.max, n)
        self.samples += 1
        return n

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.max


def _nofile(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line")


def _consume_all(bootstrap: str, sampler: FdSampler) -> dict[int | None, tuple[bytes | None, bytes | None]]:
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "fd-bound",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    })
    try:
        consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got: dict[int | None, tuple[bytes | None, bytes | None]] = {}
        deadline = time.monotonic() + 300  # only a guard against hanging: no timing is asserted
        while len(got) < PARTITIONS and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=1.0):
                assert msg.error() is None, msg.error()
                got[msg.partition()] = (msg.key(), msg.value())
            sampler.sample()
        return got
    finally:
        consumer.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("transfer", ["pread", "sendfile"])
def test_two_thousand_partitions_under_nofile_1024(tmp_path, transfer):
    tool = shutil.which("prlimit")
    if tool is None:
        if IN_CI:
            pytest.fail("prlimit (util-linux) is needed under CI=true")
        pytest.skip("prlimit (util-linux) is not installed")
    b = BrokerProcess(tmp_path / "data", overrides={"fetch.transfer": transfer},
                      prefix=[tool, f"--nofile={LIMIT}:{LIMIT}", "--"])
    try:
        b.start(timeout=120)
        assert b.proc is not None
        assert _nofile(b.proc.pid) == (LIMIT, LIMIT)  # prlimit exec'ed the broker itself
        sampler = FdSampler(b.proc.pid)
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        fut = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=120,
                                  request_timeout=120)[TOPIC]
        fut.result(timeout=300)
        assert len(admin.list_topics(TOPIC, timeout=60).topics[TOPIC].partitions) == PARTITIONS

        producer = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5})
        failures: list[str] = []

        def report(err, msg):
            if err is not None:
                failures.append(f"{msg.partition()}: {err}")

        for p in range(PARTITIONS):
            producer.produce(TOPIC, key=b"k%d" % p, value=b"v%d" % p, partition=p, on_delivery=report)
            producer.poll(0)
        assert producer.flush(120) == 0
        assert not failures, failures[:10]
        expected = {p: (b"k%d" % p, b"v%d" % p) for p in range(PARTITIONS)}

        assert _consume_all(b.bootstrap, sampler) == expected
        assert sampler.stop() < LIMIT, sampler.max
        first_max = sampler.max

        assert b.stop() == 0
        b.start(timeout=300)  # recovery and index loading of 2,000 logs within the same limit
        assert _nofile(b.proc.pid) == (LIMIT, LIMIT)
        sampler = FdSampler(b.proc.pid)
        assert _consume_all(b.bootstrap, sampler) == expected
        assert sampler.stop() < LIMIT, sampler.max
        assert sampler.samples > 0 and first_max > 0
        log = b.log()
        assert "Traceback" not in log and "Too many open files" not in log, log
    finally:
        b.stop()


# -- in process: the handle cache itself -----------------------------------------------------------


def _open_fds(under: Path) -> int:
    """Descriptors of this process open on files below ``under`` (others — sockets, files of
    earlier tests being collected — come and go by themselves and say nothing here)."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        n += target.startswith(str(under))
    return n


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_many_logs_stay_within_the_handle_budget(tmp_path):
    from storage import PartitionLog
    from storage.handles import handles
    from tests.support.policies import log_config
    from wire.records import build_batch

    saved = handles.budget
    handles.reset_budget(20)
    try:
        before = _open_fds(tmp_path)
        config = log_config(segment_bytes=2000, index_interval_bytes=256)
        logs = [PartitionLog(tmp_path / f"t-{i}", config) for i in range(60)]
        for round_ in range(30):
            for i, lg in enumerate(logs):
                lg.append(bytearray(build_batch([(b"k", b"<log %03d round %02d>" % (i, round_) * 4, [], 0)])), now_ms=0)
            assert _open_fds(tmp_path) - before <= 20 + 1
        assert len(logs[0].segments) >= 3  # rolled: inactive segments too
        # A slice made now and sent after the cache closed its descriptor still reads its own file.
        pieces = [lg.read(0, 1 << 20) for lg in logs]
        for lg in logs:
            lg.flush()
        for i, piece in enumerate(pieces):
            assert piece is not None
            with piece.use() as fd:
                data = os.pread(fd, piece.length, piece.position)
            assert b"<log %03d round 00>" % i in data
            assert set(re.findall(rb"<log (\d+)", data)) == {b"%03d" % i}  # its own file's bytes only
        assert _open_fds(tmp_path) - before <= 20 + 1
        for lg in logs:
            lg.close()
        for lg in (PartitionLog(tmp_path / f"t-{i}", config) for i in range(60)):  # reopen: bounded
            assert b"<log %03d round 29>" % int(lg.directory.name[2:]) in lg.read_bytes(lg.log_end_offset - 1, 1 << 20)
            assert _open_fds(tmp_path) - before <= 20 + 1
            lg.close()
        assert _open_fds(tmp_path) == before
    finally:
        handles.reset_budget(saved)


def test_a_pinned_handle_is_never_closed_by_the_cache(tmp_path):
    from storage.handles import FileHandle, HandleCache

    cache = HandleCache(budget=2)
    files = []
    for i in range(4):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"file %d" % i)
        files.append(FileHandle(path, os.O_RDONLY, cache=cache))
    fd0 = files[0].pin()  # held, as a sendfile across awaits holds it
    for f in files[1:]:
        with f.use() as fd:
            assert os.pread(fd, 6, 0) == b"file %d" % files.index(f)
    assert os.pread(fd0, 6, 0) == b"file 0"  # not closed, not reused
    assert cache.open_count <= 2
    files[0].close()  # closed for good, but only at the last unpin
    assert os.pread(fd0, 6, 0) == b"file 0"
    files[0].unpin()
    with pytest.raises(OSError):
        os.fstat(fd0)
    with pytest.raises(OSError):
        files[0].pin()
    for f in files[1:]:
        f.close()
    assert cache.open_count == 0
