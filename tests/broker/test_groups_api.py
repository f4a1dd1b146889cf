"""The group APIs at every advertised version, over a raw socket (tests/support/rawclient.py): the
join/sync/heartbeat/leave cycle, the errors clients act on (UNKNOWN_MEMBER_ID,
ILLEGAL_GENERATION, INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, ...), offset
commit and fetch, describe/list/delete, FindCoordinator's batches and key types."""

from __future__ import annotations

import pytest

from kbroker.groups.consumer_protocol import encode_assignment, encode_subscription
from tests.support.brokerproc import BrokerProcess
from tests.support.groups import GROUP_OVERRIDES
from tests.support.rawclient import RawClient
from wire.errors import ErrorCode as E
from wire.messages.delete_groups import DeleteGroupsRequest
from wire.messages.describe_groups import DescribeGroupsRequest
from wire.messages.find_coordinator import FindCoordinatorRequest
from wire.messages.heartbeat import HeartbeatRequest
from wire.messages.join_group import JoinGroupRequest
from wire.messages.leave_group import LeaveGroupRequest
from wire.messages.list_groups import ListGroupsRequest
from wire.messages.offset_commit import OffsetCommitRequest
from wire.messages.offset_delete import OffsetDeleteRequest
from wire.messages.offset_fetch import OffsetFetchRequest
from wire.messages.sync_group import SyncGroupRequest

SUB = encode_subscription(["api-topic"])


@pytest.fixture(scope="module")
def rb(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("groups-api") / "data", overrides=GROUP_OVERRIDES).start()
    rc = RawClient.connect(b.bootstrap)
    rc.create_topic("api-topic", 3)
    yield b
    rc.close() if hasattr(rc, "close") else None
    b.stop()


@pytest.fixture
def rc(rb):
    return RawClient.connect(rb.bootstrap)


def join(rc: RawClient, v: int, group: str, member_id: str = "", *, ptype: str = "consumer",
         protocols=(("range", SUB),), session: int = 6000, instance: str | None = None):
    P = JoinGroupRequest.JoinGroupRequestProtocol
    req = JoinGroupRequest(group_id=group, session_timeout_ms=session, rebalance_timeout_ms=10_000,
                           member_id=member_id, group_instance_id=instance, protocol_type=ptype,
                           protocols=[P(name=n, metadata=m) for n, m in protocols])
    return rc.request(req, v)


def join_fully(rc: RawClient, v: int, group: str, **kw):
    r = join(rc, v, group, **kw)
    if r.error_code == E.MEMBER_ID_REQUIRED:
        assert v >= 4 and r.member_id
        r = join(rc, v, group, r.member_id, **kw)
    assert r.error_code == E.NONE, r
    return r


def commit(rc: RawClient, v: int, group: str, offsets: dict[tuple[str, int], int], generation: int = -1,
           member_id: str = "", metadata: str | None = "m"):
    R = OffsetCommitRequest
    topics: dict[str, list] = {}
    for (t, p), off in offsets.items():
        topics.setdefault(t, []).append(R.OffsetCommitRequestPartition(
            partition_index=p, committed_offset=off, committed_leader_epoch=-1, committed_metadata=metadata))
    req = R(group_id=group, generation_id_or_member_epoch=generation, member_id=member_id,
            retention_time_ms=-1, topics=[R.OffsetCommitRequestTopic(name=t, partitions=ps) for t, ps in topics.items()])
    resp = rc.request(req, v)
    return {(t.name, p.partition_index): p.error_code for t in resp.topics for p in t.partitions}


def fetch(rc: RawClient, v: int, group: str, tps: list[tuple[str, int]] | None):
    R = OffsetFetchRequest
    topics = None
    if tps is not None:
        by: dict[str, list[int]] = {}
        for t, p in tps:
            by.setdefault(t, []).append(p)
        topics = [R.OffsetFetchRequestTopic(name=t, partition_indexes=ps) for t, ps in by.items()]
    resp = rc.request(R(group_id=group, topics=topics), v)
    return {(t.name, p.partition_index): (p.committed_offset, p.metadata, p.error_code)
            for t in resp.topics for p in t.partitions}


