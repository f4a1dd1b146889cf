"""Issue 13, acceptance 4: a Kafka Connect distributed worker with exactly.once.source.support=enabled
moves a file through the broker (FileStreamSource -> topic -> FileStreamSink) and resumes after
SIGKILLs of the worker without duplicates or loss: the topic read read_committed and the sink file
both equal the source file's lines, once each, in order (compat/connect/scenario.py says where the
kills fall).

Runs on kbroker; ``TXN_TARGET=kafka`` runs the same on the reference Apache Kafka (the scenario's own
proof, as for the other transaction tests).
"""

from __future__ import annotations

import shutil

import pytest

from compat.connect import scenario
from compat.streams import brokers, java
from tests.support.tools import IN_CI, require_kafka_jars, require_tool
from tests.support.txn_target import TARGET


@pytest.mark.parametrize("kind", [TARGET])
def test_file_through_broker_exactly_once_across_worker_kills(kind, tmp_path) -> None:
    require_tool("java")
    try:
        java.connect_classpath()
    except java.JavaUnavailable as e:
        if IN_CI:
            pytest.fail(f"the Connect jars must be installed under CI=true: {e}")
        pytest.skip(str(e))
    if kind == "kafka":
        require_kafka_jars()
    b = brokers.start(kind, tmp_path / "broker")
    try:
        r = scenario.run(b, tmp_path / "connect")
        print(r.summary())
        assert r.problems() == [], r.summary()
        assert r.sink_lines == r.source_lines
    finally:
        b.stop()
        shutil.rmtree(tmp_path / "broker", ignore_errors=True)
