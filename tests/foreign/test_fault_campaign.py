"""The fault campaign in its CI form (compat/faults, about 2.5 minutes of faults): three brokers and a
three-node ZooKeeper ensemble in network namespaces, the idempotent acks=all confluent-kafka and Java
producers and two consumers in another, every fault kind (kill -9, SIGSTOP/SIGCONT, a leader cut from
its peers, a broker cut from ZooKeeper, a ZooKeeper node killed, a rolling restart) injected at least
once. Nothing acknowledged may be lost, duplicated or moved, no offset may hold two values in any
read, no consumer may see a gap or go backwards, and after healing every replica of every partition
must hold the same batches.

Needs root, ``ip netns`` and ``nft``, ZooKeeper, and java/javac with the kafka-clients jars; without
them it skips, except under CI=true, where it fails."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from compat.faults import netns
from compat.faults.campaign import KINDS
from tests.support import ROOT
from tests.support.tools import IN_CI, require_java_producer
from tests.support.zookeeper import require_zookeeper


def require_netns() -> None:
    why = netns.unavailable()
    if why is not None:
        if IN_CI:
            pytest.fail(f"{why}; required under CI=true")
        pytest.skip(why)


@pytest.mark.timeout(1500)
def test_fault_campaign_ci_form(tmp_path) -> None:
    require_netns()
    require_zookeeper()
    require_java_producer()
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "compat.faults", "--duration", "150", "--dir", str(tmp_path / "run"),
         "--report", str(report), "--timeout", "1300"],
        cwd=ROOT, capture_output=True, text=True, timeout=1400)
    out = proc.stdout + "\n" + proc.stderr[-5000:]
    print(out)
    assert report.exists(), out
    rep = json.loads(report.read_text())
    assert all(rep["faults_by_kind"][k] >= 1 for k in KINDS), rep["faults_by_kind"]
    for category, v in rep["violations"].items():
        assert v["count"] == 0, (category, v["examples"], out)
    assert rep["replicas"] and all(r["identical"] for r in rep["replicas"]), rep["replicas"]
    assert all(n > 0 for n in rep["acknowledged_per_producer"].values()), rep["acknowledged_per_producer"]
    assert set(rep["acknowledged_per_producer"]) == {"py", "java"}
    assert rep["problems"] == [], rep["problems"]
    assert proc.stdout.rstrip().endswith("violations: 0"), out
    assert proc.returncode == 0, out
    assert netns.ours() == [], "namespaces left behind"
