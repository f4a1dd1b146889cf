"""A consumer group consuming through a kill of its coordinator in a three-broker cluster: the
scenario shared by tests/broker/test_cluster_groups.py (confluent-kafka members) and
tests/foreign/test_cluster_groups.py (Java members). This module holds no tests.

The members commit offset+1 synchronously after each record and, when a commit fails, go back to
that record, so delivery is at-least-once and a record can only come twice when a commit of it
failed. Together they process at most a limit of records, which the scenario sets stage by stage:
once a third of the records is consumed it stops them taking more and kills (SIGKILL) the broker
leading the group's ``__consumer_offsets`` partition, with commits in flight; once another broker
is named coordinator and those commits ended, the committed offsets it answers must be the last
ones each member saw acknowledged. Then one member leaves (its partitions go to the others, from
the committed offsets), the two consume up to half the records, the killed broker is restarted and
the preferred-leader check gives the group's partition back to its preferred replica; a new member
joins and the three consume the rest. At the end: every produced record consumed, a record consumed
twice only after a failed commit of it, the committed offsets equal to every partition's log end,
and no committed offset ever lower than one seen before (the members' own commits and a sampler
reading them with OffsetFetch all along)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FAST = {"zookeeper.session.timeout.ms": "6000", "replica.lag.time.max.ms": "3000",
        "leader.imbalance.check.interval.seconds": "5", "offsets.topic.num.partitions": "6",
        "offsets.topic.replication.factor": "3", "group.initial.rebalance.delay.ms": "0",
        "replica.fetch.wait.max.ms": "200"}
PARTITIONS = 6
RECORDS = 3000
MEMBERS = 3


def produce_values(bootstrap: str, topic: str, n: int) -> dict[int, tuple[int, int]]:
    """Produces str(i) keyed by str(i), idempotently with acks=all; returns value -> (partition, offset)."""
    from confluent_kafka import Producer

    where: dict[int, tuple[int, int]] = {}
    errors: list[Any] = []

    def report(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)
        else:
            where[int(msg.value())] = (msg.partition(), msg.offset())

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    for i in range(n):
        for _ in range(1000):
            try:
                p.produce(topic, value=str(i).encode(), key=str(i).encode(), on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0
    assert not errors, errors[:5]
    assert sorted(where) == list(range(n))
    return where


@dataclass
class Events:
    """What the members did, in the order they reported it."""
    processed: list[tuple[int, int, int, int]] = field(default_factory=list)  # member, partition, offset, value
    commits: list[tuple[int, int, int]] = field(default_factory=list)  # member, partition, committed offset
    failed: list[tuple[int, int, int, str]] = field(default_factory=list)  # member, partition, offset, error
    errors: list[str] = field(default_factory=list)
    left: set[int] = field(default_factory=set)  # members that left the group
    limit: int = RECORDS // 2  # how many records the members may process, counting each delivery
    lock: threading.Lock = field(default_factory=threading.Lock)
    taken: int = 0

    def admit(self) -> bool:
        """Takes one of the records the limit allows, if any is left."""
        with self.lock:
            if self.taken >= self.limit:
                return False
            self.taken += 1
            return True

    def freeze(self) -> None:
        """No more records than the members have taken."""
        with self.lock:
            self.limit = self.taken

    def record(self, line: str) -> None:
        """One line in the format of tests/java/ClusterGroupMembers.java."""
        parts = line.split()
        if not parts:
            return
        with self.lock:
            if parts[0] == "R":
                self.processed.append((int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4])))
            elif parts[0] == "C":
                self.commits.append((int(parts[1]), int(parts[2]), int(parts[3])))
            elif parts[0] == "F":
                self.failed.append((int(parts[1]), int(parts[2]), int(parts[3]), " ".join(parts[4:])))
            elif parts[0] == "X":
                self.errors.append(line)
            elif parts[0] == "L":
                self.left.add(int(parts[1]))

    def count(self) -> int:
        with self.lock:
            return len(self.processed)

    def distinct(self) -> int:
        with self.lock:
            return len({v for *_, v in self.processed})


class CommittedSampler(threading.Thread):
    """Reads the group's committed offsets (OffsetFetch through a consumer that never joins) over and
    over, keeping every answer, until stopped."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition

        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                                  "log_level": 0})
        self.tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        self.samples: list[dict[int, int]] = []
        self.stop = threading.Event()

    def read(self, timeout: float = 10) -> dict[int, int]:
        return {tp.partition: tp.offset for tp in self.consumer.committed(self.tps, timeout=timeout)}

    def run(self) -> None:
        while not self.stop.wait(0.3):
            try:
                self.samples.append(self.read(5))
            except Exception:  # noqa: BLE001 - no coordinator during the failover
                continue

    def close(self) -> None:
        self.stop.set()
        self.join(30)
        self.consumer.close()


def coordinator(cluster: Any, group: str) -> int:
    """The node FindCoordinator names for ``group`` (asked of the first live broker), -1 when none."""
    from tests.support.rawclient import RawClient
    from wire.messages.find_coordinator import FindCoordinatorRequest

    for b in cluster.brokers.values():
        if b.proc is None or b.proc.poll() is not None:
            continue
        try:
            with RawClient.connect(b.bootstrap) as raw:
                r = raw.request(FindCoordinatorRequest(key=group, key_type=0), 3)
        except OSError:
            continue
        return r.node_id if r.error_code == 0 else -1
    return -1


