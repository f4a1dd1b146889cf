"""The controller and the broker-side ZooKeeper helpers against a real ZooKeeper (kazoo in this
process).  No brokers: a fake broker is a registration in /brokers/ids held by its own session, and
a topic is its /brokers/topics/<t> assignment.  Each test works under its own chroot."""

from __future__ import annotations

import threading
import uuid

import pytest

from kbroker.cluster import zkdata
from kbroker.cluster.zkdata import BrokerInfo, PartitionState, TopicAssignment
from tests.support.brokerproc import free_port
from tests.support.waiting import wait_for
from tests.support.zookeeper import ZooKeeperProcess, expire_session, require_zookeeper
from wire.errors import ErrorCode

SESSION_MS = 10000


class Cluster:
    """Clients, fake brokers and controllers of one test, all under one chroot; ``close`` ends them."""

    def __init__(self, zookeeper: ZooKeeperProcess, chroot: str) -> None:
        from kbroker.cluster import zk as zkmod

        self.zkmod = zkmod
        self.connect_string = f"{zookeeper.connect}/{chroot}"
        self.clients: list = []
        self.controllers: list = []
        self.admin = self.client()
        zkmod.ensure_paths(self.admin)
        self.brokers: dict[int, object] = {}

    def client(self):
        c = self.zkmod.connect(self.connect_string, SESSION_MS)
        self.clients.append(c)
        return c

    def register(self, broker_id: int, rack: str | None = None):
        c = self.client()
        self.zkmod.register_broker(c, BrokerInfo(broker_id, "127.0.0.1", 9000 + broker_id, rack), 30)
        self.brokers[broker_id] = c
        return c

    def kill(self, broker_id: int) -> None:
        c = self.brokers.pop(broker_id)
        c.stop()
        wait_for(lambda: self.admin.exists(zkdata.broker_path(broker_id)) is None, what=f"broker {broker_id} gone")

    def controller(self, broker_id: int, on_change=None, **settings):
        from kbroker.cluster.controller import Controller, ControllerSettings

        c = Controller(self.client(), broker_id, ControllerSettings(**settings), on_change)
        self.controllers.append(c)
        c.start()
        return c

    def create_topic(self, name: str, partitions: dict[int, tuple[int, ...]], config: dict[str, str] | None = None):
        if config is not None:
            self.admin.create(zkdata.topic_config_path(name), zkdata.encode_config(config), makepath=True)
        self.admin.create(zkdata.topic_path(name),
                          zkdata.encode_assignment(TopicAssignment(uuid.uuid4(), partitions)), makepath=True)

    def state(self, topic: str, p: int) -> PartitionState | None:
        got = self.zkmod.read_json(self.admin, zkdata.state_path(topic, p), zkdata.decode_state)
        return None if got is None else got[0]

    def wait_state(self, topic: str, p: int, pred, what: str) -> PartitionState:
        def check():
            s = self.state(topic, p)
            return s if s is not None and pred(s) else None
        return wait_for(check, what=f"{topic}-{p}: {what} (now {self.state(topic, p)})")

    def leader_write(self, topic: str, p: int, isr: tuple[int, ...]) -> None:
        """What a partition leader does when its ISR changes: a conditional write of the state."""
        s, stat = self.zkmod.read_json(self.admin, zkdata.state_path(topic, p), zkdata.decode_state)
        new = PartitionState(s.leader, s.leader_epoch, isr, s.controller_epoch)
        assert self.zkmod.conditional_set(self.admin, zkdata.state_path(topic, p), zkdata.encode_state(new),
                                          stat.version) is not None

    def barrier(self, broker_id: int) -> None:
        """Returns once the active controller has handled every event before this call: a new topic's
        state appears only after the events queued ahead of it (ZooKeeper delivers watches in order)."""
        self.barriers = getattr(self, "barriers", 0) + 1
        name = f"barrier-{self.barriers}"
        self.create_topic(name, {0: (broker_id,)})
        self.wait_state(name, 0, lambda s: True, "a state")

    def close(self) -> None:
        for c in self.controllers:
            c.stop()
        for c in self.clients:
            c.stop()
            c.close()


