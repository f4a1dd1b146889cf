"""GROUP config resource (32) and ListConfigResources (74): Kafka 4.1.1's group configs through
raw frames, confluent-kafka's admin client and `kafka-configs --entity-type groups`; validation
against the broker's group.* bounds; persistence across a restart."""

from __future__ import annotations

import subprocess

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry
from confluent_kafka.admin import ConfigResource as CResource

from tests.support.rawclient import RawClient
from tests.support.tools import require_kafka_jars
from wire.errors import ErrorCode as E
from wire.messages import BROKER_VERSIONS
from wire.messages.describe_configs import DescribeConfigsRequest
from wire.messages.list_config_resources import ListConfigResourcesRequest, ListConfigResourcesResponse

GROUP = 32
KAFKA_41_GROUP_DEFAULTS = {
    "consumer.heartbeat.interval.ms": "5000", "consumer.session.timeout.ms": "45000",
    "share.auto.offset.reset": "latest", "share.heartbeat.interval.ms": "5000",
    "share.isolation.level": "read_uncommitted", "share.record.lock.duration.ms": "30000",
    "share.session.timeout.ms": "45000", "streams.heartbeat.interval.ms": "5000",
    "streams.num.standby.replicas": "0", "streams.session.timeout.ms": "45000",
}


def describe(rc: RawClient, group: str) -> dict[str, tuple[str, int]]:
    req = DescribeConfigsRequest(resources=[DescribeConfigsRequest.DescribeConfigsResource(
        resource_type=GROUP, resource_name=group, configuration_keys=None)], include_synonyms=True)
    [res] = rc.request(req, 4).results
    assert res.error_code == 0, res
    return {c.name: (c.value, c.config_source) for c in res.configs}


def ck_set(broker, group: str, configs: dict[str, str]) -> None:
    a = AdminClient({"bootstrap.servers": broker.bootstrap})
    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()]
    [fut] = a.incremental_alter_configs([CResource("group", group, incremental_configs=entries)],
                                        request_timeout=10).values()
    fut.result()


def listed(rc: RawClient, v: int, types: list[int]) -> tuple[int, list[tuple[int, str]]]:
    resp: ListConfigResourcesResponse = rc.request(ListConfigResourcesRequest(resource_types=types), v)
    return resp.error_code, [(r.resource_type, r.resource_name) for r in resp.config_resources]


def test_defaults_set_validate_and_persist(broker) -> None:
    rc = RawClient.connect(broker.bootstrap)
    assert {k: v for k, (v, _) in describe(rc, "g1").items()} == KAFKA_41_GROUP_DEFAULTS
    ck_set(broker, "g1", {"consumer.session.timeout.ms": "50000", "share.isolation.level": "read_committed"})
    got = describe(rc, "g1")
    assert got["consumer.session.timeout.ms"] == ("50000", 8) and got["consumer.heartbeat.interval.ms"] == ("5000", 5)
    for bad, fragment in [({"consumer.session.timeout.ms": "1000"}, "group.consumer.min.session.timeout.ms"),
                          ({"consumer.session.timeout.ms": "70000"}, "group.consumer.max.session.timeout.ms"),
                          ({"share.isolation.level": "dirty"}, "String must be one of"),
                          ({"no.such.group.config": "1"}, "Unknown group config name")]:
        with pytest.raises(KafkaException) as e:
            ck_set(broker, "g1", bad)
        err = e.value.args[0]
        assert err.name() == "INVALID_CONFIG" and fragment in err.str(), err
    rc.close()
    broker.restart()
    rc = RawClient.connect(broker.bootstrap)
    assert describe(rc, "g1")["consumer.session.timeout.ms"] == ("50000", 8)
    rc.close()


def test_list_config_resources(broker) -> None:
    assert BROKER_VERSIONS[74] == (0, 1)
    rc = RawClient.connect(broker.bootstrap)
    rc.create_topic("lcr-topic", 1)
    ck_set(broker, "lcr-group", {"consumer.heartbeat.interval.ms": "6000"})
    assert listed(rc, 0, []) == (0, [])  # v0: client-metrics resources only, and there are none
    code, res = listed(rc, 1, [])
    assert code == 0
    assert {(2, "lcr-topic"), (4, "1"), (8, "1"), (32, "lcr-group")} <= set(res)
    assert [t for t, _ in res] == sorted((t for t, _ in res), key=[32, 16, 8, 4, 2].index)  # Kafka's order
    assert listed(rc, 1, [32]) == (0, [(32, "lcr-group")])
    assert listed(rc, 1, [2])[1] == [(2, "lcr-topic")]
    assert listed(rc, 1, [1])[0] == E.UNSUPPORTED_VERSION
    rc.close()


def test_kafka_configs_groups(broker) -> None:
    java, jars = require_kafka_jars()

    def tool(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([java, "-cp", f"{jars}/*", "kafka.admin.ConfigCommand", "--bootstrap-server",
                               broker.bootstrap, "--entity-type", "groups", *args],
                              capture_output=True, text=True, timeout=180)

    p = tool("--entity-name", "cg", "--describe")
    assert p.returncode == 0 and p.stdout.strip() == "The group 'cg' doesn't exist and doesn't have dynamic config."
    p = tool("--entity-name", "cg", "--alter", "--add-config", "consumer.session.timeout.ms=50000")
    assert p.returncode == 0 and p.stdout.strip() == "Completed updating config for group cg.", p.stderr
    p = tool("--entity-name", "cg", "--describe")
    assert p.stdout.splitlines() == [
        "Dynamic configs for group cg are:",
        # as the reference Kafka 4.1.1 prints it: a group's own value has no other synonym
        "  consumer.session.timeout.ms=50000 sensitive=false synonyms={DYNAMIC_GROUP_CONFIG:"
        "consumer.session.timeout.ms=50000}"], p.stdout
    p = tool("--describe")
    assert "Dynamic configs for group cg are:" in p.stdout, p.stdout + p.stderr
