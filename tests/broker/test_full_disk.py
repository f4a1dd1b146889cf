"""SIGTERM on a full disk (issue 9, section 4): a broker whose log.dirs is a small tmpfs is filled by
producing until it refuses (KAFKA_STORAGE_ERROR or another error), then stopped with SIGTERM. It must
exit 0 with "stopped cleanly" and no traceback (a failed producer-snapshot or checkpoint write at
shutdown is logged, not raised), and every acknowledged record must be readable after a restart on a
copy of the data in a bigger directory."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.brokerproc import BrokerProcess
from tests.support.rawclient import RawClient
from tests.support.tools import IN_CI
from wire.records import build_batch, iter_records

TOPIC = "full"
PARTITIONS = 2


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if IN_CI:
            pytest.fail(f"mounting a tmpfs is needed under CI=true: {r.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(b: BrokerProcess) -> dict[int, list[bytes]]:
    """Produce 8 KiB values round-robin until every partition refuses; the acknowledged values."""
    acked: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    refused: set[int] = set()
    with RawClient.connect(b.bootstrap) as c:
        c.create_topic(TOPIC, PARTITIONS, {"segment.bytes": str(256 * 1024)})
        n = 0
        while len(refused) < PARTITIONS and n < 10_000:
            p = n % PARTITIONS
            n += 1
            if p in refused:
                continue
            value = f"{n:08d}".encode() * 1024
            r = c.produce(TOPIC, p, build_batch([(None, value, None, 1_700_000_000_000 + n)]))
            if r.error_code == 0:
                acked[p].append(value)
            else:
                refused.add(p)
    assert len(refused) == PARTITIONS, "the 2 MiB filesystem never filled up"
    assert sum(len(v) for v in acked.values()) > 0
    return acked


def _read_all(c: RawClient, partition: int) -> list[bytes]:
    out: list[bytes] = []
    offset = 0
    while True:
        pd = c.fetch(TOPIC, partition, offset)
        assert pd.error_code == 0
        if not pd.records:
            return out
        for rec in iter_records(bytes(pd.records)):
            out.append(bytes(rec.value))
            offset = rec.offset + 1


def test_sigterm_on_full_disk_exits_cleanly_and_keeps_acknowledged(small_fs, tmp_path):
    b = BrokerProcess(small_fs)
    b.start()
    try:
        acked = _fill(b)
    finally:
        rc = b.stop()
    log = b.log_path.read_text(errors="replace")
    assert rc == 0, log[-3000:]
    assert "stopped cleanly" in log
    assert "Traceback" not in log, log[-3000:]

    copy = tmp_path / "copy"
    shutil.copytree(small_fs, copy)
    b2 = BrokerProcess(copy)
    b2.start()
    try:
        with RawClient.connect(b2.bootstrap) as c:
            for p in range(PARTITIONS):
                got = _read_all(c, p)
                assert got[: len(acked[p])] == acked[p]
    finally:
        assert b2.stop() == 0
    assert "Traceback" not in b2.log_path.read_text(errors="replace")