@pytest.fixture
def cluster(zookeeper, request):
    c = Cluster(zookeeper, "t_" + uuid.uuid4().hex[:12])
    yield c
    c.close()


def active(cluster: Cluster):
    return wait_for(lambda: next((c for c in cluster.controllers if c.is_active), None), what="an active controller")


# -- zk.py --------------------------------------------------------------------------------------------

def test_connect_creates_the_chroot(zookeeper):
    from kbroker.cluster import zk as zkmod

    chroot = "/kb_" + uuid.uuid4().hex[:8] + "/nested"
    c = zkmod.connect(zookeeper.connect + chroot, SESSION_MS)
    root = zkmod.connect(zookeeper.connect, SESSION_MS)
    try:
        zkmod.ensure_paths(c)
        assert root.exists(chroot + zkdata.BROKER_IDS) is not None
    finally:
        for x in (c, root):
            x.stop()
            x.close()


def test_parse_connect():
    from kbroker.cluster.zk import parse_connect

    assert parse_connect("a:1,b:2/kafka/x") == ("a:1,b:2", "/kafka/x")
    assert parse_connect("a:1") == ("a:1", None)
    assert parse_connect("a:1/") == ("a:1", None)
    with pytest.raises(ValueError):
        parse_connect("/chroot")


def test_connect_to_nothing_fails_clearly():
    require_zookeeper()
    from kbroker.cluster import zk as zkmod

    with pytest.raises(zkmod.ZooKeeperUnreachable, match="could not connect to ZooKeeper"):
        zkmod.connect(f"127.0.0.1:{free_port()}", SESSION_MS, connection_timeout_ms=1000)


def test_cluster_id_first_writer_wins(cluster):
    other = cluster.client()
    assert cluster.zkmod.cluster_id(cluster.admin, "first-id") == "first-id"
    assert cluster.zkmod.cluster_id(other, "second-id") == "first-id"


def test_conditional_set_and_read_json(cluster):
    zk = cluster.admin
    zk.create("/x", b'{"version":1,"config":{"a":"1"}}')
    value, stat = cluster.zkmod.read_json(zk, "/x", zkdata.decode_config)
    assert value == {"a": "1"}
    v = cluster.zkmod.conditional_set(zk, "/x", zkdata.encode_config({"a": "2"}), stat.version)
    assert v == stat.version + 1
    assert cluster.zkmod.conditional_set(zk, "/x", zkdata.encode_config({"a": "3"}), stat.version) is None
    assert cluster.zkmod.read_json(zk, "/x", zkdata.decode_config)[0] == {"a": "2"}
    assert cluster.zkmod.conditional_set(zk, "/nothing", b"", 0) is None
    assert cluster.zkmod.read_json(zk, "/nothing", zkdata.decode_config) is None


def test_register_broker_waits_for_the_previous_sessions_node(cluster):
    old = cluster.register(1)
    new = cluster.client()
    info = BrokerInfo(1, "127.0.0.1", 9101)
    # while the old session lives, the id is taken
    with pytest.raises(cluster.zkmod.BrokerIdInUse):
        cluster.zkmod.register_broker(new, info, 0.5)
    done: list[object] = []
    t = threading.Thread(target=lambda: done.append(cluster.zkmod.register_broker(new, info, 60) or "ok"))
    t.start()
    try:
        assert cluster.admin.exists(zkdata.broker_path(1)).ephemeralOwner == old.client_id[0]
        old.stop()  # the old run's session ends
        t.join(60)
    finally:
        t.join(60)
    assert done == ["ok"]
    data, stat = cluster.admin.get(zkdata.broker_path(1))
    assert stat.ephemeralOwner == new.client_id[0]
    assert zkdata.decode_broker(1, data).port == 9101
    cluster.zkmod.register_broker(new, info, 0.5)  # our own session's node: fine


