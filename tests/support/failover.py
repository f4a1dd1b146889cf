"""Clients through a broker kill on a replicated cluster (compat.cluster.launcher): the shared
scenarios and their checks, for every client that has a driver here (kafka-python, aiokafka, and the
programs of compat/scenarios/program_client.py: franz-go, kafkajs).

``produce_through_leader_kill``: on a 3-partition topic (RF 3, min.insync.replicas=2) one producer
(acks=all, idempotent) sends records ``0..n-1`` (the value is the decimal sequence number; record
``i`` goes to partition ``i % 3``) in four stages, the producer staying open throughout:

1. a quarter, every record acknowledged;
2. a quarter in chunks, the leader of partition 0 SIGKILLed right after a chunk is handed to the
   client (that chunk and the ones after it are in flight or queued while the leader dies); the
   client must find the new leaders by itself;
3. once the killed broker is back and in every ISR, a quarter;
4. once the preferred leaders are back (the controller hands leadership back: a clean move, the
   old leader answers NOT_LEADER_OR_FOLLOWER), the rest.

With ``partitions=(0, 1, 2)`` stages 2-4 run once for the leader of each partition in turn.
``verify`` then holds the records read back from the beginning against what was acknowledged.

``consume_through_leader_kill``: a group member of the client (compat.scenarios.groups_members)
reads a third of the records, the leader of partition 0 is SIGKILLed while it waits for more, the
second third is produced (by confluent-kafka: set-up, not the client under test) and must be read
from the new leader; the killed broker comes back and takes its leadership back, and the member
must read the last third from it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from tests.support.waiting import wait_for

PARTITIONS = 3
TOPIC_CONFIG = {"min.insync.replicas": "2"}
ACK_TIMEOUT = 150.0
"""Longer than a failover (a ZooKeeper session timeout, an election, the clients' metadata refresh)
plus the clients' own retry back-offs; a producer that stops for good fails instead of hanging."""


class Rec(NamedTuple):
    partition: int
    offset: int
    value: bytes


def value(i: int) -> bytes:
    return str(i).encode()


def plan(n: int) -> list[tuple[int, bytes]]:
    return [(i % PARTITIONS, value(i)) for i in range(n)]


class StreamProducer(Protocol):
    """A client's producer, open for the whole scenario: ``send`` hands records over without waiting
    (in order), ``acked``/``errors`` are the outcomes reported so far."""

    name: str

    def send(self, items: Sequence[tuple[int, bytes]]) -> None: ...

    def acked(self) -> list[Rec]: ...

    def errors(self) -> list[str]: ...

    def detail(self) -> str: ...

    def close(self) -> None: ...


def _wait_acked(producer: StreamProducer, count: int, what: str) -> None:
    def done() -> bool:
        errs = producer.errors()
        if errs:
            raise AssertionError(f"{producer.name}: {len(errs)} records failed ({what}); first: {errs[0]}; "
                                 f"{producer.detail()}")
        return len(producer.acked()) >= count

    try:
        wait_for(done, timeout=ACK_TIMEOUT, what=f"{count} records acknowledged ({what})", interval=0.05)
    except AssertionError as e:
        if "records failed" in str(e):
            raise
        raise AssertionError(f"{producer.name}: {e}; {len(producer.acked())} acknowledged; {producer.detail()}") \
            from None


def produce_through_leader_kill(cluster, topic: str, producer: StreamProducer, n: int, chunk: int = 50,
                                partitions: Sequence[int] = (0,)) -> dict:
    """Runs the stages of the module docstring: the first, then stages 2-4 once for each of
    ``partitions`` in turn (its leader is the one killed); returns what happened: per round the victim,
    how many records were handed over but not acknowledged when it was killed, the leaders after
    the kill; and the acknowledged records."""
    records = plan(n)
    q = n // (1 + 3 * len(partitions))
    preferred = {p: s.replicas[0] for p, s in cluster.describe(topic).items()}
    rounds = []

    def send_gated(lo: int, hi: int, what: str) -> None:
        for i in range(lo, hi, chunk):
            producer.send(records[i:min(i + chunk, hi)])
            _wait_acked(producer, min(i + chunk, hi), what)

    send_gated(0, q, "before the first kill")
    pos = q
    for k, part in enumerate(partitions):
        last = k == len(partitions) - 1
        victim = cluster.leaders(topic)[part]
        mid = pos + (q // chunk // 2) * chunk
        send_gated(pos, mid, f"before the kill of broker {victim}")
        producer.send(records[mid:mid + chunk])
        cluster.kill(victim)  # the chunk just handed over is in flight or queued
        in_flight = mid + min(chunk, q) - len(producer.acked())
        for i in range(mid + chunk, pos + q, chunk):
            producer.send(records[i:min(i + chunk, pos + q)])
        pos += q
        _wait_acked(producer, pos, f"through the kill of broker {victim}, the leader of partition {part}")
        rounds.append({"victim": victim, "partition": part, "in_flight": in_flight,
                       "leaders_after_kill": cluster.leaders(topic)})

        cluster.restart(victim)
        cluster.wait_isr_full(topic, timeout=90)
        send_gated(pos, pos + q, f"broker {victim} back in the ISR")
        pos += q

        cluster.wait(lambda: cluster.leaders(topic) == preferred, 60, "the preferred leaders back")
        hi = n if last else pos + q
        send_gated(pos, hi, f"broker {victim} leading again")
        pos = hi
    return {"rounds": rounds, "acked": producer.acked()}


def rounds_summary(run: dict) -> str:
    return "; ".join(f"broker {r['victim']} (leader of partition {r['partition']}) killed with {r['in_flight']} "
                     f"records unacknowledged, leaders then {r['leaders_after_kill']}" for r in run["rounds"])


def verify(acked: Sequence[Rec], read: Sequence[Rec], n: int, exactly_once: bool = True) -> str:
    """Every record acknowledged; what was read back holds each acknowledged record at its
    acknowledged offset, once (``exactly_once``; otherwise repeats of a record are allowed), every
    partition's offsets contiguous from 0, its records in the order they were produced, each in the
    partition it was sent to; the consumer delivered each partition in offset order."""
    problems: list[str] = []
    sent = {value(i) for i in range(n)}
    ack_count = Counter(a.value for a in acked)
    if (twice := [v for v, c in ack_count.items() if c > 1]):
        problems.append(f"{len(twice)} records acknowledged twice, e.g. {twice[:3]}")
    if (unacked := sent - set(ack_count)):
        problems.append(f"{len(unacked)} records never acknowledged, e.g. {sorted(unacked, key=int)[:5]}")
    at: dict[tuple[int, int], bytes] = {}
    last: dict[int, int] = {}
    reread = 0
    for r in read:
        key = (r.partition, r.offset)
        if key in at:
            reread += 1
            if at[key] != r.value:
                problems.append(f"offset {key} read as {at[key]!r} and as {r.value!r}")
        elif r.offset < last.get(r.partition, -1):
            problems.append(f"partition {r.partition}: offset {r.offset} delivered after {last[r.partition]}")
        at[key] = r.value
        last[r.partition] = max(r.offset, last.get(r.partition, -1))
    if reread and exactly_once:
        problems.append(f"the consumer delivered {reread} records twice")
    lost = [a for a in acked if at.get((a.partition, a.offset)) != a.value]
    if lost:
        a = lost[0]
        problems.append(f"{len(lost)} acknowledged records are not at their offsets, e.g. {a.value!r} at "
                        f"{a.partition}/{a.offset}, read {at.get((a.partition, a.offset))!r}")
    by_p: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for (p, o), v in at.items():
        by_p[p].append((o, v))
    for p, entries in sorted(by_p.items()):
        entries.sort()
        offsets = [o for o, _ in entries]
        if offsets != list(range(len(offsets))):
            gaps = sorted(set(range(offsets[-1] + 1)) - set(offsets))
            problems.append(f"partition {p}: offsets not contiguous from 0 (missing {gaps[:5]})")
        seqs = [int(v) for _, v in entries if v in sent]
        if (wrong := [s for s in seqs if s % PARTITIONS != p]):
            problems.append(f"partition {p} holds records sent elsewhere, e.g. {wrong[:3]}")
        order = seqs if exactly_once else list(dict.fromkeys(seqs))
        if (bad := next((i for i in range(1, len(order)) if order[i] < order[i - 1]), None)) is not None:
            problems.append(f"partition {p}: record {order[bad]} stored after {order[bad - 1]} (produce order)")
    stored = Counter(at.values())
    if (strange := set(stored) - sent):
        problems.append(f"{len(strange)} values that were never sent, e.g. {sorted(strange)[:3]}")
    if exactly_once and (dups := [v for v, c in stored.items() if c > 1]):
        problems.append(f"not exactly once: {len(dups)} records stored twice, e.g. {sorted(dups, key=int)[:5]}")
    if (missing := sent - set(stored)):
        problems.append(f"{len(missing)} records not read back, e.g. {sorted(missing, key=int)[:5]}")
    if problems:
        raise AssertionError("; ".join(problems))
    counts = [len(by_p[p]) for p in range(PARTITIONS)]
    return f"{n} records {'exactly once' if exactly_once else 'at least once'}, in order ({counts} a partition)"


def end_offsets(cluster, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "kbroker-failover-ends"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1] for p in range(PARTITIONS)}
    finally:
        c.close()


# -- the consumer scenario ---------------------------------------------------------------------------------


def produce_confluent(cluster, topic: str, values: range) -> list[Rec]:
    """Set-up records from librdkafka (idempotent, acks=all), each acknowledged."""
    from confluent_kafka import Producer

    acked: list[Rec] = []
    failed: list[str] = []

    def delivered(err, msg) -> None:
        if err is not None:
            failed.append(str(err))
        else:
            acked.append(Rec(msg.partition(), msg.offset(), msg.value()))

    quiet = logging.getLogger("tests.failover.librdkafka")  # its connection errors to the killed broker
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 5, "message.timeout.ms": int(ACK_TIMEOUT * 1000), "logger": quiet})
    for i in values:
        p.produce(topic, value(i), partition=i % PARTITIONS, on_delivery=delivered)
        p.poll(0)
    left = p.flush(ACK_TIMEOUT)
    assert left == 0 and not failed, f"confluent-kafka could not deliver {left} records: {failed[:3]}"
    return acked


