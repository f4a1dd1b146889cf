"""DescribeLogDirs (35) v1-4: raw frames for every version, kafka-python's admin client and
Kafka 4.1.1's `kafka-log-dirs --describe` (LogDirsCommand from the reference broker's jars)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support.rawclient import RawClient
from tests.support.tools import require_kafka_jars
from wire.messages import BROKER_VERSIONS
from wire.messages.describe_log_dirs import DescribeLogDirsRequest
from wire.records import build_batch

Topic = DescribeLogDirsRequest.DescribableLogDirTopic


@pytest.fixture
def rc(broker):
    c = RawClient.connect(broker.bootstrap)
    c.create_topic("ldirs", 2)
    c.produce("ldirs", 1, build_batch([(b"k", b"v" * 100, None, 1700000000000)]))
    yield c
    c.close()


def sizes(resp) -> dict[tuple[str, int], int]:
    [res] = resp.results
    return {(t.name, p.partition_index): p.partition_size for t in res.topics for p in t.partitions}


def test_advertised_range() -> None:
    assert BROKER_VERSIONS[35] == (1, 4)


@pytest.mark.parametrize("v", [1, 2, 3, 4])
def test_all_partitions_when_topics_null(broker, rc, v: int) -> None:
    resp = rc.request(DescribeLogDirsRequest(topics=None), v)
    [res] = resp.results
    assert res.error_code == 0 and os.path.isabs(res.log_dir)
    got = sizes(resp)
    assert got[("ldirs", 0)] == 0 and got[("ldirs", 1)] > 100
    assert all(p.offset_lag == 0 and not p.is_future_key for t in res.topics for p in t.partitions)
    if v >= 4:
        assert res.total_bytes > 0 and 0 <= res.usable_bytes <= res.total_bytes
    else:
        assert res.total_bytes == res.usable_bytes == -1  # not on the wire before v4


def test_topics_filter(rc) -> None:
    resp = rc.request(DescribeLogDirsRequest(topics=[Topic(topic="ldirs", partitions=[1, 7]),
                                                     Topic(topic="missing", partitions=[0])]), 4)
    assert list(sizes(resp)) == [("ldirs", 1)]
    assert sizes(rc.request(DescribeLogDirsRequest(topics=[]), 4)) == {}


def test_kafka_python_admin(broker, rc) -> None:
    from kafka.admin import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)
    try:
        resp = a.describe_log_dirs()
    finally:
        a.close()
    text = repr(resp)
    assert "ldirs" in text


def test_kafka_log_dirs_describe(broker, rc) -> None:
    java, jars = require_kafka_jars()
    proc = subprocess.run([java, "-cp", f"{jars}/*", "org.apache.kafka.tools.LogDirsCommand",
                           "--bootstrap-server", broker.bootstrap, "--describe", "--topic-list", "ldirs"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "Querying brokers for log directories information", proc.stdout
    assert lines[1] == "Received log directory information from brokers 1", proc.stdout
    doc = json.loads(lines[2])
    [b] = doc["brokers"]
    [d] = b["logDirs"]
    assert b["broker"] == 1 and d["error"] is None and os.path.isabs(d["logDir"])
    parts = {p["partition"]: p for p in d["partitions"]}
    assert set(parts) == {"ldirs-0", "ldirs-1"}
    assert parts["ldirs-1"]["size"] > 100 and parts["ldirs-1"]["offsetLag"] == 0
    assert parts["ldirs-1"]["isFuture"] is False
