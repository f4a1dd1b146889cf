"""Retention end to end, with real clients over TCP: by time and by size while a producer and a
consumer keep running (the log start moves, ListOffsets earliest follows, old segment files go), and
DeleteRecords through the kafka-python and confluent-kafka admin clients (a fetch below the new log
start gets OFFSET_OUT_OF_RANGE)."""

from __future__ import annotations

import threading
import time

import kafka.errors
import pytest
from confluent_kafka import Consumer as CkConsumer
from confluent_kafka import Producer as CkProducer
from confluent_kafka import TopicPartition as CkTP
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from tests.support.rawclient import RawClient
from tests.support.waiting import wait_for
from wire.errors import ErrorCode

FAST = {"log.retention.check.interval.ms": "200", "log.cleaner.backoff.ms": "200"}


def earliest(bootstrap: str, topic: str) -> int:
    with RawClient.connect(bootstrap) as raw:
        return raw.list_offset(topic, 0, -2).offset


def segment_files(broker, topic: str) -> list[str]:
    return sorted(p.name for p in (broker.data_dir / f"{topic}-0").iterdir() if p.name.endswith(".log"))


def test_time_and_size_retention_under_load(broker_factory) -> None:
    broker = broker_factory(FAST)
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("timed", 1, {"segment.bytes": "2048", "retention.ms": "1500",
                                      "file.delete.delay.ms": "300"})
        raw.create_topic("sized", 1, {"segment.bytes": "2048", "retention.bytes": "8192",
                                      "file.delete.delay.ms": "0"})
    stop = threading.Event()
    produced = {"timed": 0, "sized": 0}
    starts: dict[str, set[int]] = {"timed": set(), "sized": set()}
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            p = CkProducer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
            i = 0
            while not stop.is_set():
                for topic in ("timed", "sized"):
                    p.produce(topic, key=b"k%d" % (i % 7), value=b"%08d" % i + b"." * 100, partition=0)
                    produced[topic] += 1
                i += 1
                if i % 20 == 0:
                    p.flush(10)
                    time.sleep(0.01)
            assert p.flush(30) == 0
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    consumed: list[int] = []

    def consume() -> None:
        try:
            c = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False)
            tp = TopicPartition("timed", 0)
            c.assign([tp])
            while not stop.is_set() or c.position(tp) < c.end_offsets([tp])[tp]:
                for records in c.poll(timeout_ms=200).values():
                    consumed.extend(r.offset for r in records)
            c.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    try:
        # both logs lose old segments while the clients keep going
        for topic in ("timed", "sized"):
            wait_for(lambda topic=topic: earliest(broker.bootstrap, topic) > 0, what=f"{topic} retention", timeout=60)
        for _ in range(10):
            for topic in ("timed", "sized"):
                starts[topic].add(earliest(broker.bootstrap, topic))
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    for topic in ("timed", "sized"):
        assert len(starts[topic]) > 1, f"{topic}: the log start kept moving while producing"
    # the consumer kept up: it read every offset it was given in order, up to the end
    assert consumed == sorted(set(consumed)) and consumed
    with RawClient.connect(broker.bootstrap) as raw:
        assert consumed[-1] + 1 == raw.list_offset("timed", 0, -1).offset
    # after the producer stops, time retention empties all but the active segment
    wait_for(lambda: len(segment_files(broker, "timed")) == 1, what="time retention to catch up", timeout=60)
    # and size retention keeps the log near retention.bytes (at most one segment more)
    sized = sum((broker.data_dir / "sized-0" / n).stat().st_size for n in segment_files(broker, "sized"))
    assert sized <= 8192 + 2048
    wait_for(lambda: not [p for p in (broker.data_dir / "timed-0").iterdir() if p.name.endswith(".deleted")],
             what="file.delete.delay.ms to pass", timeout=60)


def test_delete_records_with_both_admin_clients(broker_factory) -> None:
    broker = broker_factory(FAST)
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("dr", 1, {"segment.bytes": "1024", "file.delete.delay.ms": "0"})
        raw.create_topic("dr-compact", 1, {"cleanup.policy": "compact"})
    p = CkProducer({"bootstrap.servers": broker.bootstrap})
    for i in range(100):
        p.produce("dr", key=b"k", value=b"v%03d" % i + b"." * 50, partition=0)
        if i % 10 == 9:
            p.flush(10)
    p.produce("dr-compact", key=b"k", value=b"v", partition=0)
    assert p.flush(10) == 0

    kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    result = kp.delete_records({TopicPartition("dr", 0): 30})
    assert result[TopicPartition("dr", 0)]["low_watermark"] == 30
    assert earliest(broker.bootstrap, "dr") == 30
    with pytest.raises(kafka.errors.PolicyViolationError):
        kp.delete_records({TopicPartition("dr-compact", 0): 1})
    kp.close()

    ck = AdminClient({"bootstrap.servers": broker.bootstrap})
    [fut] = ck.delete_records([CkTP("dr", 0, 55)], request_timeout=10).values()
    assert fut.result().low_watermark == 55
    assert earliest(broker.bootstrap, "dr") == 55
    # below the log start → OFFSET_OUT_OF_RANGE; at it, the first record is 55
    with RawClient.connect(broker.bootstrap) as raw:
        assert raw.fetch("dr", 0, 54).error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        part = raw.fetch("dr", 0, 55)
        assert part.error_code == 0 and part.log_start_offset == 55
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="none", enable_auto_commit=False)
    tp = TopicPartition("dr", 0)
    c.assign([tp])
    c.seek(tp, 10)
    with pytest.raises(kafka.errors.OffsetOutOfRangeError):
        for _ in range(50):
            c.poll(timeout_ms=200)
    c.close()
    consumer = CkConsumer({"bootstrap.servers": broker.bootstrap, "group.id": "dr", "auto.offset.reset": "earliest",
                           "enable.auto.commit": False})
    consumer.assign([CkTP("dr", 0, 10)])  # out of range → reset to earliest
    msg = wait_for(lambda: (m := consumer.poll(0.5)) is not None and not m.error() and m, what="a record", timeout=60)
    assert msg.offset() == 55 and msg.value().startswith(b"v055")
    consumer.close()
    # segments wholly below the start go at the next retention check; a restart keeps the start
    wait_for(lambda: int(segment_files(broker, "dr")[0][:20]) > 0, what="segments below the start to go", timeout=60)
    broker.restart()
    assert earliest(broker.bootstrap, "dr") == 55
