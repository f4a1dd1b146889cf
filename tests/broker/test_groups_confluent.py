"""Consumer groups with confluent-kafka (librdkafka) over TCP: sharing partitions exactly
once, surviving a member that closes and one that is SIGKILLed, cooperative-sticky
rebalancing, and static membership (acceptance 1, 2, 4 (part), 5 of issue 3)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.support.brokerproc import BrokerProcess
from tests.support.groups import (
    GROUP_OVERRIDES,
    SESSION_MS,
    WAIT,
    assignments,
    confluent_conf,
    create_topic,
    disjoint_cover,
    poll_all,
    produce,
)
from tests.support.waiting import wait_for

confluent_kafka = pytest.importorskip("confluent_kafka")
Consumer = confluent_kafka.Consumer
TopicPartition = confluent_kafka.TopicPartition


@pytest.fixture(scope="module")
def gbroker(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("groups") / "data", overrides=GROUP_OVERRIDES).start()
    yield b
    b.stop()


def test_three_consumers_share_six_partitions_exactly_once(gbroker):
    bs = gbroker.bootstrap
    create_topic(bs, "g1-topic", 6)
    consumers = [Consumer(confluent_conf(bs, "g1")) for _ in range(3)]
    try:
        for c in consumers:
            c.subscribe(["g1-topic"])
        sink: list[list] = [[], [], []]
        wait_for(lambda: disjoint_cover(assignments(consumers), 6), lambda: poll_all(consumers, sink),
                 what="three disjoint assignments covering 6 partitions")
        owned = assignments(consumers)
        produce(bs, "g1-topic", range(30_000))
        wait_for(lambda: sum(map(len, sink)) >= 30_000, lambda: poll_all(consumers, sink), what="30,000 records")
        poll_all(consumers, sink, timeout=0.5)  # anything extra would be a duplicate
        values = Counter(v for out in sink for _, _, v in out)
        assert set(values) == set(range(30_000)) and max(values.values()) == 1
        for out, parts in zip(sink, owned, strict=True):
            assert {p for p, _, _ in out} <= parts
        assert assignments(consumers) == owned  # nobody rebalanced meanwhile
    finally:
        for c in consumers:
            c.close()


KILLABLE = r"""
import sys
from confluent_kafka import Consumer
bs, topic, group, session = sys.argv[1:5]
c = Consumer({"bootstrap.servers": bs, "group.id": group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "session.timeout.ms": int(session), "heartbeat.interval.ms": 300})
c.subscribe([topic])
while True:
    msgs = c.consume(200, 0.1)
    good = [m for m in msgs if m.error() is None]
    if good:
        print("V " + " ".join(m.value().decode() for m in good), flush=True)  # processed ...
        c.commit(asynchronous=False)                                        # ... then committed
    print("A " + ",".join(str(tp.partition) for tp in c.assignment()), flush=True)
