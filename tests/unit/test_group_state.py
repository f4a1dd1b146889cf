"""The group state machine, driven directly: no sockets, no event loop, time passed in.

One test per (state, event) pair: states Empty, PreparingRebalance, CompletingRebalance,
Stable, Dead × events JoinGroup (new member, MEMBER_ID_REQUIRED follow-up, known member
with the same or changed protocols, unknown member, mismatched protocol), SyncGroup
(leader, follower, wrong generation), Heartbeat, LeaveGroup, session expiry, rebalance
timeout, sync timeout, OffsetCommit.  Static membership has its own section.
"""

from __future__ import annotations

import pytest

from kbroker.groups.group import Group
from kbroker.groups.model import GroupConfig, GroupState
from wire.errors import ErrorCode as E

S = GroupState
CFG = GroupConfig(initial_rebalance_delay_ms=0, min_session_timeout_ms=1000, max_session_timeout_ms=60_000)
PROTOS = [("range", b"r-meta"), ("roundrobin", b"rr-meta")]
SESSION, REBALANCE = 10_000, 20_000


def join(g: Group, now: int, member_id: str = "", *, new_id: str = "x", instance: str | None = None,
         protocols=PROTOS, ptype: str = "consumer", session: int = SESSION, require: bool = True):
    return g.join(now, member_id=member_id, group_instance_id=instance, protocol_type=ptype, protocols=protocols,
                  session_timeout_ms=session, rebalance_timeout_ms=REBALANCE, client_id="cli",
                  client_host="/127.0.0.1", require_known_member_id=require, new_member_id=new_id)


def sync(g: Group, now: int, member_id: str, generation: int | None = None, assignments=None, **kw):
    return g.sync(now, member_id=member_id, group_instance_id=kw.get("instance"),
                  generation_id=g.generation_id if generation is None else generation,
                  protocol_type=kw.get("ptype"), protocol_name=kw.get("pname"), assignments=assignments or {})


def hb(g: Group, now: int, member_id: str, generation: int | None = None, instance: str | None = None) -> int:
    return g.heartbeat(now, member_id=member_id, group_instance_id=instance,
                       generation_id=g.generation_id if generation is None else generation)


def joins(fx) -> dict:
    return dict(fx.joins)


def syncs(fx) -> dict:
    return dict(fx.syncs)


# ---------------------------------------------------------------- builders

def empty() -> Group:
    return Group("g", CFG, 0)


def completing() -> Group:
    """Members a (leader) and b, generation 2, both told the result of the join."""
    g = empty()
    out = join(g, 0, new_id="a", require=False)
    assert joins(out.effects)["a"].generation_id == 1
    sync(g, 0, "a", assignments={"a": b"A1"})
    assert g.state == S.STABLE
    out = join(g, 1, new_id="b", require=False)
    assert out.parked == "b" and g.state == S.PREPARING_REBALANCE
    out = join(g, 2, "a")
    assert set(joins(out.effects)) == {"a", "b"}
    assert g.state == S.COMPLETING_REBALANCE and g.generation_id == 2
    return g


def stable() -> Group:
    g = completing()
    sync(g, 3, "b")
    out = sync(g, 3, "a", assignments={"a": b"A", "b": b"B"})
    assert syncs(out.effects) == {m: syncs(out.effects)[m] for m in ("a", "b")}
    assert g.state == S.STABLE
    return g


def preparing() -> Group:
    """Stable a+b; then a rejoins with other protocols: b has not rejoined yet."""
    g = stable()
    out = join(g, 10, "a", protocols=[("roundrobin", b"rr2")])
    assert out.parked == "a" and g.state == S.PREPARING_REBALANCE
    return g


def dead() -> Group:
    g = empty()
    g.mark_dead(0)
    return g


# ---------------------------------------------------------------- Empty

def test_empty_join_new_member_needs_id():
    g = empty()
    out = join(g, 0, new_id="n1")
    assert out.reply.error == E.MEMBER_ID_REQUIRED and out.reply.member_id == "n1"
    assert g.state == S.EMPTY and "n1" in g.pending_members


