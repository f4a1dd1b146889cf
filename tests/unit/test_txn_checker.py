"""compat/txn/checker.py finds each kind of violation it names, and none in a clean history (the
transaction scenarios' verdicts rest on it)."""

from __future__ import annotations

from compat.txn.checker import check_copy, check_isolation, violations
from compat.txn.clients import Rec, plan

TOPICS = ["a", "b"]


def _log(plans, committed_only: bool) -> list[Rec]:
    """What a correct broker would return: per partition, the records in plan order."""
    out, offs = [], {}
    for steps in plans.values():
        for s in steps:
            for t, p, v in s.records:
                o = offs.get((t, p), 0)
                offs[(t, p)] = o + 1
                if s.committed or not committed_only:
                    out.append(Rec(t, p, o, v))
    return out


def test_plan_commits_and_aborts_as_asked() -> None:
    steps = plan("x", TOPICS, 3, 6, 2, 3)
    assert [s.committed for s in steps] == [True, True, False, True, True, False]
    assert len(steps[0].records) == 12 and steps[0].records[0] == ("a", 0, "x-0-0")


def test_isolation_clean_and_each_violation() -> None:
    plans = {"x": plan("x", TOPICS, 3, 6, 2, 3), "y": plan("y", TOPICS, 3, 3, 1, 2)}
    rc, ru = _log(plans, True), _log(plans, False)
    assert violations(check_isolation(plans, rc, "read_committed")) == 0
    assert violations(check_isolation(plans, ru, "read_uncommitted")) == 0
    # an aborted record seen at read_committed
    bad = check_isolation(plans, ru, "read_committed")
    assert bad["unexpected"] and not bad["missing"]
    # a committed record lost
    assert check_isolation(plans, rc[1:], "read_committed")["missing"]
    # a record twice
    assert check_isolation(plans, [*rc, rc[0]], "read_committed")["duplicate"]
    # one producer's records out of order within a partition (offsets kept increasing)
    p0 = [r for r in rc if (r.t, r.p) == ("a", 0) and r.v.startswith("x-")]
    swapped = [Rec(r.t, r.p, r.o, p0[1].v if r == p0[0] else p0[0].v if r == p0[1] else r.v) for r in rc]
    bad = check_isolation(plans, swapped, "read_committed")
    assert bad["order"] == [(("a", 0), "x")] and not bad["missing"]
    # offsets going backwards within a partition
    assert check_isolation(plans, [*rc, Rec("a", 0, 0, "other")], "read_committed")["offsets"]
    # records of producers not in the plans are ignored
    assert violations(check_isolation(plans, [*rc, Rec("a", 0, 999, "z-0-0")], "read_committed")) == 0


def _copy_history():
    source = [Rec("A", p, o, f"id-{p}-{o}") for p in range(2) for o in range(4)]
    # partition 0 of B: an aborted transaction holding id-0-0 and id-0-1 (offsets 0, 1, marker 2), then all
    # of partition 0 committed (3..6, marker 7); partition 1 straight through
    uncommitted = [Rec("B", 0, 0, "id-0-0"), Rec("B", 0, 1, "id-0-1"),
                   *[Rec("B", 0, 3 + i, f"id-0-{i}") for i in range(4)],
                   *[Rec("B", 1, i, f"id-1-{i}") for i in range(4)]]
    committed = [r for r in uncommitted if not (r.p == 0 and r.o < 2)]
    return source, committed, uncommitted


def test_copy_clean_and_each_violation() -> None:
    source, committed, uncommitted = _copy_history()
    assert violations(check_copy(source, committed, uncommitted)) == 0
    assert check_copy(source, committed[1:], uncommitted)["lost write"] == ["id-0-0"]
    # an aborted copy read as committed: a duplicate and a visible aborted dupe
    bad = check_copy(source, [uncommitted[0], *committed], uncommitted)
    assert bad["duplicate"] == [("id-0-0", 2)] and bad["aborted dupe visible"]
    assert check_copy(source, [*committed, Rec("B", 1, 9, "id-9-9")], uncommitted)["phantom"] == ["id-9-9"]
    # a committed read that the log does not hold at that offset
    moved = [Rec(r.t, r.p, r.o + 100, r.v) if r.v == "id-1-3" else r for r in committed]
    assert check_copy(source, moved, uncommitted)["aborted read"] == [(1, 103, "id-1-3")]
    # per-partition order
    reordered = [*committed[:1], committed[2], committed[1], *committed[3:]]
    assert check_copy(source, reordered, uncommitted)["order"]