# -- the controller ---------------------------------------------------------------------------------

def test_election_and_failover_of_the_controller(cluster):
    from kbroker.cluster.controller import Fenced, fenced_state_write

    a = cluster.controller(1)
    first = active(cluster)
    assert first is a
    b = cluster.controller(2)
    assert cluster.admin.get(zkdata.CONTROLLER_EPOCH)[0] == b"1"
    assert zkdata.decode_controller(cluster.admin.get(zkdata.CONTROLLER)[0]) == 1
    assert not b.is_active
    stale_version = a.epoch_zk_version
    a.zk.stop()  # the active controller's session ends
    wait_for(lambda: b.is_active, what="controller 2 takes over")
    assert not a.is_active
    assert b.epoch == 2
    assert cluster.admin.get(zkdata.CONTROLLER_EPOCH)[0] == b"2"
    assert zkdata.decode_controller(cluster.admin.get(zkdata.CONTROLLER)[0]) == 2
    # a write fenced with the old controller's epoch version fails; with the new one it succeeds
    cluster.register(3)
    cluster.create_topic("t", {0: (3,)})
    s = cluster.wait_state("t", 0, lambda s: s.leader == 3, "leader 3")
    assert s.controller_epoch == 2
    version = cluster.admin.exists(zkdata.state_path("t", 0)).version
    with pytest.raises(Fenced):
        fenced_state_write(cluster.admin, stale_version, "t", 0, PartitionState(-1, 9, (3,), 1), version)
    assert cluster.state("t", 0) == s
    assert fenced_state_write(cluster.admin, b.epoch_zk_version, "t", 0, PartitionState(3, 1, (3,), 2),
                              version) == version + 1
    # the first controller, with a new session, runs for election again and takes over when 2 goes
    a.zk.start()
    b.stop()
    wait_for(lambda: a.is_active, what="controller 1 again")
    assert a.epoch == 3
    assert cluster.admin.get(zkdata.CONTROLLER_EPOCH)[0] == b"3"


def test_an_expired_session_resigns_and_runs_again(cluster, zookeeper):
    changes: list[bool] = []
    a = cluster.controller(1, on_change=changes.append)
    assert active(cluster) is a
    wait_for(lambda: changes == [True], what="on_change(True)")
    cluster.register(2)
    cluster.create_topic("t", {0: (2,)})
    cluster.wait_state("t", 0, lambda s: True, "a state")
    expire_session(zookeeper, a.zk)
    wait_for(lambda: changes == [True, False, True], what="resigned, then elected again")
    assert a.is_active and a.epoch == 2
    stat = cluster.admin.exists(zkdata.CONTROLLER)
    assert stat.ephemeralOwner == a.zk.client_id[0]
    cluster.create_topic("n", {0: (2,)})  # the new term watches the tree again
    assert cluster.wait_state("n", 0, lambda s: True, "a state").controller_epoch == 2


def test_broker_registration_survives_session_expiry(cluster, zookeeper):
    c = cluster.client()
    reg = cluster.zkmod.BrokerRegistration(c, BrokerInfo(7, "127.0.0.1", 9007), 30)
    try:
        first = c.client_id[0]
        assert cluster.admin.exists(zkdata.broker_path(7)).ephemeralOwner == first
        expire_session(zookeeper, c)
        wait_for(lambda: (cluster.admin.exists(zkdata.broker_path(7)) or None)
                 and cluster.admin.exists(zkdata.broker_path(7)).ephemeralOwner == c.client_id[0],
                 what="registered again with the new session")
    finally:
        reg.close()


