"""Every topic config of Kafka 4.1.1 through confluent-kafka's admin client: CreateTopics,
IncrementalAlterConfigs and DescribeConfigs accept and report them with Kafka's defaults, and
reject bad values with INVALID_CONFIG (compression levels' ranges, throttled-replica lists,
remote.storage.enable=true); dynamic broker configs and sensitive ones."""

from __future__ import annotations

import subprocess

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, NewTopic
from confluent_kafka.admin import ConfigResource as CResource

from tests.support.tools import require_kafka_jars

# Kafka 4.1.1's topic configs (TopicConfig / LogConfig) with their defaults.
KAFKA_41_TOPIC_DEFAULTS = {
    "cleanup.policy": "delete", "compression.gzip.level": "-1", "compression.lz4.level": "9",
    "compression.type": "producer", "compression.zstd.level": "3", "delete.retention.ms": "86400000",
    "file.delete.delay.ms": "60000", "flush.messages": "9223372036854775807",
    "flush.ms": "9223372036854775807", "follower.replication.throttled.replicas": "",
    "index.interval.bytes": "4096", "leader.replication.throttled.replicas": "",
    "local.retention.bytes": "-2", "local.retention.ms": "-2",
    "max.compaction.lag.ms": "9223372036854775807", "max.message.bytes": "1048588",
    "message.timestamp.after.max.ms": "3600000", "message.timestamp.before.max.ms": "9223372036854775807",
    "message.timestamp.type": "CreateTime", "min.cleanable.dirty.ratio": "0.5",
    "min.compaction.lag.ms": "0", "min.insync.replicas": "1", "preallocate": "false",
    "remote.log.copy.disable": "false", "remote.log.delete.on.disable": "false",
    "remote.storage.enable": "false", "retention.bytes": "-1", "retention.ms": "604800000",
    "segment.bytes": "1073741824", "segment.index.bytes": "10485760", "segment.jitter.ms": "0",
    "segment.ms": "604800000", "unclean.leader.election.enable": "false",
}


def admin(broker) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def describe(a: AdminClient, rtype: str, name: str) -> dict:
    [fut] = a.describe_configs([CResource(rtype, name)], request_timeout=10).values()
    return fut.result()


def incremental(a: AdminClient, rtype: str, name: str, configs: dict[str, str]) -> None:
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()]
    [fut] = a.incremental_alter_configs([CResource(rtype, name, incremental_configs=entries)],
                                        request_timeout=10).values()
    fut.result()


def create(a: AdminClient, name: str, config: dict[str, str]) -> None:
    [fut] = a.create_topics([NewTopic(name, 1, 1, config=config)], request_timeout=10).values()
    fut.result()


def test_every_kafka_topic_config_is_described_with_its_default(broker) -> None:
    a = admin(broker)
    create(a, "all-defaults", {})
    got = {k: e.value for k, e in describe(a, "topic", "all-defaults").items()}
    assert got == KAFKA_41_TOPIC_DEFAULTS


def test_new_topic_configs_accepted_on_create_and_alter(broker) -> None:
    a = admin(broker)
    values = {"preallocate": "true", "segment.jitter.ms": "1000", "compression.gzip.level": "9",
              "compression.lz4.level": "17", "compression.zstd.level": "-131072",
              "leader.replication.throttled.replicas": "0:1", "follower.replication.throttled.replicas": "*",
              "remote.storage.enable": "false", "local.retention.ms": "-2", "local.retention.bytes": "1000",
              "remote.log.copy.disable": "true", "remote.log.delete.on.disable": "true"}
    create(a, "all-set", values)
    got = describe(a, "topic", "all-set")
    assert {k: got[k].value for k in values} == values
    incremental(a, "topic", "all-set", {"compression.zstd.level": "22", "compression.gzip.level": "-1"})
    got = describe(a, "topic", "all-set")
    assert (got["compression.zstd.level"].value, got["compression.gzip.level"].value) == ("22", "-1")


