"""Issue 13, acceptance 1: transactional producers of kafka-clients 3.9.2 and 4.4.0, confluent-kafka and
kafka-python commit and abort across 6 partitions of 2 topics; read_committed readers of Java,
confluent-kafka and kafka-python see exactly the committed records in order, read_uncommitted readers
all of them; ListOffsets latest at read_committed is the LSO (held back by an open transaction) in each
client's API, and a read_committed group's committed offset and ``kafka-consumer-groups --describe`` lag
agree with it (compat/txn/scenarios.py ``visibility`` and ``lso``).

Runs against kbroker; ``TXN_TARGET=kafka`` runs it against the reference Apache Kafka (tests/support/txn_target.py).
Needs java/javac and the kafka-clients jars (and the reference Kafka's jars for its CLI tool); without them
it skips, except under CI=true."""

from __future__ import annotations

import pytest

from compat.txn import scenarios
from tests.support.tools import require_kafka_jars
from tests.support.txn_target import require_txn_java, start_target


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    require_txn_java()
    t = start_target(tmp_path_factory.mktemp("txn-vis"))
    yield t
    t.stop()


def test_committed_and_aborted_seen_by_every_reader(target) -> None:
    report = scenarios.visibility(target)
    assert set(report["reads"]) == {f"{r} {i}" for r in ("java", "confluent", "kafka-python")
                                    for i in ("read_committed", "read_uncommitted")}, report
    assert report["committed records"] == 4 * 4 * 12 and report["aborted records"] == 4 * 2 * 12, report
    assert report["violations"] == 0, report


def test_open_transaction_holds_the_lso_and_the_lag(target) -> None:
    require_kafka_jars()  # kafka-consumer-groups
    report = scenarios.lso(target)
    assert report["violations"] == 0, "\n".join(report["checks"])