def test_a_stopped_controller_hands_over(cluster):
    a = cluster.controller(1)
    assert active(cluster) is a
    b = cluster.controller(2)
    a.stop()
    wait_for(lambda: b.is_active, what="controller 2 takes over")
    assert b.epoch == 2


def test_new_topic_and_added_partitions_get_states(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    c = cluster.controller(1)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2, 3), 1: (2, 3, 1)})
    s0 = cluster.wait_state("t", 0, lambda s: True, "a state")
    s1 = cluster.wait_state("t", 1, lambda s: True, "a state")
    assert s0 == PartitionState(1, 0, (1, 2, 3), c.epoch)
    assert s1 == PartitionState(2, 0, (2, 3, 1), c.epoch)
    # partitions added to the assignment; partition 3 has only a dead replica: offline
    a = zkdata.decode_assignment(cluster.admin.get(zkdata.topic_path("t"))[0])
    cluster.admin.set(zkdata.topic_path("t"), zkdata.encode_assignment(
        TopicAssignment(a.topic_id, {**a.partitions, 2: (3, 1, 2), 3: (4,)})))
    assert cluster.wait_state("t", 2, lambda s: True, "a state") == PartitionState(3, 0, (3, 1, 2), c.epoch)
    assert cluster.wait_state("t", 3, lambda s: True, "a state") == PartitionState(-1, 0, (), c.epoch)
    cluster.register(4)
    assert cluster.wait_state("t", 3, lambda s: s.leader == 4, "leader 4").isr == (4,)


def test_broker_death_moves_leadership_and_shrinks_isrs(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    cluster.controller(3)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2, 3), 1: (2, 1, 3)})
    cluster.wait_state("t", 0, lambda s: s.leader == 1, "leader 1")
    cluster.wait_state("t", 1, lambda s: s.leader == 2, "leader 2")
    cluster.kill(1)
    s0 = cluster.wait_state("t", 0, lambda s: s.leader != 1, "a new leader")
    assert (s0.leader, s0.leader_epoch, s0.isr) == (2, 1, (2, 3))
    s1 = cluster.wait_state("t", 1, lambda s: 1 not in s.isr, "1 out of the ISR")
    assert (s1.leader, s1.leader_epoch, s1.isr) == (2, 0, (2, 3))  # a dead follower: nothing else changes


def test_whole_isr_dead_goes_offline_and_comes_back(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    cluster.controller(3)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2)})
    cluster.wait_state("t", 0, lambda s: s.isr == (1, 2), "isr [1, 2]")
    cluster.kill(2)
    cluster.wait_state("t", 0, lambda s: s.isr == (1,), "isr [1]")
    cluster.kill(1)
    s = cluster.wait_state("t", 0, lambda s: s.leader == -1, "offline")
    assert (s.leader_epoch, s.isr) == (1, (1,))  # the last in-sync replica stays in the ISR
    cluster.register(2)  # an out-of-sync replica comes back: unclean election is off
    cluster.register(4)  # a broker appearing triggers a decision too
    cluster.barrier(4)
    assert cluster.state("t", 0).leader == -1
    cluster.register(1)
    s = cluster.wait_state("t", 0, lambda s: s.leader == 1, "leader 1 again")
    assert (s.leader_epoch, s.isr) == (2, (1,))


