"""Kafka 4.1.1's own kafka-configs (kafka.admin.ConfigCommand, run as compat/cli_compare.py runs Kafka's
tools) sets, shows and removes the replication throttle rates of a kbroker cluster (two brokers and a
real ZooKeeper, compat.cluster.launcher): per broker and as the cluster default, each reported with its
source; a bad value is refused.

Needs java, the reference Kafka jars and ZooKeeper: without them it skips, except under CI=true, where
it fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compat import cli_compare
from tests.broker.test_cluster import FAST
from tests.support.tools import require_kafka_jars
from tests.support.zookeeper import require_zookeeper

FOLLOWER = "follower.replication.throttled.rate"
LEADER = "leader.replication.throttled.rate"


@pytest.fixture(scope="module")
def jars():
    return require_kafka_jars()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, jars) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path_factory.mktemp("cluster"), brokers=2, overrides=FAST) as c:
        yield c


def configs(jars, cluster, *args: str) -> str:
    """kafka-configs through broker 1 (the admin client sends a broker's resource to that broker)."""
    step = cli_compare.Step("kafka-configs", cli_compare.CONFIGS, list(args))
    return cli_compare.run_tool(jars, cluster.brokers[1].bootstrap, step)


@pytest.mark.timeout(600)
def test_kafka_configs_sets_a_brokers_follower_throttle(cluster, jars) -> None:
    out = configs(jars, cluster, "--alter", "--entity-type", "brokers", "--entity-name", "2",
                  "--add-config", f"{FOLLOWER}=1048576")
    assert "Completed updating config for broker 2." in out and out.endswith("(exit 0)"), out
    out = configs(jars, cluster, "--describe", "--entity-type", "brokers", "--entity-name", "2")
    assert (f"{FOLLOWER}=1048576 sensitive=false synonyms={{DYNAMIC_BROKER_CONFIG:{FOLLOWER}=1048576, "
            f"DEFAULT_CONFIG:{FOLLOWER}=9223372036854775807}}") in out, out
    # set on broker 2 only
    out = configs(jars, cluster, "--describe", "--entity-type", "brokers", "--entity-name", "1")
    assert FOLLOWER not in out and out.endswith("(exit 0)"), out

    out = configs(jars, cluster, "--alter", "--entity-type", "brokers", "--entity-name", "2",
                  "--add-config", f"{FOLLOWER}=fast")
    assert "(exit 0)" not in out and "InvalidConfigurationException" in out, out

    out = configs(jars, cluster, "--alter", "--entity-type", "brokers", "--entity-name", "2",
                  "--delete-config", FOLLOWER)
    assert "Completed updating config for broker 2." in out, out
    out = configs(jars, cluster, "--describe", "--entity-type", "brokers", "--entity-name", "2")
    assert FOLLOWER not in out and out.endswith("(exit 0)"), out


@pytest.mark.timeout(600)
def test_kafka_configs_sets_the_cluster_default_leader_throttle(cluster, jars) -> None:
    out = configs(jars, cluster, "--alter", "--entity-type", "brokers", "--entity-default",
                  "--add-config", f"{LEADER}=2048")
    assert "Completed updating default config for brokers in the cluster." in out, out
    out = configs(jars, cluster, "--describe", "--entity-type", "brokers", "--entity-default")
    assert f"{LEADER}=2048 sensitive=false synonyms={{DYNAMIC_DEFAULT_BROKER_CONFIG:{LEADER}=2048}}" in out, out
    line = (f"{LEADER}=2048 sensitive=false synonyms={{DYNAMIC_DEFAULT_BROKER_CONFIG:{LEADER}=2048, "
            f"DEFAULT_CONFIG:{LEADER}=9223372036854775807}}")
    for broker in ("1", "2"):  # every broker runs with it (the one not asked as soon as its watch fires)
        cluster.wait(lambda broker=broker: line in configs(jars, cluster, "--describe", "--all", "--entity-type",
                                                           "brokers", "--entity-name", broker),
                     60, f"the default on broker {broker}", interval=1)
    out = configs(jars, cluster, "--alter", "--entity-type", "brokers", "--entity-default", "--delete-config", LEADER)
    assert "Completed updating default config for brokers in the cluster." in out, out
