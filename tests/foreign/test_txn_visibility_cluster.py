"""Issue 13, acceptance 6 for acceptance 1: the visibility scenario of test_txn_visibility.py on 3 kbroker
brokers (topics RF 3, min.insync.replicas=2, ``__transaction_state`` RF 3) while brokers are killed: after
each producer client (kafka-clients 3.9.2 and 4.4.0, confluent-kafka, kafka-python) the broker coordinating
its transactional id and a partition leader are SIGKILLed and restarted, and a leader stays down during the
reads — read_committed readers of each client still see exactly the committed records in order,
read_uncommitted readers all of them (compat/txn/scenarios.py ``visibility(kills=True)``).

``TXN_TARGET=kafka`` runs it against a 3-node Apache Kafka. Needs java/javac, the kafka-clients jars and
ZooKeeper; without them it skips, except under CI=true."""

from __future__ import annotations

import pytest

from compat.txn import scenarios
from tests.support.txn_target import require_txn_java, start_target


@pytest.mark.timeout(900)
def test_every_reader_sees_the_committed_records_across_kills(tmp_path) -> None:
    require_txn_java()
    with start_target(tmp_path / "target", brokers=3) as target:
        report = scenarios.visibility(target, kills=True)
    assert len(report["broker kills"]) == 2 * 4 + 1, report
    assert set(report["reads"]) == {f"{r} {i}" for r in ("java", "confluent", "kafka-python")
                                    for i in ("read_committed", "read_uncommitted")}, report
    assert report["committed records"] == 4 * 4 * 12 and report["aborted records"] == 4 * 2 * 12, report
    assert report["violations"] == 0, report