def test_unclean_election_by_topic_override(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    cluster.controller(3)
    active(cluster)
    cluster.create_topic("u", {0: (1, 2)}, config={"unclean.leader.election.enable": "true"})
    cluster.create_topic("c", {0: (1, 2)})
    for t in ("u", "c"):
        cluster.wait_state(t, 0, lambda s: s.isr == (1, 2), "isr [1, 2]")
        cluster.leader_write(t, 0, (1,))  # the leader shrank the ISR: 2 fell behind
    cluster.kill(1)
    s = cluster.wait_state("u", 0, lambda s: s.leader == 2, "2 elected uncleanly")
    assert (s.leader_epoch, s.isr) == (1, (2,))
    s = cluster.wait_state("c", 0, lambda s: s.leader == -1, "offline")
    assert s.isr == (1,)


def test_preferred_leader_comes_back(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    c = cluster.controller(3, leader_imbalance_check_interval_seconds=0.3)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2), 1: (2, 1)})
    cluster.wait_state("t", 0, lambda s: s.leader == 1, "leader 1")
    cluster.kill(1)
    cluster.wait_state("t", 0, lambda s: s.leader == 2, "leader 2")
    cluster.register(1)
    cluster.barrier(1)
    assert cluster.state("t", 0).leader == 2  # 1 is not in sync: no election
    cluster.leader_write("t", 0, (2, 1))  # the leader took 1 back into the ISR
    s = cluster.wait_state("t", 0, lambda s: s.leader == 1, "preferred leader 1 again")
    assert (s.leader_epoch, s.isr) == (2, (2, 1))
    assert c.elect_preferred([("t", 0), ("t", 9)]).result(30) == {
        ("t", 0): ErrorCode.ELECTION_NOT_NEEDED, ("t", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}


def test_elect_preferred_on_request(cluster):
    for b in (1, 2):
        cluster.register(b)
    c = cluster.controller(2, auto_leader_rebalance_enable=False)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2)})
    cluster.wait_state("t", 0, lambda s: s.leader == 1, "leader 1")
    cluster.kill(1)
    cluster.wait_state("t", 0, lambda s: s.leader == 2, "leader 2")
    assert c.elect_preferred([("t", 0)]).result(30) == {("t", 0): ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE}
    cluster.register(1)
    cluster.leader_write("t", 0, (2, 1))
    assert c.elect_preferred([("t", 0)]).result(30) == {("t", 0): ErrorCode.NONE}
    assert cluster.state("t", 0).leader == 1


def test_topic_deletion_clears_the_tree(cluster):
    cluster.register(1)
    cluster.controller(1)
    active(cluster)
    cluster.create_topic("gone", {0: (1,), 1: (1,)}, config={"retention.ms": "1000"})
    cluster.create_topic("kept", {0: (1,)})
    cluster.wait_state("gone", 1, lambda s: s.leader == 1, "leader 1")
    cluster.admin.create(zkdata.delete_topic_path("gone"), b"")
    wait_for(lambda: cluster.admin.exists(zkdata.delete_topic_path("gone")) is None, what="deletion done")
    assert cluster.admin.exists(zkdata.topic_path("gone")) is None
    assert cluster.admin.exists(zkdata.topic_config_path("gone")) is None
    assert cluster.state("kept", 0) is not None


def test_isr_change_notifications_are_consumed(cluster):
    cluster.register(1)
    cluster.controller(1)
    active(cluster)
    cluster.admin.create(f"{zkdata.ISR_CHANGES}/isr_change_", zkdata.encode_isr_change([("t", 0)]), sequence=True)
    wait_for(lambda: cluster.admin.get_children(zkdata.ISR_CHANGES) == [], what="notification deleted")


def test_controlled_shutdown_moves_leaders(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    cluster.controller(3, leader_imbalance_check_interval_seconds=0.3)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2), 1: (2, 1), 2: (1,)})
    for p in range(3):
        cluster.wait_state("t", p, lambda s: s.leader != -1, "a leader")
    assert cluster.zkmod.request_controlled_shutdown(cluster.brokers[1], 1, 3, 20)
    s0, s1, s2 = (cluster.state("t", p) for p in range(3))
    assert (s0.leader, s0.leader_epoch, s0.isr) == (2, 1, (2,))
    assert (s1.leader, s1.leader_epoch, s1.isr) == (2, 0, (2,))
    assert (s2.leader, s2.leader_epoch, s2.isr) == (1, 0, (1,))  # no other in-sync replica: 1 keeps it
    # while 1 is still registered, the preferred-leader check does not give it leadership back
    cluster.leader_write("t", 0, (2, 1))
    cluster.register(4)  # a broker event and more time for the periodic check
    cluster.barrier(4)
    # the answer stays in the request (t-2 has one replica: not counted) until 1 is gone
    answer = zkdata.decode_shutdown(cluster.admin.get(zkdata.controlled_shutdown_path(1))[0])
    assert answer.answered and answer.attempt == 1 and answer.remaining == ()
    assert cluster.state("t", 0).leader == 2
    cluster.kill(1)
    s2 = cluster.wait_state("t", 2, lambda s: s.leader == -1, "offline")
    assert s2.isr == (1,)
    wait_for(lambda: cluster.admin.exists(zkdata.controlled_shutdown_path(1)) is None, what="request removed")


