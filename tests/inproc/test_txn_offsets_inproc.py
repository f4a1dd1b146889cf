"""Transactional offsets (TxnOffsetCommit) driven in process: pending until the producer's marker on
the group's ``__consumer_offsets`` partition (WriteTxnMarkers), UNSTABLE_OFFSET_COMMIT for
OffsetFetch with require_stable meanwhile, the group checks, and the replay of the log when the
broker starts again (committed, aborted and still open transactions)."""

from __future__ import annotations

from pathlib import Path

from kbroker.apis.offset_fetch import offset_fetch
from kbroker.apis.txn_offset_commit import txn_offset_commit
from kbroker.apis.write_txn_markers import write_txn_markers
from kbroker.broker import Broker
from kbroker.groups.codec import OFFSETS_TOPIC
from tests.support.inproc import create, ctx, run
from wire.errors import ErrorCode
from wire.messages.offset_fetch import OffsetFetchRequest
from wire.messages.txn_offset_commit import TxnOffsetCommitRequest
from wire.messages.write_txn_markers import WriteTxnMarkersRequest

PID = 7000
GROUP = "txn-group"


async def commit(b: Broker, offsets: dict[int, int], pid: int = PID, epoch: int = 0, version: int = 3,
                 group: str = GROUP, generation: int = -1, member: str = "") -> list[tuple[int, int]]:
    req = TxnOffsetCommitRequest(transactional_id="tx", group_id=group, producer_id=pid, producer_epoch=epoch,
                                 generation_id=generation, member_id=member, topics=[
        TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic(name="in", partitions=[
            TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition(partition_index=p, committed_offset=o,
                                                                   committed_metadata="m")
            for p, o in offsets.items()])])
    resp = await txn_offset_commit(ctx(b, version), req)
    return [(p.partition_index, p.error_code) for t in resp.topics for p in t.partitions]


async def fetched(b: Broker, partitions: list[int], require_stable: bool, version: int = 7,
                  group: str = GROUP) -> list[tuple[int, int, int]]:
    if version >= 8:  # batched groups
        req = OffsetFetchRequest(require_stable=require_stable, groups=[OffsetFetchRequest.OffsetFetchRequestGroup(
            group_id=group, topics=[OffsetFetchRequest.OffsetFetchRequestTopics(name="in", partition_indexes=partitions)])])
        resp = await offset_fetch(ctx(b, version), req)
        [g] = resp.groups
        assert g.error_code == 0
        return [(p.partition_index, p.committed_offset, p.error_code) for t in g.topics for p in t.partitions]
    req = OffsetFetchRequest(group_id=group, require_stable=require_stable, topics=[
        OffsetFetchRequest.OffsetFetchRequestTopic(name="in", partition_indexes=partitions)])
    resp = await offset_fetch(ctx(b, version), req)
    assert resp.error_code == 0
    return [(p.partition_index, p.committed_offset, p.error_code) for t in resp.topics for p in t.partitions]


async def end_txn(b: Broker, commit: bool, pid: int = PID, epoch: int = 0, group: str = GROUP) -> None:
    p = b.services.groups.partition_of(group)
    req = WriteTxnMarkersRequest(markers=[WriteTxnMarkersRequest.WritableTxnMarker(
        producer_id=pid, producer_epoch=epoch, transaction_result=commit, coordinator_epoch=0,
        topics=[WriteTxnMarkersRequest.WritableTxnMarkerTopic(name=OFFSETS_TOPIC, partition_indexes=[p])])])
    resp = await write_txn_markers(ctx(b, 1), req)
    assert [q.error_code for t in resp.markers[0].topics for q in t.partitions] == [0]

# markers are driven by hand here, with no transaction coordinator behind the producer: the
# partition leader does not ask one (KIP-890 verification is tested on its own)
UNVERIFIED = {"transaction.partition.verification.enable": "false"}


def test_offsets_are_pending_until_the_commit_marker(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "in", 2)).topics[0].error_code == 0
        assert await commit(b, {0: 5, 1: 7}) == [(0, 0), (1, 0)]
        assert await fetched(b, [0, 1], require_stable=True) == [
            (0, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT), (1, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT)]
        assert await fetched(b, [0, 1], require_stable=False) == [(0, -1, 0), (1, -1, 0)]
        part = b.topics.partition(OFFSETS_TOPIC, b.services.groups.partition_of(GROUP))
        assert part is not None and part.last_stable_offset < part.high_watermark
        await end_txn(b, commit=True)
        assert await fetched(b, [0, 1], require_stable=True) == [(0, 5, 0), (1, 7, 0)]
        assert part.last_stable_offset == part.high_watermark

        # the next transaction of the producer is aborted: nothing changes
        assert await commit(b, {0: 9}) == [(0, 0)]
        assert await fetched(b, [0], require_stable=True, version=8) == [(0, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT)]
        await end_txn(b, commit=False)
        assert await fetched(b, [0, 1], require_stable=True) == [(0, 5, 0), (1, 7, 0)]

    run(tmp_path, body, **UNVERIFIED)


def test_offsets_survive_a_restart_as_the_markers_left_them(tmp_path: Path) -> None:
    async def before(b: Broker) -> None:
        assert (await create(b, "in", 2)).topics[0].error_code == 0
        assert await commit(b, {0: 5}) == [(0, 0)]
        await end_txn(b, commit=True)
        assert await commit(b, {0: 6}) == [(0, 0)]
        await end_txn(b, commit=False)
        assert await commit(b, {1: 3}, pid=PID + 1) == [(1, 0)]  # still open at the restart

    async def after(b: Broker) -> None:
        assert await fetched(b, [0, 1], require_stable=True) == [(0, 5, 0), (1, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT)]
        await end_txn(b, commit=True, pid=PID + 1)
        assert await fetched(b, [0, 1], require_stable=True) == [(0, 5, 0), (1, 3, 0)]

    run(tmp_path, before, **UNVERIFIED)
    run(tmp_path, after, **UNVERIFIED)


def test_txn_offset_commit_checks(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "in", 1)).topics[0].error_code == 0
        assert await commit(b, {0: 1, 4: 1}) == [(0, 0), (4, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
        # a generation for a group that does not exist; an unknown member of an existing one
        assert await commit(b, {0: 1}, group="nobody", generation=3) == [(0, ErrorCode.ILLEGAL_GENERATION)]
        assert await commit(b, {0: 1}, member="stranger", generation=0) == [(0, ErrorCode.UNKNOWN_MEMBER_ID)]
        assert await commit(b, {0: 1}, group="") == [(0, ErrorCode.INVALID_GROUP_ID)]
        # an older epoch of the producer on the group's partition
        await end_txn(b, commit=True)
        assert await commit(b, {0: 2}, epoch=1) == [(0, 0)]
        assert await commit(b, {0: 2}, epoch=0) == [(0, ErrorCode.INVALID_PRODUCER_EPOCH)]

    run(tmp_path, body, **UNVERIFIED)
