"""ElectLeaders (API 43) against three kbroker processes and a real ZooKeeper (compat.cluster.launcher),
with raw requests: Kafka's per-partition errors, a preferred election after a restart, an unclean
one on an offline partition whose topic disables unclean elections, and the controlled shutdown that
gives up after controlled.shutdown.max.retries; and a single node, which leads every partition already.

Automatic preferred-leader rebalancing is off here (auto.leader.rebalance.enable=false): only the
requests move leaders back. Waits are bounded polls, never timing assertions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.rawclient import RawClient
from tests.support.waiting import wait_for
from tests.support.zookeeper import require_zookeeper
from wire.errors import ErrorCode
from wire.messages.elect_leaders import ElectLeadersRequest
from wire.messages.metadata import MetadataRequest

PREFERRED, UNCLEAN = 0, 1
SETTINGS = {"zookeeper.session.timeout.ms": "6000", "replica.lag.time.max.ms": "3000",
            "auto.leader.rebalance.enable": "false", "replica.fetch.wait.max.ms": "200",
            "controlled.shutdown.max.retries": "2", "controlled.shutdown.retry.backoff.ms": "500",
            "offsets.topic.num.partitions": "1"}


@pytest.fixture
def cluster(tmp_path) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    c = Cluster(tmp_path, brokers=3, overrides=SETTINGS)
    with c:
        yield c


def _running(c) -> list[int]:
    return [b for b in c.brokers if c.is_running(b)]


def controller_id(c) -> int:
    def ask() -> int | None:
        with RawClient.connect(c.brokers[_running(c)[0]].bootstrap) as raw:
            cid = raw.request(MetadataRequest(topics=[]), 9).controller_id
        return cid if cid in _running(c) else None
    return wait_for(ask, timeout=30, what="an active controller")


def elect(c, broker: int, election_type: int, partitions: dict[str, list[int]] | None, version: int = 2,
          timeout_ms: int = 30000):
    """The response, and its per-partition errors as {(topic, partition): error code}."""
    tps = None if partitions is None else [ElectLeadersRequest.TopicPartitions(topic=t, partitions=ps)
                                           for t, ps in partitions.items()]
    with RawClient.connect(c.brokers[broker].bootstrap, timeout=60) as raw:
        r = raw.request(ElectLeadersRequest(election_type=election_type, topic_partitions=tps,
                                            timeout_ms=timeout_ms), version)
    return r, {(t.topic, p.partition_id): p.error_code for t in r.replica_election_results
               for p in t.partition_result}


def log_text(c, broker: int) -> str:
    return c.brokers[broker].log_path.read_text(errors="replace")


def test_elect_leaders_errors(cluster) -> None:
    cluster.create_topic("e", 3, 3)
    cluster.wait_isr_full("e")
    ctl = controller_id(cluster)
    other = next(b for b in cluster.brokers if b != ctl)
    # not the controller: NOT_CONTROLLER per partition, the top-level error stays NONE (Kafka's ZK mode)
    r, got = elect(cluster, other, PREFERRED, {"e": [0, 1]})
    assert r.error_code == 0 and got == {("e", 0): ErrorCode.NOT_CONTROLLER, ("e", 1): ErrorCode.NOT_CONTROLLER}
    # the controller: the preferred replicas lead already; unknown ones
    r, got = elect(cluster, ctl, PREFERRED, {"e": [0, 1, 2, 9], "nope": [0]})
    assert r.error_code == 0
    assert got == {("e", 0): ErrorCode.ELECTION_NOT_NEEDED, ("e", 1): ErrorCode.ELECTION_NOT_NEEDED,
                   ("e", 2): ErrorCode.ELECTION_NOT_NEEDED, ("e", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                   ("nope", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
    for version in (0, 1):
        _, got = elect(cluster, ctl, PREFERRED, {"e": [0, 0]}, version=version)
        assert got == {("e", 0): ErrorCode.ELECTION_NOT_NEEDED}, version
    # every partition (null): the ones that needed no election are left out
    r, got = elect(cluster, ctl, PREFERRED, None)
    assert r.error_code == 0 and got == {}
    # UNCLEAN with an alive leader: nothing to do
    _, got = elect(cluster, ctl, UNCLEAN, {"e": [1]})
    assert got == {("e", 1): ErrorCode.ELECTION_NOT_NEEDED}
    # an election type Kafka does not know: its failed request
    r, got = elect(cluster, ctl, 7, {"e": [1]})
    assert r.error_code == ErrorCode.UNKNOWN_SERVER_ERROR and got == {("e", 1): ErrorCode.UNKNOWN_SERVER_ERROR}


def test_preferred_election_after_a_restart(cluster) -> None:
    cluster.create_topic("pref", 6, 3, {"min.insync.replicas": "2"})
    cluster.wait_isr_full("pref")
    preferred = {p: s.replicas[0] for p, s in cluster.describe("pref").items()}
    victim = next(b for b in cluster.brokers if b != controller_id(cluster))
    mine = sorted(p for p, b in preferred.items() if b == victim)
    assert mine
    cluster.brokers[victim].stop()  # SIGTERM: a controlled shutdown moves its leaderships first
    assert f"controlled shutdown of broker {victim} done" in log_text(cluster, victim)
    cluster.wait_leader_moved("pref", set(mine), victim)
    ctl = controller_id(cluster)
    _, got = elect(cluster, ctl, PREFERRED, {"pref": mine})
    assert got == {("pref", p): ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE for p in mine}
    cluster.restart(victim)
    cluster.wait_isr_full("pref", timeout=90)
    assert all(cluster.leaders("pref")[p] != victim for p in mine)  # nothing automatic here
    ctl = controller_id(cluster)
    _, got = elect(cluster, ctl, PREFERRED, None)
    assert got == {("pref", p): ErrorCode.NONE for p in mine}
    # answered once the controller's broker saw the new leaders; the others follow
    cluster.wait(lambda: cluster.leaders("pref") == preferred, 30, "the preferred leaders back")
    _, got = elect(cluster, ctl, PREFERRED, {"pref": mine})
    assert got == {("pref", p): ErrorCode.ELECTION_NOT_NEEDED for p in mine}


def test_unclean_election_of_an_offline_partition(cluster) -> None:
    from confluent_kafka.admin import NewTopic

    admin = cluster.admin()
    fs = admin.create_topics([
        NewTopic("unclean", 1, replica_assignment=[[1, 2]],
                 config={"unclean.leader.election.enable": "false", "min.insync.replicas": "1"}),
        NewTopic("alone", 1, replica_assignment=[[1]])])
    for f in fs.values():
        f.result(30)
    cluster.wait(lambda: cluster.isr_full("unclean") and cluster.isr_full("alone"), 60, "both topics in sync")
    # 2 leaves (its controlled shutdown takes it out of the ISR), records come that it does not have
    cluster.brokers[2].stop()
    cluster.wait(lambda: cluster.describe("unclean")[0].isr == (1,), 30, "ISR [1]")
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(10):
        p.produce("unclean", value=b"only-on-1-%d" % i, partition=0)
    assert p.flush(30) == 0
    # 1 leaves: it cannot hand "unclean-0" over (no other in-sync replica): its attempts fail, it stops anyway
    cluster.brokers[1].stop()
    assert "all 2 attempts failed" in log_text(cluster, 1)
    ctl = controller_id(cluster)  # 3, the only one left
    seen = log_text(cluster, ctl).count("new [2])")
    cluster.restart(2)
    wait_for(lambda: log_text(cluster, ctl).count("new [2])") > seen, timeout=30,
             what="the controller to handle broker 2's registration")
    st = cluster.describe("unclean")[0]
    assert st.leader == -1 and st.isr == (1,)  # unclean.leader.election.enable=false: offline
    _, got = elect(cluster, ctl, PREFERRED, {"unclean": [0]})
    assert got == {("unclean", 0): ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE}
    # the request is what allows it, whatever the topic says
    _, got = elect(cluster, ctl, UNCLEAN, {"unclean": [0], "alone": [0]})
    assert got == {("unclean", 0): ErrorCode.NONE, ("alone", 0): ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE}
    st = cluster.wait(lambda: (s := cluster.describe("unclean")[0]).leader == 2 and s, 30, "leader 2")
    assert st.isr == (2,)
    _, got = elect(cluster, ctl, UNCLEAN, {"unclean": [0]})
    assert got == {("unclean", 0): ErrorCode.ELECTION_NOT_NEEDED}
    # every partition (null): only the ones that needed an election (and could not have one)
    _, got = elect(cluster, ctl, UNCLEAN, None)
    assert got == {("alone", 0): ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE}


def test_a_single_node_leads_everything_already(shared_broker) -> None:
    """Without zookeeper.connect the one broker is every partition's only replica."""
    import uuid

    topic = f"single-{uuid.uuid4().hex[:8]}"
    with RawClient.connect(shared_broker.bootstrap) as raw:
        raw.create_topic(topic, 2)
        for election_type in (PREFERRED, UNCLEAN):
            r = raw.request(ElectLeadersRequest(election_type=election_type, topic_partitions=[
                ElectLeadersRequest.TopicPartitions(topic=topic, partitions=[0, 1, 5])]), 2)
            got = {(t.topic, p.partition_id): p.error_code for t in r.replica_election_results
                   for p in t.partition_result}
            assert r.error_code == 0 and got == {(topic, 0): ErrorCode.ELECTION_NOT_NEEDED,
                                                 (topic, 1): ErrorCode.ELECTION_NOT_NEEDED,
                                                 (topic, 5): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        r = raw.request(ElectLeadersRequest(election_type=PREFERRED, topic_partitions=None), 2)
        assert r.error_code == 0 and r.replica_election_results == []