def group_not_coordinated_by(cluster, broker_id: int, prefix: str) -> str:
    """A group id whose coordinator is not ``broker_id`` (the consumer scenario kills a partition
    leader, not the group's coordinator: that is tests/broker/test_cluster.py's)."""
    from kbroker.groups.codec import partition_for
    from tests.support.rawclient import RawClient
    from wire.messages.find_coordinator import FindCoordinatorRequest

    def offsets_led() -> dict[int, int] | None:
        for b in cluster.brokers.values():
            if b.proc is not None and b.proc.poll() is None:
                with RawClient.connect(b.bootstrap) as raw:  # creates __consumer_offsets
                    raw.request(FindCoordinatorRequest(key=prefix, key_type=0), 3)
                break
        leaders = cluster.leaders("__consumer_offsets")
        return leaders if leaders and all(v >= 0 for v in leaders.values()) else None

    leaders = cluster.wait(offsets_led, 60, "__consumer_offsets led")
    for i in range(200):
        group = f"{prefix}-{i}"
        if leaders[partition_for(group, len(leaders))] != broker_id:
            return group
    raise AssertionError(f"every group id tried is coordinated by broker {broker_id}")


MEMBER_SESSION_MS = {"kafkajs": 30000}
"""kafkajs heartbeats only from its fetch loop, which backs off while a partition's leader is gone:
with the 6 s session of the other members (Kafka's group.min.session.timeout.ms) its member is
removed during the failover, and the UNKNOWN_MEMBER_ID its next commit gets (non-retriable in
kafkajs) stops the consumer (compat/FINDINGS.md).  30 s is kafkajs's default session timeout."""


