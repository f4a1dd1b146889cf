"""Consumer groups: list, describe (members, assignments, committed offsets and lag), reset offsets
(earliest, latest, a time, a shift, an offset; a plan first, applied only when asked, as Kafka's
tool does) and delete."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kbroker.admin.models import GroupInfo, GroupMember, GroupSummary, OffsetChange, PartitionLag
from kbroker.admin.session import AdminError, InvalidRequest, NotFound, Session
from kbroker.admin.topics import partition_offsets, partitions_of

RESET_STRATEGIES = ("earliest", "latest", "datetime", "shift", "offset")


def list_groups(s: Session, states: Iterable[str] = ()) -> list[GroupSummary]:
    """Every group the brokers know, sorted by id; ``states`` keeps only groups in those states
    (Kafka's names: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead)."""
    states = list(states)
    got = s.call("list groups", s.admin.list_groups, states_filter=states or None)
    seen: dict[str, GroupSummary] = {}
    for g in got:
        seen[g["group_id"]] = GroupSummary(g["group_id"], g.get("protocol_type") or "", g.get("group_state") or "")
    return sorted(seen.values(), key=lambda g: g.group_id)


def committed_offsets(s: Session, group: str) -> dict[tuple[str, int], int]:
    got = s.call(f"fetch offsets of group {group!r}", s.admin.list_group_offsets, {group: None})
    return {(tp.topic, tp.partition): om.offset for tp, om in (got.get(group) or {}).items() if om.offset >= 0}


def describe_group(s: Session, group: str, *, missing_ok: bool = False) -> GroupInfo:
    """State, members and their assignments, and per partition the committed offset, the log end and
    the lag. A group the coordinator does not know raises ``NotFound``, or with ``missing_ok`` is
    described as Dead with no members and no offsets (for callers polling a group into existence)."""
    d = _describe_raw(s, group)
    missing = GroupInfo(group, "Dead", "", "", (), ())
    if d.get("error") and "GroupIdNotFound" in str(d["error"]):
        if missing_ok:
            return missing
        raise NotFound(f"group {group!r} does not exist")
    if d.get("error"):
        raise InvalidRequest(f"describe group {group!r}: {d['error']}")
    committed = committed_offsets(s, group)
    if d.get("group_state") == "Dead" and not committed:
        if missing_ok:
            return missing
        raise NotFound(f"group {group!r} does not exist")
    members = []
    owner: dict[tuple[str, int], str] = {}
    for m in d.get("members") or []:
        assignment: dict[str, tuple[int, ...]] | None = None
        raw = m.get("member_assignment")
        if d.get("protocol_type") == "consumer" and isinstance(raw, dict):
            assignment = {}
            for a in raw.get("assigned_partitions") or []:
                assignment[a["topic"]] = tuple(sorted(a["partitions"]))
                for p in a["partitions"]:
                    owner[a["topic"], p] = m["member_id"]
        members.append(GroupMember(m["member_id"], m.get("group_instance_id"), m.get("client_id") or "",
                                   m.get("client_host") or "", assignment))
    tps = sorted(set(committed) | set(owner))
    ends = _safe_ends(s, tps)
    offsets = tuple(PartitionLag(t, p, committed.get((t, p)), ends.get((t, p)), owner.get((t, p))) for t, p in tps)
    return GroupInfo(group, d.get("group_state") or "", d.get("protocol_type") or "", d.get("protocol_data") or "",
                     tuple(members), offsets)


def _safe_ends(s: Session, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Log end offsets; a partition of a deleted topic just has none."""
    try:
        return partition_offsets(s, tps, "latest")
    except NotFound:
        out: dict[tuple[str, int], int] = {}
        for tp in tps:
            try:
                out.update(partition_offsets(s, [tp], "latest"))
            except NotFound:
                pass
        return out


def plan_reset(s: Session, group: str, strategy: str, value: int | None = None,
               topics: Mapping[str, Iterable[int] | None] | None = None) -> list[OffsetChange]:
    """Where each partition's committed offset would go. ``strategy``: "earliest", "latest",
    "datetime" (``value`` = ms since the epoch), "shift" (``value`` = +/- N from the committed offset)
    or "offset" (``value`` = N). ``topics``: topic -> partitions (None = all of them); None = every
    topic the group has committed offsets for. Targets are clamped to [earliest, latest]."""
    if strategy not in RESET_STRATEGIES:
        raise AdminError(f"reset strategy {strategy!r} is not one of {', '.join(RESET_STRATEGIES)}")
    if strategy != "earliest" and strategy != "latest" and value is None:
        raise AdminError(f"reset strategy {strategy!r} needs a value")
    committed = committed_offsets(s, group)
    if topics is None:
        tps = sorted(committed)
    else:
        tps = []
        for t, parts in topics.items():
            tps += [(t, p) for p in (partitions_of(s, t) if parts is None else parts)]
        tps.sort()
    if not tps:
        return []
    lo = partition_offsets(s, tps, "earliest")
    hi = partition_offsets(s, tps, "latest")
    if strategy == "datetime":
        assert value is not None
        at = partition_offsets(s, tps, value)
    out = []
    for tp in tps:
        cur = committed.get(tp)
        if strategy == "earliest":
            target = lo[tp]
        elif strategy == "latest":
            target = hi[tp]
        elif strategy == "datetime":
            target = at[tp]
        elif strategy == "shift":
            assert value is not None
            target = (cur if cur is not None else lo[tp]) + value
        else:
            assert value is not None
            target = value
        out.append(OffsetChange(tp[0], tp[1], cur, min(max(target, lo[tp]), hi[tp])))
    return out


def apply_reset(s: Session, group: str, plan: Iterable[OffsetChange]) -> list[OffsetChange]:
    """Commits the plan's targets (the group must have no active members: Kafka's rule); returns the
    plan with each partition's error, if any."""
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    plan = list(plan)
    if not plan:
        return []
    state = describe_state(s, group)
    if state not in ("Empty", "Dead", ""):
        raise InvalidRequest(f"group {group!r} is {state}: stop its consumers before resetting offsets "
                             "(Kafka's rule: only an inactive group's offsets can be reset)")
    offsets = {TopicPartition(c.topic, c.partition): OffsetAndMetadata(c.target, "", -1) for c in plan}
    got = s.call(f"commit offsets of group {group!r}", s.admin.alter_group_offsets, group, offsets)
    out = []
    for c in plan:
        err = got.get(TopicPartition(c.topic, c.partition))
        name = getattr(err, "__name__", None)
        failed = err is not None and name != "NoError"
        out.append(OffsetChange(c.topic, c.partition, c.current, c.target,
                                (getattr(err, "message", name) if failed else None)))
    return out


def reset_offsets(s: Session, group: str, strategy: str, value: int | None = None,
                  topics: Mapping[str, Iterable[int] | None] | None = None, *,
                  execute: bool = False) -> list[OffsetChange]:
    """``plan_reset`` and, with ``execute``, ``apply_reset`` (dry run by default, as Kafka's tool)."""
    plan = plan_reset(s, group, strategy, value, topics)
    return apply_reset(s, group, plan) if execute else plan


def _describe_raw(s: Session, group: str) -> dict[str, Any]:
    try:
        got: dict[str, Any] = s.call(f"describe group {group!r}", s.admin.describe_groups, [group])[group]
    except NotFound:  # some brokers answer GROUP_ID_NOT_FOUND, others a Dead group
        return {"group_state": "Dead", "members": []}
    return got


def describe_state(s: Session, group: str) -> str:
    return str(_describe_raw(s, group).get("group_state") or "")


def delete_group(s: Session, group: str) -> None:
    """DeleteGroups: the group must be empty (``InvalidRequest`` otherwise; ``NotFound`` if unknown)."""
    got = s.call(f"delete group {group!r}", s.admin.delete_groups, [group])
    result = dict(got).get(group, "OK") if not isinstance(got, list) else dict(got).get(group, "OK")
    text = getattr(result, "__name__", str(result))
    if text in ("OK", "NoError"):
        return
    if "GroupIdNotFound" in text:
        raise NotFound(f"group {group!r} does not exist")
    if "NonEmptyGroup" in text:
        raise InvalidRequest(f"delete group {group!r}: the group has active members")
    raise InvalidRequest(f"delete group {group!r}: {text}")