@pytest.mark.parametrize("v", range(8))
def test_join_sync_heartbeat_leave_cycle(rc, v):
    group = f"cycle-v{v}"
    sv, hv, lv = min(v, 5), min(v, 4), min(v, 4)
    r = join(rc, v, group)
    assert r.error_code == (E.MEMBER_ID_REQUIRED if v >= 4 else E.NONE)
    if v >= 4:
        assert r.generation_id == -1 and r.members == []
        r = join(rc, v, group, r.member_id)
    me = r.member_id
    assert r.generation_id == 1 and r.leader == me and r.protocol_name == "range"
    assert [(m.member_id, bytes(m.metadata)) for m in r.members] == [(me, SUB)]
    if v >= 7:
        assert r.protocol_type == "consumer"
    asg = encode_assignment({"api-topic": [0, 1, 2]})
    s = rc.request(SyncGroupRequest(group_id=group, generation_id=1, member_id=me, protocol_type="consumer",
                                    protocol_name="range",
                                    assignments=[SyncGroupRequest.SyncGroupRequestAssignment(member_id=me,
                                                                                             assignment=asg)]), sv)
    assert s.error_code == E.NONE and bytes(s.assignment) == asg
    if sv >= 5:
        assert (s.protocol_type, s.protocol_name) == ("consumer", "range")
    hb = rc.request(HeartbeatRequest(group_id=group, generation_id=1, member_id=me), hv)
    assert hb.error_code == E.NONE
    assert rc.request(HeartbeatRequest(group_id=group, generation_id=2, member_id=me), hv).error_code \
        == E.ILLEGAL_GENERATION
    assert rc.request(HeartbeatRequest(group_id=group, generation_id=1, member_id="nobody"), hv).error_code \
        == E.UNKNOWN_MEMBER_ID
    if lv >= 3:
        leave = LeaveGroupRequest(group_id=group, members=[LeaveGroupRequest.MemberIdentity(member_id=me)])
        resp = rc.request(leave, lv)
        assert resp.error_code == E.NONE and [m.error_code for m in resp.members] == [E.NONE]
    else:
        assert rc.request(LeaveGroupRequest(group_id=group, member_id=me), lv).error_code == E.NONE
    d = rc.request(DescribeGroupsRequest(groups=[group]), 5).groups[0]
    assert d.group_state == "Empty" and d.members == []


def test_errors_clients_act_on(rc):
    group = "errors"
    r = join_fully(rc, 5, group)
    me = r.member_id
    # another member with a different protocol type, or no common protocol
    assert join(rc, 5, group, ptype="connect").error_code == E.INCONSISTENT_GROUP_PROTOCOL
    assert join(rc, 5, group, protocols=(("sticky", b""),)).error_code == E.INCONSISTENT_GROUP_PROTOCOL
    assert join(rc, 5, group, "not-a-member").error_code == E.UNKNOWN_MEMBER_ID
    assert join(rc, 5, group, session=10).error_code == E.INVALID_SESSION_TIMEOUT
    assert join(rc, 5, "").error_code == E.INVALID_GROUP_ID
    s = rc.request(SyncGroupRequest(group_id=group, generation_id=7, member_id=me, assignments=[]), 3)
    assert s.error_code == E.ILLEGAL_GENERATION
    s = rc.request(SyncGroupRequest(group_id=group, generation_id=1, member_id=me, protocol_type="connect",
                                    protocol_name="range", assignments=[]), 5)
    assert s.error_code == E.INCONSISTENT_GROUP_PROTOCOL
    # commits from a stale generation or a stranger
    assert set(commit(rc, 8, group, {("api-topic", 0): 5}, generation=0, member_id=me).values()) \
        == {E.ILLEGAL_GENERATION}
    assert set(commit(rc, 8, group, {("api-topic", 0): 5}, generation=1, member_id="x").values()) \
        == {E.UNKNOWN_MEMBER_ID}
    assert set(commit(rc, 8, group, {("api-topic", 0): 5}).values()) == {E.UNKNOWN_MEMBER_ID}
    # a commit while the leader still owes the assignment
    assert set(commit(rc, 8, group, {("api-topic", 0): 5}, generation=1, member_id=me).values()) \
        == {E.REBALANCE_IN_PROGRESS}
    # the group has a live member: it cannot be deleted
    resp = rc.request(DeleteGroupsRequest(groups_names=[group, "never-existed"]), 2)
    assert [(x.group_id, x.error_code) for x in resp.results] == [
        (group, E.NON_EMPTY_GROUP), ("never-existed", E.GROUP_ID_NOT_FOUND)]
    rc.request(LeaveGroupRequest(group_id=group, member_id=me), 1)


