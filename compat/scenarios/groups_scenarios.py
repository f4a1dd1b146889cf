"""Consumer-group scenarios, for every client row (columns ``group`` and ``group-failover``).

``group``: two members of the client's kind share a 4-partition topic — their assignments
(as the coordinator stores them, read with DescribeGroups) are disjoint and cover every
partition — and each of 2,000 records is processed exactly once, by the member owning its
partition; their commits leave no lag; after both leave, a new member resumes after the
committed offsets and reads exactly the 200 records produced since.

``group-failover``: of two members, one is SIGKILLed (no LeaveGroup): after its session
timeout the survivor owns every partition and processes everything produced afterwards;
since members commit only after processing, nothing is lost.

Members are separate processes (``groups_members``); records are produced with
confluent-kafka (setup, not the client under test); DescribeGroups, OffsetFetch and
ListOffsets come from ``kbroker.admin``.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compat.scenarios.common import STEP_TIMEOUT, ScenarioFailed, topic_name
from compat.scenarios.groups_members import MemberProcess
from kbroker import admin

PARTITIONS = 4


def _wait(cond: Callable[[], bool], what: str, members: list[MemberProcess], timeout: float = STEP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        for m in members:
            if not m.alive() and m.proc.returncode not in (0, -9):
                raise ScenarioFailed(f"member {m.client_id} exited {m.proc.returncode}: {m.stderr_tail()}")
        if time.monotonic() > deadline:
            raise ScenarioFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _describe(bootstrap: str, group: str) -> dict[str, Any]:
    with admin.connect(bootstrap) as s:
        return admin.describe_group(s, group, missing_ok=True).to_dict()


def _shares(bootstrap: str, group: str, topic: str) -> dict[str, set[int]]:
    """client id -> partitions of ``topic`` the coordinator says it owns (Stable groups only)."""
    info = _describe(bootstrap, group)
    if info["state"] != "Stable":
        return {}
    return {m["client_id"]: set((m["assignment"] or {}).get(topic, [])) for m in info["members"]}


def _covers(shares: dict[str, set[int]], n: int) -> bool:
    parts = list(shares.values())
    return bool(parts) and all(parts) and sum(map(len, parts)) == n and set().union(*parts) == set(range(n))


def _no_lag(bootstrap: str, group: str) -> bool:
    offsets = _describe(bootstrap, group)["offsets"]
    return len(offsets) == PARTITIONS and all(o["lag"] == 0 for o in offsets)


def _create_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(STEP_TIMEOUT)


def _produce(bootstrap: str, topic: str, values: range) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in values:
        p.produce(topic, key=str(i).encode(), value=str(i).encode())
        p.poll(0)
    if p.flush(STEP_TIMEOUT):
        raise ScenarioFailed("the producer could not deliver the records")


def group_scenario(client: str, bootstrap: str) -> str:
    topic, group = topic_name(client, "group"), topic_name(client, "g")
    _create_topic(bootstrap, topic)
    out = Path(tempfile.mkdtemp(prefix="kbroker-groups-"))
    members = [MemberProcess(client, bootstrap, topic, group, f"member-{i}", out) for i in range(2)]
    try:
        _wait(lambda: _covers(_shares(bootstrap, group, topic), PARTITIONS) and
              len(_shares(bootstrap, group, topic)) == 2, "two members sharing the partitions", members)
        shares = _shares(bootstrap, group, topic)
        _produce(bootstrap, topic, range(2000))
        _wait(lambda: sum(len(m.records()) for m in members) >= 2000, "2000 records processed", members)
        _wait(lambda: _no_lag(bootstrap, group), "the commits to catch up", members)
        counts = Counter(v for m in members for _, _, v in m.records())
        if set(counts) != set(range(2000)) or max(counts.values()) != 1:
            dup = sum(1 for c in counts.values() if c > 1)
            raise ScenarioFailed(f"not exactly once: {len(counts)} distinct values, {dup} repeated")
        for m in members:
            stray = {p for p, _, _ in m.records()} - shares[m.client_id]
            if stray:
                raise ScenarioFailed(f"{m.client_id} read partitions {sorted(stray)} it was not assigned")
    finally:
        for m in members:
            m.stop()
    _produce(bootstrap, topic, range(2000, 2200))
    late = MemberProcess(client, bootstrap, topic, group, "member-late", out)
    try:
        _wait(lambda: len(late.records()) >= 200, "a new member reading what came after the commits", [late])
        time.sleep(1)  # a member that ignored the commits would now be re-reading old records
        values = sorted(v for _, _, v in late.records())
    finally:
        late.stop()
    if values != list(range(2000, 2200)):
        raise ScenarioFailed(f"the new member did not resume at the committed offsets: read {len(values)} "
                             f"records, first {values[:3]}")
    sizes = sorted(len(s) for s in shares.values())
    return f"2 members ({sizes[0]}+{sizes[1]} partitions), 2000 records exactly once, resumed after commits"


def failover_scenario(client: str, bootstrap: str) -> str:
    topic, group = topic_name(client, "failover"), topic_name(client, "f")
    _create_topic(bootstrap, topic)
    out = Path(tempfile.mkdtemp(prefix="kbroker-groups-"))
    doomed, survivor = (MemberProcess(client, bootstrap, topic, group, name, out) for name in ("doomed", "survivor"))
    members = [doomed, survivor]
    try:
        _wait(lambda: len(_shares(bootstrap, group, topic)) == 2 and _covers(_shares(bootstrap, group, topic),
                                                                             PARTITIONS),
              "two members sharing the partitions", members)
        _produce(bootstrap, topic, range(1000))
        _wait(lambda: len({v for m in members for _, _, v in m.records()}) >= 1000, "1000 records", members)
        doomed.kill()
        t0 = time.monotonic()
        _wait(lambda: _shares(bootstrap, group, topic) == {"survivor": set(range(PARTITIONS))},
              "the survivor to own every partition", [survivor])
        took = time.monotonic() - t0
        _produce(bootstrap, topic, range(1000, 2000))
        _wait(lambda: set(range(1000, 2000)) <= {v for _, _, v in survivor.records()},
              "the survivor to process everything produced after the crash", [survivor])
        seen = {v for m in members for _, _, v in m.records()}
        if seen != set(range(2000)):
            raise ScenarioFailed(f"lost records: {sorted(set(range(2000)) - seen)[:5]}")
        _wait(lambda: _no_lag(bootstrap, group), "the survivor's commits to catch up", [survivor])
    finally:
        for m in members:
            m.stop()
    return f"crashed member's partitions taken over after {took:.1f}s; 2000 records, none lost"


GROUP_COLUMNS: tuple[str, ...] = ("group", "group-failover")


def _bind(fn: Callable[[str, str], str], client: str) -> Callable[[str], str]:
    return lambda bootstrap: fn(client, bootstrap)


#: client row -> {column: scenario(bootstrap)}
GROUP_SCENARIOS: dict[str, dict[str, Callable[[str], str]]] = {
    c: {"group": _bind(group_scenario, c), "group-failover": _bind(failover_scenario, c)}
    for c in ("kafka-python", "confluent-kafka", "aiokafka", "kcat")
}
