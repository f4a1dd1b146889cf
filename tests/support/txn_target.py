"""The broker the transaction tests run against (tests/foreign/test_txn_*.py, tests/broker/test_txn_clients.py).

By default kbroker: one broker process (tests/support/brokerproc.py through compat/cluster/launcher.py's
Cluster) or, with ``brokers=3``, a kbroker cluster with its ZooKeeper. With ``TXN_TARGET=kafka`` in the
environment the same tests run against the reference Apache Kafka 4.1.1 (compat/kafka_ref/launcher.py;
compat/cluster/kafka.py for 3 nodes), which is how they were proven before kbroker had transactions::

    TXN_TARGET=kafka .cache/test-venv/bin/python -m pytest -q tests/foreign/test_txn_visibility.py

Both get ``transaction.abort.timed.out.transaction.cleanup.interval.ms=500`` (the timeout tests), and the
same Kafka config names for anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compat.txn import clients, targets
from tests.support.tools import IN_CI, require_kafka_jars, require_tool

TARGET = os.environ.get("TXN_TARGET", "kbroker")
OVERRIDES = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "500"}


def start_target(workdir: Path, brokers: int = 1, overrides: dict[str, str] | None = None) -> targets.Target:
    """A started target of kind ``TXN_TARGET``; skipped when what it needs is absent (failed under CI)."""
    if TARGET not in ("kbroker", "kafka"):
        pytest.fail(f"TXN_TARGET must be kbroker or kafka, not {TARGET!r}")
    if TARGET == "kafka":
        require_kafka_jars()
    elif brokers > 1:
        from tests.support.zookeeper import require_zookeeper

        require_zookeeper()
    t = targets.make(TARGET, workdir, brokers, {**OVERRIDES, **(overrides or {})})
    try:
        return t.start()
    except BaseException:
        t.stop()
        raise


def require_txn_java(versions: tuple[str, ...] = clients.JAVA_VERSIONS) -> None:
    """java, javac and TxnTool compiled against each kafka-clients version; skipped when they cannot
    be had, except under CI=true where that fails."""
    from compat.java import harness

    require_tool("java")
    require_tool("javac")
    for v in versions:
        try:
            clients.java_classpath(v)
        except harness.JavaUnavailable as e:
            if IN_CI:
                pytest.fail(f"TxnTool must build against kafka-clients {v} under CI=true: {e}")
            pytest.skip(str(e))