@pytest.mark.parametrize("cv, fv", [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6), (8, 7), (8, 8)])
def test_standalone_commit_and_fetch(rc, cv, fv):
    group = f"standalone-{cv}-{fv}"
    errs = commit(rc, cv, group, {("api-topic", 0): 10, ("api-topic", 2): 20, ("nope", 0): 1, ("api-topic", 9): 1})
    assert errs == {("api-topic", 0): 0, ("api-topic", 2): 0, ("nope", 0): E.UNKNOWN_TOPIC_OR_PARTITION,
                    ("api-topic", 9): E.UNKNOWN_TOPIC_OR_PARTITION}
    if fv >= 8:
        R = OffsetFetchRequest
        resp = rc.request(R(groups=[R.OffsetFetchRequestGroup(group_id=group, topics=None),
                                    R.OffsetFetchRequestGroup(group_id="unknown-group", topics=[
                                        R.OffsetFetchRequestTopics(name="api-topic", partition_indexes=[0])])],
                            require_stable=True), fv)
        got = {(g.group_id, t.name, p.partition_index): (p.committed_offset, p.metadata, p.error_code)
               for g in resp.groups for t in g.topics for p in t.partitions}
        assert got == {(group, "api-topic", 0): (10, "m", 0), (group, "api-topic", 2): (20, "m", 0),
                       ("unknown-group", "api-topic", 0): (-1, "", 0)}
        return
    got = fetch(rc, fv, group, [("api-topic", 0), ("api-topic", 1), ("api-topic", 2)])
    assert got == {("api-topic", 0): (10, "m", 0), ("api-topic", 1): (-1, "", 0), ("api-topic", 2): (20, "m", 0)}
    if fv >= 2:
        assert set(fetch(rc, fv, group, None)) == {("api-topic", 0), ("api-topic", 2)}


def test_commit_metadata_limits(rc):
    errs = commit(rc, 8, "meta-limits", {("api-topic", 0): 1}, metadata="x" * 4097)
    assert errs == {("api-topic", 0): E.OFFSET_METADATA_TOO_LARGE}
    assert commit(rc, 8, "meta-limits", {("api-topic", 0): 1}, metadata=None) == {("api-topic", 0): 0}
    assert fetch(rc, 8 - 1, "meta-limits", [("api-topic", 0)]) == {("api-topic", 0): (1, "", 0)}


