"""Spark Structured Streaming (failOnDataLoss=true) over a compacted topic with gaps and empty
batches: the stream and a batch query read exactly the live records and do not fail. Runs with every
Spark line that compat/spark/setup.sh has prepared (compat/.cache/spark-<line>/ready); skipped when
none is."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.support import ROOT
from tests.support.rawclient import RawClient
from tests.support.readback import raw_records
from tests.support.waiting import wait_for

CACHE = Path(os.environ.get("KBROKER_COMPAT_CACHE", ROOT / "compat" / ".cache"))
LINES = sorted(p.parent for p in CACHE.glob("spark-*/ready"))


@pytest.mark.skipif(not LINES, reason="no Spark prepared (compat/spark/setup.sh)")
def test_spark_reads_a_compacted_topic(broker_factory, tmp_path: Path) -> None:
    broker = broker_factory({"log.cleaner.backoff.ms": "100"})
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("sparkc", 1, {"cleanup.policy": "compact", "segment.bytes": "600",
                                       "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "86400000"})
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for u in range(12):  # one batch per flush: whole batches get emptied, some keep part of their records
        for k in range(8):
            p.produce("sparkc", key=b"k%d" % k, value=b"k%d-%d" % (k, u), partition=0)
            if (k + u) % 3 == 0:
                assert p.flush(10) == 0
        assert p.flush(10) == 0
    p.produce("sparkc", key=b"k3", value=None, partition=0)  # a tombstone stays (a day's retention)
    for i in range(6):
        p.produce("sparkc", key=b"tail-%d" % i, value=b"t" * 200, partition=0)
        assert p.flush(10) == 0
    with RawClient.connect(broker.bootstrap) as raw:
        end = raw.list_offset("sparkc", 0, -1).offset
    # fully compacted: the tail (> segment.bytes) keeps every k-key in closed segments, so each of the
    # 8 keys is left once (k3 as its tombstone) beside the 6 tail records (the cleaner swaps group by
    # group, so an intermediate state may be seen first)
    live = wait_for(lambda: (r := raw_records(broker.bootstrap, "sparkc")) and len({x.key for x in r}) == len(r) == 14
                    and r, what="the cleaner to compact the topic", timeout=60)
    expected = [[r.offset, r.key.hex(), None if r.value is None else r.value.hex()] for r in live]
    assert expected[-1][0] == end - 1 and len(expected) < end / 2
    for line in LINES:
        jars = ",".join(str(j) for j in sorted((line / "jars").glob("*.jar")))
        work = tmp_path / line.name
        work.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SPARK_", "PYSPARK_"))}
        env.update(SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=str(line / "venv" / "bin" / "python"))
        started = time.monotonic()
        proc = subprocess.run([str(line / "venv" / "bin" / "python"), str(ROOT / "tests" / "spark" / "compacted_read.py"),
                               broker.bootstrap, "sparkc", jars, str(work)], capture_output=True, text=True,
                              timeout=300, env=env, cwd=str(work))
        assert proc.returncode == 0, f"{line.name}: {proc.stderr[-4000:]}"
        results = {d["query"]: d["rows"] for d in map(json.loads, proc.stdout.splitlines()) if "query" in d}
        print(f"{line.name}: {len(results['stream'])} records in {time.monotonic() - started:.0f} s")
        assert results["stream"] == expected, line.name
        assert results["batch"] == expected, line.name
