"""The check of the cluster failover scenarios (tests/support/failover.py ``verify``) on doctored
data: it passes a perfect read-back and names each kind of damage, so that a scenario that passes is
known to be able to fail."""

from __future__ import annotations

import pytest

from tests.support.failover import PARTITIONS, Rec, plan, verify

N = 60


def _perfect() -> tuple[list[Rec], list[Rec]]:
    nxt = [0] * PARTITIONS
    acked = []
    for p, v in plan(N):
        acked.append(Rec(p, nxt[p], v))
        nxt[p] += 1
    return acked, list(acked)


def test_a_perfect_read_back_passes() -> None:
    acked, read = _perfect()
    assert verify(acked, read, N) == "60 records exactly once, in order ([20, 20, 20] a partition)"
    # a consumer may interleave partitions in any way
    assert verify(acked, sorted(read, key=lambda r: (r.partition, r.offset)), N).startswith("60 records")


def _swap_values(read: list[Rec], i: int, j: int) -> list[Rec]:
    out = list(read)
    out[i], out[j] = out[i]._replace(value=read[j].value), out[j]._replace(value=read[i].value)
    return out


def _dup_at_end(read: list[Rec]) -> list[Rec]:
    """Record 0 stored again at the end of partition 0 (a retried batch appended twice)."""
    last = max(r.offset for r in read if r.partition == 0)
    return read + [Rec(0, last + 1, read[0].value)]


@pytest.mark.parametrize("damage, kind", [
    (lambda a, r: (a, r[:-1]), "not at their offsets"),  # an acknowledged record lost
    (lambda a, r: (a[:-1], r[:-1]), "never acknowledged"),
    (lambda a, r: (a, _dup_at_end(r)), "not exactly once"),
    (lambda a, r: (a, r + [r[5]]), "delivered 1 records twice"),
    (lambda a, r: (a, _swap_values(r, 0, 3)), "produce order"),  # two records of partition 0 swapped
    (lambda a, r: (a, [x._replace(offset=x.offset + 1) if x.partition == 1 else x for x in r]), "contiguous"),
    (lambda a, r: (a, [x._replace(partition=2) if x == r[0] else x for x in r]), "not at their offsets"),
    (lambda a, r: (a, r + [Rec(1, 20, b"999")]), "never sent"),
    (lambda a, r: (a, [r[3], r[0]] + [x for x in r if x not in (r[0], r[3])]), "delivered after"),
])
def test_damage_is_named(damage, kind) -> None:
    acked, read = damage(*_perfect())
    with pytest.raises(AssertionError, match=kind):
        verify(acked, read, N)


def test_at_least_once_allows_repeats_but_not_losses() -> None:
    acked, read = _perfect()
    assert verify(acked, read + read[:4], N, exactly_once=False).startswith("60 records at least once")
    with pytest.raises(AssertionError, match="not at their offsets"):
        verify(acked, read[1:], N, exactly_once=False)
