"""read_committed consumers against a broker process (real clients, real sockets).  The transactions
are made without a transaction coordinator: transactional batches are produced with a raw client and
ended with WriteTxnMarkers (API 27), exactly what a coordinator sends the partition leader.

The log of partition 0 (offsets)::

    0 plain "a" · 1-2 producer P "c1","c2" · 3 P's COMMIT · 4 producer Q "x1" · 5 Q's ABORT ·
    6 producer R "open" · 7 plain "late"    (R still open: the last stable offset is 6)

A read_committed consumer (confluent-kafka, kafka-python) gets a, c1, c2 and stops at the last stable
offset; after R's COMMIT it gets open, late.  "x1" never reaches it; a read_uncommitted consumer reads it.
"""

from __future__ import annotations

import time

import pytest

from tests.support.rawclient import RawClient
from wire.messages.fetch import FetchRequest
from wire.messages.list_offsets import ListOffsetsRequest
from wire.messages.produce import ProduceRequest
from wire.messages.write_txn_markers import WriteTxnMarkersRequest
from wire.records import build_batch

P, Q, R = 5001, 5002, 5003
TOPIC = "rc"
MAX_POLLS = 100  # bounded consume loops (each poll waits at most 1 s)


@pytest.fixture
def broker(broker_factory):  # type: ignore[no-untyped-def]
    """Markers are written here by hand (WriteTxnMarkers) for producers no transaction coordinator knows,
    so the leader must not ask one (KIP-890 verification is tested with the coordinator elsewhere)."""
    return broker_factory({"transaction.partition.verification.enable": "false"})


def txn_produce(c: RawClient, pid: int, values: list[bytes]) -> None:
    now = int(time.time() * 1000)
    data = build_batch([(None, v, None, now) for v in values], producer_id=pid, producer_epoch=0,
                       base_sequence=0, transactional=True)
    req = ProduceRequest(transactional_id=f"t{pid}", acks=-1, timeout_ms=10000, topic_data=[
        ProduceRequest.TopicProduceData(name=TOPIC, partition_data=[
            ProduceRequest.PartitionProduceData(index=0, records=data)])])
    resp = c.request(req, 9)
    assert resp.responses[0].partition_responses[0].error_code == 0


def end(c: RawClient, pid: int, commit: bool) -> None:
    req = WriteTxnMarkersRequest(markers=[WriteTxnMarkersRequest.WritableTxnMarker(
        producer_id=pid, producer_epoch=0, transaction_result=commit, coordinator_epoch=0,
        topics=[WriteTxnMarkersRequest.WritableTxnMarkerTopic(name=TOPIC, partition_indexes=[0])])])
    resp = c.request(req, 1)
    assert resp.markers[0].topics[0].partitions[0].error_code == 0


def plain(c: RawClient, value: bytes) -> None:
    assert c.produce(TOPIC, 0, build_batch([(None, value, None, int(time.time() * 1000))])).error_code == 0


def latest(c: RawClient, isolation: int) -> int:
    L = ListOffsetsRequest
    resp = c.request(L(replica_id=-1, isolation_level=isolation, topics=[L.ListOffsetsTopic(
        name=TOPIC, partitions=[L.ListOffsetsPartition(partition_index=0, timestamp=-1)])]), 7)
    return resp.topics[0].partitions[0].offset


def build_log(c: RawClient) -> None:
    c.create_topic(TOPIC, 1)
    plain(c, b"a")
    txn_produce(c, P, [b"c1", b"c2"])
    end(c, P, commit=True)
    txn_produce(c, Q, [b"x1"])
    end(c, Q, commit=False)
    txn_produce(c, R, [b"open"])
    plain(c, b"late")


def confluent_values(bootstrap: str, isolation: str, n: int, consumer=None):  # type: ignore[no-untyped-def]
    from confluent_kafka import Consumer, TopicPartition

    if consumer is None:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"rc-{isolation}",
                             "isolation.level": isolation, "enable.auto.commit": False,
                             "auto.offset.reset": "earliest"})
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
    got: list[bytes] = []
    for _ in range(MAX_POLLS):
        if len(got) >= n:
            break
        m = consumer.poll(1.0)
        if m is not None and m.error() is None:
            got.append(m.value())
    return consumer, got


def test_read_committed_with_confluent_kafka(broker) -> None:
    with RawClient.connect(broker.bootstrap) as c:
        build_log(c)
        assert (latest(c, 0), latest(c, 1)) == (8, 6)
        consumer, got = confluent_values(broker.bootstrap, "read_committed", 3)
        try:
            assert got == [b"a", b"c1", b"c2"]
            end(c, R, commit=True)
            assert latest(c, 1) == 9
            _, more = confluent_values(broker.bootstrap, "read_committed", 2, consumer)
            assert more == [b"open", b"late"]
        finally:
            consumer.close()
        uncommitted, everything = confluent_values(broker.bootstrap, "read_uncommitted", 6)
        uncommitted.close()
        assert everything == [b"a", b"c1", b"c2", b"x1", b"open", b"late"]


def test_read_committed_with_kafka_python(broker) -> None:
    from kafka import KafkaConsumer, TopicPartition

    with RawClient.connect(broker.bootstrap) as c:
        build_log(c)
        end(c, R, commit=False)  # R aborted too: only a, c1, c2, late are committed
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, isolation_level="read_committed",
                                 enable_auto_commit=False, consumer_timeout_ms=1000)
        try:
            consumer.assign([TopicPartition(TOPIC, 0)])
            consumer.seek(TopicPartition(TOPIC, 0), 0)
            got: list[bytes] = []
            for _ in range(MAX_POLLS):
                if len(got) >= 4:
                    break
                for records in consumer.poll(timeout_ms=1000).values():
                    got += [r.value for r in records]
            assert got == [b"a", b"c1", b"c2", b"late"]
        finally:
            consumer.close()


def test_fetch_answers_last_stable_offset_and_aborted_transactions(broker) -> None:
    F = FetchRequest
    with RawClient.connect(broker.bootstrap) as c:
        build_log(c)

        def fetch(isolation: int, offset: int = 0):  # type: ignore[no-untyped-def]
            req = F(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=isolation,
                    session_id=0, session_epoch=-1, topics=[F.FetchTopic(topic=TOPIC, partitions=[
                        F.FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=1 << 20)])])
            return c.request(req, 12).responses[0].partitions[0]

        committed = fetch(1)
        assert (committed.high_watermark, committed.last_stable_offset) == (8, 6)
        assert [(a.producer_id, a.first_offset) for a in committed.aborted_transactions] == [(Q, 4)]
        uncommitted = fetch(0)
        assert (uncommitted.high_watermark, uncommitted.last_stable_offset) == (8, 6)
        assert uncommitted.aborted_transactions is None  # Kafka's null list for read_uncommitted
        assert len(uncommitted.records) > len(committed.records)
        at_lso = fetch(1, 6)  # nothing readable yet: an empty answer, an empty list
        assert (len(at_lso.records), at_lso.aborted_transactions) == (0, [])
