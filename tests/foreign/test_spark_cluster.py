"""Spark Structured Streaming over a replicated topic of a three-broker cluster (a real ZooKeeper,
compat.cluster.launcher) while partition leaders are SIGKILLed and restarted: with
failOnDataLoss=true the query does not fail, and its checkpointed file sink is exactly the records an
idempotent acks=all producer had acknowledged (compat/spark/harness.py ``cluster_failover``).

One Spark line (3.5) is enough here: the single-broker scenarios run every line.  Skipped without
Java, ZooKeeper or compat/spark/setup.sh, except under CI=true, where they must be there."""

from __future__ import annotations

import pytest

from compat.spark import harness
from tests.broker.test_cluster import FAST
from tests.foreign.test_spark import _ready
from tests.support.zookeeper import require_zookeeper

LINE = "3.5"


@pytest.mark.timeout(900)
def test_spark_reads_through_leader_kills_with_fail_on_data_loss(tmp_path):
    """RF 3, min.insync.replicas=2, three partitions; the leader of each partition in turn is killed
    and restarted while the query runs; the sink equals the acknowledged records, each once."""
    sl = _ready(LINE)
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path / "cluster", brokers=3, overrides=FAST) as cluster:
        print(harness.cluster_failover(sl, cluster, tmp_path / "work", partitions=3, kills=3))
