"""franz-go and kafkajs on the replicated cluster (compat.cluster.launcher: ZooKeeper and three
kbroker processes), through SIGKILLs of partition leaders (tests/support/failover.py has the
scenarios and their checks).  The clients are the programs of compat/franz-go/main.go and
compat/kafkajs/client.js (``produce-stream`` to produce, ``consume`` to read back, ``member`` for a
group member); without them, Go, node or ZooKeeper the tests are skipped, except under CI=true.

- an idempotent producer (acks=all; franz-go's default, kafkajs with ``idempotent: true``) sends
  3,000 records while the leader of each partition in turn is killed, comes back, and takes its
  leadership back; the same client then reads every acknowledged record back at its offset,
  exactly once, in produce order;
- a group member of the client reads a third of 2,100 records, the leader of partition 0 is killed
  while it waits, and the member must read the next third from the new leader and, once the killed
  broker is back and leading again, the last third from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compat.scenarios import franz_go, kafkajs
from compat.scenarios.common import topic_name
from tests.broker.test_cluster import FAST
from tests.support.failover import (
    PARTITIONS,
    TOPIC_CONFIG,
    ProgramProducer,
    consume_through_leader_kill,
    end_offsets,
    produce_through_leader_kill,
    read_program,
    rounds_summary,
    verify,
)
from tests.support.tools import require_program_client
from tests.support.zookeeper import require_zookeeper

PROGRAMS = {"franz-go": ("go", franz_go), "kafkajs": ("node", kafkajs)}

KILLED = (0, 1, 2)
"""the partitions whose leaders the producer scenario kills, in turn (each broker once)"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path_factory.mktemp("cluster"), brokers=3, overrides=FAST) as c:
        yield c


@pytest.fixture
def program(client):
    tool, module = PROGRAMS[client]
    require_program_client(tool, module)
    return module


@pytest.fixture
def topic(program, cluster, client) -> str:
    for b in cluster.brokers:  # a test that failed may have left one down
        if not cluster.is_running(b):
            cluster.restart(b)
    name = topic_name(client, "failover")
    cluster.create_topic(name, PARTITIONS, 3, TOPIC_CONFIG)
    cluster.wait_isr_full(name)
    return name


@pytest.mark.timeout(600)
@pytest.mark.parametrize("client", list(PROGRAMS))
def test_idempotent_producer_through_a_leader_kill(program, cluster, topic, client, tmp_path) -> None:
    n = 3000
    producer = ProgramProducer(client, program._command(), cluster.bootstrap, topic, tmp_path)
    try:
        run = produce_through_leader_kill(cluster, topic, producer, n, partitions=KILLED)
    finally:
        producer.close()
    read = read_program(program._client, cluster.bootstrap, topic, end_offsets(cluster, topic))
    print(f"{verify(run['acked'], read, n)}; {rounds_summary(run)}")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("client", list(PROGRAMS))
def test_group_consumer_through_a_leader_kill(program, cluster, topic, client) -> None:
    print(consume_through_leader_kill(cluster, topic, client, 2100))
