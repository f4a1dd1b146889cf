"""The group coordinator in cluster mode, over real logs of a two-partition ``__consumer_offsets``:
it coordinates only the groups of the partitions it leads (``on_become_leader`` replays a
partition's log, ``on_resign`` forgets it), NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS per
API as Kafka answers, and writes answered only once committed.

Replication itself is not built here: where a test needs a partition that replicates, it gives
the real partition object the two members a replicated one has (``wait_replicated``,
``is_leader``) with the outcome the test wants."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from kbroker.apis.delete_groups import delete_groups
from kbroker.apis.describe_groups import describe_groups
from kbroker.apis.heartbeat import heartbeat
from kbroker.apis.join_group import join_group
from kbroker.apis.leave_group import leave_group
from kbroker.apis.list_groups import list_groups
from kbroker.apis.offset_commit import offset_commit
from kbroker.apis.offset_delete import offset_delete
from kbroker.apis.offset_fetch import offset_fetch
from kbroker.apis.sync_group import sync_group
from kbroker.broker import Broker
from kbroker.context import RequestContext
from kbroker.groups.codec import OFFSETS_TOPIC, OffsetValue, partition_for
from kbroker.groups.coordinator import GroupCoordinator
from kbroker.groups.model import GroupState
from tests.support.inproc import run
from wire.errors import ErrorCode as E
from wire.messages.delete_groups import DeleteGroupsRequest
from wire.messages.describe_groups import DescribeGroupsRequest
from wire.messages.heartbeat import HeartbeatRequest
from wire.messages.join_group import JoinGroupRequest
from wire.messages.leave_group import LeaveGroupRequest
from wire.messages.list_groups import ListGroupsRequest
from wire.messages.offset_commit import OffsetCommitRequest
from wire.messages.offset_delete import OffsetDeleteRequest
from wire.messages.offset_fetch import OffsetFetchRequest
from wire.messages.sync_group import SyncGroupRequest

PARTS = 2
PROPS = {"offsets.topic.num.partitions": str(PARTS), "group.initial.rebalance.delay.ms": "0",
         "group.min.session.timeout.ms": "50"}


def group_in(p: int, prefix: str = "g") -> str:
    """A group id whose records go to partition ``p``."""
    for i in range(1000):
        gid = f"{prefix}{i}"
        if partition_for(gid, PARTS) == p:
            return gid
    raise AssertionError("no group id found")


A, B = group_in(0, "a"), group_in(1, "b")


def coordinator(b: Broker) -> GroupCoordinator:
    """A cluster-mode coordinator over the broker's topics (the topic exists: the cluster created it)."""
    b.groups.topic.ensure()
    if b.topics.get("t") is None:
        b.topics.create("t", 2, {})
    c = GroupCoordinator(b.config, b.topics, b.waiters, b.flusher, cluster=True)
    c.start()
    return c


async def commit(c: GroupCoordinator, group: str, offset: int, generation: int = -1, member: str = "") -> int:
    return await c.commit_offsets(group, member, None, generation, {("t", 0): OffsetValue(offset, -1, "m", 1)})


async def join(c: GroupCoordinator, group: str, member_id: str = "", session: int = 10_000):  # type: ignore[no-untyped-def]
    return await c.join_group(group, member_id=member_id, group_instance_id=None, protocol_type="consumer",
                              protocols=[("range", b"sub")], session_timeout_ms=session,
                              rebalance_timeout_ms=5000, client_id="c", client_host="/h",
                              require_known_member_id=False)


async def sync(c: GroupCoordinator, group: str, member: str, generation: int):  # type: ignore[no-untyped-def]
    return await c.sync_group(group, member_id=member, group_instance_id=None, generation_id=generation,
                              protocol_type=None, protocol_name=None, assignments={member: b"ASSIGNED"})