def consume_through_leader_kill(cluster, topic: str, client: str, n: int) -> str:
    """A third of the records read; the leader of partition 0 SIGKILLed while the member waits for
    more; a third produced and read from the new leaders; the killed broker restarted and, once in
    every ISR, given its preferred leadership back (a clean move: the member's fetches meet
    NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH, or stale metadata); the last third read."""
    from compat.scenarios.groups_members import SESSION_MS, MemberProcess

    third = n // 3
    preferred = {p: s.replicas[0] for p, s in cluster.describe(topic).items()}
    victim = cluster.leaders(topic)[0]
    group = group_not_coordinated_by(cluster, victim, f"failover-{client}")
    acked = produce_confluent(cluster, topic, range(third))
    out = Path(tempfile.mkdtemp(prefix="kbroker-failover-"))
    member = MemberProcess(client, cluster.bootstrap, topic, group, f"{client}-member", out,
                           session_ms=MEMBER_SESSION_MS.get(client, SESSION_MS))

    def read() -> list[Rec]:
        return [Rec(p, o, value(v)) for p, o, v in member.records()]

    def wait_read(count: int, what: str) -> None:
        def check() -> bool:
            if not member.alive():
                raise AssertionError(f"the {client} member exited {member.proc.returncode}: {member.stderr_tail()}")
            return len({(r.partition, r.offset) for r in read()}) >= count
        try:
            wait_for(check, timeout=ACK_TIMEOUT, what=f"the {client} member reading {count} records ({what})")
        except AssertionError as e:
            raise AssertionError(f"{e}; read {len(read())}; stderr ({member.err_path}): {member.stderr_tail()}") \
                from None

    try:
        wait_read(third, "before the kill")
        cluster.kill(victim)
        acked += produce_confluent(cluster, topic, range(third, 2 * third))
        wait_read(2 * third, f"after broker {victim}, the leader of partition 0, was killed")
        cluster.restart(victim)
        cluster.wait_isr_full(topic, timeout=90)
        cluster.wait(lambda: cluster.leaders(topic) == preferred, 60, "the preferred leaders back")
        acked += produce_confluent(cluster, topic, range(2 * third, n))
        wait_read(n, f"after broker {victim} took its leadership back")
    finally:
        member.stop()
    return (f"{verify(acked, read(), n)}; broker {victim} (leader of partition 0) killed while the member "
            f"waited, then restarted and leading again")


