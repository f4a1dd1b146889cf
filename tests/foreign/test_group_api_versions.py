"""The group/offset APIs at the versions Kafka 4.1.1 added over the older ones kbroker served
(OffsetCommit v9, OffsetFetch v9, FindCoordinator v5-6, JoinGroup v8-9, LeaveGroup v5,
DescribeGroups v6, ListGroups v5, InitProducerId v5), over raw frames, each answer as the
reference Kafka 4.1.1 broker gives it (probed with the same requests); and the group type
"classic" as kafka-python's and confluent-kafka's admin clients show it."""

from __future__ import annotations

import base64
import subprocess
import uuid

import pytest
from confluent_kafka import ConsumerGroupType
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient

from kbroker.groups.consumer_protocol import encode_assignment, encode_subscription
from tests.support.brokerproc import BrokerProcess
from tests.support.groups import GROUP_OVERRIDES
from tests.support.rawclient import RawClient
from tests.support.tools import require_kafka_jars
from wire.errors import ErrorCode as E
from wire.messages import BROKER_VERSIONS
from wire.messages.describe_groups import DescribeGroupsRequest
from wire.messages.find_coordinator import FindCoordinatorRequest
from wire.messages.init_producer_id import InitProducerIdRequest
from wire.messages.join_group import JoinGroupRequest
from wire.messages.leave_group import LeaveGroupRequest
from wire.messages.list_groups import ListGroupsRequest
from wire.messages.offset_commit import OffsetCommitRequest
from wire.messages.offset_fetch import OffsetFetchRequest
from wire.messages.sync_group import SyncGroupRequest

TOPIC = "versions-topic"
SUB = encode_subscription([TOPIC])


@pytest.fixture(scope="module")
def rb(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("group-versions") / "data", overrides=GROUP_OVERRIDES).start()
    RawClient.connect(b.bootstrap).create_topic(TOPIC, 2)
    yield b
    b.stop()


@pytest.fixture
def rc(rb):
    return RawClient.connect(rb.bootstrap)


def test_served_ranges_are_kafka_4_1_1s(rc) -> None:
    served = {k.api_key: (k.min_version, k.max_version) for k in rc.api_versions().api_keys}
    for key in (8, 9, 10, 11, 12, 13, 14, 15, 16, 22, 42, 47):
        assert served[key] == BROKER_VERSIONS[key], key


def join_stable(rc: RawClient, group: str, v: int = 9, reason: str | None = "test join") -> str:
    """A one-member classic group, joined at JoinGroup v``v`` and synced: its member id."""
    P = JoinGroupRequest.JoinGroupRequestProtocol
    req = JoinGroupRequest(group_id=group, session_timeout_ms=6000, rebalance_timeout_ms=10_000, member_id="",
                           protocol_type="consumer", protocols=[P(name="range", metadata=SUB)], reason=reason)
    r = rc.request(req, v)
    assert r.error_code == E.MEMBER_ID_REQUIRED and r.member_id
    req.member_id = r.member_id
    r = rc.request(req, v)
    assert (r.error_code, r.generation_id, r.leader, r.protocol_type) == (E.NONE, 1, req.member_id, "consumer")
    assert r.skip_assignment is False  # only for a leader whose group the broker assigns (never classic)
    asg = encode_assignment({TOPIC: [0, 1]})
    s = rc.request(SyncGroupRequest(group_id=group, generation_id=1, member_id=r.member_id, protocol_type="consumer",
                                    protocol_name="range", assignments=[
                                        SyncGroupRequest.SyncGroupRequestAssignment(member_id=r.member_id,
                                                                                    assignment=asg)]), 5)
    assert s.error_code == E.NONE
    return r.member_id


def commit(rc: RawClient, group: str, generation: int, member: str, v: int, offset: int = 5) -> int:
    T, P = OffsetCommitRequest.OffsetCommitRequestTopic, OffsetCommitRequest.OffsetCommitRequestPartition
    resp = rc.request(OffsetCommitRequest(group_id=group, generation_id_or_member_epoch=generation, member_id=member,
                                          topics=[T(name=TOPIC, partitions=[P(partition_index=0,
                                                                              committed_offset=offset)])]), v)
    [[code]] = [[p.error_code for p in t.partitions] for t in resp.topics]
    return code