"""


def test_member_closes_and_member_killed_survivor_takes_all(gbroker, tmp_path):
    bs, topic, group = gbroker.bootstrap, "g2-topic", "g2"
    create_topic(bs, topic, 6)
    produce(bs, topic, range(3000))
    out_path = tmp_path / "killable.out"
    with open(out_path, "w") as out:
        killable = subprocess.Popen([sys.executable, "-c", KILLABLE, bs, topic, group, str(SESSION_MS)],
                                    stdout=out, stderr=subprocess.DEVNULL)
    survivor = Consumer(confluent_conf(bs, group))
    closer = Consumer(confluent_conf(bs, group))
    seen: list[int] = []

    def step(consumers: list) -> None:
        for c in consumers:
            msgs = [m for m in c.consume(200, 0.05) if m.error() is None]
            if msgs:
                seen.extend(int(m.value()) for m in msgs)
                c.commit(asynchronous=False)

    def killable_assignment() -> set[int]:
        lines = [ln for ln in out_path.read_text().splitlines() if ln.startswith("A ")]
        return {int(p) for p in lines[-1][2:].split(",") if p} if lines else set()

    try:
        survivor.subscribe([topic])
        closer.subscribe([topic])
        wait_for(lambda: all(assignments([survivor, closer])) and killable_assignment()
                 and disjoint_cover(assignments([survivor, closer]) + [killable_assignment()], 6),
                 lambda: step([survivor, closer]), what="three members sharing the partitions")
        closer.close()  # LeaveGroup
        killable.send_signal(signal.SIGKILL)  # no LeaveGroup: only its session timeout tells
        killable.wait(30)
        wait_for(lambda: assignments([survivor])[0] == set(range(6)), lambda: step([survivor]),
                 what="the survivor owning all partitions")
        produce(bs, topic, range(3000, 6000))
        processed_by_killed = {int(v) for ln in out_path.read_text().splitlines() if ln.startswith("V ")
                               for v in ln[2:].split()}
        wait_for(lambda: set(range(3000, 6000)) <= set(seen), lambda: step([survivor]),
                 what="everything produced after the kill")
        assert set(range(6000)) <= set(seen) | processed_by_killed  # nothing lost
        committed = survivor.committed([TopicPartition(topic, p) for p in range(6)], 30)
        ends = [survivor.get_watermark_offsets(TopicPartition(topic, p), 30)[1] for p in range(6)]
        assert [tp.offset for tp in committed] == ends
    finally:
        if killable.poll() is None:
            killable.kill()
        survivor.close()


def test_cooperative_sticky_moves_only_what_it_must(gbroker):
    bs, topic = gbroker.bootstrap, "g3-topic"
    create_topic(bs, topic, 6)
    revoked: list[list[set[int]]] = [[], [], []]

    def consumer(i: int):
        c = Consumer(confluent_conf(bs, "g3", **{"partition.assignment.strategy": "cooperative-sticky"}))
        c.subscribe([topic], on_revoke=lambda _c, parts: revoked[i].append({p.partition for p in parts}))
        return c

    consumers = [consumer(0)]
    sink: list[list] = [[], [], []]
    try:
        wait_for(lambda: assignments(consumers) == [set(range(6))], lambda: poll_all(consumers, sink[:1]),
                 what="the first member owning everything")
        for i in (1, 2):
            before = assignments(consumers)
            consumers.append(consumer(i))
            wait_for(lambda: disjoint_cover(assignments(consumers), 6),
                     lambda: poll_all(consumers, sink[:len(consumers)]), what=f"{i + 1} members sharing")
            after = assignments(consumers)
            for old, new in zip(before, after, strict=False):
                assert new <= old  # incremental: an old member only gives partitions away
        assert all(len(p) == 2 for p in assignments(consumers))
        assert set(range(6)) not in revoked[0]  # never a stop-the-world revocation of everything
        assert sum(len(s) for s in revoked[0]) == 4  # it gave away exactly four partitions
        produce(bs, topic, range(600))
        wait_for(lambda: sum(map(len, sink)) >= 600, lambda: poll_all(consumers, sink), what="600 records")
        assert sorted(v for out in sink for _, _, v in out) == list(range(600))
    finally:
        for c in consumers:
            c.close()


def test_static_member_returns_to_its_assignment_without_rebalance(gbroker):
    bs, topic, group = gbroker.bootstrap, "g5-topic", "g5"
    create_topic(bs, topic, 4)
    events: list[str] = []

    def static(name: str, track: bool = False):
        c = Consumer(confluent_conf(bs, group, **{"group.instance.id": name}))
        if track:
            c.subscribe([topic], on_assign=lambda *_: events.append("assign"),
                        on_revoke=lambda *_: events.append("revoke"))
        else:
            c.subscribe([topic])
        return c

    steady = static("steady", track=True)
    leaving = static("leaving")
    sink: list[list] = [[], []]
    try:
        wait_for(lambda: disjoint_cover(assignments([steady, leaving]), 4),
                 lambda: poll_all([steady, leaving], sink), what="two static members sharing")
        mine = assignments([leaving])[0]
        events.clear()
        leaving.close()  # a static member sends no LeaveGroup on close
        back = static("leaving")
        wait_for(lambda: bool(assignments([back])[0]), lambda: poll_all([steady, back], sink),
                 what="the static member's assignment")
        assert assignments([back])[0] == mine
        deadline = time.monotonic() + 2  # give a (wrong) rebalance the chance to show up
        while time.monotonic() < deadline:
            poll_all([steady, back], sink)
        assert events == [] and assignments([back])[0] == mine
        # Gone for longer than its session timeout: it is dropped and the other member takes all.
        back.close()
        wait_for(lambda: assignments([steady])[0] == set(range(4)), lambda: poll_all([steady], sink[:1]),
                 timeout=WAIT, what="the steady member taking over after the session timeout")
    finally:
        steady.close()