def test_describe_list_delete_and_offset_delete(rc):
    commit(rc, 8, "offsets-only", {("api-topic", 0): 3, ("api-topic", 1): 4})
    active = join_fully(rc, 5, "active")
    me = active.member_id
    rc.request(SyncGroupRequest(group_id="active", generation_id=1, member_id=me, assignments=[
        SyncGroupRequest.SyncGroupRequestAssignment(member_id=me, assignment=encode_assignment({"api-topic": [0]}))]), 3)
    for v in range(6):
        d = {g.group_id: g for g in rc.request(DescribeGroupsRequest(groups=["active", "offsets-only", "ghost"]),
                                               v).groups}
        assert (d["active"].group_state, d["active"].protocol_type, d["active"].protocol_data) == \
            ("Stable", "consumer", "range")
        assert [m.member_id for m in d["active"].members] == [me]
        assert d["offsets-only"].group_state == "Empty" and d["ghost"].group_state == "Dead"
    for v in range(5):
        listed = {g.group_id: g for g in rc.request(ListGroupsRequest(), v).groups}
        assert listed["active"].protocol_type == "consumer" and listed["offsets-only"].protocol_type == ""
        if v >= 4:
            assert listed["active"].group_state == "Stable"
            stable = rc.request(ListGroupsRequest(states_filter=["stable"]), v).groups
            assert "active" in {g.group_id for g in stable} and "offsets-only" not in {g.group_id for g in stable}
    # OffsetDelete: a subscribed topic of a live consumer group is refused, an Empty group's offsets go
    D = OffsetDeleteRequest
    req = D(group_id="active", topics=[D.OffsetDeleteRequestTopic(name="api-topic", partitions=[
        D.OffsetDeleteRequestPartition(partition_index=0)])])
    resp = rc.request(req, 0)
    assert resp.error_code == 0 and resp.topics[0].partitions[0].error_code == E.GROUP_SUBSCRIBED_TO_TOPIC
    req = D(group_id="offsets-only", topics=[D.OffsetDeleteRequestTopic(name="api-topic", partitions=[
        D.OffsetDeleteRequestPartition(partition_index=0)]), D.OffsetDeleteRequestTopic(name="nope", partitions=[
            D.OffsetDeleteRequestPartition(partition_index=0)])])
    resp = rc.request(req, 0)
    assert [(t.name, t.partitions[0].error_code) for t in resp.topics] == [
        ("api-topic", 0), ("nope", E.UNKNOWN_TOPIC_OR_PARTITION)]
    assert fetch(rc, 7, "offsets-only", None) == {("api-topic", 1): (4, "m", 0)}
    assert rc.request(D(group_id="ghost", topics=[]), 0).error_code == E.GROUP_ID_NOT_FOUND
    # DeleteGroups removes the Empty group and its offsets
    for v in range(3):
        resp = rc.request(DeleteGroupsRequest(groups_names=[f"del-{v}"]), v)
        assert resp.results[0].error_code == E.GROUP_ID_NOT_FOUND
    resp = rc.request(DeleteGroupsRequest(groups_names=["offsets-only"]), 2)
    assert resp.results[0].error_code == E.NONE
    assert fetch(rc, 7, "offsets-only", None) == {}
    assert "offsets-only" not in {g.group_id for g in rc.request(ListGroupsRequest(), 4).groups}
    rc.request(LeaveGroupRequest(group_id="active", member_id=me), 1)


def test_static_member_leaves_by_instance_id(rc):
    r = join_fully(rc, 5, "static-api", instance="inst-1")
    assert r.member_id
    leave = LeaveGroupRequest(group_id="static-api", members=[
        LeaveGroupRequest.MemberIdentity(member_id="", group_instance_id="inst-1"),
        LeaveGroupRequest.MemberIdentity(member_id="", group_instance_id="inst-2")])
    resp = rc.request(leave, 4)
    assert [m.error_code for m in resp.members] == [E.NONE, E.UNKNOWN_MEMBER_ID]


@pytest.mark.parametrize("v", range(7))
def test_find_coordinator(rb, rc, v):
    host, port = rb.bootstrap.split(":")
    if v >= 4:
        resp = rc.request(FindCoordinatorRequest(key_type=0, coordinator_keys=["a", "b"]), v)
        assert [(c.key, c.error_code, c.host, c.port) for c in resp.coordinators] == [
            ("a", 0, host, int(port)), ("b", 0, host, int(port))]
        resp = rc.request(FindCoordinatorRequest(key_type=1, coordinator_keys=["txn"]), v)
        [c] = resp.coordinators  # the transaction coordinator: this broker, as for groups
        assert (c.key, c.error_code, c.host, c.port) == ("txn", 0, host, int(port))
        return
    resp = rc.request(FindCoordinatorRequest(key="a-group", key_type=0), v)
    assert (resp.error_code, resp.host, resp.port, resp.node_id) == (0, host, int(port), 1)
    if v >= 1:
        resp = rc.request(FindCoordinatorRequest(key="t", key_type=1), v)
        assert (resp.error_code, resp.host, resp.port, resp.node_id) == (0, host, int(port), 1)
        assert rc.request(FindCoordinatorRequest(key="t", key_type=5), v).error_code == E.INVALID_REQUEST