def test_offset_commit_v9_classic_group(rc) -> None:
    member = join_stable(rc, "oc9")
    assert commit(rc, "oc9", 1, member, 9) == E.NONE  # generation id, as at v8, for a classic group
    assert commit(rc, "oc9", 2, member, 9) == E.ILLEGAL_GENERATION
    assert commit(rc, "oc9", 1, "someone-else", 9) == E.UNKNOWN_MEMBER_ID
    # standalone commits (generation -1) create the group, at v8 and v9 alike
    assert commit(rc, "oc9-standalone", -1, "", 9) == E.NONE
    assert commit(rc, "oc9-standalone", 3, "m", 9) == E.UNKNOWN_MEMBER_ID  # Empty group, not a member
    # a generation for a group that does not exist: Kafka 4.1 says GROUP_ID_NOT_FOUND from v9 on
    assert commit(rc, "oc-nothing-9", 3, "m", 9) == E.GROUP_ID_NOT_FOUND
    assert commit(rc, "oc-nothing-8", 3, "m", 8) == E.ILLEGAL_GENERATION


def test_offset_fetch_v9_ignores_member_fields_of_classic_groups(rc) -> None:
    assert commit(rc, "of9", -1, "", 9, offset=42) == E.NONE
    G = OffsetFetchRequest.OffsetFetchRequestGroup
    T = OffsetFetchRequest.OffsetFetchRequestTopics
    resp = rc.request(OffsetFetchRequest(groups=[
        G(group_id="of9", member_id="not-a-member", member_epoch=7, topics=None),
        G(group_id="of9-unknown", member_id="x", member_epoch=3, topics=[T(name=TOPIC, partition_indexes=[0])])]), 9)
    known, unknown = resp.groups
    assert known.error_code == E.NONE
    assert [(t.name, [(p.partition_index, p.committed_offset, p.error_code) for p in t.partitions])
            for t in known.topics] == [(TOPIC, [(0, 42, 0)])]
    assert unknown.error_code == E.NONE
    assert [(p.committed_offset, p.error_code) for p in unknown.topics[0].partitions] == [(-1, 0)]


def share_key(group: str) -> str:
    return f"{group}:{base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b'=').decode()}:0"


@pytest.mark.parametrize("v", [5, 6])
def test_find_coordinator_v5_v6(rb, rc, v) -> None:
    host, port = rb.bootstrap.split(":")
    [c] = rc.request(FindCoordinatorRequest(key_type=0, coordinator_keys=["g"]), v).coordinators
    assert (c.error_code, c.node_id, c.host, c.port) == (E.NONE, 1, host, int(port))

    def answer(key_type: int, key: str) -> tuple[int, str | None]:
        [c] = rc.request(FindCoordinatorRequest(key_type=key_type, coordinator_keys=[key]), v).coordinators
        return c.error_code, c.error_message

    # share groups (KIP-932) are not enabled, as on a default 4.1.1 node
    assert answer(2, share_key("sg")) == ((E.COORDINATOR_NOT_AVAILABLE, "") if v >= 6 else (E.INVALID_REQUEST, ""))
    assert answer(2, "sg") == (E.INVALID_REQUEST, "")
    assert answer(2, "sg:not-a-topic-id:0") == (E.INVALID_REQUEST, "")
    assert answer(7, "g")[0] == E.INVALID_REQUEST


def test_leave_group_v5_reason(rc) -> None:
    member = join_stable(rc, "lg5", v=8)
    resp = rc.request(LeaveGroupRequest(group_id="lg5", members=[
        LeaveGroupRequest.MemberIdentity(member_id=member, reason="shutting down"),
        LeaveGroupRequest.MemberIdentity(member_id="nobody", reason=None)]), 5)
    assert resp.error_code == E.NONE
    assert [m.error_code for m in resp.members] == [E.NONE, E.UNKNOWN_MEMBER_ID]
    [g] = rc.request(DescribeGroupsRequest(groups=["lg5"]), 6).groups
    assert (g.error_code, g.group_state, g.members) == (E.NONE, "Empty", [])