def test_empty_join_with_handed_out_id_completes_alone():
    g = empty()
    join(g, 0, new_id="n1")
    out = join(g, 5, "n1")
    r = joins(out.effects)["n1"]
    assert r.error == E.NONE and r.generation_id == 1 and r.leader_id == "n1"
    assert r.protocol_name == "range" and r.members == (("n1", None, b"r-meta"),)
    assert g.state == S.COMPLETING_REBALANCE


def test_empty_join_waits_initial_delay_and_extends_it():
    g = Group("g", GroupConfig(initial_rebalance_delay_ms=100, min_session_timeout_ms=1000), 0)
    out = join(g, 0, new_id="a", require=False)
    assert out.parked == "a" and not out.effects.joins and g.state == S.PREPARING_REBALANCE
    assert g.next_deadline() == 100
    join(g, 50, new_id="b", require=False)  # a new member during the delay extends it
    assert not g.tick(100).joins and g.next_deadline() == 200
    fx = g.tick(200)
    assert set(joins(fx)) == {"a", "b"} and g.state == S.COMPLETING_REBALANCE


def test_empty_join_unknown_member():
    assert join(empty(), 0, "ghost").reply.error == E.UNKNOWN_MEMBER_ID


def test_empty_join_needs_protocol_type_and_protocols():
    assert join(empty(), 0, ptype="").reply.error == E.INCONSISTENT_GROUP_PROTOCOL
    assert join(empty(), 0, protocols=[]).reply.error == E.INCONSISTENT_GROUP_PROTOCOL


def test_join_session_timeout_bounds():
    assert join(empty(), 0, session=999).reply.error == E.INVALID_SESSION_TIMEOUT
    assert join(empty(), 0, session=60_001).reply.error == E.INVALID_SESSION_TIMEOUT


def test_empty_sync_heartbeat_leave_unknown_member():
    g = empty()
    assert sync(g, 0, "a", 0).reply.error == E.UNKNOWN_MEMBER_ID
    assert hb(g, 0, "a", 0) == E.UNKNOWN_MEMBER_ID
    assert g.leave(0, [("a", None)])[0] == [E.UNKNOWN_MEMBER_ID]


def test_empty_tick_expires_pending_member():
    g = empty()
    join(g, 0, new_id="n1")
    assert g.next_deadline() == SESSION
    g.tick(SESSION)
    assert not g.pending_members and g.state == S.EMPTY and g.next_deadline() is None


def test_empty_commit_standalone_only():
    g = empty()
    assert g.commit_error(0, "", None, -1) == E.NONE
    assert g.commit_error(0, "m", None, 3) == E.UNKNOWN_MEMBER_ID


def test_group_becomes_empty_when_last_member_leaves():
    g = stable()
    g.leave(20, [("a", None)])
    errors, fx = g.leave(21, [("b", None)])
    assert errors == [E.NONE] and g.state == S.EMPTY and fx.persist and g.generation_id == 3
    assert g.protocol_name is None and g.leader_id is None


# ---------------------------------------------------------------- PreparingRebalance

def test_preparing_join_new_member_needs_id_then_waits():
    g = preparing()
    assert join(g, 11, new_id="c").reply.error == E.MEMBER_ID_REQUIRED
    out = join(g, 12, "c")
    assert out.parked == "c" and not out.effects.joins


def test_preparing_pending_member_holds_the_rebalance_until_it_expires():
    g = preparing()
    join(g, 11, new_id="c")
    out = join(g, 12, "b")
    assert not out.effects.joins  # c was told its id and is expected back
    fx = g.tick(11 + SESSION)
    assert set(joins(fx)) == {"a", "b"}


def test_preparing_completes_when_all_rejoin():
    g = preparing()
    out = join(g, 11, "b", protocols=[("roundrobin", b"rr-b"), ("range", b"r-b")])
    res = joins(out.effects)
    assert g.state == S.COMPLETING_REBALANCE and g.generation_id == 3
    assert res["a"].protocol_name == "roundrobin"  # the only protocol both support
    assert res["a"].leader_id == "a" and dict((m, md) for m, _, md in res["a"].members) == {"a": b"rr2", "b": b"rr-b"}
    assert res["b"].members == ()


