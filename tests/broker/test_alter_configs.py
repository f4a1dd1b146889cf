"""AlterConfigs / IncrementalAlterConfigs / DescribeConfigs through the kafka-python and
confluent-kafka admin clients: values, sources and synonyms, Kafka's errors, validate_only,
broker resources, persistence across a restart, and effect (lowering retention.ms deletes
segments)."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigSource
from confluent_kafka.admin import ConfigResource as CResource
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from tests.support.rawclient import RawClient
from tests.support.waiting import wait_for
from wire.messages.describe_configs import DescribeConfigsRequest
from wire.messages.incremental_alter_configs import IncrementalAlterConfigsRequest
from wire.records import build_batch

TOPIC = ConfigResourceType.TOPIC
BROKER = ConfigResourceType.BROKER


def kp_admin(broker) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10_000)


def ck_describe(admin: AdminClient, rtype: str, name: str) -> dict:
    [fut] = admin.describe_configs([CResource(rtype, name)], request_timeout=10).values()
    return fut.result()


def ck_incremental(admin: AdminClient, rtype: str, name: str, entries: list[ConfigEntry], **kw) -> None:
    [fut] = admin.incremental_alter_configs([CResource(rtype, name, incremental_configs=entries)],
                                            request_timeout=10, **kw).values()
    fut.result()


def test_kafka_python_alter_and_describe(broker) -> None:
    admin = kp_admin(broker)
    admin.create_topics([NewTopic("cfg", 1, 1, topic_configs={"cleanup.policy": "compact"})])
    res = ConfigResource(TOPIC, "cfg", configs={"retention.ms": "60000", "cleanup.policy": ("APPEND", "delete"),
                                                "min.cleanable.dirty.ratio": "0.1"})
    assert admin.alter_configs([res], incremental=True) == {"topic": {"cfg": "OK"}}
    got = admin.describe_configs([ConfigResource(TOPIC, "cfg")])["topic"]["cfg"]
    assert {k: v["value"] for k, v in got.items()} == {
        "cleanup.policy": "compact,delete", "retention.ms": "60000", "min.cleanable.dirty.ratio": "0.1"}
    assert {v["config_source"] for v in got.values()} == {"DYNAMIC_TOPIC_CONFIG"}
    # SUBTRACT and DELETE
    res = ConfigResource(TOPIC, "cfg", configs={"cleanup.policy": ("SUBTRACT", "compact"),
                                                "min.cleanable.dirty.ratio": ("DELETE", None)})
    assert admin.alter_configs([res], incremental=True) == {"topic": {"cfg": "OK"}}
    got = admin.describe_configs([ConfigResource(TOPIC, "cfg")])["topic"]["cfg"]
    assert {k: v["value"] for k, v in got.items()} == {"cleanup.policy": "delete", "retention.ms": "60000"}
    # legacy AlterConfigs replaces the whole set (kafka-python re-sends the other overrides itself)
    res = ConfigResource(TOPIC, "cfg", configs={"segment.bytes": "100000"})
    assert admin.alter_configs([res], incremental=False) == {"topic": {"cfg": "OK"}}
    got = admin.describe_configs([ConfigResource(TOPIC, "cfg")])["topic"]["cfg"]
    assert {k: v["value"] for k, v in got.items()} == {
        "cleanup.policy": "delete", "retention.ms": "60000", "segment.bytes": "100000"}
    # errors: bad values → INVALID_CONFIG; validate_only changes nothing
    for configs in ({"retention.ms": "-5"}, {"cleanup.policy": "shred"}, {"segment.bytes": "10"},
                    {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"}):
        out = admin.alter_configs([ConfigResource(TOPIC, "cfg", configs=configs)], incremental=True)
        assert "InvalidConfigurationError" in out["topic"]["cfg"], (configs, out)
    out = admin.alter_configs([ConfigResource(TOPIC, "cfg", configs={"retention.ms": ("APPEND", "5")})],
                              incremental=True)
    assert "InvalidConfigurationError" in out["topic"]["cfg"]
    out = admin.alter_configs([ConfigResource(TOPIC, "cfg", configs={"retention.ms": "1"})], validate_only=True)
    assert out == {"topic": {"cfg": "OK"}}
    assert admin.describe_configs([ConfigResource(TOPIC, "cfg")])["topic"]["cfg"]["retention.ms"]["value"] == "60000"
    out = admin.alter_configs([ConfigResource(TOPIC, "nope", configs={"retention.ms": "1"})],
                              raise_on_unknown=False)
    assert "UnknownTopicOrPartitionError" in out["topic"]["nope"]
    admin.close()


def test_confluent_sources_synonyms_and_broker_resources(broker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("syn", 1, {})
    ck_incremental(admin, "topic", "syn", [ConfigEntry("retention.ms", "120000",
                                                       incremental_operation=AlterConfigOpType.SET)])
    # a cluster-wide dynamic default (resource "": neither client sends it, so a raw request) and a
    # per-broker one: the topic inherits them with their sources
    inc = IncrementalAlterConfigsRequest
    req = inc(resources=[inc.AlterConfigsResource(resource_type=4, resource_name="", configs=[
        inc.AlterableConfig(name="log.retention.bytes", config_operation=0, value="5000000")])])
    with RawClient.connect(broker.bootstrap) as raw:
        assert raw.request(req, 1).responses[0].error_code == 0
    ck_incremental(admin, "broker", "1", [ConfigEntry("log.cleaner.delete.retention.ms", "1000",
                                                      incremental_operation=AlterConfigOpType.SET),
                                          ConfigEntry("log.retention.bytes", "6000000",
                                                      incremental_operation=AlterConfigOpType.SET)])
    topic = ck_describe(admin, "topic", "syn")
    e = topic["retention.ms"]
    assert (e.value, e.source) == ("120000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
    assert [(s.name, s.value, s.source) for s in e.synonyms.values()] == [
        ("retention.ms", "120000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)]  # no DEFAULT: log.retention.ms has none
    e = topic["retention.bytes"]
    assert (e.value, e.source) == ("6000000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    # the whole chain (confluent-kafka keys synonyms by name, so read it raw)
    D = DescribeConfigsRequest
    with RawClient.connect(broker.bootstrap) as raw:
        resp = raw.request(D(resources=[D.DescribeConfigsResource(
            resource_type=2, resource_name="syn", configuration_keys=["retention.bytes"])],
            include_synonyms=True), 4)
    [entry] = resp.results[0].configs
    assert [(s.name, s.value, s.source) for s in entry.synonyms] == [
        ("log.retention.bytes", "6000000", ConfigSource.DYNAMIC_BROKER_CONFIG.value),
        ("log.retention.bytes", "5000000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value),
        ("log.retention.bytes", "-1", ConfigSource.DEFAULT_CONFIG.value)]
    assert topic["delete.retention.ms"].value == "1000"
    assert topic["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    b = ck_describe(admin, "broker", "1")
    assert (b["log.retention.bytes"].value, b["log.retention.bytes"].is_read_only) == ("6000000", False)
    assert b["log.dirs"].is_read_only
    with RawClient.connect(broker.bootstrap) as raw:
        resp = raw.request(D(resources=[D.DescribeConfigsResource(resource_type=4, resource_name="",
                                                                   configuration_keys=None)]), 4)
    assert [(c.name, c.value, c.config_source) for c in resp.results[0].configs] == [
        ("log.retention.bytes", "5000000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)]
    # non-dynamic broker config, foreign broker id → INVALID_REQUEST; bad topic value → INVALID_CONFIG
    for rtype, name, key, value in (("broker", "1", "log.dirs", "/x"), ("broker", "1", "log.retention.ms", "soon")):
        with pytest.raises(KafkaException) as exc:
            ck_incremental(admin, rtype, name, [ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)])
        assert exc.value.args[0].name() == "INVALID_REQUEST", (key, exc.value)
    req = inc(resources=[inc.AlterConfigsResource(resource_type=4, resource_name="7", configs=[
        inc.AlterableConfig(name="log.retention.bytes", config_operation=0, value="1")])])
    with RawClient.connect(broker.bootstrap) as raw:
        assert raw.request(req, 1).responses[0].error_code == 42  # INVALID_REQUEST: not this broker
    with pytest.raises(KafkaException) as exc:
        ck_incremental(admin, "topic", "syn", [ConfigEntry("retention.ms", "x",
                                                           incremental_operation=AlterConfigOpType.SET)])
    assert exc.value.args[0].name() == "INVALID_CONFIG"
    # legacy alter_configs through librdkafka: replaces the topic's whole set
    [fut] = admin.alter_configs([CResource("topic", "syn", set_config={"segment.ms": "3600000"})],
                                request_timeout=10).values()
    fut.result()
    topic = ck_describe(admin, "topic", "syn")
    assert topic["segment.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert topic["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value


def test_changes_survive_restart_and_take_effect(broker_factory) -> None:
    broker = broker_factory({"log.retention.check.interval.ms": "200"})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    hour_ago = int(time.time() * 1000) - 3_600_000
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("ret", 1, {"segment.bytes": "1000", "file.delete.delay.ms": "0"})
        for i in range(30):
            raw.produce("ret", 0, build_batch([(b"k", b"x" * 100, None, hour_ago + i)]))
        assert raw.list_offset("ret", 0, -2).offset == 0
    ck_incremental(admin, "broker", "1", [ConfigEntry("log.cleaner.backoff.ms", "250",
                                                      incremental_operation=AlterConfigOpType.SET)])
    time.sleep(0.5)  # several retention checks: the default retention.ms (7 days) keeps everything
    with RawClient.connect(broker.bootstrap) as raw:
        assert raw.list_offset("ret", 0, -2).offset == 0
    broker.restart()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert ck_describe(admin, "broker", "1")["log.cleaner.backoff.ms"].value == "250"
    assert ck_describe(admin, "topic", "ret")["segment.bytes"].value == "1000"
    ck_incremental(admin, "topic", "ret", [ConfigEntry("retention.ms", "60000",
                                                       incremental_operation=AlterConfigOpType.SET)])
    with RawClient.connect(broker.bootstrap) as raw:
        start = wait_for(lambda: raw.list_offset("ret", 0, -2).offset, what="retention to delete old segments", timeout=30)
        assert 0 < start < 30, "the active segment stays"
    segments = [p for p in (broker.data_dir / "ret-0").iterdir() if p.name.endswith(".log")]
    assert len(segments) == 1
    broker.restart()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = ck_describe(admin, "topic", "ret")
    assert (topic["retention.ms"].value, topic["retention.ms"].source) == ("60000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
    with RawClient.connect(broker.bootstrap) as raw:
        assert raw.list_offset("ret", 0, -2).offset == start


def test_compression_type_recompresses_on_produce(broker) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from wire.records import BatchHeader

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("squeeze", 1, {})
    ck_incremental(admin, "topic", "squeeze", [ConfigEntry("compression.type", "gzip",
                                                           incremental_operation=AlterConfigOpType.SET)])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)  # idempotent, uncompressed
    for i in range(20):
        producer.send("squeeze", key=b"k%d" % i, value=b"value %d " % i * 20, headers=[("h", b"%d" % i)],
                      partition=0)
    producer.flush()
    producer.close()
    with RawClient.connect(broker.bootstrap) as raw:
        data = bytes(raw.fetch("squeeze", 0, 0).records)
    assert BatchHeader(data).compression == 1 and BatchHeader(data).producer_id >= 0
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000)
    consumer.assign([TopicPartition("squeeze", 0)])
    got = []
    for msg in consumer:
        got.append((msg.offset, msg.key, msg.value, msg.headers))
        if len(got) == 20:
            break
    consumer.close()
    assert got == [(i, b"k%d" % i, b"value %d " % i * 20, [("h", b"%d" % i)]) for i in range(20)]
