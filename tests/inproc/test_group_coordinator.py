"""The coordinator shell over a real Broker object and real logs, without sockets: what
it writes to ``__consumer_offsets``, what a restarted broker loads back, tombstones,
offset expiry, and timers that actually fire."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kbroker.broker import Broker
from kbroker.config import BrokerConfig
from kbroker.groups.codec import OFFSETS_TOPIC, OffsetValue, partition_for
from kbroker.groups.model import GroupState
from wire.errors import ErrorCode as E
from wire.records import iter_batches

PARTS = 3


def make(tmp_path: Path, **props: str) -> Broker:
    cfg = {"log.dirs": str(tmp_path / "data"), "group.initial.rebalance.delay.ms": "0",
           "group.min.session.timeout.ms": "50", "offsets.topic.num.partitions": str(PARTS)}
    cfg.update(props)
    b = Broker(BrokerConfig(cfg))
    if b.topics.get("t") is None:
        b.topics.create("t", 2, {})
    return b


def run(tmp_path: Path, body, **props: str):  # type: ignore[no-untyped-def]
    """Runs ``body(broker)`` on a started broker, then stops it cleanly."""
    async def main():  # type: ignore[no-untyped-def]
        b = make(tmp_path, **props)
        b.start_background()
        try:
            return await asyncio.wait_for(body(b), 30)
        finally:
            await b.stop()
    return asyncio.run(main())


async def join_and_sync(b: Broker, group: str, session: int = 10_000, instance: str | None = None) -> str:
    g = b.groups
    r = await g.join_group(group, member_id="", group_instance_id=instance, protocol_type="consumer",
                           protocols=[("range", b"sub")], session_timeout_ms=session, rebalance_timeout_ms=5000,
                           client_id="c", client_host="/h", require_known_member_id=False)
    assert r.error == E.NONE
    s = await g.sync_group(group, member_id=r.member_id, group_instance_id=instance, generation_id=r.generation_id,
                           protocol_type=None, protocol_name=None, assignments={r.member_id: b"ASSIGNED"})
    assert s.error == E.NONE and s.assignment == b"ASSIGNED"
    return r.member_id


def records_per_partition(b: Broker) -> dict[int, int]:
    out = {}
    for p in range(PARTS):
        plog = b.topics.partition(OFFSETS_TOPIC, p).log
        data = plog.read_bytes(plog.log_start_offset, 1 << 20) if plog.log_end_offset else b""
        out[p] = sum(h.record_count for _, h in iter_batches(data))
    return out


def test_commits_and_group_metadata_survive_a_restart(tmp_path):
    async def first(b: Broker) -> str:
        err = await b.groups.commit_offsets("solo", "", None, -1, {("t", 0): OffsetValue(5, 2, "meta", 1)})
        assert err == E.NONE
        mid = await join_and_sync(b, "members", instance="i-1")
        where = records_per_partition(b)
        assert where[partition_for("solo", PARTS)] >= 1
        assert sum(where.values()) == 2  # one offset record, one group record
        return mid

    mid = run(tmp_path, first)

    async def second(b: Broker) -> None:
        assert b.groups.committed("solo")[("t", 0)] == OffsetValue(5, 2, "meta", 1)
        g = b.groups.group("members")
        assert g is not None and g.state == GroupState.STABLE and g.generation_id == 1
        assert g.members[mid].assignment == b"ASSIGNED" and g.static_members == {"i-1": mid}
        # the restored member carries on with its generation
        assert b.groups.heartbeat("members", mid, "i-1", 1) == E.NONE

    run(tmp_path, second)


def test_deleted_group_and_offsets_stay_deleted(tmp_path):
    async def first(b: Broker) -> None:
        await b.groups.commit_offsets("gone", "", None, -1, {("t", 0): OffsetValue(1), ("t", 1): OffsetValue(2)})
        await b.groups.commit_offsets("kept", "", None, -1, {("t", 0): OffsetValue(3), ("t", 1): OffsetValue(4)})
        assert b.groups.delete_group("gone") == E.NONE
        assert b.groups.delete_offsets("kept", [("t", 1)]) == (E.NONE, {("t", 1): E.NONE})

    run(tmp_path, first)

    async def second(b: Broker) -> None:
        assert b.groups.group("gone") is None and b.groups.committed("gone") == {}
        assert set(b.groups.committed("kept")) == {("t", 0)}

    run(tmp_path, second)


def test_offsets_expire_and_empty_groups_are_dropped(tmp_path):
    async def body(b: Broker) -> None:
        await b.groups.commit_offsets("old", "", None, -1, {("t", 0): OffsetValue(1, commit_timestamp=1000)})
        await b.groups.commit_offsets("mixed", "", None, -1, {("t", 0): OffsetValue(1, commit_timestamp=1000),
                                                               ("t", 1): OffsetValue(2, commit_timestamp=9000)})
        b.groups.expire(now=5000, retention_ms=2000)
        assert b.groups.group("old") is None
        assert set(b.groups.committed("mixed")) == {("t", 1)}

    run(tmp_path, body)
    assert run(tmp_path, lambda b: _committed(b, "mixed")) == {("t", 1)}


async def _committed(b: Broker, group: str):  # type: ignore[no-untyped-def]
    return set(b.groups.committed(group))


def test_session_timer_fires_and_empties_the_group(tmp_path):
    async def body(b: Broker) -> None:
        await join_and_sync(b, "short", session=100)
        for _ in range(200):  # bounded: the timer must fire; how soon is not asserted
            g = b.groups.group("short")
            if g is not None and g.state == GroupState.EMPTY:
                break
            await asyncio.sleep(0.05)
        g = b.groups.group("short")
        assert g is not None and g.state == GroupState.EMPTY and g.generation_id == 2

    run(tmp_path, body)


def test_parked_joins_are_answered_together(tmp_path):
    async def body(b: Broker) -> None:
        await join_and_sync(b, "pair")
        g = b.groups

        async def second():  # type: ignore[no-untyped-def]
            return await g.join_group("pair", member_id="", group_instance_id=None, protocol_type="consumer",
                                      protocols=[("range", b"s2")], session_timeout_ms=10_000,
                                      rebalance_timeout_ms=5000, client_id="c2", client_host="/h",
                                      require_known_member_id=False)

        task = asyncio.create_task(second())
        await asyncio.sleep(0.05)
        assert not task.done()  # parked until the first member rejoins
        first_id = next(iter(g.group("pair").members))
        r1 = await g.join_group("pair", member_id=first_id, group_instance_id=None, protocol_type="consumer",
                                protocols=[("range", b"sub")], session_timeout_ms=10_000,
                                rebalance_timeout_ms=5000, client_id="c", client_host="/h",
                                require_known_member_id=False)
        r2 = await task
        assert r1.generation_id == r2.generation_id == 2 and r1.leader_id == first_id
        assert {m for m, _, _ in r1.members} == {first_id, r2.member_id} and r2.members == ()

    run(tmp_path, body)