def test_preparing_join_inconsistent_protocol():
    g = preparing()
    assert join(g, 11, "b", protocols=[("sticky", b"")]).reply.error == E.INCONSISTENT_GROUP_PROTOCOL
    assert join(g, 11, "b", ptype="connect").reply.error == E.INCONSISTENT_GROUP_PROTOCOL


def test_preparing_join_unknown_member():
    assert join(preparing(), 11, "ghost").reply.error == E.UNKNOWN_MEMBER_ID


def test_preparing_sync_rebalance_in_progress():
    g = preparing()
    assert sync(g, 11, "b").reply.error == E.REBALANCE_IN_PROGRESS


def test_preparing_heartbeat_says_rebalance():
    g = preparing()
    assert hb(g, 11, "b") == E.REBALANCE_IN_PROGRESS
    assert hb(g, 11, "b", 1) == E.ILLEGAL_GENERATION
    assert hb(g, 11, "ghost") == E.UNKNOWN_MEMBER_ID


def test_preparing_leave_of_laggard_completes_join():
    g = preparing()
    errors, fx = g.leave(11, [("b", None)])
    assert errors == [E.NONE] and set(joins(fx)) == {"a"} and g.state == S.COMPLETING_REBALANCE


def test_preparing_leave_of_parked_member_answers_its_join():
    g = preparing()
    _, fx = g.leave(11, [("a", None)])
    assert joins(fx)["a"].error == E.UNKNOWN_MEMBER_ID
    # b never rejoined and is now alone: the rebalance waits for it


def test_preparing_session_expiry_of_laggard_completes_join():
    g = preparing()
    # b's session started at its last sync (t=3); a is parked and kept alive
    fx = g.tick(3 + SESSION)
    assert "b" not in g.members and set(joins(fx)) == {"a"} and g.state == S.COMPLETING_REBALANCE


def test_preparing_rebalance_timeout_drops_laggards():
    g = preparing()
    hb(g, 10 + REBALANCE - 1, "b")  # b stays alive but never rejoins
    assert g.next_deadline() == 10 + REBALANCE
    fx = g.tick(10 + REBALANCE)
    assert set(joins(fx)) == {"a"} and set(g.members) == {"a"} and g.state == S.COMPLETING_REBALANCE


def test_preparing_rebalance_timeout_with_nobody_left_goes_empty():
    g = preparing()
    g.leave(11, [("a", None)])
    hb(g, 10 + REBALANCE - 1, "b")
    fx = g.tick(10 + REBALANCE)
    assert g.state == S.EMPTY and fx.persist and not g.members


def test_preparing_commit_allowed_for_current_generation():
    g = preparing()
    assert g.commit_error(11, "b", None, g.generation_id) == E.NONE
    assert g.commit_error(11, "b", None, g.generation_id - 1) == E.ILLEGAL_GENERATION


def test_preparing_tick_before_deadline_does_nothing():
    g = preparing()
    assert g.tick(11).joins == [] and g.state == S.PREPARING_REBALANCE


# ---------------------------------------------------------------- CompletingRebalance

def test_completing_join_same_protocols_gets_current_generation():
    g = completing()
    r = join(g, 3, "a").reply
    assert r.error == E.NONE and r.generation_id == 2 and len(r.members) == 2
    assert join(g, 3, "b").reply.members == ()
    assert g.state == S.COMPLETING_REBALANCE


def test_completing_join_changed_protocols_rebalances_and_fails_parked_syncs():
    g = completing()
    assert sync(g, 3, "b").parked == "b"
    out = join(g, 4, "a", protocols=[("range", b"new")])
    assert out.parked == "a" and g.state == S.PREPARING_REBALANCE
    assert syncs(out.effects)["b"].error == E.REBALANCE_IN_PROGRESS


