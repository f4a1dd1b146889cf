"""Consumer-group handlers called in process (tests/support/inproc.py): one member's whole life in a
classic group - FindCoordinator, JoinGroup (MEMBER_ID_REQUIRED, then joined as leader), SyncGroup,
Heartbeat, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, LeaveGroup and DeleteGroups - with
the "consumer" embedded protocol's subscription and assignment bytes, checked on the response fields
a consumer or an admin client reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kbroker.apis.delete_groups import delete_groups
from kbroker.apis.describe_groups import describe_groups
from kbroker.apis.find_coordinator import find_coordinator
from kbroker.apis.heartbeat import heartbeat
from kbroker.apis.join_group import join_group
from kbroker.apis.leave_group import leave_group
from kbroker.apis.list_groups import list_groups
from kbroker.apis.offset_commit import offset_commit
from kbroker.apis.offset_fetch import offset_fetch
from kbroker.apis.sync_group import sync_group
from kbroker.broker import Broker
from kbroker.context import RequestContext
from kbroker.groups.codec import OFFSETS_TOPIC
from kbroker.groups.consumer_protocol import (
    CONSUMER,
    decode_assignment,
    encode_assignment,
    encode_subscription,
)
from tests.support.inproc import create, ctx, run
from wire.errors import ErrorCode as E
from wire.messages.delete_groups import DeleteGroupsRequest
from wire.messages.describe_groups import DescribeGroupsRequest
from wire.messages.describe_groups import _DescribeGroupsResponse_DescribedGroup as DescribedGroup
from wire.messages.find_coordinator import FindCoordinatorRequest
from wire.messages.heartbeat import HeartbeatRequest
from wire.messages.join_group import JoinGroupRequest, JoinGroupResponse
from wire.messages.leave_group import LeaveGroupRequest
from wire.messages.list_groups import ListGroupsRequest
from wire.messages.offset_commit import OffsetCommitRequest
from wire.messages.offset_commit import _OffsetCommitRequest_OffsetCommitRequestPartition as CommitPartition
from wire.messages.offset_fetch import OffsetFetchRequest
from wire.messages.sync_group import SyncGroupRequest

NODE = 3
GROUP = "g1"
PEER = "10.1.2.3:50123"
GROUPS = {"node.id": str(NODE), "advertised.listeners": "PLAINTEXT://kb.example:19092",
          "group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "50",
          "offsets.topic.num.partitions": "2"}
SUBSCRIPTION = encode_subscription(["t"])
ASSIGNMENT = encode_assignment({"t": [0, 1]})


def member_ctx(b: Broker, version: int) -> RequestContext:
    return ctx(b, version, client_id="consumer-1", peer=PEER)


async def join(b: Broker, member_id: str = "", session_ms: int = 10_000, version: int = 7) -> JoinGroupResponse:
    req = JoinGroupRequest(group_id=GROUP, session_timeout_ms=session_ms, rebalance_timeout_ms=5000,
                           member_id=member_id, protocol_type=CONSUMER, protocols=[
                               JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=SUBSCRIPTION)])
    return await join_group(member_ctx(b, version), req)


async def joined_member(b: Broker, session_ms: int = 10_000) -> tuple[str, int]:
    """A member that joined (with the id the broker required) and synced: (member id, generation)."""
    first = await join(b, session_ms=session_ms)
    assert first.error_code == E.MEMBER_ID_REQUIRED and first.member_id and first.generation_id == -1
    r = await join(b, first.member_id, session_ms=session_ms)
    assert r.error_code == E.NONE
    s = await sync_group(member_ctx(b, 5), SyncGroupRequest(
        group_id=GROUP, generation_id=r.generation_id, member_id=r.member_id, protocol_type=CONSUMER,
        protocol_name="range", assignments=[SyncGroupRequest.SyncGroupRequestAssignment(
            member_id=r.member_id, assignment=ASSIGNMENT)]))
    assert s.error_code == E.NONE
    return r.member_id, r.generation_id


async def beat(b: Broker, member: str, generation: int) -> int:
    resp = await heartbeat(member_ctx(b, 4), HeartbeatRequest(group_id=GROUP, generation_id=generation,
                                                             member_id=member))
    return resp.error_code  # type: ignore[no-any-return]


async def describe(b: Broker, version: int = 5) -> DescribedGroup:
    resp = await describe_groups(ctx(b, version), DescribeGroupsRequest(groups=[GROUP]))
    [g] = resp.groups
    return g


async def listed(b: Broker, *states: str) -> list[tuple[str, str, str]]:
    resp = await list_groups(ctx(b, 4), ListGroupsRequest(states_filter=list(states)))
    assert resp.error_code == E.NONE
    return [(g.group_id, g.protocol_type, g.group_state) for g in resp.groups]


async def commit(b: Broker, member: str, generation: int,
                 offsets: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """OffsetCommit v8 of ``offsets`` by a member: (topic, partition) -> error code."""
    R = OffsetCommitRequest
    topics: dict[str, list[CommitPartition]] = {}
    for (t, p), o in offsets.items():
        topics.setdefault(t, []).append(R.OffsetCommitRequestPartition(
            partition_index=p, committed_offset=o, committed_leader_epoch=0, committed_metadata=f"at {o}"))
    resp = await offset_commit(member_ctx(b, 8), R(group_id=GROUP, generation_id_or_member_epoch=generation,
                                                    member_id=member, topics=[
        R.OffsetCommitRequestTopic(name=t, partitions=ps) for t, ps in topics.items()]))
    return {(t.name, p.partition_index): p.error_code for t in resp.topics for p in t.partitions}


async def fetched(b: Broker, version: int = 7,
                  topics: dict[str, list[int]] | None = None) -> dict[tuple[str, int], tuple[int, int, str, int]]:
    """(topic, partition) -> (offset, leader epoch, metadata, error) the group has committed."""
    R = OffsetFetchRequest
    if version >= 8:
        req = R(groups=[R.OffsetFetchRequestGroup(group_id=GROUP, topics=None if topics is None else [
            R.OffsetFetchRequestTopics(name=t, partition_indexes=ps) for t, ps in topics.items()])])
        resp = await offset_fetch(member_ctx(b, version), req)
        [g] = resp.groups
        assert g.group_id == GROUP and g.error_code == E.NONE
        parts = [(t.name, p) for t in g.topics for p in t.partitions]
    else:
        req = R(group_id=GROUP, topics=None if topics is None else [
            R.OffsetFetchRequestTopic(name=t, partition_indexes=ps) for t, ps in topics.items()])
        resp = await offset_fetch(member_ctx(b, version), req)
        assert resp.error_code == E.NONE
        parts = [(t.name, p) for t in resp.topics for p in t.partitions]
    return {(t, p.partition_index): (p.committed_offset, p.committed_leader_epoch, p.metadata, p.error_code)
            for t, p in parts}


def test_find_coordinator_is_this_broker_and_creates_the_offsets_topic(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert b.topics.get(OFFSETS_TOPIC) is None
        one = await find_coordinator(ctx(b, 3), FindCoordinatorRequest(key=GROUP, key_type=0))
        assert (one.error_code, one.node_id, one.host, one.port) == (E.NONE, NODE, "kb.example", 19092)
        offsets = b.topics.get(OFFSETS_TOPIC)
        assert offsets is not None and offsets.partitions == 2
        batch = await find_coordinator(ctx(b, 4), FindCoordinatorRequest(key_type=0, coordinator_keys=[GROUP, "g2"]))
        assert [(c.key, c.error_code, c.node_id, c.host, c.port) for c in batch.coordinators] == [
            (GROUP, 0, NODE, "kb.example", 19092), ("g2", 0, NODE, "kb.example", 19092)]
        assert b.topics.get("__transaction_state") is None
        txn = await find_coordinator(ctx(b, 4), FindCoordinatorRequest(key_type=1, coordinator_keys=["tx"]))
        [c] = txn.coordinators
        assert (c.error_code, c.node_id, c.host, c.port) == (E.NONE, NODE, "kb.example", 19092)
        txn_topic = b.topics.get("__transaction_state")
        assert txn_topic is not None and txn_topic.partitions == 50

    run(tmp_path, body, **GROUPS)


def test_one_member_group_from_join_to_delete(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "t", 2)).topics[0].error_code == 0
        first = await join(b)
        assert (first.error_code, first.generation_id) == (E.MEMBER_ID_REQUIRED, -1)
        assert first.member_id.startswith("consumer-1-")  # Kafka's "<client id>-<uuid>"
        r = await join(b, first.member_id)
        assert (r.error_code, r.generation_id, r.member_id, r.leader) == (E.NONE, 1, first.member_id, first.member_id)
        assert (r.protocol_type, r.protocol_name) == (CONSUMER, "range")
        assert [(m.member_id, m.metadata) for m in r.members] == [(first.member_id, SUBSCRIPTION)]
        member, gen = r.member_id, r.generation_id

        s = await sync_group(member_ctx(b, 5), SyncGroupRequest(
            group_id=GROUP, generation_id=gen, member_id=member, protocol_type=CONSUMER, protocol_name="range",
            assignments=[SyncGroupRequest.SyncGroupRequestAssignment(member_id=member, assignment=ASSIGNMENT)]))
        assert (s.error_code, s.protocol_type, s.protocol_name) == (E.NONE, CONSUMER, "range")
        assert decode_assignment(s.assignment) == {"t": [0, 1]}

        assert await beat(b, member, gen) == E.NONE
        assert await beat(b, member, gen + 1) == E.ILLEGAL_GENERATION
        assert await beat(b, "someone-else", gen) == E.UNKNOWN_MEMBER_ID

        assert await commit(b, member, gen, {("t", 0): 10, ("t", 1): 20, ("t", 5): 1}) == {
            ("t", 0): 0, ("t", 1): 0, ("t", 5): E.UNKNOWN_TOPIC_OR_PARTITION}
        assert await commit(b, member, gen + 1, {("t", 0): 99}) == {("t", 0): E.ILLEGAL_GENERATION}
        assert await commit(b, "someone-else", gen, {("t", 0): 99}) == {("t", 0): E.UNKNOWN_MEMBER_ID}
        want = {("t", 0): (10, 0, "at 10", 0), ("t", 1): (20, 0, "at 20", 0)}
        assert await fetched(b) == want == await fetched(b, version=8)
        assert await fetched(b, topics={"t": [1, 3]}) == {("t", 1): (20, 0, "at 20", 0), ("t", 3): (-1, -1, "", 0)}

        g = await describe(b)
        assert (g.error_code, g.group_state, g.protocol_type, g.protocol_data) == (E.NONE, "Stable", CONSUMER, "range")
        assert [(m.member_id, m.client_id, m.client_host, m.member_metadata, m.member_assignment)
                for m in g.members] == [(member, "consumer-1", "/10.1.2.3", SUBSCRIPTION, ASSIGNMENT)]
        assert await listed(b) == [(GROUP, CONSUMER, "Stable")]
        assert await listed(b, "empty") == []

        busy = await delete_groups(ctx(b, 2), DeleteGroupsRequest(groups_names=[GROUP]))
        assert [(x.group_id, x.error_code) for x in busy.results] == [(GROUP, E.NON_EMPTY_GROUP)]

        left = await leave_group(member_ctx(b, 3), LeaveGroupRequest(group_id=GROUP, members=[
            LeaveGroupRequest.MemberIdentity(member_id=member), LeaveGroupRequest.MemberIdentity(member_id="ghost")]))
        assert left.error_code == E.NONE
        assert [(m.member_id, m.error_code) for m in left.members] == [(member, 0), ("ghost", E.UNKNOWN_MEMBER_ID)]
        g = await describe(b)
        assert (g.group_state, g.members) == ("Empty", [])
        assert await listed(b, "Empty") == [(GROUP, CONSUMER, "Empty")]
        assert await beat(b, member, gen) == E.UNKNOWN_MEMBER_ID
        assert await fetched(b) == want  # the offsets outlive the members

        gone = await delete_groups(ctx(b, 2), DeleteGroupsRequest(groups_names=[GROUP, "never"]))
        assert [(x.group_id, x.error_code) for x in gone.results] == [(GROUP, 0), ("never", E.GROUP_ID_NOT_FOUND)]
        assert await fetched(b) == {}
        assert await fetched(b, topics={"t": [0]}) == {("t", 0): (-1, -1, "", 0)}
        assert await listed(b) == []
        dead = await describe(b, version=6)
        assert (dead.error_code, dead.group_state) == (E.GROUP_ID_NOT_FOUND, "Dead")
        assert (await describe(b, version=5)).error_code == E.NONE  # before v6: Dead, no error

    run(tmp_path, body, **GROUPS)


def test_a_silent_member_is_removed_when_its_session_expires(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        member, gen = await joined_member(b, session_ms=100)
        assert await beat(b, member, gen) == E.NONE
        while (await describe(b)).group_state != "Empty":  # the session timer (bounded by run's guard)
            await asyncio.sleep(0.02)
        assert await beat(b, member, gen) == E.UNKNOWN_MEMBER_ID
        assert await listed(b) == [(GROUP, CONSUMER, "Empty")]

    run(tmp_path, body, **GROUPS)