@pytest.mark.parametrize("name,value,fragment", [
    ("compression.gzip.level", "0", "between 1 and 9 or equal to -1"),
    ("compression.gzip.level", "10", "between 1 and 9"),
    ("compression.lz4.level", "18", "no more than 17"),
    ("compression.lz4.level", "0", "at least 1"),
    ("compression.zstd.level", "23", "no more than 22"),
    ("compression.zstd.level", "-131073", "at least -131072"),
    ("leader.replication.throttled.replicas", "0-1", "[partitionId]:[brokerId]"),
    ("follower.replication.throttled.replicas", "a:b", "[partitionId]:[brokerId]"),
    ("remote.storage.enable", "true", "Tiered Storage"),
    ("preallocate", "maybe", "true or false"),
    ("segment.jitter.ms", "-1", "at least 0"),
    ("min.cleanable.dirty.ratio", "1.5", "no more than 1"),
])
def test_bad_values_are_invalid_config(broker, name: str, value: str, fragment: str) -> None:
    a = admin(broker)
    with pytest.raises(KafkaException) as e:
        create(a, f"bad-{name.replace('.', '-')}-{abs(hash(value))}", {name: value})
    err = e.value.args[0]
    assert err.name() == "INVALID_CONFIG" and fragment in err.str(), err
    create(a, "bad-target", {}) if "bad-target" not in a.list_topics(timeout=10).topics else None
    with pytest.raises(KafkaException) as e:
        incremental(a, "topic", "bad-target", {name: value})
    err = e.value.args[0]
    assert err.name() == "INVALID_CONFIG" and fragment in err.str(), err


def test_dynamic_broker_configs_accepted_and_sensitive_hidden(broker) -> None:
    a = admin(broker)
    incremental(a, "broker", "1", {"background.threads": "6", "num.io.threads": "5",
                                   "max.connections.per.ip": "100",
                                   "listener.name.plaintext.ssl.keystore.password": "s3cret",
                                   "no.such.config": "1"})
    assert describe(a, "broker", "1")["num.io.threads"].value == "5"
    incremental(a, "broker", "1", {"num.network.threads": "2", "compression.zstd.level": "5"})
    got = describe(a, "broker", "1")
    assert got["background.threads"].value == "6" and not got["background.threads"].is_read_only
    assert got["num.network.threads"].value == "2"
    for hidden in ("listener.name.plaintext.ssl.keystore.password", "no.such.config"):  # as Kafka hides them
        assert got[hidden].value is None and got[hidden].is_sensitive, got[hidden]
    a2 = admin(broker)
    create(a2, "inherits-level", {})
    assert describe(a2, "topic", "inherits-level")["compression.zstd.level"].value == "5"
    for bad, fragment in [({"log.dirs": "/tmp/x"}, "Cannot update these configs dynamically: Set(log.dirs)"),
                          ({"ssl.keystore.password": "x"}, "only per-listener using the listener prefix"),
                          ({"background.threads": "2"}, "at least half the current value 6"),
                          ({"background.threads": "13"}, "not be greater than double the current value 6"),
                          ({"num.io.threads": "0"}, "Value must be at least 1")]:
        with pytest.raises(KafkaException) as e:
            incremental(a, "broker", "1", bad)
        err = e.value.args[0]
        assert err.name() == "INVALID_REQUEST" and fragment in err.str(), err