def test_completing_join_new_member():
    g = completing()
    assert join(g, 3, new_id="c").reply.error == E.MEMBER_ID_REQUIRED
    assert join(g, 4, "c").parked == "c" and g.state == S.PREPARING_REBALANCE


def test_completing_join_unknown_and_inconsistent():
    g = completing()
    assert join(g, 3, "ghost").reply.error == E.UNKNOWN_MEMBER_ID
    assert join(g, 3, "a", protocols=[("sticky", b"")]).reply.error == E.INCONSISTENT_GROUP_PROTOCOL


def test_completing_follower_waits_for_leader_sync():
    g = completing()
    out = sync(g, 3, "b")
    assert out.parked == "b" and not out.effects.syncs
    out = sync(g, 4, "a", assignments={"a": b"AA", "b": b"BB"})
    assert out.parked == "a" and out.effects.persist and g.state == S.STABLE
    assert {m: r.assignment for m, r in out.effects.syncs} == {"a": b"AA", "b": b"BB"}
    assert all(r.protocol_type == "consumer" and r.protocol_name == "range" for _, r in out.effects.syncs)


def test_completing_leader_sync_missing_member_gets_empty_assignment():
    g = completing()
    sync(g, 3, "a", assignments={"a": b"AA"})
    assert sync(g, 4, "b").reply.assignment == b""


def test_completing_sync_errors():
    g = completing()
    assert sync(g, 3, "a", 1).reply.error == E.ILLEGAL_GENERATION
    assert sync(g, 3, "ghost").reply.error == E.UNKNOWN_MEMBER_ID
    assert sync(g, 3, "a", ptype="connect").reply.error == E.INCONSISTENT_GROUP_PROTOCOL
    assert sync(g, 3, "a", pname="roundrobin").reply.error == E.INCONSISTENT_GROUP_PROTOCOL
    assert sync(g, 3, "a", ptype="consumer", pname="range").parked == "a"


def test_completing_heartbeat_ok():
    g = completing()
    assert hb(g, 3, "b") == E.NONE
    assert hb(g, 3, "b", 1) == E.ILLEGAL_GENERATION


def test_completing_leave_rebalances():
    g = completing()
    sync(g, 3, "b")
    _, fx = g.leave(4, [("a", None)])
    assert g.state == S.PREPARING_REBALANCE and syncs(fx)["b"].error == E.REBALANCE_IN_PROGRESS


def test_completing_sync_timeout_drops_members_that_never_synced():
    g = completing()
    sync(g, 3, "b")  # follower parked; the leader a never syncs
    hb(g, 2 + REBALANCE - 1, "a")
    fx = g.tick(2 + REBALANCE)
    assert "a" not in g.members and g.state == S.PREPARING_REBALANCE
    assert syncs(fx)["b"].error == E.REBALANCE_IN_PROGRESS


def test_completing_session_expiry_of_silent_member():
    g = completing()
    sync(g, 3, "b")
    g.tick(2 + SESSION)  # a got its join answer at t=2 and was never heard of again
    assert "a" not in g.members and "b" in g.members and g.state == S.PREPARING_REBALANCE


def test_completing_commit_rebalance_in_progress():
    g = completing()
    assert g.commit_error(3, "a", None, 2) == E.REBALANCE_IN_PROGRESS


# ---------------------------------------------------------------- Stable

def test_stable_follower_join_unchanged_returns_current_generation():
    g = stable()
    r = join(g, 5, "b").reply
    assert r.error == E.NONE and r.generation_id == 2 and r.leader_id == "a" and g.state == S.STABLE


def test_stable_leader_join_rebalances():
    g = stable()
    assert join(g, 5, "a").parked == "a" and g.state == S.PREPARING_REBALANCE


def test_stable_join_changed_protocols_rebalances():
    g = stable()
    assert join(g, 5, "b", protocols=[("range", b"other")]).parked == "b"
    assert g.state == S.PREPARING_REBALANCE