def test_controlled_shutdown_znode_values():
    req = zkdata.decode_shutdown(zkdata.encode_shutdown_request(2))
    assert (req.attempt, req.answered) == (2, False)
    ans = zkdata.decode_shutdown(zkdata.encode_shutdown_answer(2, 7, [("t", 1), ("u", 0)]))
    assert (ans.attempt, ans.answered, ans.controller_epoch, ans.remaining) == (2, True, 7, (("t", 1), ("u", 0)))
    assert zkdata.decode_shutdown(b"") == zkdata.ShutdownRequest(0)  # an empty request of an earlier kbroker


def test_elect_unclean_on_request(cluster):
    for b in (1, 2):
        cluster.register(b)
    c = cluster.controller(2, auto_leader_rebalance_enable=False)
    active(cluster)
    cluster.create_topic("u", {0: (1, 2), 1: (1,)}, config={"unclean.leader.election.enable": "false"})
    cluster.wait_state("u", 0, lambda s: s.leader == 1, "leader 1")
    assert c.elect_unclean([("u", 0), ("u", 9), ("nope", 0)]).result(30) == {
        ("u", 0): ErrorCode.ELECTION_NOT_NEEDED, ("u", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ("nope", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
    cluster.leader_write("u", 0, (1,))  # 2 fell out of sync
    cluster.kill(1)
    s = cluster.wait_state("u", 0, lambda s: s.leader == -1, "offline (unclean disabled)")
    assert s.isr == (1,)
    assert c.elect_unclean([("u", 0), ("u", 1)]).result(30) == {
        ("u", 0): ErrorCode.NONE, ("u", 1): ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE}
    s2 = cluster.state("u", 0)
    assert (s2.leader, s2.leader_epoch, s2.isr) == (2, s.leader_epoch + 1, (2,))
    assert c.elect_unclean([("u", 0)]).result(30) == {("u", 0): ErrorCode.ELECTION_NOT_NEEDED}


def test_elections_on_a_standby_controller_are_not_controller(cluster):
    cluster.register(1)
    cluster.controller(1)
    active(cluster)
    standby = cluster.controller(2)
    assert standby.elect_unclean([("t", 0)]).result(30) == {("t", 0): ErrorCode.NOT_CONTROLLER}
    assert standby.elect_preferred([("t", 0)]).result(30) == {("t", 0): ErrorCode.NOT_CONTROLLER}


def test_controlled_shutdown_answer_lists_what_the_broker_still_leads(cluster):
    for b in (1, 2):
        cluster.register(b)
    cluster.controller(2, auto_leader_rebalance_enable=False)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2)})
    cluster.wait_state("t", 0, lambda s: s.leader == 1, "leader 1")
    cluster.leader_write("t", 0, (1,))  # no other in-sync replica: 1 cannot hand it over
    assert not cluster.zkmod.request_controlled_shutdown(cluster.brokers[1], 1, 2, 0.3)
    answer = zkdata.decode_shutdown(cluster.admin.get(zkdata.controlled_shutdown_path(1))[0])
    assert answer.answered and answer.attempt == 2 and answer.remaining == (("t", 0),)
    # once 2 is back in sync (the leader's write), the next request succeeds
    cluster.leader_write("t", 0, (1, 2))
    assert cluster.zkmod.request_controlled_shutdown(cluster.brokers[1], 1, 2, 5)
    s = cluster.state("t", 0)
    assert (s.leader, s.isr) == (2, (2,))


