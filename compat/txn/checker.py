"""What the transaction scenarios prove, as pure functions over reads (lists of ``Rec``).

``check_isolation(plans, read, isolation)``: the records of the planned transactions that a reader at
``isolation`` saw. For ``read_committed`` they must be exactly the records of the committed transactions
(no aborted record, none missing, none twice), and within each partition each producer's records must
come in the order it sent them; for ``read_uncommitted``, the same over every transaction, committed or
aborted. Records of producers that are not in ``plans`` are ignored.

``check_copy(source, committed, uncommitted)`` is the Jepsen-style check of the consume-transform-produce
campaign. ``source`` is the input topic (each value a unique id), ``committed`` / ``uncommitted`` the
output topic read at both isolation levels. Violations:

- lost write: an input id absent from the committed output;
- duplicate: an input id more than once in the committed output;
- phantom: a committed output value that is no input id;
- order: the committed output of a partition is not the input partition's ids in their order (the app
  copies partition p to partition p, in order, so the two sequences must be equal);
- aborted read: a committed-read record that a read_uncommitted reader does not see at the same offset
  with the same value (a read_committed reader may only see a subset of what is in the log);
- aborted dupe visible: an id twice in the read_uncommitted output where every copy but one is not
  marked aborted, i.e. more than one of its copies was read as committed (the committed read holds
  each copy that is not aborted).

Each returns ``{category: [examples...]}`` (empty lists when clean) and ``summary`` makes one line of it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from compat.txn.clients import Rec, Txn

SHOWN = 10


def _owner(value: str) -> str:
    """``<name>-<i>-<j>`` -> name."""
    return value.rsplit("-", 2)[0]


def _index(value: str) -> tuple[int, int]:
    _, i, j = value.rsplit("-", 2)
    return int(i), int(j)


def check_isolation(plans: dict[str, list[Txn]], read: list[Rec], isolation: str) -> dict[str, list]:
    """``plans``: producer name -> its plan."""
    want: dict[tuple[str, int], list[str]] = defaultdict(list)
    for steps in plans.values():
        for s in steps:
            if s.committed or isolation == "read_uncommitted":
                for t, p, v in s.records:
                    want[(t, p)].append(v)
    got: dict[tuple[str, int], list[str]] = defaultdict(list)
    for r in read:
        if "-" in r.v and _owner(r.v) in plans:
            got[(r.t, r.p)].append(r.v)
    bad: dict[str, list] = {"missing": [], "unexpected": [], "duplicate": [], "order": [], "offsets": []}
    for tp in sorted(set(want) | set(got)):
        w, g = Counter(want[tp]), Counter(got[tp])
        bad["missing"] += [(tp, v) for v in w if v not in g]
        bad["unexpected"] += [(tp, v) for v in g if v not in w]
        bad["duplicate"] += [(tp, v, n) for v, n in g.items() if n > 1]
        for name in plans:
            mine = [_index(v) for v in got[tp] if _owner(v) == name]
            if mine != sorted(mine):
                bad["order"].append((tp, name))
    last: dict[tuple[str, int], int] = {}
    for r in read:
        if r.o <= last.get((r.t, r.p), -1):
            bad["offsets"].append((r.t, r.p, r.o))
        last[(r.t, r.p)] = r.o
    return bad


def check_copy(source: list[Rec], committed: list[Rec], uncommitted: list[Rec]) -> dict[str, list]:
    bad: dict[str, list] = {"lost write": [], "duplicate": [], "phantom": [], "order": [],
                            "aborted read": [], "aborted dupe visible": []}
    ids = {r.v for r in source}
    seen = Counter(r.v for r in committed)
    bad["lost write"] = sorted(ids - set(seen))
    bad["duplicate"] = sorted((v, n) for v, n in seen.items() if n > 1)
    bad["phantom"] = sorted(v for v in seen if v not in ids)
    src_by_p: dict[int, list[str]] = defaultdict(list)
    for r in source:
        src_by_p[r.p].append(r.v)
    out_by_p: dict[int, list[str]] = defaultdict(list)
    for r in committed:
        out_by_p[r.p].append(r.v)
    for p in sorted(set(src_by_p) | set(out_by_p)):
        s, o = src_by_p[p], out_by_p[p]
        if s != o:
            first = next((i for i, (a, b) in enumerate(zip(s, o, strict=False)) if a != b), min(len(s), len(o)))
            bad["order"].append({"partition": p, "first difference at": first, "input": s[first:first + 3],
                                 "output": o[first:first + 3], "lengths": (len(s), len(o))})
    at = {(r.p, r.o): r.v for r in uncommitted}
    bad["aborted read"] = [(r.p, r.o, r.v) for r in committed if at.get((r.p, r.o)) != r.v]
    committed_at = {(r.p, r.o) for r in committed}
    copies: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in uncommitted:
        copies[r.v].append((r.p, r.o))
    for v, places in copies.items():
        live = [pl for pl in places if pl in committed_at]
        if len(places) > 1 and len(live) > 1:
            bad["aborted dupe visible"].append((v, places))
    return bad


def aborted_copies(committed: list[Rec], uncommitted: list[Rec]) -> int:
    """How many records of the read_uncommitted output a read_committed reader does not see (the
    aborted transactions' records: what the app's kills left behind)."""
    committed_at = {(r.p, r.o) for r in committed}
    return sum(1 for r in uncommitted if (r.p, r.o) not in committed_at)


def violations(bad: dict[str, list]) -> int:
    return sum(len(v) for v in bad.values())


def summary(bad: dict[str, list]) -> str:
    parts = [f"{k}: {len(v)}" + (f" e.g. {v[:SHOWN]}" if v else "") for k, v in bad.items()]
    return "; ".join(parts) + f" -> violations: {violations(bad)}"