def test_nothing_is_coordinated_before_a_leadership(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        await b.groups.commit_offsets(A, "", None, -1, {("t", 0): OffsetValue(7)})  # on disk, partition 0
        c = coordinator(b)
        try:
            assert c.groups == {} and not c.owns(A) and not c.owns(B)
            assert await commit(c, A, 1) == E.NOT_COORDINATOR
            assert (await join(c, A)).error == E.NOT_COORDINATOR
            assert (await sync(c, A, "m", 1)).error == E.NOT_COORDINATOR
            assert c.heartbeat(A, "m", None, 1) == E.NOT_COORDINATOR
            assert c.leave_group(A, [("m", None)]) == (E.NOT_COORDINATOR, [E.NOT_COORDINATOR])
            assert c.fetch_offsets(A) == (E.NOT_COORDINATOR, {})
            assert c.delete_offsets(A, [("t", 0)]) == (E.NOT_COORDINATOR, {})
            assert c.delete_group(A) == E.NOT_COORDINATOR
            assert c.listing() == (E.NONE, [])
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def test_become_leader_loads_its_partition_and_resign_forgets_it(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        c = coordinator(b)
        try:
            c.on_become_leader(0)
            assert c.owns(A) and not c.owns(B) and c.owned_partitions == {0}
            assert await commit(c, A, 11) == E.NONE
            assert await commit(c, B, 22) == E.NOT_COORDINATOR
            assert c.fetch_offsets(A) == (E.NONE, {("t", 0): OffsetValue(11, -1, "m", 1)})
            mid = (await join(c, A)).member_id
            assert (await sync(c, A, mid, 1)).assignment == b"ASSIGNED"

            c.on_resign(0)
            assert not c.owns(A) and c.groups == {} and c.fetch_offsets(A) == (E.NOT_COORDINATOR, {})
            assert c.listing() == (E.NONE, [])

            c.on_become_leader(0)  # back from the log: offsets, and the group with its member
            assert c.fetch_offsets(A) == (E.NONE, {("t", 0): OffsetValue(11, -1, "m", 1)})
            g = c.group(A)
            assert g is not None and g.state == GroupState.STABLE and g.members[mid].assignment == b"ASSIGNED"
            assert c.heartbeat(A, mid, None, 1) == E.NONE
            c.on_become_leader(1)
            assert await commit(c, B, 22) == E.NONE
            assert [x.group_id for x in c.listing()[1]] == sorted([A, B])
        finally:
            await c.stop()

        # another broker becoming the leader reads the same log
        other = coordinator(b)
        try:
            other.on_become_leader(1)
            assert other.fetch_offsets(B) == (E.NONE, {("t", 0): OffsetValue(22, -1, "m", 1)})
            assert other.fetch_offsets(A) == (E.NOT_COORDINATOR, {})
        finally:
            await other.stop()

    run(tmp_path, body, **PROPS)


def test_a_deleted_group_stays_deleted_across_leaderships(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        c = coordinator(b)
        try:
            c.on_become_leader(0)
            assert await commit(c, A, 3) == E.NONE
            assert await c.delete_group_acked(A) == E.NONE
            c.on_resign(0)
            c.on_become_leader(0)
            assert c.group(A) is None and c.fetch_offsets(A) == (E.NONE, {})
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def test_resign_answers_parked_requests_not_coordinator_and_stops_timers(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        c = coordinator(b)
        try:
            c.on_become_leader(0)
            first = await join(c, A)
            assert (await sync(c, A, first.member_id, 1)).error == E.NONE
            parked = asyncio.create_task(join(c, A))  # waits for the first member to rejoin
            for _ in range(100):
                if c.group(A) is not None and c.group(A).state == GroupState.PREPARING_REBALANCE:
                    break
                await asyncio.sleep(0.01)
            assert not parked.done()
            c.on_resign(0)
            r = await parked
            assert r.error == E.NOT_COORDINATOR
            assert c._timers == {}
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def test_loaded_members_expire_on_the_new_leader(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        c = coordinator(b)
        try:
            c.on_become_leader(0)
            r = await join(c, A, session=10_000)
            assert (await sync(c, A, r.member_id, 1)).error == E.NONE
        finally:
            await c.stop()
        # the member is stored with a 10 s session; a short one is stored by a second group
        c = coordinator(b)
        try:
            c.on_become_leader(0)
            short = group_in(0, "s")
            r = await join(c, short, session=100)
            assert (await sync(c, short, r.member_id, 1)).error == E.NONE
            c.on_resign(0)
            c.on_become_leader(0)  # the restored member's session timer is armed again
            for _ in range(200):
                g = c.group(short)
                if g is not None and g.state == GroupState.EMPTY:
                    break
                await asyncio.sleep(0.05)
            g = c.group(short)
            assert g is not None and g.state == GroupState.EMPTY
            assert c.group(A).state == GroupState.STABLE
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def test_while_loading_groups_answer_load_in_progress(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        await b.groups.commit_offsets(A, "", None, -1, {("t", 0): OffsetValue(5)})
        c = coordinator(b)
        try:
            token = c.begin_load(0)
            assert (await join(c, A)).error == E.COORDINATOR_LOAD_IN_PROGRESS
            assert (await sync(c, A, "m", 1)).error == E.REBALANCE_IN_PROGRESS  # Kafka's answer while loading
            assert c.heartbeat(A, "m", None, 1) == E.NONE  # answered blindly while loading
            assert await commit(c, A, 6) == E.COORDINATOR_LOAD_IN_PROGRESS
            assert c.fetch_offsets(A) == (E.COORDINATOR_LOAD_IN_PROGRESS, {})
            assert c.listing() == (E.COORDINATOR_LOAD_IN_PROGRESS, [])
            assert await commit(c, B, 6) == E.NOT_COORDINATOR
            c.complete_load(0, c.read_partition(0), token)
            assert c.fetch_offsets(A) == (E.NONE, {("t", 0): OffsetValue(5)})
            assert c.listing()[0] == E.NONE

            token = c.begin_load(1)  # a resignation during the load wins over the load's end
            groups = c.read_partition(1)
            c.on_resign(1)
            c.complete_load(1, groups, token)
            assert not c.owns(B) and c.status(B) == E.NOT_COORDINATOR

            stale = c.begin_load(1)  # and so does a newer leadership
            c.on_resign(1)
            fresh = c.begin_load(1)
            c.complete_load(1, {}, stale)
            assert c.status(B) == E.COORDINATOR_LOAD_IN_PROGRESS
            c.complete_load(1, c.read_partition(1), fresh)
            assert c.owns(B)
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def test_loading_in_a_worker_thread(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        await b.groups.commit_offsets(A, "", None, -1, {("t", 0): OffsetValue(8)})
        c = coordinator(b)
        try:
            await c.load_partition(0)
            assert c.owns(A) and c.fetch_offsets(A) == (E.NONE, {("t", 0): OffsetValue(8)})
            assert not c.owns(B)
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def _replicating(b: Broker, p: int, outcome: dict[str, object]) -> None:
    """Partition p of __consumer_offsets becomes one that replicates: ``wait_replicated`` answers
    outcome["error"] (after outcome["gate"], an asyncio.Event, when set) and ``is_leader`` is
    outcome["leader"].  Only this partition object changes class; the log is the real one."""
    part = b.topics.partition(OFFSETS_TOPIC, p)
    assert part is not None
    outcome["waited"] = []
    outcome["leader"] = True

    class Replicating(type(part)):  # type: ignore[misc]
        @property
        def is_leader(self) -> bool:
            return bool(outcome["leader"])

        async def wait_replicated(self, end_offset: int, timeout_ms: int) -> int:
            outcome["waited"].append(end_offset)  # type: ignore[attr-defined]
            gate = outcome.get("gate")
            if gate is not None:
                await gate.wait()  # type: ignore[attr-defined]
            return int(outcome.get("error", 0))  # type: ignore[call-overload]

    part.__class__ = Replicating
    outcome["part"] = part


def test_commits_are_answered_once_replicated_with_kafkas_error_mapping(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        c = coordinator(b)
        outcome: dict[str, object] = {}
        _replicating(b, 0, outcome)
        part = outcome["part"]
        try:
            c.on_become_leader(0)
            gate = outcome["gate"] = asyncio.Event()
            pending = asyncio.create_task(commit(c, A, 1))
            for _ in range(100):
                if outcome["waited"]:
                    break
                await asyncio.sleep(0.01)
            assert outcome["waited"] == [part.log.log_end_offset]  # type: ignore[attr-defined]
            assert not pending.done() and c.fetch_offsets(A) == (E.NONE, {})  # not visible before committed
            gate.set()  # type: ignore[attr-defined]
            assert await pending == E.NONE
            assert c.fetch_offsets(A)[1][("t", 0)].offset == 1
            del outcome["gate"]

            for error, answer in ((E.NOT_ENOUGH_REPLICAS, E.COORDINATOR_NOT_AVAILABLE),
                                  (E.NOT_ENOUGH_REPLICAS_AFTER_APPEND, E.COORDINATOR_NOT_AVAILABLE),
                                  (E.REQUEST_TIMED_OUT, E.COORDINATOR_NOT_AVAILABLE),
                                  (E.NOT_LEADER_OR_FOLLOWER, E.NOT_COORDINATOR)):
                outcome["error"] = error
                assert await commit(c, A, 2) == answer
                assert c.fetch_offsets(A)[1][("t", 0)].offset == 1  # the failed commit is not visible
            outcome["error"] = E.NOT_ENOUGH_REPLICAS
            assert await c.delete_offsets_acked(A, [("t", 0)]) == (E.COORDINATOR_NOT_AVAILABLE, {})
            outcome["error"] = E.NONE

            end = part.log.log_end_offset  # type: ignore[attr-defined]
            outcome["leader"] = False  # leadership is gone: nothing is appended
            assert await commit(c, A, 3) == E.NOT_COORDINATOR
            assert part.log.log_end_offset == end  # type: ignore[attr-defined]
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def test_sync_answers_wait_for_the_assignment_to_be_replicated(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        c = coordinator(b)
        outcome: dict[str, object] = {}
        _replicating(b, 0, outcome)
        try:
            c.on_become_leader(0)
            r = await join(c, A)
            outcome["error"] = E.NOT_ENOUGH_REPLICAS  # the leader's assignment is not replicated
            s = await sync(c, A, r.member_id, r.generation_id)
            assert s.error == E.COORDINATOR_NOT_AVAILABLE and s.assignment == b""
            assert c.group(A).state == GroupState.PREPARING_REBALANCE  # forgotten: rebalance again

            outcome["error"] = E.NONE
            r = await join(c, A, r.member_id)
            s = await sync(c, A, r.member_id, r.generation_id)
            assert s.error == E.NONE and s.assignment == b"ASSIGNED"

            outcome["error"] = E.REQUEST_TIMED_OUT
            r2 = await join(c, A, r.member_id)  # rejoin: a new generation
            s = await sync(c, A, r2.member_id, r2.generation_id)
            assert s.error == E.REBALANCE_IN_PROGRESS  # Kafka's answer to a timed-out group write
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


# ---------------------------------------------------------------- the handlers' answers

def cluster_ctx(b: Broker, c: GroupCoordinator, version: int) -> RequestContext:
    return RequestContext(dataclasses.replace(b.services, groups=c), api_version=version, correlation_id=1,
                          client_id="inproc", peer="127.0.0.1:1")


def test_handlers_answer_not_coordinator_where_kafka_puts_it(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        c = coordinator(b)
        try:
            c.on_become_leader(0)
            assert await commit(c, A, 9) == E.NONE

            def x(v: int) -> RequestContext:
                return cluster_ctx(b, c, v)

            j = await join_group(x(7), JoinGroupRequest(group_id=B, session_timeout_ms=10_000,
                                                        rebalance_timeout_ms=5000, member_id="",
                                                        protocol_type="consumer", protocols=[]))
            assert j.error_code == E.NOT_COORDINATOR
            s = await sync_group(x(5), SyncGroupRequest(group_id=B, generation_id=1, member_id="m"))
            assert s.error_code == E.NOT_COORDINATOR
            h = await heartbeat(x(4), HeartbeatRequest(group_id=B, generation_id=1, member_id="m"))
            assert h.error_code == E.NOT_COORDINATOR
            lv = await leave_group(x(5), LeaveGroupRequest(group_id=B, members=[
                LeaveGroupRequest.MemberIdentity(member_id="m")]))
            assert lv.error_code == E.NOT_COORDINATOR

            oc = await offset_commit(x(9), OffsetCommitRequest(group_id=B, generation_id_or_member_epoch=-1,
                                                               member_id="", topics=[
                OffsetCommitRequest.OffsetCommitRequestTopic(name="t", partitions=[
                    OffsetCommitRequest.OffsetCommitRequestPartition(
                        partition_index=0, committed_offset=1)])]))
            assert oc.topics[0].partitions[0].error_code == E.NOT_COORDINATOR

            # OffsetFetch: per group from v8, at the top before, per partition in v1
            of8 = await offset_fetch(x(8), OffsetFetchRequest(groups=[
                OffsetFetchRequest.OffsetFetchRequestGroup(group_id=A, topics=None),
                OffsetFetchRequest.OffsetFetchRequestGroup(group_id=B, topics=None)]))
            assert [(g.group_id, g.error_code) for g in of8.groups] == [(A, E.NONE), (B, E.NOT_COORDINATOR)]
            assert of8.groups[0].topics[0].partitions[0].committed_offset == 9 and of8.groups[1].topics == []
            of7 = await offset_fetch(x(7), OffsetFetchRequest(group_id=B, topics=None))
            assert of7.error_code == E.NOT_COORDINATOR and of7.topics == []
            of1 = await offset_fetch(x(1), OffsetFetchRequest(group_id=B, topics=[
                OffsetFetchRequest.OffsetFetchRequestTopic(name="t", partition_indexes=[0, 1])]))
            assert [p.error_code for p in of1.topics[0].partitions] == [E.NOT_COORDINATOR] * 2

            od = await offset_delete(x(0), OffsetDeleteRequest(group_id=B, topics=[
                OffsetDeleteRequest.OffsetDeleteRequestTopic(name="t", partitions=[
                    OffsetDeleteRequest.OffsetDeleteRequestPartition(partition_index=0)])]))
            assert od.error_code == E.NOT_COORDINATOR

            dg = await describe_groups(x(5), DescribeGroupsRequest(groups=[A, B]))
            assert [(g.group_id, g.error_code, g.group_state) for g in dg.groups] == [
                (A, E.NONE, "Empty"), (B, E.NOT_COORDINATOR, "")]
            lg = await list_groups(x(4), ListGroupsRequest())
            assert [g.group_id for g in lg.groups] == [A] and lg.error_code == E.NONE
            dl = await delete_groups(x(2), DeleteGroupsRequest(groups_names=[B, A]))
            assert [(r.group_id, r.error_code) for r in dl.results] == [(B, E.NOT_COORDINATOR), (A, E.NONE)]
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)


def test_the_topic_is_created_by_the_callable_the_cluster_hands_in(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert b.topics.get(OFFSETS_TOPIC) is None  # nothing has asked for it yet
        asked: list[int] = []
        c = GroupCoordinator(b.config, b.topics, b.waiters, b.flusher, cluster=True,
                             create_offsets_topic=lambda: asked.append(1))
        c.start()
        try:
            c.on_become_leader(0)  # leads a partition that is not here yet: nothing to load
            assert await commit(c, A, 1) == E.NOT_COORDINATOR  # a write never creates the topic here
            assert b.topics.get(OFFSETS_TOPIC) is None and asked == []
            c.topic.ensure()
            assert asked == [1] and b.topics.get(OFFSETS_TOPIC) is None
        finally:
            await c.stop()

    run(tmp_path, body, **PROPS)