# -- drivers -----------------------------------------------------------------------------------------------


class ProgramProducer:
    """``PROGRAM produce-stream BOOTSTRAP TOPIC`` (compat/franz-go/main.go, compat/kafkajs/client.js): lines
    in on stdin, ``A``/``E`` lines out, read by a thread as they come."""

    def __init__(self, name: str, command: list[str], bootstrap: str, topic: str, log_dir: Path) -> None:
        self.name = name
        self.err_path = log_dir / f"{name}-produce.err"
        self._acked: list[Rec] = []
        self._errors: list[str] = []
        self._lock = threading.Lock()
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([*command, "produce-stream", bootstrap, topic], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, env=dict(os.environ))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            parts = raw.decode(errors="replace").rstrip("\n").split(" ", 3)
            with self._lock:
                if parts[0] == "A" and len(parts) == 4:
                    self._acked.append(Rec(int(parts[1]), int(parts[2]), parts[3].encode()))
                elif parts[0] == "E":
                    self._errors.append(" ".join(parts[1:]))

    def send(self, items: Sequence[tuple[int, bytes]]) -> None:
        assert self.proc.stdin is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} produce-stream exited {self.proc.returncode}: {self.detail()}")
        self.proc.stdin.write(b"".join(b"%d %s\n" % (p, v) for p, v in items))
        self.proc.stdin.flush()

    def acked(self) -> list[Rec]:
        with self._lock:
            return list(self._acked)

    def errors(self) -> list[str]:
        with self._lock:
            errs = list(self._errors)
        if not errs and self.proc.poll() not in (None, 0):
            errs = [f"the program exited {self.proc.returncode}"]
        return errs

    def detail(self) -> str:
        try:
            tail = self.err_path.read_text(errors="replace")[-600:]
        except OSError:
            tail = ""
        return f"stderr ({self.err_path}): {tail}"

    def close(self) -> None:
        try:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                self.proc.stdin.close()
            self.proc.wait(60)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self.proc.kill()
            self.proc.wait(30)
        self._reader.join(10)