def test_stable_join_new_member_rebalances_after_id():
    g = stable()
    assert join(g, 5, new_id="c").reply.error == E.MEMBER_ID_REQUIRED and g.state == S.STABLE
    assert join(g, 6, "c").parked == "c" and g.state == S.PREPARING_REBALANCE
    out = join(g, 7, "a")
    assert not out.effects.joins  # b still has to rejoin
    out = join(g, 8, "b")
    assert set(joins(out.effects)) == {"a", "b", "c"} and g.generation_id == 3


def test_stable_join_unknown_and_inconsistent():
    g = stable()
    assert join(g, 5, "ghost").reply.error == E.UNKNOWN_MEMBER_ID
    assert join(g, 5, new_id="c", protocols=[("sticky", b"")]).reply.error == E.INCONSISTENT_GROUP_PROTOCOL
    assert join(g, 5, "b", ptype="other").reply.error == E.INCONSISTENT_GROUP_PROTOCOL


def test_stable_sync_returns_assignment():
    g = stable()
    assert sync(g, 5, "b").reply.assignment == b"B"
    assert sync(g, 5, "b", 1).reply.error == E.ILLEGAL_GENERATION


def test_stable_heartbeat():
    g = stable()
    assert hb(g, 5, "a") == E.NONE
    assert hb(g, 5, "a", 1) == E.ILLEGAL_GENERATION
    assert hb(g, 5, "ghost") == E.UNKNOWN_MEMBER_ID


def test_stable_leave_rebalances():
    g = stable()
    errors, _ = g.leave(5, [("b", None), ("ghost", None)])
    assert errors == [E.NONE, E.UNKNOWN_MEMBER_ID] and g.state == S.PREPARING_REBALANCE
    assert join(g, 6, "a").effects.joins  # a alone: the rebalance completes at once


def test_stable_session_expiry_rebalances():
    g = stable()
    hb(g, 5, "a")
    g.tick(3 + SESSION)
    assert "b" not in g.members and g.state == S.PREPARING_REBALANCE


def test_stable_commit():
    g = stable()
    assert g.commit_error(5, "a", None, 2) == E.NONE
    assert g.commit_error(5, "a", None, 1) == E.ILLEGAL_GENERATION
    assert g.commit_error(5, "ghost", None, 2) == E.UNKNOWN_MEMBER_ID
    assert g.commit_error(5, "", None, -1) == E.UNKNOWN_MEMBER_ID  # not standalone: the group is in use


def test_stable_sync_deadline_is_cleared_once_everyone_synced():
    g = stable()
    assert g.sync_deadline is None


# ---------------------------------------------------------------- Dead

def test_dead_group_refuses_everything():
    g = dead()
    assert join(g, 0, require=False).reply.error == E.COORDINATOR_NOT_AVAILABLE
    assert sync(g, 0, "a").reply.error == E.COORDINATOR_NOT_AVAILABLE
    assert hb(g, 0, "a") == E.COORDINATOR_NOT_AVAILABLE
    assert g.leave(0, [("a", None)])[0] == [E.COORDINATOR_NOT_AVAILABLE]
    assert g.commit_error(0, "", None, -1) == E.COORDINATOR_NOT_AVAILABLE
    assert g.tick(10**9).joins == [] and g.next_deadline() is None


# ---------------------------------------------------------------- static membership

def static_stable() -> Group:
    g = empty()
    join(g, 0, new_id="s1", instance="i1")
    sync(g, 0, "s1", assignments={"s1": b"S1"})
    join(g, 1, new_id="s2", instance="i2")
    join(g, 2, "s1", instance="i1")
    sync(g, 3, "s2", instance="i2")
    sync(g, 3, "s1", instance="i1", assignments={"s1": b"S1", "s2": b"S2"})
    assert g.state == S.STABLE and g.generation_id == 2
    return g


def test_static_member_skips_member_id_required():
    g = empty()
    out = join(g, 0, new_id="s1", instance="i1")
    assert out.reply is None and joins(out.effects)["s1"].error == E.NONE


