"""Transactions with the Python clients only (issue 13, acceptance 1 and 5 in their confluent-kafka and
kafka-python parts; the Java ones are tests/foreign/test_txn_*.py):

- confluent-kafka and kafka-python transactional producers commit and abort across 6 partitions of 2
  topics; both clients' read_committed readers see exactly the committed records in order, their
  read_uncommitted readers all of them (compat/txn/scenarios.py ``visibility``);
- a confluent-kafka transaction held open holds the LSO back in ListOffsets (confluent-kafka's AdminClient
  and kafka-python's ``end_offsets`` at read_committed) while read_uncommitted sees the high watermark; a
  read_committed reader stops at the LSO; after the commit the LSO passes the marker;
- a zombie confluent-kafka producer gets a fatal fencing error and its records stay invisible;
- a confluent-kafka transaction left open past transaction.timeout.ms is aborted by the coordinator
  (transaction.abort.timed.out.transaction.cleanup.interval.ms=500) and never becomes visible.

Runs against kbroker; ``TXN_TARGET=kafka`` runs the same against the reference Apache Kafka
(tests/support/txn_target.py)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException, Producer

from compat.txn import clients, scenarios
from compat.txn.targets import wait
from tests.support.txn_target import start_target

PY = ("confluent", "kafka-python")


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    t = start_target(tmp_path_factory.mktemp("txn-py"))
    yield t
    t.stop()


def _topic(target, name: str, partitions: int = 1) -> str:
    target.create_topic(name, partitions, 1)
    return name


def _open_transaction(bs: str, txn_id: str, topic: str, count: int, timeout_ms: int = 60_000) -> Producer:
    p = Producer({"bootstrap.servers": bs, "transactional.id": txn_id, "transaction.timeout.ms": timeout_ms,
                  "log_level": 0})
    p.init_transactions(60)
    p.begin_transaction()
    for i in range(count):
        p.produce(topic, value=f"open-{i}".encode(), partition=0)
    assert p.flush(60) == 0
    return p


def test_python_producers_and_readers(target) -> None:
    report = scenarios.visibility(target, producers=PY, readers=PY)
    assert report["committed records"] == 2 * 4 * 12 and report["aborted records"] == 2 * 2 * 12, report
    assert report["violations"] == 0, report


def test_open_transaction_holds_the_lso(target) -> None:
    bs = target.bootstrap
    topic = _topic(target, "py-lso")
    clients.produce("kafka-python", bs, "py-lso-before", "before", [topic], 1, 2, 2, 0)  # offsets 0..5
    p = _open_transaction(bs, "py-lso-open", topic, 3)  # offsets 6..8
    for client in PY:
        assert clients.end_offsets(client, bs, [topic], 1)[(topic, 0)] == (6, 9), client
    for reader in PY:
        seen = [r.v for r in clients.read(reader, bs, [topic], 1, "read_committed")]
        assert seen == ["before-0-0", "before-0-1", "before-1-0", "before-1-1"], (reader, seen)
        seen = [r.v for r in clients.read(reader, bs, [topic], 1, "read_uncommitted")]
        assert seen[-3:] == ["open-0", "open-1", "open-2"], (reader, seen)
    p.commit_transaction(60)
    for client in PY:
        assert clients.end_offsets(client, bs, [topic], 1)[(topic, 0)] == (10, 10), client
    for reader in PY:
        seen = [r.v for r in clients.read(reader, bs, [topic], 1, "read_committed")]
        assert seen[-3:] == ["open-0", "open-1", "open-2"] and len(seen) == 7, (reader, seen)


def test_zombie_is_fenced(target) -> None:
    topic = _topic(target, "py-zombie")
    result = scenarios.zombie_confluent(target.bootstrap, topic, "py-zombie")
    assert result["problem"] is None, result
    seen = [r.v for r in clients.read("kafka-python", target.bootstrap, [topic], 1, "read_committed")]
    assert seen == ["ck-fencer-0"], seen


def test_timed_out_transaction_is_aborted(target) -> None:
    bs = target.bootstrap
    topic = _topic(target, "py-timeout")
    p = _open_transaction(bs, "py-timeout", topic, 3, timeout_ms=3000)
    assert clients.end_offsets("confluent", bs, [topic], 1)[(topic, 0)] == (0, 3)
    ends = wait(lambda: (e := clients.end_offsets("confluent", bs, [topic], 1)[(topic, 0)])[0] > 0 and e,
                120, "the coordinator to abort the timed-out transaction")
    assert ends == (4, 4)  # the abort marker
    for reader in PY:
        assert clients.read(reader, bs, [topic], 1, "read_committed") == [], reader
        assert [r.v for r in clients.read(reader, bs, [topic], 1, "read_uncommitted")] == [
            "open-0", "open-1", "open-2"], reader
    with pytest.raises(KafkaException):
        p.commit_transaction(30)
    assert clients.read("confluent", bs, [topic], 1, "read_committed") == []