def test_describe_groups_v6_unknown_group(rc) -> None:
    member = join_stable(rc, "dg6")
    known, unknown = rc.request(DescribeGroupsRequest(groups=["dg6", "dg6-nothing"]), 6).groups
    assert (known.error_code, known.error_message, known.group_state) == (E.NONE, None, "Stable")
    assert [m.member_id for m in known.members] == [member]
    assert (unknown.group_id, unknown.error_code, unknown.error_message, unknown.group_state) == \
        ("dg6-nothing", E.GROUP_ID_NOT_FOUND, "Group dg6-nothing not found.", "Dead")
    [old] = rc.request(DescribeGroupsRequest(groups=["dg6-nothing"]), 5).groups
    assert (old.error_code, old.group_state) == (E.NONE, "Dead")


def test_list_groups_v5_types(rc) -> None:
    join_stable(rc, "lg-classic")

    def listed(types: list[str], v: int = 5) -> dict[str, str]:
        resp = rc.request(ListGroupsRequest(states_filter=[], types_filter=types), v)
        assert resp.error_code == E.NONE
        return {g.group_id: g.group_type for g in resp.groups}

    assert listed([])["lg-classic"] == "classic"
    assert listed(["classic"])["lg-classic"] == "classic"
    assert listed(["Classic"])["lg-classic"] == "classic"
    assert listed(["consumer"]) == {} and listed(["share"]) == {} and listed(["no-such-type"]) == {}
    assert "lg-classic" in listed(["consumer", "classic"])
    assert "lg-classic" in listed([], v=4)


@pytest.mark.parametrize("v", [4, 5])
def test_init_producer_id_v5_idempotent(rc, v) -> None:
    r = rc.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=-1), v)
    assert r.error_code == E.NONE and r.producer_id >= 0 and r.producer_epoch == 0
    bumped = rc.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=-1,
                                              producer_id=r.producer_id, producer_epoch=r.producer_epoch), v)
    assert (bumped.error_code, bumped.producer_id, bumped.producer_epoch) == (E.NONE, r.producer_id, 1)


def test_admin_clients_show_classic(rb, rc) -> None:
    join_stable(rc, "admin-classic")
    assert commit(rc, "admin-offsets-only", -1, "", 9) == E.NONE
    kp = KafkaAdminClient(bootstrap_servers=rb.bootstrap, request_timeout_ms=30_000)
    try:
        every = {g["group_id"]: g for g in kp.list_groups()}
        only_classic = {g["group_id"]: g for g in kp.list_groups(types_filter=["classic"])}
        only_consumer = kp.list_groups(types_filter=["consumer"])
    finally:
        kp.close()
    for gid in ("admin-classic", "admin-offsets-only"):
        assert every[gid]["group_type"] == "classic", every[gid]
        assert only_classic[gid]["group_type"] == "classic"
    assert only_consumer == []

    ck = AdminClient({"bootstrap.servers": rb.bootstrap})
    listed = ck.list_consumer_groups(request_timeout=30).result()
    assert not listed.errors, listed.errors
    types = {g.group_id: g.type for g in listed.valid}
    assert types["admin-classic"] == ConsumerGroupType.CLASSIC
    assert types["admin-offsets-only"] == ConsumerGroupType.CLASSIC
    filtered = ck.list_consumer_groups(types={ConsumerGroupType.CLASSIC}, request_timeout=30).result()
    assert {"admin-classic", "admin-offsets-only"} <= {g.group_id for g in filtered.valid}
    assert ck.list_consumer_groups(types={ConsumerGroupType.CONSUMER}, request_timeout=30).result().valid == []


def test_kafka_consumer_groups_list_type_shows_classic(rb, rc) -> None:
    """`kafka-consumer-groups --list --type` (Kafka 4.1.1's tool, from the reference broker's jars)."""
    java, jars = require_kafka_jars()
    join_stable(rc, "cli-classic")
    assert commit(rc, "cli-offsets-only", -1, "", 9) == E.NONE

    def tool(*args: str) -> dict[str, str]:
        proc = subprocess.run([java, "-cp", f"{jars}/*", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                               "--bootstrap-server", rb.bootstrap, "--list", *args],
                              capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        lines = [line.split() for line in proc.stdout.splitlines() if line.strip()]
        assert lines[0] == ["GROUP", "TYPE"], proc.stdout
        return dict(line for line in lines[1:] if len(line) == 2)

    listed = tool("--type")
    assert listed["cli-classic"] == listed["cli-offsets-only"] == "Classic", listed
    assert {"cli-classic", "cli-offsets-only"} <= set(tool("--type", "classic"))
    assert tool("--type", "consumer") == {}