def test_static_rejoin_in_stable_keeps_assignment_without_rebalance():
    g = static_stable()
    out = join(g, 10, new_id="s2-new", instance="i2")
    r = out.reply
    assert r.error == E.NONE and r.member_id == "s2-new" and r.generation_id == 2
    assert r.leader_id == "s1" and out.effects.persist and g.state == S.STABLE
    assert sync(g, 11, "s2-new", instance="i2").reply.assignment == b"S2"
    assert hb(g, 12, "s2", instance="i2") == E.FENCED_INSTANCE_ID
    assert hb(g, 12, "s1", instance="i1") == E.NONE  # the other member is undisturbed


def test_static_leader_rejoin_is_not_told_it_leads():
    g = static_stable()
    r = join(g, 10, new_id="s1-new", instance="i1").reply
    assert r.leader_id == "s1" and r.member_id == "s1-new" and g.leader_id == "s1-new"


def test_static_rejoin_with_other_protocol_choice_rebalances():
    g = static_stable()
    out = join(g, 10, new_id="s2-new", instance="i2", protocols=[("roundrobin", b"x")])
    assert out.parked == "s2-new" and g.state == S.PREPARING_REBALANCE


def test_static_rejoin_while_preparing_fences_the_old_parked_join():
    g = static_stable()
    join(g, 10, "s1", instance="i1", protocols=[("range", b"m")])  # s1 parked, s2 not yet rejoined
    out = join(g, 11, new_id="s1-new", instance="i1")
    assert joins(out.effects)["s1"].error == E.FENCED_INSTANCE_ID and out.parked == "s1-new"
    out = join(g, 12, "s2", instance="i2")
    assert set(joins(out.effects)) == {"s1-new", "s2"} and g.leader_id == "s1-new"


def test_static_rejoin_while_completing_rebalances():
    g = static_stable()
    join(g, 10, "s1", instance="i1")
    join(g, 11, "s2", instance="i2")
    assert g.state == S.COMPLETING_REBALANCE
    out = join(g, 12, new_id="s2-new", instance="i2")
    assert out.parked == "s2-new" and g.state == S.PREPARING_REBALANCE


def test_static_fencing_rules():
    g = static_stable()
    join(g, 10, new_id="s2-new", instance="i2")
    assert join(g, 11, "s2", instance="i2").reply.error == E.FENCED_INSTANCE_ID
    assert sync(g, 11, "s2", instance="i2").reply.error == E.FENCED_INSTANCE_ID
    assert g.commit_error(11, "s2", "i2", 2) == E.FENCED_INSTANCE_ID
    assert g.leave(11, [("s2", "i2")])[0] == [E.FENCED_INSTANCE_ID]


def test_static_leave_by_instance_id_alone():
    g = static_stable()
    errors, _ = g.leave(10, [("", "i2"), ("", "nope")])
    assert errors == [E.NONE, E.UNKNOWN_MEMBER_ID] and "s2" not in g.members


def test_static_member_session_expiry_removes_it():
    g = static_stable()
    hb(g, 3 + SESSION - 1, "s1", instance="i1")
    g.tick(3 + SESSION)
    assert "i2" not in g.static_members and g.state == S.PREPARING_REBALANCE


# ---------------------------------------------------------------- protocol choice

@pytest.mark.parametrize("prefs, expected", [
    ([["range", "roundrobin"], ["range", "roundrobin"]], "range"),
    ([["roundrobin", "range"], ["roundrobin", "range"], ["range", "roundrobin"]], "roundrobin"),
    ([["cooperative-sticky", "range"], ["range"]], "range"),
])
def test_protocol_vote(prefs, expected):
    g = empty()
    for i, names in enumerate(prefs):
        join(g, 0, new_id=f"m{i}", protocols=[(n, b"") for n in names], require=False)
        if i == 0:
            sync(g, 0, "m0")
    for i in range(len(prefs)):
        out = join(g, 1, f"m{i}", protocols=[(n, b"") for n in prefs[i]])
    assert g.protocol_name == expected, out
