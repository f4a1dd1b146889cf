"""The rolling restart (compat/cluster/rolling.py): three brokers and a ZooKeeper, a topic of 6 partitions
with replication factor 3 and min.insync.replicas=2, the idempotent acks=all confluent-kafka producer
and the Java one sending while each broker in turn is SIGTERMed (a controlled shutdown, the controller
among them) and started again. No acknowledged record may be missing, duplicated, moved or out of
order, and no delivery may fail; the longest interval without an acknowledgement is reported (printed),
not compared with a time. Afterwards the preferred leaders lead again: by the controller's own check
(auto.leader.rebalance.enable=true), or, with it disabled, by Kafka 4.1.1's kafka-leader-election
(--election-type PREFERRED --all-topic-partitions), which also elects an out-of-sync replica of an
offline partition with --election-type UNCLEAN.

Needs ZooKeeper, java/javac with the kafka-clients jars (compat/java/fetch-jars.sh) and, for the tool,
the reference Kafka jars (compat/kafka_ref); without them it skips, except under CI=true, where it
fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT
from tests.support.tools import require_java_producer, require_kafka_jars
from tests.support.zookeeper import require_zookeeper


def _run(tmp_path, rebalance: str) -> str:
    report = tmp_path / "report.md"
    proc = subprocess.run(
        [sys.executable, "-m", "compat.cluster.rolling", "--rebalance", rebalance, "--dir", str(tmp_path / "run"),
         "--report", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=560)
    out = proc.stdout[-8000:] + "\n" + proc.stderr[-4000:]
    assert report.exists(), out
    text = report.read_text()
    print(text)
    restarts = [line for line in text.splitlines() if line.startswith('- {"broker": ')]
    assert len(restarts) == 3, text
    assert all("it leads no replicated partition" in line and '"exit": 0' in line for line in restarts), text
    assert any('"was controller": true' in line for line in restarts), text  # the controller's own shutdown
    assert "| missing | 0 |" in text and "| duplicate | 0 |" in text and "| per-key order | 0 |" in text, text
    assert "- delivery failures: 0" in text, text
    assert "- preferred leaders back: " in text, text
    assert "Longest interval without an acknowledgement" in text, text
    assert text.rstrip().endswith("violations: 0"), text
    assert proc.returncode == 0, out
    return text


@pytest.mark.timeout(600)
def test_rolling_restart_then_automatic_preferred_leaders(tmp_path) -> None:
    require_zookeeper()
    require_java_producer()
    _run(tmp_path, "auto")


@pytest.mark.timeout(600)
def test_rolling_restart_then_kafka_leader_election(tmp_path) -> None:
    require_zookeeper()
    require_java_producer()
    require_kafka_jars()
    text = _run(tmp_path, "tool")
    assert "Successfully completed leader election (PREFERRED) for partitions rolling-" in text, text
    assert "Successfully completed leader election (UNCLEAN) for partitions offline-0" in text, text
    assert "- offline-0 before the UNCLEAN election: leader -1" in text, text
    assert "- offline-0 after: leader " in text, text