class KafkaPythonProducer:
    name = "kafka-python"

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaProducer

        self.topic = topic
        self._acked: list[Rec] = []
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self.producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", enable_idempotence=True,
                                      linger_ms=5, delivery_timeout_ms=int(ACK_TIMEOUT * 1000))

    def send(self, items: Sequence[tuple[int, bytes]]) -> None:
        for p, v in items:
            fut = self.producer.send(self.topic, value=v, partition=p)
            fut.add_callback(self._ok, v)
            fut.add_errback(self._failed, v)

    def _ok(self, v: bytes, md) -> None:
        with self._lock:
            self._acked.append(Rec(md.partition, md.offset, v))

    def _failed(self, v: bytes, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(f"{v!r}: {exc!r}")

    def acked(self) -> list[Rec]:
        with self._lock:
            return list(self._acked)

    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)

    def detail(self) -> str:
        return ""

    def close(self) -> None:
        self.producer.close(timeout=30)


class AioKafkaProducer:
    """aiokafka's producer in an event loop of its own thread; records are handed to one task in order."""

    name = "aiokafka"

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._acked: list[Rec] = []
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.queue: asyncio.Queue = asyncio.run_coroutine_threadsafe(self._make_queue(), self.loop).result(10)
        self.producer = asyncio.run_coroutine_threadsafe(self._start(bootstrap), self.loop).result(60)
        self._pump = asyncio.run_coroutine_threadsafe(self._pump_items(), self.loop)

    async def _make_queue(self) -> asyncio.Queue:
        return asyncio.Queue()

    async def _start(self, bootstrap: str):
        from aiokafka import AIOKafkaProducer

        p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                             request_timeout_ms=int(ACK_TIMEOUT * 1000))
        await p.start()
        return p

    async def _pump_items(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            p, v = item
            try:
                fut = await self.producer.send(self.topic, value=v, partition=p)
            except Exception as e:  # noqa: BLE001 - reported as the record's outcome
                self._failed(v, e)
                continue
            fut.add_done_callback(lambda f, v=v: self._done(v, f))

    def _done(self, v: bytes, fut) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self._failed(v, fut.exception() if not fut.cancelled() else RuntimeError("cancelled"))
            return
        md = fut.result()
        with self._lock:
            self._acked.append(Rec(md.partition, md.offset, v))

    def _failed(self, v: bytes, exc: BaseException | None) -> None:
        with self._lock:
            self._errors.append(f"{v!r}: {exc!r}")

    def send(self, items: Sequence[tuple[int, bytes]]) -> None:
        for item in items:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def acked(self) -> list[Rec]:
        with self._lock:
            return list(self._acked)

    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)

    def detail(self) -> str:
        return ""

    def close(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)
            self._pump.result(30)
            asyncio.run_coroutine_threadsafe(self.producer.stop(), self.loop).result(30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


# -- read-backs ----------------------------------------------------------------------------------------------


def read_kafka_python(bootstrap: str, topic: str, ends: dict[int, int]) -> list[Rec]:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest")
    out: list[Rec] = []
    try:
        tps = [TopicPartition(topic, p) for p in ends]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        deadline = time.monotonic() + ACK_TIMEOUT
        while any(c.position(tp) < ends[tp.partition] for tp in tps):
            assert time.monotonic() < deadline, f"kafka-python read {len(out)} records of {sum(ends.values())}"
            for tp, rs in c.poll(timeout_ms=500).items():
                out += [Rec(tp.partition, r.offset, r.value) for r in rs]
    finally:
        c.close()
    return out


def read_aiokafka(bootstrap: str, topic: str, ends: dict[int, int]) -> list[Rec]:
    async def main() -> list[Rec]:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest")
        await c.start()
        out: list[Rec] = []
        try:
            tps = [TopicPartition(topic, p) for p in ends]
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            deadline = time.monotonic() + ACK_TIMEOUT
            while True:
                positions = [await c.position(tp) for tp in tps]
                if all(pos >= ends[tp.partition] for pos, tp in zip(positions, tps, strict=True)):
                    return out
                assert time.monotonic() < deadline, f"aiokafka read {len(out)} records of {sum(ends.values())}"
                for tp, rs in (await c.getmany(timeout_ms=500)).items():
                    out += [Rec(tp.partition, r.offset, r.value) for r in rs]
        finally:
            await c.stop()

    return asyncio.run(main())


def read_program(client, bootstrap: str, topic: str, ends: dict[int, int]) -> list[Rec]:
    """``PROGRAM consume`` (a fresh group from the beginning up to ``ends``)."""
    return [Rec(g.partition, g.offset, g.value or b"") for g in client.consume(bootstrap, topic, PARTITIONS, ends)]
