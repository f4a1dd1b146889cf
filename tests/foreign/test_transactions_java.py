"""Java transactional producers (kafka-clients 4.4.0 and 3.9.2) against kbroker (issue 13):
initTransactions, a committed, an aborted and a committed transaction; a read_committed consumer
sees exactly the committed records.  kbroker finalizes transaction.version 0, so the 4.x client
uses the classic protocol (AddPartitionsToTxn, EndTxn v4)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.rawclient import RawClient
from tests.support.tools import IN_CI, require_tool
from tests.support.txn import committed_values

JAVA_JARS = ROOT / "compat" / ".cache" / "java"
JAVA_VERSIONS = ["4.4.0", "3.9.2"]


def java_jars(version: str) -> Path:
    jars = JAVA_JARS / f"kafka-clients-{version}"
    if not (jars / ".complete").exists():
        if IN_CI:
            pytest.fail(f"kafka-clients {version} jars are required under CI=true ({jars})")
        pytest.skip(f"kafka-clients {version} jars are not fetched ({jars})")
    return jars


@pytest.mark.parametrize("version", JAVA_VERSIONS)
def test_java_transactions_commit_and_abort(broker, version) -> None:
    java = require_tool("java")
    jars = java_jars(version)
    topic = f"java-tx-{version.replace('.', '-')}"
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic(topic, 2)
    proc = subprocess.run([java, "-cp", f"{jars}/*", str(ROOT / "tests" / "java" / "TxnRun.java"),
                           broker.bootstrap, f"java-tx-{version}", topic], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "OK", proc.stdout[-3000:]
    got = committed_values(broker.bootstrap, topic, 4, f"g-{version}")
    assert sorted(got) == [b"c0", b"c1", b"c2", b"c3"]
