"""confluent-kafka (librdkafka) scenarios.

librdkafka's producer is not idempotent by default and partitions keys with ``consistent_random``
(CRC-32), not murmur2; its consumer reads with ``isolation.level=read_committed``, so the broker's
last stable offset matters.  The Python Consumer refuses to start without ``group.id``, so one is set,
but partitions are assign()ed and nothing is committed.
"""

from __future__ import annotations

import functools
import sys
import uuid
from collections.abc import Sequence

import confluent_kafka
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from compat.scenarios.common import (
    STEP_TIMEOUT,
    Deadline,
    Got,
    Rec,
    ScenarioFailed,
    check_offsets,
    compression_scenario,
    norm_headers,
    other_python_readers,
    roundtrip_scenario,
)

CLIENT = "confluent-kafka"

_TS_TYPES = {confluent_kafka.TIMESTAMP_CREATE_TIME: "create",
             confluent_kafka.TIMESTAMP_LOG_APPEND_TIME: "log_append"}


def version() -> str:
    v: object = confluent_kafka.version()  # a str at runtime, whatever the stubs say
    lib: object = confluent_kafka.libversion()
    v = v[0] if isinstance(v, tuple) else v
    return f"{v} (librdkafka {lib[0] if isinstance(lib, tuple) else lib})"


def _b(x: str | bytes | None) -> bytes | None:
    return x.encode() if isinstance(x, str) else x


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "compat-confluent-admin"})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=30, request_timeout=30)
    futures[topic].result(timeout=STEP_TIMEOUT)


def produce(bootstrap: str, topic: str, records: Sequence[Rec], compression: str | None = None,
            timeout: float = STEP_TIMEOUT) -> list[tuple[int, int]]:
    """Send every record (acks=all, other settings default); return the acknowledged positions."""
    deadline = Deadline(timeout)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                         "compression.type": compression or "none",
                         "client.id": "compat-confluent-producer",
                         "message.timeout.ms": int(timeout * 1000)})
    results: list[tuple[KafkaError | None, int | None, int | None] | None] = [None] * len(records)

    def on_delivery(i: int, err: KafkaError | None, msg: confluent_kafka.Message) -> None:
        results[i] = (err, msg.partition(), msg.offset())

    for i, r in enumerate(records):
        while True:
            try:
                producer.produce(topic, key=r.key, value=r.value, headers=list(r.headers),
                                 timestamp=r.timestamp or 0, on_delivery=functools.partial(on_delivery, i))
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                if deadline.expired():
                    raise ScenarioFailed(f"producer queue still full after {timeout:.0f}s") from None
                producer.poll(0.05)
        producer.poll(0)
    left = producer.flush(max(1.0, deadline.left()))
    if left:
        raise ScenarioFailed(f"{left} of {len(records)} records still unacknowledged after {timeout:.0f}s")
    out = []
    for i, res in enumerate(results):
        if res is None:
            raise ScenarioFailed(f"record #{i}: no delivery report")
        err, p, o = res
        if err is not None:
            raise ScenarioFailed(f"record #{i} not delivered: {err.name()}: {err.str()}")
        if p is None or o is None:
            raise ScenarioFailed(f"record #{i}: delivery report without partition/offset ({p}, {o})")
        out.append((p, o))
    return out


def consume(bootstrap: str, topic: str, partitions: int, ends: dict[int, int] | None,
            timeout: float = STEP_TIMEOUT) -> list[Got]:
    """assign() every partition at OFFSET_BEGINNING and read up to ``ends``; no commits.

    The high watermarks must equal ``ends``; with ``ends`` None they are read up to instead."""
    deadline = Deadline(timeout)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"compat-unused-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "enable.auto.offset.store": False,
                         "client.id": "compat-confluent-consumer"})
    try:
        md = consumer.list_topics(topic, timeout=30).topics.get(topic)
        if md is None or md.error is not None:
            raise ScenarioFailed(f"metadata for {topic}: {md.error if md else 'topic not listed'}")
        if set(md.partitions) != set(range(partitions)):
            raise ScenarioFailed(f"metadata lists partitions {sorted(md.partitions)}, expected 0..{partitions - 1}")
        lows, highs = {}, {}
        for p in range(partitions):
            lows[p], highs[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
        check_offsets("earliest", lows, dict.fromkeys(range(partitions), 0))
        ends = check_offsets("latest", highs, ends)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got: list[Got] = []
        position = dict.fromkeys(range(partitions), 0)
        while any(position[p] < ends[p] for p in ends):
            if deadline.expired():
                raise ScenarioFailed(f"timed out after {timeout:.0f}s: read up to {position}, want {ends}")
            for m in consumer.consume(num_messages=5000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise ScenarioFailed(f"consumer error on {m.topic()} [{m.partition()}]: "
                                         f"{err.name()}: {err.str()}")
                tstype, ts = m.timestamp()
                mp, mo, hdrs = m.partition(), m.offset(), m.headers()
                if mp is None or mo is None:
                    raise ScenarioFailed(f"message without partition/offset: ({mp}, {mo})")
                if isinstance(hdrs, dict):
                    raise ScenarioFailed(f"headers returned as a dict: {hdrs}")
                got.append(Got(mp, mo, _b(m.key()), _b(m.value()),
                               norm_headers((k, _b(v)) for k, v in hdrs or ()), ts, _TS_TYPES.get(tstype, "none")))
                position[mp] = max(position[mp], mo + 1)
        return got
    finally:
        consumer.close()


def roundtrip(bootstrap: str) -> str:
    return roundtrip_scenario(sys.modules[__name__], bootstrap)


def compression(bootstrap: str) -> str:
    return compression_scenario(bootstrap, sys.modules[__name__], other_python_readers(CLIENT))


SCENARIOS = {"roundtrip": roundtrip, "compression": compression}
