"""Replication throttles on the cluster (kbroker.cluster.quota; Kafka's KIP-73 as kafka-reassign-partitions
--throttle sets it): three kbroker processes and a real ZooKeeper (compat.cluster.launcher).

A follower that was down comes back while a partition it must catch up on is throttled (leader and
follower side, a few KB/s): the other, unthrottled partition of the same topic catches up and rejoins
the ISR, the throttled one stays out until the throttle is removed with IncrementalAlterConfigs, then
catches up too.  The rates are dynamic broker configs in ZooKeeper: DescribeConfigs shows them with
their source on the brokers they concern, bad values are INVALID_CONFIG.  Waits are bounded polls."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.broker.test_cluster import FAST
from tests.support.rawclient import RawClient
from tests.support.zookeeper import require_zookeeper
from wire.errors import ErrorCode
from wire.messages.incremental_alter_configs import IncrementalAlterConfigsRequest
from wire.messages.incremental_alter_configs import _IncrementalAlterConfigsRequest_AlterableConfig as Op
from wire.messages.incremental_alter_configs import (
    _IncrementalAlterConfigsRequest_AlterConfigsResource as Resource,
)
from wire.records import build_batch

# small follower fetches, so a throttled partition moves one small step per quota window
OVERRIDES = {**FAST, "replica.fetch.max.bytes": "32768"}
RATE = "4096"  # bytes/s
TOPIC = "thr"
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
SET, DELETE = 0, 1


@pytest.fixture
def cluster(tmp_path) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    c = Cluster(tmp_path, brokers=3, overrides=OVERRIDES)
    with c:
        yield c


def _fill(bootstrap: str, p: int, batches: int) -> None:
    """``batches`` batches of 16 records of 1000 bytes each to partition ``p``."""
    with RawClient.connect(bootstrap) as raw:
        for i in range(batches):
            batch = build_batch([(None, bytes([65 + i % 26]) * 1000, None, int(time.time() * 1000))
                                 for _ in range(16)])
            r = raw.produce(TOPIC, p, bytes(batch), acks=-1)
            assert r.error_code == 0, r.error_code


def _incremental(bootstrap: str, resource_type: int, name: str, ops: dict[str, str | None]) -> int:
    """IncrementalAlterConfigs (SET a value, DELETE for None) on one resource: its error code."""
    req = IncrementalAlterConfigsRequest(resources=[Resource(
        resource_type=resource_type, resource_name=name,
        configs=[Op(name=k, config_operation=SET if v is not None else DELETE, value=v) for k, v in ops.items()])])
    with RawClient.connect(bootstrap) as raw:
        [r] = raw.request(req, 1).responses
    return r.error_code


def _broker_config(admin, broker: str, name: str):
    from confluent_kafka.admin import ConfigResource

    res = ConfigResource("broker", broker)
    e = admin.describe_configs([res], request_timeout=15)[res].result(20)[name]
    return e.value, getattr(e.source, "value", e.source)


@pytest.mark.parametrize("side", ["leader", "follower"])
def test_a_throttled_partition_catches_up_only_once_the_throttle_is_removed(cluster, side) -> None:
    """``side``: which rate is set (the other stays unthrottled): the leader's on the leader itself
    (DYNAMIC_BROKER_CONFIG), the follower's as the cluster default through another broker
    (DYNAMIC_DEFAULT_BROKER_CONFIG: it applies on every broker, the one down included once it is back)."""
    from confluent_kafka.admin import ConfigSource

    cluster.create_topic(TOPIC, 2, 3)
    cluster.wait_isr_full(TOPIC)
    leaders = cluster.leaders(TOPIC)
    follower = next(b for b in sorted(cluster.brokers) if b != leaders[0])
    cluster.kill(follower)
    cluster.wait(lambda: all(follower not in s.isr for s in cluster.describe(TOPIC).values()), 60,
                 f"broker {follower} out of the ISRs")
    leaders = cluster.leaders(TOPIC)
    lead0 = leaders[0]
    for p in (0, 1):
        _fill(cluster.brokers[leaders[p]].bootstrap, p, 40)  # 640 KB each

    any_broker = cluster.brokers[leaders[1]].bootstrap
    lead_bootstrap = cluster.brokers[lead0].bootstrap
    # the throttled replicas: partition 0 as served by its leader and as fetched by the returning follower
    assert _incremental(any_broker, TOPIC_RESOURCE, TOPIC, {
        "leader.replication.throttled.replicas": f"0:{lead0}",
        "follower.replication.throttled.replicas": f"0:{follower}"}) == 0
    if side == "leader":
        rate, where, entity, source = "leader.replication.throttled.rate", lead_bootstrap, str(lead0), \
            ConfigSource.DYNAMIC_BROKER_CONFIG.value
    else:
        rate, where, entity, source = "follower.replication.throttled.rate", any_broker, "", \
            ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    assert _incremental(where, BROKER_RESOURCE, entity, {rate: RATE}) == 0
    # the broker it was sent to runs with it when the answer comes
    assert _broker_config(_admin_of(cluster, lead0 if side == "leader" else leaders[1]),
                          str(lead0 if side == "leader" else leaders[1]), rate) == (RATE, source)

    # bad values are INVALID_CONFIG, on broker and topic resources alike
    for bad in ("abc", "-1"):
        assert _incremental(where, BROKER_RESOURCE, entity, {rate: bad}) == ErrorCode.INVALID_CONFIG, bad
    assert _incremental(any_broker, TOPIC_RESOURCE, TOPIC, {
        "leader.replication.throttled.replicas": "0-1"}) == ErrorCode.INVALID_CONFIG

    cluster.restart(follower)
    cluster.wait(lambda: follower in cluster.describe(TOPIC)[1].isr, 90,
                 f"broker {follower} back in the ISR of the unthrottled partition")
    assert follower not in cluster.describe(TOPIC)[0].isr  # the throttled one is still catching up

    follower_admin = _admin_of(cluster, follower)
    if side == "follower":  # the cluster default reached the broker that was down
        assert _broker_config(follower_admin, str(follower), rate) == (RATE, source)
    # the leader's rate was set on the leader only
    assert _broker_config(follower_admin, str(follower), "leader.replication.throttled.rate") == (
        "9223372036854775807", ConfigSource.DEFAULT_CONFIG.value)
    assert follower not in cluster.describe(TOPIC)[0].isr

    assert _incremental(where, BROKER_RESOURCE, entity, {rate: None}) == 0
    cluster.wait(lambda: follower in cluster.describe(TOPIC)[0].isr, 90,
                 f"broker {follower} back in the ISR of partition 0 once unthrottled")
    cluster.wait(lambda: _broker_config(follower_admin, str(follower), rate) == (
        "9223372036854775807", ConfigSource.DEFAULT_CONFIG.value), 30, f"{rate} back to its default")


def test_in_sync_followers_are_not_throttled(cluster) -> None:
    """Kafka throttles only replicas outside the ISR: with every replica of every partition throttled on
    both sides at a few KB/s, acks=all produces needing all three replicas go on, far above the rate."""
    cluster.create_topic(TOPIC, 1, 3, {"min.insync.replicas": "3"})
    cluster.wait_isr_full(TOPIC)
    any_broker = cluster.brokers[1].bootstrap
    assert _incremental(any_broker, TOPIC_RESOURCE, TOPIC, {
        "leader.replication.throttled.replicas": "*", "follower.replication.throttled.replicas": "*"}) == 0
    assert _incremental(any_broker, BROKER_RESOURCE, "", {
        "leader.replication.throttled.rate": RATE, "follower.replication.throttled.rate": RATE}) == 0
    for b in cluster.brokers:  # every broker runs with the default before the produce starts
        cluster.wait(lambda b=b: _broker_config(_admin_of(cluster, b), str(b), "leader.replication.throttled.rate")[0]
                     == RATE, 30, f"the rate on broker {b}")
    _fill(cluster.brokers[cluster.leaders(TOPIC)[0]].bootstrap, 0, 40)  # acks=all, 640 KB
    assert cluster.isr_full(TOPIC)


def _admin_of(cluster, broker: int):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": cluster.brokers[broker].bootstrap})
