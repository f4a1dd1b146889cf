"""``/metrics`` of a 3-broker cluster (compat.cluster.launcher, a real ZooKeeper): exactly one broker
reports the active controller, nothing is under-replicated with every replica up, and a killed
follower shows as under-replicated partitions on the leaders (issue 14, item 2)."""

from __future__ import annotations

import pytest

from tests.support.metrics import http_port, scrape, value
from tests.support.waiting import wait_for
from tests.support.zookeeper import require_zookeeper

FAST = {"zookeeper.session.timeout.ms": "6000", "replica.lag.time.max.ms": "3000",
        "replica.fetch.wait.max.ms": "200", "http.listeners": "http://127.0.0.1:0"}
TOPIC, PARTITIONS = "metrics-replicated", 4
UNDER = "kafka_server_replicamanager_underreplicatedpartitions"
ACTIVE = "kafka_controller_kafkacontroller_activecontrollercount"


@pytest.fixture
def cluster(tmp_path):
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path, brokers=3, overrides=FAST) as c:
        yield c


def _gauge(ports: dict[int, int], name: str) -> dict[int, float]:
    return {b: value(scrape(port), name) or 0 for b, port in ports.items()}


def test_controller_count_and_under_replicated_partitions(cluster) -> None:
    ports = {b: http_port(proc.log_path) for b, proc in cluster.brokers.items()}
    cluster.create_topic(TOPIC, PARTITIONS, 3)
    cluster.wait_isr_full(TOPIC)

    def one_controller() -> dict[int, float] | None:
        c = _gauge(ports, ACTIVE)
        return c if sum(c.values()) == 1 else None

    controllers = wait_for(one_controller, what="exactly one active controller")
    assert sum(_gauge(ports, UNDER).values()) == 0
    # stop a broker that is not the controller: every partition loses one in-sync replica
    controller = next(b for b, n in controllers.items() if n == 1)
    victim = next(b for b in sorted(ports) if b != controller)
    cluster.kill(victim)
    alive = {b: p for b, p in ports.items() if b != victim}
    wait_for(lambda: sum(_gauge(alive, UNDER).values()) == PARTITIONS, interval=0.5,
             what=f"{PARTITIONS} under-replicated partitions on the leaders after broker {victim} died")
    assert sum(_gauge(alive, ACTIVE).values()) == 1
    assert value(scrape(alive[controller]), "kafka_controller_kafkacontroller_offlinepartitionscount") == 0