def offsets_partition(group: str, partitions: int = PARTITIONS) -> int:
    """The group's ``__consumer_offsets`` partition as Kafka picks it: the absolute value of Java's
    String.hashCode of the group id (over UTF-16 code units, as int32; Integer.MIN_VALUE counts as 0)."""
    h = 0
    data = group.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def log_ends(cluster: Any, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "log-ends", "log_level": 0})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)}
    finally:
        c.close()


@dataclass
class Run:
    killed: int
    new_coordinator: int
    processed_at_kill: int
    commits_at_kill: int
    processed_at_return: int


def through_a_coordinator_kill(cluster: Any, group: str, topic: str, events: Events, members_alive,
                               sampler: CommittedSampler, set_limit, freeze, leave, join, n: int = RECORDS,
                               timeout: float = 240) -> Run:
    """Drives the scenario while the members run (``set_limit`` raises their limit, which starts at
    ``n // 2``; ``freeze`` lowers it to what they have taken; ``leave(i)`` closes member ``i``,
    ``join()`` starts one more); returns once every value was consumed and the committed offsets
    reach every log end."""
    def consumed(k: int) -> bool:
        if not members_alive() or events.errors:
            raise AssertionError(f"the members stopped: {events.errors}")
        return events.distinct() >= k

    cluster.wait(lambda: consumed(n // 3), timeout, f"{n // 3} records consumed")
    killed = coordinator(cluster, group)
    assert killed in cluster.brokers, killed
    # the coordinator is the leader of the group's partition of __consumer_offsets
    state = cluster.describe("__consumer_offsets")[offsets_partition(group)]
    assert state.leader == killed and len(state.replicas) == 3, (killed, state)
    # no record taken from now until the commits are checked; the ones being processed go on
    freeze()
    with events.lock:
        processed_at_kill, commits_at_kill = len(events.processed), len(events.commits)
    cluster.kill(killed)
    new = cluster.wait(lambda: (lambda c: c if c not in (killed, -1) else None)(coordinator(cluster, group)),
                       60, "another broker to coordinate the group")

    def settled() -> bool:
        consumed(0)
        with events.lock:
            return len(events.processed) == len(events.commits) + len(events.failed)
    cluster.wait(settled, 120, "every commit in flight at the kill to succeed or fail")
    survived = cluster.wait(sampler.read, 60, "the committed offsets from the new coordinator")
    with events.lock:
        acked: dict[int, int] = {}
        for _, p, o in events.commits:
            acked[p] = max(o, acked.get(p, 0))
        failed_next = {(p, o + 1) for _, p, o, _ in events.failed}
    # every commit a member saw succeed survived the kill; above it only one whose answer was lost
    for p in range(PARTITIONS):
        got = survived[p]
        assert got == acked.get(p, -1001) or (p, got) in failed_next, (p, got, acked.get(p), failed_next)
    # one member leaves: the new coordinator rebalances the group it loaded, and the partitions move
    # to the others, which start them at the committed offsets
    leave(0)
    cluster.wait(lambda: 0 in events.left, 60, "member 0 to leave")
    set_limit(n // 2)
    cluster.wait(lambda: consumed(n // 2), timeout, f"{n // 2} records consumed")
    cluster.restart(killed)
    preferred = state.replicas[0]
    cluster.wait(lambda: coordinator(cluster, group) == preferred, 120,
                 f"the preferred-leader check to give the group to broker {preferred}")
    processed_at_return = events.count()
    join()  # a third member again, joining through the coordinator that came back
    set_limit(10 * n)
    cluster.wait(lambda: consumed(n), timeout, "every record consumed")
    ends = log_ends(cluster, topic)
    cluster.wait(lambda: sampler.read() == ends, 60, f"the committed offsets to reach the log ends {ends}")
    return Run(killed, new, processed_at_kill, commits_at_kill, processed_at_return)


def check(events: Events, where: dict[int, tuple[int, int]], run: Run, final: dict[int, int],
          ends: dict[int, int], samples: list[dict[int, int]]) -> None:
    with events.lock:
        processed, commits, failed = list(events.processed), list(events.commits), list(events.failed)
    assert not events.errors, events.errors
    # no record skipped: every produced value was consumed, each where the producer wrote it
    seen = Counter(v for *_, v in processed)
    assert set(seen) == set(where), sorted(set(where) - set(seen))[:20]
    for _, p, o, v in processed:
        assert where[v] == (p, o), (v, p, o, where[v])
    # a record came twice only after a commit of it failed (then the member went back to it)
    failed_at = {(p, o) for _, p, o, _ in failed}
    twice = {where[v] for v, k in seen.items() if k > 1}
    assert twice <= failed_at, (sorted(twice - failed_at)[:20], failed[:20])
    # the group went on after the kill: records processed and offsets committed after it
    assert len(processed) > run.processed_at_kill and len(commits) > run.commits_at_kill
    assert run.new_coordinator != run.killed
    assert len(processed) > run.processed_at_return and run.processed_at_return >= RECORDS // 2
    # committed offsets: at the log end of every partition, and never lower than one seen before
    assert final == ends, (final, ends)
    top: dict[int, int] = {}
    for _, p, o in commits:
        assert o >= top.get(p, 0), f"partition {p}: committed {o} after {top[p]}"
        top[p] = o
    assert top == ends
    high: dict[int, int] = {}
    for s in samples:
        for p, o in s.items():
            if o >= 0:
                assert o >= high.get(p, -1), f"partition {p}: OffsetFetch answered {o} after {high[p]}"
                high[p] = o
    assert samples, "the sampler never read the committed offsets"

