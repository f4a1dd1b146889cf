"""TopicStore persistence and LogManager lifecycle; topic configs as the topic service resolves and
applies them (kbroker.topics, kbroker.topic_config)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from kbroker.config import BrokerConfig
from kbroker.topic_config import InvalidTopicConfig, check_overrides, resolve
from kbroker.topics import TopicService
from kbroker.waiters import AppendWaiters
from storage import (
    InvalidPartitions,
    InvalidTopic,
    LogConfig,
    LogManager,
    TopicAlreadyExists,
    TopicStore,
    UnknownTopic,
)
from tests.support.policies import log_config
from wire.records import build_batch


def batch(value: bytes = b"v") -> bytearray:
    return bytearray(build_batch([(None, value, None, 1)]))


def test_topic_store_persists(tmp_path: Path) -> None:
    store = TopicStore(tmp_path)
    a = store.create("orders", 3, {"cleanup.policy": "compact"})
    b = store.create("clicks.v2_x-y", 1)
    assert isinstance(a.topic_id, uuid.UUID) and a.topic_id != b.topic_id
    assert store.get("orders") == a and "orders" in store and len(store) == 2
    assert store.by_id(b.topic_id) == b
    on_disk = json.loads((tmp_path / "topics" / "orders.json").read_text())
    assert on_disk["topic_id"] == str(a.topic_id) and on_disk["partitions"] == 3
    assert not list((tmp_path / "topics").glob("*.tmp"))

    again = TopicStore(tmp_path)
    assert again.all() == [b, a]  # sorted by name
    grown = again.add_partitions("orders", 5)
    assert grown.partitions == 5 and grown.topic_id == a.topic_id
    again.set_configs("orders", {"retention.ms": "1000"})
    again.delete("clicks.v2_x-y")

    third = TopicStore(tmp_path)
    assert [m.name for m in third.all()] == ["orders"]
    meta = third.get("orders")
    assert meta is not None and meta.partitions == 5 and meta.configs == {"retention.ms": "1000"}
    assert third.get("clicks.v2_x-y") is None


def test_topic_store_errors(tmp_path: Path) -> None:
    store = TopicStore(tmp_path)
    store.create("t", 2)
    with pytest.raises(TopicAlreadyExists):
        store.create("t", 1)
    for name in ["", ".", "..", "a/b", "a b", "é", "x" * 250, "../etc"]:
        with pytest.raises(InvalidTopic):
            store.create(name, 1)
    store.create("x" * 249, 1)
    for count in [0, -1, True, "3"]:
        with pytest.raises(InvalidPartitions):
            store.create("p", count)  # type: ignore[arg-type]
    with pytest.raises(InvalidPartitions):
        store.add_partitions("t", 2)
    with pytest.raises(UnknownTopic):
        store.add_partitions("nope", 3)
    with pytest.raises(UnknownTopic):
        store.delete("nope")
    with pytest.raises(InvalidPartitions):
        store.create("p", 100_001)
    (tmp_path / "topics" / ".0123.tmp").write_text("{")  # a crash mid-write
    assert [m.name for m in TopicStore(tmp_path).all()] == ["t", "x" * 249]
    assert not (tmp_path / "topics" / ".0123.tmp").exists()


def test_topic_overrides_resolve_to_log_settings() -> None:
    default = resolve(BrokerConfig(), {}).log
    config = resolve(
        BrokerConfig(),
        {
            "segment.bytes": "1048576",
            "segment.ms": "60000",
            "index.interval.bytes": "128",
            "segment.index.bytes": "4096",
            "flush.messages": "1",
            "flush.ms": "9223372036854775807",
            "retention.ms": "5",
        },
    ).log
    assert config == LogConfig(1048576, 60000, 128, 4096, 1, None, 0, False)
    assert default == LogConfig(1073741824, 604800000, 4096, 10485760, None, None, 0, False)
    for bad in [{"segment.bytes": "big"}, {"segment.bytes": "1"}, {"flush.messages": "0"}]:
        with pytest.raises(InvalidTopicConfig):
            check_overrides(BrokerConfig(), bad)


def _service(data_dir: Path, **props: str) -> TopicService:
    return TopicService(BrokerConfig(props), LogManager(data_dir), 1, AppendWaiters())


def test_topic_service_lifecycle(tmp_path: Path) -> None:
    service = _service(tmp_path, **{"log.segment.bytes": "4096"})
    service.create("a", 2, {"segment.bytes": "200"})
    service.create("b", 1, {})
    manager = service.logs
    log = manager.get_log("a", 1)
    assert log is not None and log.config.segment_bytes == 200
    assert manager.get_log("b", 0).config.segment_bytes == 4096  # type: ignore[union-attr]
    assert manager.get_log("a", 2) is None and manager.get_log("zz", 0) is None
    for i in range(10):
        log.append(batch(b"%d" % i), 0)
    assert len(log.segments) > 1
    assert (tmp_path / "a-1").is_dir() and (tmp_path / "b-0").is_dir()
    manager.close_all()

    service = _service(tmp_path, **{"log.segment.bytes": "4096"})
    manager = service.logs
    assert sorted(manager.logs()) == [("a", 0), ("a", 1), ("b", 0)]
    log = manager.get_log("a", 1)
    assert log is not None and log.log_end_offset == 10 and log.config.segment_bytes == 200

    service.add_partitions("a", 4)
    assert manager.get_log("a", 3) is not None and manager.topics.get("a").partitions == 4  # type: ignore[union-attr]
    service.alter("a", {"segment.bytes": "300", "flush.messages": "2"})
    assert log.config.segment_bytes == 300 and log.config.flush_interval_messages == 2
    log.append(batch(), 0)
    assert [m for m in manager.logs_needing_flush(0)] == []
    log.append(batch(), 0)
    assert manager.logs_needing_flush(0) == [log]

    service.delete("a")
    assert not any(p.name.startswith("a-") for p in tmp_path.iterdir())
    assert manager.get_log("a", 0) is None and log.closed and service.partition("a", 0) is None
    with pytest.raises(UnknownTopic):
        service.delete("a")
    service.create("a", 1, {})
    assert manager.get_log("a", 0).log_end_offset == 0  # type: ignore[union-attr]
    manager.close_all()


def test_log_manager_opens_logs_with_the_settings_it_is_given(tmp_path: Path) -> None:
    manager = LogManager(tmp_path)
    manager.create_topic("a", 1, {"segment.bytes": "200"}, log_config(segment_bytes=200))
    manager.close_all()
    manager = LogManager(tmp_path)
    assert manager.logs() == {}  # opened by open(), with typed settings
    manager.open({"a": log_config(segment_bytes=300)})
    assert manager.get_log("a", 0).config.segment_bytes == 300  # type: ignore[union-attr]
    assert manager.topics.get("a").configs == {"segment.bytes": "200"}  # type: ignore[union-attr]
    manager.close_all()


def test_topic_service_rejects_bad_config_before_saving(tmp_path: Path) -> None:
    service = _service(tmp_path)
    with pytest.raises(InvalidTopicConfig):
        service.create("t", 1, {"segment.ms": "soon"})
    assert service.get("t") is None and not (tmp_path / "t-0").exists()
    with pytest.raises(InvalidTopic):
        service.create("bad/name", 1, {})
    service.logs.close_all()


def test_interrupted_delete_never_resurrects_data(tmp_path: Path) -> None:
    manager = LogManager(tmp_path)
    manager.create_topic("t", 1, {}, log_config())
    manager.get_log("t", 0).append(batch(), 0)  # type: ignore[union-attr]
    manager.close_all()
    # crash after the metadata went but before the directory did
    TopicStore(tmp_path).delete("t")
    (tmp_path / "deadbeef-delete").mkdir()
    manager = LogManager(tmp_path)
    manager.open({})
    assert not (tmp_path / "deadbeef-delete").exists()
    assert manager.get_log("t", 0) is None
    manager.create_topic("t", 1, {}, log_config())
    assert manager.get_log("t", 0).log_end_offset == 0  # type: ignore[union-attr]
    manager.close_all()


def test_partition_dirs_are_created_if_missing(tmp_path: Path) -> None:
    TopicStore(tmp_path).create("t", 2)  # metadata written, crash before the logs were made
    manager = LogManager(tmp_path)
    manager.open({"t": log_config()})
    assert (tmp_path / "t-0").is_dir() and (tmp_path / "t-1").is_dir()
    assert manager.get_log("t", 1).log_end_offset == 0  # type: ignore[union-attr]
    manager.close_all()


def test_topic_configs_apply_to_the_replicas_a_cluster_broker_holds(tmp_path: Path) -> None:
    # a cluster broker holding replicas of partitions 0 and 2 of 3 only (a reassignment moved 1 away)
    service = _service(tmp_path)
    service.ensure_replicas("t", uuid.uuid4(), 3, {0, 1, 2}, {})
    service.ensure_replicas("t", service.get("t").topic_id, 3, {0, 2}, {})  # type: ignore[union-attr]
    manager = service.logs
    assert manager.get_log("t", 1) is None and not (tmp_path / "t-1").exists()
    service.alter("t", {"segment.bytes": "300", "follower.replication.throttled.replicas": "0:1"})
    assert manager.topics.get("t").configs["segment.bytes"] == "300"  # type: ignore[union-attr]
    assert service.config("t").overrides["follower.replication.throttled.replicas"] == "0:1"  # type: ignore[union-attr]
    assert all(manager.get_log("t", p).config.segment_bytes == 300 for p in (0, 2))  # type: ignore[union-attr]
    service.alter("t", {})
    assert manager.topics.get("t").configs == {}  # type: ignore[union-attr]
    assert "follower.replication.throttled.replicas" not in service.config("t").overrides  # type: ignore[union-attr]
    manager.close_all()
