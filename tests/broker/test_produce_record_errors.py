"""Produce v8+ record errors (issue 9 §3): a batch refused because of some of its records —
keyless records on a compacted topic — is answered INVALID_RECORD with ``record_errors`` naming each
offending record's index in the batch (with a message) and ``error_message`` set, as Kafka's
validator does; nothing is appended. librdkafka then fails just those records with INVALID_RECORD
and the others of the batch with its "invalid different record" code; kafka-python fails the send.
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, Producer
from kafka import KafkaProducer
from kafka.errors import InvalidRecordError

from tests.support.rawclient import RawClient
from wire import records
from wire.errors import ErrorCode

COMPACT = {"cleanup.policy": "compact"}


def _batch(keys: list[bytes | None], compression: int = 0) -> bytes:
    return records.build_batch([(k, b"value", None, 1_700_000_000_000) for k in keys], compression=compression)


@pytest.mark.parametrize("version", [8, 9])
@pytest.mark.parametrize("compression", [0, 1, 4])
def test_raw_record_errors_list_each_keyless_record(shared_broker, version, compression):
    topic = f"rec-errors-{version}-{compression}"
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic(topic, configs=COMPACT)
        r = c.produce(topic, 0, _batch([b"a", None, b"c", None, b"e"], compression), version=version)
        assert r.error_code == ErrorCode.INVALID_RECORD
        assert [e.batch_index for e in r.record_errors] == [1, 3]
        assert all("key" in (e.batch_index_error_message or "") for e in r.record_errors)
        assert r.error_message and "2 record" in r.error_message
        assert r.base_offset == -1
        assert c.fetch(topic, 0, 0).high_watermark == 0  # nothing appended
        ok = c.produce(topic, 0, _batch([b"a", b"b"], compression), version=version)
        assert ok.error_code == 0 and ok.record_errors == [] and ok.base_offset == 0


def test_non_compacted_topic_accepts_keyless_records(shared_broker):
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic("rec-errors-delete")
        r = c.produce("rec-errors-delete", 0, _batch([None, None]))
        assert r.error_code == 0 and r.record_errors == []


def test_confluent_kafka_fails_just_the_keyless_records(shared_broker):
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic("rec-errors-ck", configs=COMPACT)
    p = Producer({"bootstrap.servers": shared_broker.bootstrap, "linger.ms": 500, "retries": 0,
                  "enable.idempotence": False})
    reports: dict[bytes, KafkaError | None] = {}

    def report(err, msg):
        reports[msg.value()] = err

    for i, key in enumerate([b"a", None, b"c", None]):
        p.produce("rec-errors-ck", value=b"v%d" % i, key=key, partition=0, on_delivery=report)
    assert p.flush(30) == 0
    codes = {v: (e.code() if e else 0) for v, e in reports.items()}
    assert codes == {b"v0": KafkaError._INVALID_DIFFERENT_RECORD, b"v1": KafkaError.INVALID_RECORD,
                     b"v2": KafkaError._INVALID_DIFFERENT_RECORD, b"v3": KafkaError.INVALID_RECORD}, codes


def test_kafka_python_send_of_a_keyless_record_fails(shared_broker):
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic("rec-errors-kp", configs=COMPACT)
    p = KafkaProducer(bootstrap_servers=shared_broker.bootstrap, retries=0)
    try:
        with pytest.raises(InvalidRecordError):
            p.send("rec-errors-kp", value=b"v", partition=0).get(timeout=30)
        assert p.send("rec-errors-kp", key=b"k", value=b"v", partition=0).get(timeout=30).offset == 0
    finally:
        p.close(5)


@pytest.mark.parametrize("compression", [0, 4])
def test_raw_record_errors_list_each_record_with_a_future_timestamp(shared_broker, compression):
    import time

    topic = f"rec-errors-ts-{compression}"
    now = int(time.time() * 1000)
    future = now + 86_400_000
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic(topic, configs={"message.timestamp.after.max.ms": "3600000"})
        batch = records.build_batch([(b"a", b"v", None, now), (b"b", b"v", None, future),
                                     (b"c", b"v", None, now), (b"d", b"v", None, future)], compression=compression)
        r = c.produce(topic, 0, batch)
        assert r.error_code == ErrorCode.INVALID_TIMESTAMP
        assert [e.batch_index for e in r.record_errors] == [1, 3]
        assert all(str(future) in (e.batch_index_error_message or "") for e in r.record_errors)
        assert r.error_message
        assert c.fetch(topic, 0, 0).high_watermark == 0
