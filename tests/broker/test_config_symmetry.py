"""CreateTopics and the two alter APIs judge a topic's set of configs by the same rules
(kbroker.topic_config.check_overrides): a set one of them refuses, the others refuse with the same
error, and a set one accepts, the others accept — through the confluent-kafka admin client."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

SETS = [
    {"cleanup.policy": "compact", "min.compaction.lag.ms": "10", "max.compaction.lag.ms": "100"},
    {"min.compaction.lag.ms": "1000", "max.compaction.lag.ms": "10"},  # Kafka's cross-check
    {"min.compaction.lag.ms": "1000"},  # against max.compaction.lag.ms's default: fine
    {"max.compaction.lag.ms": "5", "min.compaction.lag.ms": "5"},
    {"segment.index.bytes": "5"},  # passes the table's minimum, not the index's room for one entry
    {"segment.index.bytes": "12"},
    {"retention.ms": "-5"},
    {"segment.bytes": "10"},
    {"compression.type": "zstd", "compression.zstd.level": "23"},
    {"message.timestamp.type": "LogAppendTime", "retention.bytes": "1000"},
    {"no.such.config": "1"},
]


def _outcome(fut) -> tuple[int, str] | None:  # type: ignore[no-untyped-def]
    try:
        fut.result()
        return None
    except KafkaException as e:
        err: KafkaError = e.args[0]
        return err.code(), err.str()


def _create(admin: AdminClient, name: str, configs: dict[str, str], validate_only: bool):  # type: ignore[no-untyped-def]
    [fut] = admin.create_topics([NewTopic(name, 1, 1, config=configs)], validate_only=validate_only,
                                request_timeout=10).values()
    return _outcome(fut)


def _alter(admin: AdminClient, name: str, configs: dict[str, str]):  # type: ignore[no-untyped-def]
    [fut] = admin.alter_configs([ConfigResource("topic", name, set_config=configs)], validate_only=True,
                                request_timeout=10).values()
    return _outcome(fut)


def _incremental(admin: AdminClient, name: str, configs: dict[str, str]):  # type: ignore[no-untyped-def]
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()]
    [fut] = admin.incremental_alter_configs([ConfigResource("topic", name, incremental_configs=entries)],
                                            validate_only=True, request_timeout=10).values()
    return _outcome(fut)


def test_create_and_alter_accept_and_refuse_the_same_sets(broker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert _create(admin, "target", {}, validate_only=False) is None
    refused = 0
    for i, configs in enumerate(SETS):
        created = _create(admin, f"probe-{i}", configs, validate_only=True)
        altered = _alter(admin, "target", configs)
        incremental = _incremental(admin, "target", configs)
        assert created == altered == incremental, (configs, created, altered, incremental)
        if created is not None:
            refused += 1
            assert created[0] == KafkaError.INVALID_CONFIG, (configs, created)
    assert refused == 6


def test_a_topic_is_never_created_with_a_set_an_alter_refuses(broker) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    bad = {"min.compaction.lag.ms": "1000", "max.compaction.lag.ms": "10"}
    outcome = _create(admin, "crossed", bad, validate_only=False)
    assert outcome is not None and outcome[0] == KafkaError.INVALID_CONFIG
    assert "min.compaction.lag.ms (1000) > max.compaction.lag.ms (10)" in outcome[1]
    topics = admin.list_topics(timeout=10).topics
    assert "crossed" not in topics
    # and what an alter accepts, a creation accepts too
    good = {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "1000"}
    assert _incremental(admin, "crossed-ok", good) is not None  # no such topic yet
    assert _create(admin, "crossed-ok", good, validate_only=False) is None
    assert _incremental(admin, "crossed-ok", good) is None


@pytest.mark.parametrize("configs", [{"segment.index.bytes": "5"}])
def test_storage_bounds_are_config_errors_at_creation(broker, configs) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    outcome = _create(admin, "small-index", configs, validate_only=False)
    assert outcome is not None and outcome[0] == KafkaError.INVALID_CONFIG
    assert "small-index" not in admin.list_topics(timeout=10).topics
