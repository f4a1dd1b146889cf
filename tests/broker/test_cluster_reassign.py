"""Partition reassignment (AlterPartitionReassignments / ListPartitionReassignments) in a cluster of
three kbroker processes and a real ZooKeeper, driven by raw requests: the errors Kafka's controller
answers, an in-progress reassignment listed, cancelled, completed (the removed replica's data
deleted) and resumed by the next controller after the controller is killed.

A reassignment is kept in progress by pausing (SIGSTOP) the broker it adds for a moment, well
inside the ZooKeeper session timeout, so the new replica cannot catch up meanwhile.  The waits are
bounded polls, never timing assertions."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.broker.test_cluster import FAST
from tests.support.rawclient import RawClient
from tests.support.readback import read_values
from tests.support.waiting import wait_for
from tests.support.zookeeper import require_zookeeper
from wire.errors import ErrorCode
from wire.messages.alter_partition_reassignments import AlterPartitionReassignmentsRequest as Alter
from wire.messages.describe_topic_partitions import DescribeTopicPartitionsRequest as DTP
from wire.messages.list_partition_reassignments import ListPartitionReassignmentsRequest as ListReq
from wire.messages.metadata import MetadataRequest
from wire.records import build_batch


@pytest.fixture
def cluster(tmp_path) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path, brokers=3, overrides=FAST) as c:
        yield c


def _controller(c) -> int:
    def cid() -> int | None:
        with RawClient.connect(c.brokers[min(b for b in c.brokers if c.is_running(b))].bootstrap) as raw:
            v = raw.request(MetadataRequest(topics=[]), 9).controller_id
        return v if v in c.brokers and c.is_running(v) else None
    return wait_for(cid, timeout=60, what="a live controller")


def alter(bootstrap: str, topic: str, targets: dict[int, list[int] | None], version: int = 0):
    req = Alter(timeout_ms=30000, topics=[Alter.ReassignableTopic(name=topic, partitions=[
        Alter.ReassignablePartition(partition_index=p, replicas=r) for p, r in targets.items()])])
    with RawClient.connect(bootstrap) as raw:
        return raw.request(req, version)


def errors(resp) -> dict[int, int]:
    assert resp.error_code == 0, (resp.error_code, resp.error_message)
    return {p.partition_index: p.error_code for t in resp.responses for p in t.partitions}


def listed(bootstrap: str, topics: list[tuple[str, list[int]]] | None = None):
    req = ListReq(timeout_ms=30000, topics=None if topics is None else [
        ListReq.ListPartitionReassignmentsTopics(name=t, partition_indexes=ps) for t, ps in topics])
    with RawClient.connect(bootstrap) as raw:
        resp = raw.request(req, 0)
    assert resp.error_code == 0, (resp.error_code, resp.error_message)
    return {(t.name, p.partition_index): (p.replicas, p.adding_replicas, p.removing_replicas)
            for t in resp.topics for p in t.partitions}


def _produce(c, topic: str, p: int, values: list[bytes]) -> None:
    """acks=all, to the partition's leader."""
    batch = bytes(build_batch([(None, v, None, int(time.time() * 1000)) for v in values]))
    with RawClient.connect(c.brokers[c.describe(topic)[p].leader].bootstrap) as raw:
        r = raw.produce(topic, p, batch, acks=-1)
    assert r.error_code == 0, r.error_code


def _replica_dir(c, broker: int, topic: str, p: int):
    return c.brokers[broker].data_dir / f"{topic}-{p}"


def _create(c, topic: str, assignment: dict[int, list[int]]) -> None:
    from confluent_kafka.admin import NewTopic

    layout = [assignment[p] for p in sorted(assignment)]
    c.admin().create_topics([NewTopic(topic, num_partitions=len(layout), replica_assignment=layout,
                                      config={"min.insync.replicas": "1"})])[topic].result(30)
    c.wait(lambda: c._all_led(topic, len(assignment)), 30, f"{topic} led")
    c.wait_isr_full(topic)


def _values(c, topic: str) -> list[bytes] | None:
    """Partition 0's values, read from its leader (None while there is none or it is not ready)."""
    try:
        leader = c.describe(topic)[0].leader
        return read_values(c.brokers[leader].bootstrap, topic, 1) if leader in c.brokers else None
    except Exception:  # noqa: BLE001 - a leader just elected, a broker just killed
        return None


