"""Produce v10-v13 (Kafka 4.1.1's range, v0-13): v13 addresses topics by topic id (KIP-516) and
answers UNKNOWN_TOPIC_ID for an unknown one, the response carrying the topic id; v10-v12 keep the
v9 answers (their additions — current_leader/node_endpoints with NOT_LEADER_OR_FOLLOWER, KIP-890's
implicit add-to-transaction — do not change a non-transactional produce to the only broker).
Raw frames, and the Java 4.4.0 producer, which uses v13 against a broker advertising it.
"""

from __future__ import annotations

import os
import uuid

import pytest

from compat.java import harness
from tests.support import faultproxy
from tests.support.rawclient import ConnectionClosed, RawClient
from wire import records
from wire.errors import ErrorCode
from wire.messages import BROKER_VERSIONS
from wire.messages.metadata import MetadataRequest
from wire.messages.produce import ProduceRequest

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")


def _topic_id(c: RawClient, name: str) -> uuid.UUID:
    M = MetadataRequest
    resp = c.request(M(topics=[M.MetadataRequestTopic(name=name)], allow_auto_topic_creation=False), 12)
    return resp.topics[0].topic_id


def _by_id(topic_id: uuid.UUID, batch: bytes, partition: int = 0) -> ProduceRequest:
    P = ProduceRequest
    return P(acks=-1, timeout_ms=10000, topic_data=[P.TopicProduceData(
        topic_id=topic_id, partition_data=[P.PartitionProduceData(index=partition, records=batch)])])


def test_produce_range_is_kafka_4_1_1s(shared_broker):
    with RawClient.connect(shared_broker.bootstrap) as c:
        key = {k.api_key: (k.min_version, k.max_version) for k in c.api_versions().api_keys}
    assert key[0] == BROKER_VERSIONS[0] == (0, 13)


def test_v13_produces_by_topic_id(shared_broker):
    batch = records.build_batch([(b"k", b"v13", None, None)])
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic("pv13", partitions=2)
        tid = _topic_id(c, "pv13")
        assert tid != uuid.UUID(int=0)
        resp = c.request(_by_id(tid, batch, 1), 13)
        t = resp.responses[0]
        assert t.topic_id == tid
        assert [(p.index, p.error_code, p.base_offset) for p in t.partition_responses] == [(1, 0, 0)]
        got = records.decode_batch(c.fetch("pv13", 1, 0).records)[1]
        assert [r.value for r in got] == [b"v13"]
        # unknown topic id: UNKNOWN_TOPIC_ID on each partition, nothing written anywhere
        other = uuid.uuid4()
        resp = c.request(_by_id(other, batch, 0), 13)
        assert resp.responses[0].topic_id == other
        assert [p.error_code for p in resp.responses[0].partition_responses] == [ErrorCode.UNKNOWN_TOPIC_ID]
        assert c.fetch("pv13", 0, 0).high_watermark == 0
        # an unknown partition of a known id
        r = c.request(_by_id(tid, batch, 7), 13).responses[0].partition_responses[0]
        assert r.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


@pytest.mark.parametrize("version", [10, 11, 12])
def test_v10_to_v12_produce_by_name(shared_broker, version):
    topic = f"pv{version}"
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic(topic)
        r = c.produce(topic, 0, records.build_batch([(b"k", b"v", None, None)]), version=version)
        assert (r.error_code, r.base_offset, r.record_errors) == (0, 0, [])
        r = c.produce("pv-missing", 0, records.build_batch([(b"k", b"v", None, None)]), version=version)
        assert r.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_v13_record_errors(shared_broker):
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic("pv13-compact", configs={"cleanup.policy": "compact"})
        tid = _topic_id(c, "pv13-compact")
        batch = records.build_batch([(None, b"a", None, None), (b"k", b"b", None, None)])
        r = c.request(_by_id(tid, batch), 13).responses[0].partition_responses[0]
        assert r.error_code == ErrorCode.INVALID_RECORD
        assert [e.batch_index for e in r.record_errors] == [0]


def test_v2_is_still_refused(shared_broker):
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic_if_absent("pv2")
        with pytest.raises(ConnectionClosed):
            c.produce("pv2", 0, records.build_batch([(b"k", b"v", None, None)]), version=2)


def test_java_4_4_producer_uses_v13(broker_factory, monkeypatch):
    version = "4.4.0"
    try:
        harness.classpath(version)
    except harness.JavaUnavailable as e:
        if IN_CI:
            pytest.fail(f"Java client tests must run under CI=true: {e}")
        pytest.skip(str(e))
    seen: set[tuple[int, int]] = set()
    peek = faultproxy.peek_request_header

    def recording(frame):
        key, ver, corr = peek(frame)
        seen.add((key, ver))
        return key, ver, corr

    monkeypatch.setattr(faultproxy, "peek_request_header", recording)
    proxy, b = faultproxy.proxied_broker(broker_factory, drop_rate=0.0)
    try:
        run = harness.run(version, proxy.bootstrap, ["create-topic", "produce"],
                          {"topic": "java-v13", "partitions": 2, "count": 2000})
    finally:
        proxy.stop()
    assert run.ok, run.summary()
    assert {v for k, v in seen if k == 0} == {13}, seen
    with RawClient.connect(b.bootstrap) as c:
        assert sum(c.fetch("java-v13", p, 0).high_watermark for p in range(2)) == 2000
