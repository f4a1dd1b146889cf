"""The exactly-once campaign (issue 13, acceptance 2 and 6): a Java consume-transform-produce app
(compat/txn/java/kbroker/txn/TxnTool.java ``copy``: read_committed input, one transactional.id,
sendOffsetsToTransaction, commit per poll) copies topic A to topic B while it is SIGKILLed at random
moments and restarted, and brokers are SIGKILLed and restarted.

1. A gets ``records`` records from an idempotent confluent-kafka producer, spread over A's partitions,
   each value a unique id ``id-<partition>-<seq>``.
2. The app runs; the campaign performs ``app_kills`` app kills and ``broker_kills`` broker kills in a
   random order (``seed``), each a random 1-3 s after the last event and after the app's current run
   committed at least one transaction (the group's committed offsets grew since the run started; waited
   for at most ``commit_wait`` seconds, then the kill comes anyway and is counted as one before a
   commit). Right after an app kill the transaction coordinator's DescribeTransactions tells whether the
   kill landed inside a transaction (state Ongoing): the report counts those. A killed broker is restarted after a
   random pause below a second (one broker: the only one; a cluster: alternately the transaction
   coordinator's broker and the leader of a random partition of B or A, after which the campaign waits
   for full ISRs before the next kill, so that at most one broker is down). An app that exits with an
   error (a broker went away under it) is restarted too, and counted as a crash.
3. After the last kill the app runs until its committed positions reach A's end (it exits 0 then).
4. A is read, and B at read_committed and read_uncommitted (confluent-kafka readers), and
   compat/txn/checker.py ``check_copy`` decides: each record of A exactly once in B's committed records,
   in per-partition order, no aborted read, aborted duplicates visible only as aborted. The group's
   committed offsets must equal A's end offsets.

``subscribe=True`` runs the app as a group member (subscribe(), static membership so that a restarted
instance replaces the killed one at once, sendOffsetsToTransaction with consumer.groupMetadata(): KIP-447
fencing); by default it assigns itself every partition and reads the group's committed offsets.

The topics have RF 3 and min.insync.replicas=2 on a cluster. The pacing (``txn_sleep_ms`` inside each
transaction, ``max_poll`` records per transaction) keeps transactions open long enough for kills to land
inside them, and the copy long enough for every event to come before the app reaches A's end (since the
kills wait for a commit, the app makes progress between them); ``timeout`` bounds the whole run. Nothing measures time.
"""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path
from typing import Any

from compat.txn import checker, clients
from compat.txn.targets import Target, wait

TXN_ID = "eos-copier"
GROUP = "eos-copier-group"


def produce_input(bootstrap: str, topic: str, partitions: int, records: int) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                  "log_level": 3})
    failed = []
    for seq in range(records):
        part = seq % partitions
        p.produce(topic, key=f"k{part}".encode(), value=f"id-{part}-{seq // partitions}".encode(), partition=part,
                  on_delivery=lambda err, _m: failed.append(err) if err is not None else None)
        p.poll(0)
    p.flush(120)
    if failed or len(p):
        raise RuntimeError(f"input not fully written: {failed[:3]}, {len(p)} left")


class App:
    """The copy app, restarted as needed; its last summary line and every exit are kept."""

    def __init__(self, version: str, options: dict[str, object], logdir: Path) -> None:
        self.version, self.options, self.logdir = version, options, logdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.exits: list[int | None] = []
        self.offsets: Any = None  # a GroupOffsets: a run has committed once its total grew
        self.baseline = 0

    def start(self) -> None:
        self.runs += 1
        if self.offsets is not None:
            offsets = self.offsets

            def read() -> tuple[int] | None:  # (total,): a total of 0 is an answer too
                t = offsets.total()
                return None if t is None else (t,)
            self.baseline = wait(read, 60, "the group's committed offsets", interval=0.1)[0]
        self.out = self.logdir / f"app-{self.runs}.out"
        with open(self.out, "wb") as out, open(self.logdir / f"app-{self.runs}.err", "wb") as err:
            self.proc = subprocess.Popen(clients.java_command(self.version, "copy", self.options), stdout=out,
                                         stderr=err)

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.exits.append(-9)
            self.proc = None

    def committed_once(self) -> bool:
        """True once the current run committed a transaction (its offsets are the group's)."""
        if self.offsets is None:
            return False
        now = self.offsets.total()
        return now is not None and now > self.baseline

    def summary(self) -> dict | None:
        return clients.parse_java(self.out.read_text(errors="replace"))[1]

    def keep_running(self) -> bool:
        """Restarts the app when it exited with an error; True once it finished (exit 0)."""
        rc = self.poll()
        if self.proc is None:
            self.start()
            return False
        if rc is None:
            return False
        self.exits.append(rc)
        if rc == 0:
            return True
        self.start()
        return False