def _leader(c, topic: str) -> int | None:
    """Partition 0's leader, None while a metadata request meets the broker just killed."""
    from confluent_kafka import KafkaException

    try:
        return c.describe(topic)[0].leader
    except KafkaException:
        return None


def _done(c, topic: str, p: int, replicas: list[int]) -> bool:
    from confluent_kafka import KafkaException

    try:
        s = c.describe(topic)[p]
    except KafkaException:  # a metadata request that met the broker just killed: ask again
        return False
    return list(s.replicas) == replicas and set(s.isr) == set(replicas) and s.leader in replicas


class _Paused:
    """SIGSTOP a broker for the length of a ``with`` block."""

    def __init__(self, c, broker: int) -> None:
        self.pid = c.brokers[broker].proc.pid

    def __enter__(self) -> _Paused:
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


def test_errors_as_kafka_and_not_controller_elsewhere(cluster) -> None:
    ctl = _controller(cluster)
    a, b = [x for x in cluster.brokers if x != ctl]
    _create(cluster, "errs", {0: [a, b], 1: [ctl, a]})
    at_ctl = cluster.brokers[ctl].bootstrap
    # any other broker: NOT_CONTROLLER at the top level, for both APIs
    resp = alter(cluster.brokers[a].bootstrap, "errs", {0: [ctl, a]})
    assert resp.error_code == ErrorCode.NOT_CONTROLLER and resp.responses == []
    with RawClient.connect(cluster.brokers[a].bootstrap) as raw:
        assert raw.request(ListReq(topics=None), 0).error_code == ErrorCode.NOT_CONTROLLER
    assert errors(alter(at_ctl, "nope", {0: [1]})) == {0: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
    got = errors(alter(at_ctl, "errs", {5: [1], 0: [], 1: [ctl, ctl]}))
    assert got == {5: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                   1: ErrorCode.INVALID_REPLICA_ASSIGNMENT}
    got = errors(alter(at_ctl, "errs", {0: [a, 7], 1: [-1]}))
    assert got == {0: ErrorCode.INVALID_REPLICA_ASSIGNMENT, 1: ErrorCode.INVALID_REPLICA_ASSIGNMENT}
    assert errors(alter(at_ctl, "errs", {0: None})) == {0: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS}
    # v1 with allow_replication_factor_change=false: another replica count is refused
    req = Alter(timeout_ms=30000, allow_replication_factor_change=False, topics=[Alter.ReassignableTopic(
        name="errs", partitions=[Alter.ReassignablePartition(partition_index=0, replicas=[1, 2, 3])])])
    with RawClient.connect(at_ctl) as raw:
        assert errors(raw.request(req, 1)) == {0: ErrorCode.INVALID_REPLICATION_FACTOR}
    # a target equal to the replicas: done at once, nothing listed, nothing changed
    assert errors(alter(at_ctl, "errs", {0: [a, b]})) == {0: 0}
    assert listed(at_ctl) == {}
    assert list(cluster.describe("errs")[0].replicas) == [a, b]
    assert cluster.describe("errs")[0].leader == a


def test_listed_while_in_progress_then_completed_and_removed_data_deleted(cluster) -> None:
    ctl = _controller(cluster)
    a, b = [x for x in cluster.brokers if x != ctl]
    _create(cluster, "move", {0: [ctl, a]})
    values = [b"v%d" % i for i in range(300)]
    _produce(cluster, "move", 0, values)
    at_ctl = cluster.brokers[ctl].bootstrap
    with _Paused(cluster, b):  # b, the replica added, cannot catch up meanwhile
        assert errors(alter(at_ctl, "move", {0: [a, b]})) == {0: 0}
        assert listed(at_ctl) == {("move", 0): ([a, b, ctl], [b], [ctl])}
        assert listed(at_ctl, [("move", [0, 3]), ("other", [0])]) == {("move", 0): ([a, b, ctl], [b], [ctl])}
        # (asked of a broker that is running: an admin client's metadata request may go to the paused one)
        with RawClient.connect(cluster.brokers[a].bootstrap) as raw:
            md = raw.request(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="move")],
                                             allow_auto_topic_creation=False), 9)
        assert md.topics[0].partitions[0].replica_nodes == [a, b, ctl]
        # DescribeTopicPartitions (the Java Admin's describeTopics) tells the same as Metadata
        with RawClient.connect(cluster.brokers[a].bootstrap) as raw:
            dtp = raw.request(DTP(topics=[DTP.TopicRequest(name="move")]), 0)
        [part] = dtp.topics[0].partitions
        # (the preferred-leader check may already have handed the lead to a, the target's first)
        assert part.replica_nodes == [a, b, ctl] and b not in part.isr_nodes and part.leader_id in (ctl, a)
    wait_for(lambda: _done(cluster, "move", 0, [a, b]), timeout=60, what="move-0 on its target replicas")
    assert listed(at_ctl) == {}
    assert cluster.describe("move")[0].leader == a  # the removed leader handed over to the target
    wait_for(lambda: not _replica_dir(cluster, ctl, "move", 0).exists(), timeout=30,
             what="the removed replica's directory deleted")
    assert _replica_dir(cluster, b, "move", 0).is_dir()
    wait_for(lambda: _values(cluster, "move") == values, timeout=30, what="every record")
    # and b alone, once a is gone, has them too
    cluster.kill(a)
    wait_for(lambda: _leader(cluster, "move") == b, timeout=60, what="b to lead")
    wait_for(lambda: _values(cluster, "move") == values, timeout=30, what="every record on b")