def test_controlled_shutdown_retries_until_a_controller_answers(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    first = cluster.controller(3, auto_leader_rebalance_enable=False)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2, 3)})
    cluster.wait_state("t", 0, lambda s: s.leader == 1 and s.isr == (1, 2, 3), "leader 1")
    first.stop()  # no controller now
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(
        cluster.zkmod.request_controlled_shutdown(cluster.brokers[1], 1, 10, 1.0)))
    t.start()
    try:
        def attempt() -> int:
            path = zkdata.controlled_shutdown_path(1)
            return 0 if cluster.admin.exists(path) is None else zkdata.decode_shutdown(cluster.admin.get(path)[0]).attempt
        wait_for(lambda: attempt() >= 2, what="a second attempt")
        cluster.controller(2, auto_leader_rebalance_enable=False)
    finally:
        t.join(30)
    assert result == [True]
    s = cluster.state("t", 0)
    assert s.leader == 2 and 1 not in s.isr


def test_a_new_controller_does_not_elect_a_shutting_down_broker(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    first = cluster.controller(3, auto_leader_rebalance_enable=False)
    active(cluster)
    cluster.create_topic("t", {0: (2, 1, 3)})
    cluster.wait_state("t", 0, lambda s: s.leader == 2 and s.isr == (2, 1, 3), "leader 2")
    assert cluster.zkmod.request_controlled_shutdown(cluster.brokers[1], 1, 3, 5)
    cluster.leader_write("t", 0, (2, 1, 3))  # the leader took 1 back (it was still fetching)
    first.stop()
    cluster.controller(3, auto_leader_rebalance_enable=False)  # a new term: the set is read from ZooKeeper
    wait_for(lambda: sum(c.is_active for c in cluster.controllers) == 1, what="the new controller")
    cluster.kill(2)
    s = cluster.wait_state("t", 0, lambda s: s.leader != 2, "a new leader")
    assert s.leader == 3  # not 1, the first in-sync replica, which is shutting down


def test_new_controller_finishes_work_left_while_there_was_none(cluster):
    for b in (1, 2, 3):
        cluster.register(b)
    a = cluster.controller(3)
    active(cluster)
    cluster.create_topic("t", {0: (1, 2)})
    cluster.wait_state("t", 0, lambda s: s.leader == 1, "leader 1")
    a.stop()
    cluster.kill(1)  # no controller sees this
    cluster.create_topic("n", {0: (2,)})
    assert cluster.state("t", 0).leader == 1
    b = cluster.controller(2)
    wait_for(lambda: b.is_active, what="controller 2")
    s = cluster.wait_state("t", 0, lambda s: s.leader == 2, "leader 2")
    assert (s.leader_epoch, s.isr, s.controller_epoch) == (1, (2,), 2)
    assert cluster.wait_state("n", 0, lambda s: True, "a state").leader == 2



def test_controller_on_an_empty_tree_creates_the_paths(zookeeper):
    from kbroker.cluster import zk as zkmod
    from kbroker.cluster.controller import Controller

    c = zkmod.connect(f"{zookeeper.connect}/empty_{uuid.uuid4().hex[:8]}", SESSION_MS)
    ctl = Controller(c, 1)
    try:
        ctl.start()
        wait_for(lambda: ctl.is_active, what="elected")
        wait_for(lambda: c.exists(zkdata.BROKER_IDS) and c.exists(zkdata.CONTROLLED_SHUTDOWN), what="paths")
        assert c.get(zkdata.CONTROLLER_EPOCH)[0] == b"1"
    finally:
        ctl.stop()
        c.stop()
        c.close()
