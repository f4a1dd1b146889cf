"""Replaying ``__consumer_offsets`` with transactional offsets (kbroker.groups.store.load_groups):
a producer's offset records wait for its control batch — COMMIT applies them, ABORT drops them —
interleaved producers are kept apart, and what is still open at the end stays pending in its group."""

from __future__ import annotations

from kbroker.groups import codec
from kbroker.groups.codec import OffsetValue
from kbroker.groups.model import GroupConfig
from kbroker.groups.store import Entry, load_groups

CONFIG = GroupConfig(initial_rebalance_delay_ms=0, min_session_timeout_ms=6000, max_session_timeout_ms=1800000,
                     max_size=100)


def offset(group: str, partition: int, value: int, pid: int = -1) -> Entry:
    return Entry(codec.encode_offset_key(group, "t", partition),
                 codec.encode_offset_value(OffsetValue(value, -1, "", 1)), pid)


def committed(groups, gid: str) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return {p: v.offset for (_, p), v in groups[gid].offsets.items()}


def test_markers_decide_transactional_offsets() -> None:
    records = [
        offset("g", 0, 1),                  # a regular commit
        offset("g", 0, 10, pid=1),          # producer 1's transaction ...
        offset("g", 1, 20, pid=2),          # ... interleaved with producer 2's
        Entry(None, None, 2, False),        # producer 2 aborts
        Entry(None, None, 1, True),         # producer 1 commits
        offset("g", 1, 30, pid=3),          # producer 3: still open at the end
        offset("h", 0, 40, pid=3),
    ]
    groups = load_groups(iter(records), CONFIG, 0)
    assert committed(groups, "g") == {0: 10}
    assert {pid: {p: v.offset for (_, p), v in o.items()} for pid, o in groups["g"].pending_txn_offsets.items()} == {
        3: {1: 30}}
    assert committed(groups, "h") == {}
    assert groups["h"].has_pending_txn_offset(("t", 0))
    assert not groups["g"].has_pending_txn_offset(("t", 0))


def test_a_marker_without_offsets_changes_nothing_and_plain_pairs_still_load() -> None:
    records = [(codec.encode_offset_key("g", "t", 0), codec.encode_offset_value(OffsetValue(5, -1, "", 1))),
               Entry(None, None, 9, True)]
    groups = load_groups(iter(records), CONFIG, 0)  # type: ignore[arg-type]
    assert committed(groups, "g") == {0: 5}
    assert groups["g"].pending_txn_offsets == {}