def test_cancel_reverts_to_the_original_replicas(cluster) -> None:
    ctl = _controller(cluster)
    a, b = [x for x in cluster.brokers if x != ctl]
    _create(cluster, "undo", {0: [ctl, a]})
    at_ctl = cluster.brokers[ctl].bootstrap
    with _Paused(cluster, b):
        assert errors(alter(at_ctl, "undo", {0: [b, a]})) == {0: 0}
        assert listed(at_ctl) == {("undo", 0): ([b, a, ctl], [b], [ctl])}
        assert errors(alter(at_ctl, "undo", {0: None})) == {0: 0}
        assert listed(at_ctl) == {}
        assert errors(alter(at_ctl, "undo", {0: None})) == {0: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS}
    # the originals are the replicas minus the added ones, in the full set's order (as Kafka's)
    wait_for(lambda: _done(cluster, "undo", 0, [a, ctl]), timeout=60, what="undo-0 back on its replicas")
    wait_for(lambda: not _replica_dir(cluster, b, "undo", 0).exists(), timeout=30,
             what="no replica left on the broker the cancelled reassignment added")


def test_a_new_controller_resumes_the_reassignment(cluster) -> None:
    ctl = _controller(cluster)
    a, b = [x for x in cluster.brokers if x != ctl]
    _create(cluster, "resume", {0: [ctl, a]})
    values = [b"r%d" % i for i in range(300)]
    _produce(cluster, "resume", 0, values)
    with _Paused(cluster, b):
        assert errors(alter(cluster.brokers[ctl].bootstrap, "resume", {0: [a, b]})) == {0: 0}
        assert listed(cluster.brokers[ctl].bootstrap) == {("resume", 0): ([a, b, ctl], [b], [ctl])}
        cluster.kill(ctl)  # the controller, and the replica being removed, die mid-reassignment
    new_ctl = _controller(cluster)
    assert new_ctl != ctl
    wait_for(lambda: _done(cluster, "resume", 0, [a, b]), timeout=90, what="the next controller to finish it")
    assert listed(cluster.brokers[new_ctl].bootstrap) == {}
    wait_for(lambda: _values(cluster, "resume") == values, timeout=30, what="every record")
    # the removed broker deletes the replica it lost while it was down when it comes back
    assert _replica_dir(cluster, ctl, "resume", 0).is_dir()
    cluster.restart(ctl)
    wait_for(lambda: not _replica_dir(cluster, ctl, "resume", 0).exists(), timeout=30,
             what="the stale replica deleted at restart")


def test_one_broker_without_a_cluster(broker) -> None:
    """No ZooKeeper: a 1-broker cluster's answers — a target of this broker is already so, any other
    is INVALID_REPLICA_ASSIGNMENT, nothing is ever in progress."""
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("solo", 2)
        me = raw.request(MetadataRequest(topics=[]), 9).brokers[0].node_id
    got = errors(alter(broker.bootstrap, "solo", {0: [me], 1: [me, me + 1], 2: [me]}))
    assert got == {0: 0, 1: ErrorCode.INVALID_REPLICA_ASSIGNMENT, 2: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
    got = errors(alter(broker.bootstrap, "solo", {0: [], 1: None}))
    assert got == {0: ErrorCode.INVALID_REPLICA_ASSIGNMENT, 1: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS}
    assert errors(alter(broker.bootstrap, "nope", {0: [me]})) == {0: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
    assert listed(broker.bootstrap) == {}
    assert listed(broker.bootstrap, [("solo", [0])]) == {}