# `kafka-configs --describe --all` of a fresh topic on Kafka 4.1.1 (reference broker), except
# min.insync.replicas, which Kafka's KRaft bootstrap also sets as a cluster default.
KAFKA_41_DESCRIBE_ALL = [
    'All configs for topic t1 are:',
    '  cleanup.policy=delete sensitive=false synonyms={DEFAULT_CONFIG:log.cleanup.policy=delete}',
    '  compression.gzip.level=-1 sensitive=false synonyms={DEFAULT_CONFIG:compression.gzip.level=-1}',
    '  compression.lz4.level=9 sensitive=false synonyms={DEFAULT_CONFIG:compression.lz4.level=9}',
    '  compression.type=producer sensitive=false synonyms={DEFAULT_CONFIG:compression.type=producer}',
    '  compression.zstd.level=3 sensitive=false synonyms={DEFAULT_CONFIG:compression.zstd.level=3}',
    '  delete.retention.ms=86400000 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.delete.retention.ms=86400000}',
    '  file.delete.delay.ms=60000 sensitive=false synonyms={DEFAULT_CONFIG:log.segment.delete.delay.ms=60000}',
    '  flush.messages=9223372036854775807 sensitive=false synonyms={DEFAULT_CONFIG:log.flush.interval.messages=9223372036854775807}',
    '  flush.ms=9223372036854775807 sensitive=false synonyms={}',
    '  follower.replication.throttled.replicas= sensitive=false synonyms={}',
    '  index.interval.bytes=4096 sensitive=false synonyms={DEFAULT_CONFIG:log.index.interval.bytes=4096}',
    '  leader.replication.throttled.replicas= sensitive=false synonyms={}',
    '  local.retention.bytes=-2 sensitive=false synonyms={DEFAULT_CONFIG:log.local.retention.bytes=-2}',
    '  local.retention.ms=-2 sensitive=false synonyms={DEFAULT_CONFIG:log.local.retention.ms=-2}',
    '  max.compaction.lag.ms=9223372036854775807 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.max.compaction.lag.ms=9223372036854775807}',
    '  max.message.bytes=1048588 sensitive=false synonyms={DEFAULT_CONFIG:message.max.bytes=1048588}',
    '  message.timestamp.after.max.ms=3600000 sensitive=false synonyms={DEFAULT_CONFIG:log.message.timestamp.after.max.ms=3600000}',
    '  message.timestamp.before.max.ms=9223372036854775807 sensitive=false synonyms={DEFAULT_CONFIG:log.message.timestamp.before.max.ms=9223372036854775807}',
    '  message.timestamp.type=CreateTime sensitive=false synonyms={DEFAULT_CONFIG:log.message.timestamp.type=CreateTime}',
    '  min.cleanable.dirty.ratio=0.5 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.min.cleanable.ratio=0.5}',
    '  min.compaction.lag.ms=0 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.min.compaction.lag.ms=0}',
    '  min.insync.replicas=1 sensitive=false synonyms={DEFAULT_CONFIG:min.insync.replicas=1}',
    '  preallocate=false sensitive=false synonyms={DEFAULT_CONFIG:log.preallocate=false}',
    '  remote.log.copy.disable=false sensitive=false synonyms={}',
    '  remote.log.delete.on.disable=false sensitive=false synonyms={}',
    '  remote.storage.enable=false sensitive=false synonyms={}',
    '  retention.bytes=-1 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.bytes=-1}',
    '  retention.ms=604800000 sensitive=false synonyms={}',
    '  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:log.segment.bytes=1073741824}',
    '  segment.index.bytes=10485760 sensitive=false synonyms={DEFAULT_CONFIG:log.index.size.max.bytes=10485760}',
    '  segment.jitter.ms=0 sensitive=false synonyms={}',
    '  segment.ms=604800000 sensitive=false synonyms={}',
    '  unclean.leader.election.enable=false sensitive=false synonyms={DEFAULT_CONFIG:unclean.leader.election.enable=false}',
]


def test_kafka_configs_describe_all_matches_kafka(broker) -> None:
    java, jars = require_kafka_jars()
    create(admin(broker), "t1", {})
    p = subprocess.run([java, "-cp", f"{jars}/*", "kafka.admin.ConfigCommand", "--bootstrap-server", broker.bootstrap,
                        "--entity-type", "topics", "--entity-name", "t1", "--describe", "--all"],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.splitlines() == KAFKA_41_DESCRIBE_ALL
