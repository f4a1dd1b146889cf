"""Metadata (3) at every version a Kafka 4.1.1 broker serves (0-13) over raw frames, and kafka-python
pinned to api_version (4, 0) and (4, 1) (whose table sends Metadata v13) bootstrapping and
round-tripping a record."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.support.rawclient import RawClient
from wire.messages import BROKER_VERSIONS
from wire.messages.metadata import MetadataRequest as M
from wire.primitives import ZERO_UUID

UNKNOWN_TOPIC, UNKNOWN_TOPIC_ID = 3, 100
NOT_PROVIDED = -2147483648


def ask(c: RawClient, v: int, names: list[str] | None, **kw):
    topics = None if names is None else [M.MetadataRequestTopic(name=n) for n in names]
    return c.request(M(topics=topics, allow_auto_topic_creation=False, **kw), v)


def test_every_version(broker_factory) -> None:
    assert BROKER_VERSIONS[3] == (0, 13)
    broker = broker_factory({"auto.create.topics.enable": "false"})  # v0-3 would create "nope"
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic("md", 2)
        c.create_topic("other", 1)
        tid = ask(c, 12, ["md"]).topics[0].topic_id
        assert tid != ZERO_UUID
        for v in range(14):
            r = ask(c, v, ["md", "nope"])
            assert [b.node_id for b in r.brokers] == [1], v
            assert r.error_code == 0, v  # v13's top-level error
            assert r.controller_id == (1 if v >= 1 else -1), v
            assert r.cluster_id == (None if v < 2 else r.cluster_id) and (v < 2 or r.cluster_id), v
            md, nope = r.topics
            assert (md.name, md.error_code, [p.partition_index for p in md.partitions]) == ("md", 0, [0, 1]), v
            assert [(p.leader_id, p.replica_nodes, p.isr_nodes) for p in md.partitions] == [(1, [1], [1])] * 2, v
            assert md.topic_id == (tid if v >= 10 else ZERO_UUID), v
            assert (nope.name, nope.error_code) == ("nope", UNKNOWN_TOPIC), v
            assert md.topic_authorized_operations == NOT_PROVIDED, v
            # all topics: v0 with an empty list, v1+ with null; v1+ empty means none
            every = ask(c, v, [] if v == 0 else None)
            assert sorted(t.name for t in every.topics) == ["md", "other"], v
            if v >= 1:
                assert ask(c, v, []).topics == [], v
            if v >= 12:  # by topic id (the Java Admin sends "" as the name with it)
                by_id = c.request(M(topics=[M.MetadataRequestTopic(name="", topic_id=tid),
                                            M.MetadataRequestTopic(name=None, topic_id=uuid.uuid4())]), v)
                assert [(t.name, t.error_code) for t in by_id.topics] == [("md", 0), (None, UNKNOWN_TOPIC_ID)], v


@pytest.mark.parametrize("api_version", [(4, 0), (4, 1)])
def test_kafka_python_pinned_to_kafka_4(broker, api_version) -> None:
    topic = "kp-" + "-".join(map(str, api_version))
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic(topic, 1)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version)
    try:
        producer.send(topic, key=b"k", value=b"hello").get(timeout=30)
        producer.flush(30)
    finally:
        producer.close(10)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=api_version,
                             enable_auto_commit=False, consumer_timeout_ms=15000)
    try:
        assert topic in consumer.topics()
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = next(iter(consumer))
        assert (got.offset, got.key, got.value) == (0, b"k", b"hello")
    finally:
        consumer.close()
    assert "unsupported version" not in broker.log()
