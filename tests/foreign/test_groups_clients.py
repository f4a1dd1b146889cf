"""Consumer groups with kafka-python, aiokafka, a mixed kafka-python + confluent-kafka group,
and kcat's balanced consumer (-G) — each a real client over TCP (acceptance 4 of issue 3).

The shape of each scenario: members join, the test waits until their assignments are
disjoint and cover every partition, then records are produced and each must be consumed
exactly once by the member owning its partition; commits after processing leave no lag.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
from collections import Counter

import pytest

from kbroker import admin
from tests.support.brokerproc import BrokerProcess
from tests.support.groups import (
    GROUP_OVERRIDES,
    SESSION_MS,
    confluent_conf,
    create_topic,
    disjoint_cover,
    produce,
)
from tests.support.tools import require_tool
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def gbroker(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("groups-clients") / "data", overrides=GROUP_OVERRIDES).start()
    yield b
    b.stop()


def lag_and_members(bootstrap: str, group: str) -> tuple[dict[tuple[str, int], int | None], list[dict]]:
    with admin.connect(bootstrap) as s:
        info = admin.describe_group(s, group, missing_ok=True).to_dict()
    return {(o["topic"], o["partition"]): o["lag"] for o in info["offsets"]}, info["members"]


def check_exactly_once(got: list[list[tuple[int, int, int]]], owned: list[set[int]], n: int) -> None:
    values = Counter(v for out in got for _, _, v in out)
    assert set(values) == set(range(n)) and max(values.values()) == 1
    for out, parts in zip(got, owned, strict=True):
        assert {p for p, _, _ in out} <= parts


class KafkaPythonMember(threading.Thread):
    """A kafka-python consumer polling in its own thread (it rejoins only from poll())."""

    def __init__(self, bootstrap: str, group: str, topic: str, **extra) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
            session_timeout_ms=SESSION_MS, heartbeat_interval_ms=300, **extra)
        self.consumer.subscribe([topic])
        # kafka-python 3.0.12 drops a rejoin it started itself when poll()'s timeout expires
        # before the SyncGroup answer arrives (see compat/FINDINGS.md). A leader whose first
        # assignment predates the first metadata answer after subscribe() rejoins by itself, so
        # fetch metadata (topics() always asks the broker) before the first poll() joins.
        wait_for(lambda: topic in self.consumer.topics(), what=f"kafka-python metadata of {topic}")
        self.got: list[tuple[int, int, int]] = []
        self.owned: set[int] = set()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                batch = self.consumer.poll(timeout_ms=100)
                for tp, recs in batch.items():
                    self.got.extend((tp.partition, r.offset, int(r.value)) for r in recs)
                if batch:
                    self.consumer.commit()
                self.owned = {tp.partition for tp in self.consumer.assignment()}
        except BaseException as e:  # surfaced by the test
            self.error = e
        finally:
            self.consumer.close()

    def finish(self) -> None:
        self.stop.set()
        self.join(30)
        assert self.error is None, self.error


def test_kafka_python_group(gbroker):
    bs, topic, group = gbroker.bootstrap, "kp-topic", "kp-group"
    create_topic(bs, topic, 4)
    members = [KafkaPythonMember(bs, group, topic) for _ in range(2)]
    for m in members:
        m.start()
    try:
        wait_for(lambda: disjoint_cover([m.owned for m in members], 4), what="kafka-python members sharing")
        owned = [set(m.owned) for m in members]
        produce(bs, topic, range(2000))
        wait_for(lambda: sum(len(m.got) for m in members) >= 2000, what="2000 records")
        check_exactly_once([m.got for m in members], owned, 2000)
        wait_for(lambda: all(v == 0 for v in lag_and_members(bs, group)[0].values()), what="no lag")
    finally:
        for m in members:
            m.finish()


def test_aiokafka_group(gbroker):
    from aiokafka import AIOKafkaConsumer

    bs, topic, group = gbroker.bootstrap, "aio-topic", "aio-group"
    create_topic(bs, topic, 4)

    async def main() -> None:
        consumers = [AIOKafkaConsumer(topic, bootstrap_servers=bs, group_id=group, auto_offset_reset="earliest",
                                      enable_auto_commit=False, session_timeout_ms=SESSION_MS,
                                      heartbeat_interval_ms=300) for _ in range(2)]
        got: list[list] = [[], []]
        stop = asyncio.Event()

        async def run(i: int) -> None:
            c = consumers[i]
            while not stop.is_set():
                batch = await c.getmany(timeout_ms=100)
                for tp, recs in batch.items():
                    got[i].extend((tp.partition, r.offset, int(r.value)) for r in recs)
                if batch:
                    await c.commit()

        async def until(cond, what: str) -> None:
            for _ in range(900):
                if cond():
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"timed out waiting for {what}")

        for c in consumers:
            await c.start()
        tasks = [asyncio.create_task(run(i)) for i in range(2)]
        try:
            def owned() -> list[set[int]]:
                return [{tp.partition for tp in c.assignment()} for c in consumers]

            await until(lambda: disjoint_cover(owned(), 4), "aiokafka members sharing")
            mine = owned()
            await asyncio.to_thread(produce, bs, topic, range(2000))
            await until(lambda: sum(map(len, got)) >= 2000, "2000 records")
            check_exactly_once(got, mine, 2000)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for c in consumers:
                await c.stop()

    asyncio.run(asyncio.wait_for(main(), 180))
    wait_for(lambda: all(v == 0 for v in lag_and_members(bs, group)[0].values()), what="no lag")


@pytest.mark.parametrize("assignor", ["range", "roundrobin"])
def test_mixed_kafka_python_and_confluent_group(gbroker, assignor):
    from confluent_kafka import Consumer
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    bs, topic, group = gbroker.bootstrap, f"mixed-{assignor}", f"mixed-{assignor}"
    create_topic(bs, topic, 6)
    strategy = RangePartitionAssignor if assignor == "range" else RoundRobinPartitionAssignor
    kp = KafkaPythonMember(bs, group, topic, partition_assignment_strategy=[strategy])
    kp.start()
    ck = Consumer(confluent_conf(bs, group, **{"partition.assignment.strategy": assignor}))
    ck.subscribe([topic])
    got: list[tuple[int, int, int]] = []

    def step() -> None:
        msgs = [m for m in ck.consume(200, 0.05) if m.error() is None]
        got.extend((m.partition(), m.offset(), int(m.value())) for m in msgs)
        if msgs:
            ck.commit(asynchronous=False)

    try:
        def owned() -> list[set[int]]:
            return [{tp.partition for tp in ck.assignment()}, set(kp.owned)]

        wait_for(lambda: disjoint_cover(owned(), 6), step, what="a mixed group sharing")
        mine = owned()
        produce(bs, topic, range(3000))
        wait_for(lambda: len(got) + len(kp.got) >= 3000, step, what="3000 records")
        check_exactly_once([got, kp.got], mine, 3000)
        _, members = lag_and_members(bs, group)
        assert len(members) == 2
    finally:
        kp.finish()
        ck.close()


def test_kcat_balanced_consumer(gbroker, tmp_path):
    kcat = require_tool("kcat")
    bs, topic, group = gbroker.bootstrap, "kcat-g-topic", "kcat-group"
    create_topic(bs, topic, 4)
    base = [kcat, "-b", bs, "-G", group, "-q", "-u", "-f", "%p %o %s\\n", "-X", "auto.offset.reset=earliest",
            "-X", f"session.timeout.ms={SESSION_MS}", "-X", "heartbeat.interval.ms=300"]
    # Two balanced consumers share the partitions.
    outs = [open(tmp_path / f"kcat{i}.out", "w") for i in range(2)]
    procs = [subprocess.Popen(base + [topic], stdout=o, stderr=subprocess.DEVNULL) for o in outs]
    try:
        def shares() -> list[set[int]]:
            _, members = lag_and_members(bs, group)
            return [set((m["assignment"] or {}).get(topic, [])) for m in members]

        wait_for(lambda: len(shares()) == 2 and disjoint_cover(shares(), 4), lambda: None,
                 what="two kcat members sharing the partitions")
        produce(bs, topic, range(1000))

        def lines() -> list[str]:
            return [ln for i in range(2) for ln in (tmp_path / f"kcat{i}.out").read_text().splitlines()]

        wait_for(lambda: len(lines()) >= 1000, what="kcat consuming 1000 records")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)  # kcat closes the consumer: final commit and LeaveGroup
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        for o in outs:
            o.close()
    assert sorted(int(ln.split()[2]) for ln in lines()) == list(range(1000))
    wait_for(lambda: lag_and_members(bs, group)[0] and all(v == 0 for v in lag_and_members(bs, group)[0].values()),
             what="kcat's commits")
    # A later kcat in the same group resumes after what was committed.
    produce(bs, topic, range(1000, 1200))
    r = subprocess.run(base + ["-c", "200", topic], capture_output=True, text=True, timeout=90)
    assert sorted(int(ln.split()[2]) for ln in r.stdout.splitlines()) == list(range(1000, 1200))
