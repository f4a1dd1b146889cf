"""Issue 13, acceptance 5: a zombie producer (same transactional.id, older epoch) is fenced —
ProducerFencedException on its commit and InvalidProducerEpochException / ProducerFencedException on its
send in kafka-clients 3.9.2 and 4.4.0, a fatal fencing error in confluent-kafka — and its records never
become visible at read_committed; a transaction left open beyond its transaction.timeout.ms (3 s) is
aborted by the coordinator (the broker runs with
transaction.abort.timed.out.transaction.cleanup.interval.ms=500): the LSO passes its abort marker, its
records reach read_uncommitted readers only, and its producer's late commit fails
(compat/txn/scenarios.py ``zombie`` and ``timeout``).

Runs against kbroker; ``TXN_TARGET=kafka`` runs it against the reference Apache Kafka (tests/support/txn_target.py).
Needs java/javac and the kafka-clients jars; without them it skips, except under CI=true."""

from __future__ import annotations

import pytest

from compat.txn import clients, scenarios
from tests.support.txn_target import require_txn_java, start_target


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    require_txn_java()
    t = start_target(tmp_path_factory.mktemp("txn-fence"))
    yield t
    t.stop()


@pytest.mark.parametrize("version", clients.JAVA_VERSIONS)
def test_zombie_is_fenced(target, version) -> None:
    report = scenarios.zombie(target, version=version)
    assert report["violations"] == 0, report
    assert report["confluent"]["fatal"], report


@pytest.mark.parametrize("version", clients.JAVA_VERSIONS)
def test_timed_out_transaction_is_aborted(target, version) -> None:
    report = scenarios.timeout(target, version=version)
    assert report["violations"] == 0, "\n".join(report["checks"])
