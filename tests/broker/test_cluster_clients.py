"""kafka-python and aiokafka on the replicated cluster (compat.cluster.launcher: ZooKeeper and three
kbroker processes), through SIGKILLs of partition leaders (tests/support/failover.py has the
scenarios and their checks):

- an idempotent producer (acks=all) sends 3,000 records while the leader of partition 0 is killed,
  comes back, and takes its leadership back; the client's own consumer then reads every
  acknowledged record back at its offset, exactly once, in produce order;
- a group member of the client reads a third of 2,100 records, the leader of partition 0 is killed
  while it waits, and the member must read the next third from the new leader and, once the killed
  broker is back and leading again, the last third from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compat.scenarios.common import topic_name
from tests.broker.test_cluster import FAST
from tests.support.failover import (
    PARTITIONS,
    TOPIC_CONFIG,
    AioKafkaProducer,
    KafkaPythonProducer,
    consume_through_leader_kill,
    end_offsets,
    produce_through_leader_kill,
    read_aiokafka,
    read_kafka_python,
    rounds_summary,
    verify,
)
from tests.support.zookeeper import require_zookeeper

CLIENTS = ["kafka-python", "aiokafka"]
PRODUCERS = {"kafka-python": KafkaPythonProducer, "aiokafka": AioKafkaProducer}
READERS = {"kafka-python": read_kafka_python, "aiokafka": read_aiokafka}

KILLED = (0, 1, 2)
"""the partitions whose leaders the producer scenario kills, in turn (each broker once)"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path_factory.mktemp("cluster"), brokers=3, overrides=FAST) as c:
        yield c


@pytest.fixture
def topic(cluster, request) -> str:
    for b in cluster.brokers:  # a test that failed may have left one down
        if not cluster.is_running(b):
            cluster.restart(b)
    name = topic_name(request.node.callspec.params["client"], "failover")
    cluster.create_topic(name, PARTITIONS, 3, TOPIC_CONFIG)
    cluster.wait_isr_full(name)
    return name


@pytest.mark.timeout(600)
@pytest.mark.parametrize("client", CLIENTS)
def test_idempotent_producer_through_a_leader_kill(cluster, topic, client) -> None:
    n = 3000
    producer = PRODUCERS[client](cluster.bootstrap, topic)
    try:
        run = produce_through_leader_kill(cluster, topic, producer, n, partitions=KILLED)
    finally:
        producer.close()
    read = READERS[client](cluster.bootstrap, topic, end_offsets(cluster, topic))
    print(f"{verify(run['acked'], read, n)}; {rounds_summary(run)}")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("client", CLIENTS)
def test_group_consumer_through_a_leader_kill(cluster, topic, client) -> None:
    print(consume_through_leader_kill(cluster, topic, client, 2100))