def run(target: Target, workdir: Path, app_kills: int = 10, broker_kills: int = 2, records: int = 3000,
        partitions: int = 6, seed: int | None = None, version: str = clients.JAVA_VERSIONS[-1],
        max_poll: int = 10, txn_sleep_ms: int = 300, timeout: float = 900, subscribe: bool = False,
        commit_wait: float = 60) -> dict:
    seed = random.randrange(1 << 30) if seed is None else seed
    rnd = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    rf = min(3, target.brokers)
    config = {"min.insync.replicas": "2"} if rf == 3 else {}
    src, dst = "eos-a", "eos-b"
    for t in (src, dst):
        target.create_topic(t, partitions, rf, config)
    produce_input(target.bootstrap, src, partitions, records)
    app = App(version, {"bootstrap": target.bootstrap, "input": src, "output": dst, "group": GROUP,
                        "txn-id": TXN_ID, "max-poll": max_poll, "txn-sleep-ms": txn_sleep_ms,
                        "subscribe": str(subscribe).lower()}, workdir)
    events = ["app"] * app_kills + ["broker"] * broker_kills
    rnd.shuffle(events)
    report: dict = {"scenario": "eos", "target": target.label, "seed": seed, "records": records,
                    "app mode": "subscribe (static member, groupMetadata)" if subscribe else "assign",
                    "app kills": 0, "app kills mid-transaction": 0, "kills before the run's first commit": 0,
                    "transaction states at the app kills": [],
                    "broker kills": [], "events": len(events)}
    deadline = time.monotonic() + timeout
    done = False
    app.offsets = GroupOffsets(target.bootstrap, src, partitions)
    app.start()
    try:
        for n, ev in enumerate(events):
            commit_until = time.monotonic() + commit_wait
            while not done and time.monotonic() < commit_until and not app.committed_once():
                done = app.keep_running()
                time.sleep(0.1)
            if not done and not app.committed_once():
                report["kills before the run's first commit"] += 1
            pause_until = time.monotonic() + rnd.uniform(1.0, 3.0)
            while time.monotonic() < pause_until and not done:
                done = app.keep_running()
                time.sleep(0.05)
            if done:
                report["finished early, before event"] = n
                break
            if ev == "app":
                app.kill()
                report["app kills"] += 1
                state = txn_state(target.bootstrap, TXN_ID)
                report["transaction states at the app kills"].append(state)
                if state == "Ongoing":
                    report["app kills mid-transaction"] += 1
                app.start()
            else:
                victim = _victim(target, rnd, src, dst, len(report["broker kills"]), partitions)
                target.kill(victim)
                report["broker kills"].append(victim)
                time.sleep(rnd.uniform(0.0, 1.0))
                target.restart(victim)
                if target.brokers > 1:
                    for t in (src, dst, "__transaction_state"):
                        target.meta.wait_isr_full(t, timeout=120)
        while not done:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the copy app did not finish within {timeout}s (exits {app.exits})")
            done = app.keep_running()
            time.sleep(0.1)
    finally:
        app.kill()
        app.offsets.close()
    report["app runs"] = app.runs
    report["app crashes (error exits)"] = sum(1 for rc in app.exits if rc not in (0, -9))
    report["last app summary"] = app.summary()
    source = clients.read("confluent", target.bootstrap, [src], partitions, "read_uncommitted")
    committed = clients.read("confluent", target.bootstrap, [dst], partitions, "read_committed")
    uncommitted = clients.read("confluent", target.bootstrap, [dst], partitions, "read_uncommitted")
    bad = checker.check_copy(source, committed, uncommitted)
    offsets = group_offsets(target.bootstrap, src, partitions)
    ends = {p: e[1] for (_, p), e in clients.end_offsets("confluent", target.bootstrap, [src], partitions).items()}
    bad["group offsets not at the input's end"] = [] if offsets == ends else [{"committed": offsets, "end": ends}]
    report.update({"input": len(source), "output committed": len(committed), "output uncommitted": len(uncommitted),
                   "aborted copies (read_uncommitted only)": checker.aborted_copies(committed, uncommitted),
                   "check": checker.summary(bad), "violations": checker.violations(bad)})
    return report


def _victim(target: Target, rnd: random.Random, src: str, dst: str, n: int, partitions: int) -> int:
    if target.brokers == 1:
        return 1
    if n % 2 == 0:
        return wait(lambda: target.txn_coordinator(TXN_ID), 60, "the transaction coordinator")
    topic = rnd.choice([dst, src])
    return wait(lambda: target.leaders(topic)[rnd.randrange(partitions)], 60, f"a leader of {topic}")


def group_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "isolation.level": "read_committed",
                  "enable.auto.commit": False, "log_level": 3})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


class GroupOffsets:
    """The app group's committed offsets of the input (read_uncommitted: no wait for stable offsets),
    summed; a consumer kept open that never joins the group."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self._tps = [TopicPartition(topic, p) for p in range(partitions)]
        self._c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                            "isolation.level": "read_uncommitted", "log_level": 0})

    def total(self) -> int | None:
        """The sum (a partition without an offset counts 0); None when they cannot be read now."""
        try:
            got = self._c.committed(self._tps, timeout=10)
        except Exception:  # noqa: BLE001 - a broker down: not known now
            return None
        return sum(max(tp.offset, 0) for tp in got)

    def close(self) -> None:
        self._c.close()


def txn_state(bootstrap: str, txn_id: str, timeout: float = 20) -> str | None:
    """The transaction state (DescribeTransactions v0) of ``txn_id`` at its coordinator, or None when
    no coordinator answered within ``timeout`` seconds."""
    from tests.support.rawclient import RawClient
    from wire.messages.describe_transactions import DescribeTransactionsRequest
    from wire.messages.find_coordinator import FindCoordinatorRequest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for addr in bootstrap.split(","):
            try:
                with RawClient.connect(addr) as raw:
                    c = raw.request(FindCoordinatorRequest(key=txn_id, key_type=1), 3)
                if c.error_code:
                    continue
                with RawClient.connect(f"{c.host}:{c.port}") as raw:
                    [s] = raw.request(DescribeTransactionsRequest(transactional_ids=[txn_id]), 0).transaction_states
                if s.error_code == 0:
                    return str(s.transaction_state)
            except OSError:
                continue
        time.sleep(0.2)
    return None
