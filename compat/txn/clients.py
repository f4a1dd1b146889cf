"""The transactional producers and the isolation-level readers of every client, behind one shape.

A *plan* (``plan``) is what a transactional producer sends: transaction i sends, to every partition of
every topic in order, ``per_partition`` records with key ``<name>`` and value ``<name>-<i>-<j>`` (j
counts the transaction's records), and is aborted when ``i % abort_every == abort_every - 1``. Each
producer follows it:

- ``java`` (kafka-clients 3.9.2 or 4.4.0: compat/txn/java/kbroker/txn/TxnTool.java, ``produce`` mode),
- ``confluent`` (confluent-kafka / librdkafka), ``kafka-python``.

A reader (``read``) assigns every partition, reads from the beginning up to the end offsets it sees
at its isolation level (for ``read_committed`` that is the last stable offset) and returns the records
as ``Rec(t, p, o, v)``; readers exist for the same three clients. ``end_offsets`` answers ListOffsets
latest at both isolation levels (Java's Admin ``listOffsets`` with ``ListOffsetsOptions(IsolationLevel)``,
confluent-kafka's AdminClient ``list_offsets``, kafka-python's consumer ``end_offsets``).

Nothing here asserts: the checks are compat/txn/checker.py's.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
JAVA_SRC = HERE / "java"
MARK = "@@txn@@ "
JAVA_VERSIONS = ("3.9.2", "4.4.0")
PRODUCERS = ("java-3.9.2", "java-4.4.0", "confluent", "kafka-python")
READERS = ("java", "confluent", "kafka-python")


@dataclass(frozen=True)
class Rec:
    t: str
    p: int
    o: int
    v: str


@dataclass(frozen=True)
class Txn:
    index: int
    committed: bool
    records: tuple[tuple[str, int, str], ...]  # (topic, partition, value)


def plan(name: str, topics: list[str], partitions: int, txns: int, per_partition: int,
         abort_every: int) -> list[Txn]:
    out = []
    for i in range(txns):
        recs = []
        j = 0
        for t in topics:
            for p in range(partitions):
                for _ in range(per_partition):
                    recs.append((t, p, f"{name}-{i}-{j}"))
                    j += 1
        out.append(Txn(i, not (abort_every > 0 and i % abort_every == abort_every - 1), tuple(recs)))
    return out


# -- Java ------------------------------------------------------------------------------------------

def java_classpath(version: str) -> str:
    """TxnTool compiled (when changed) against kafka-clients ``version``; raises
    compat.java.harness.JavaUnavailable without java/javac/jars."""
    from compat.java import harness

    return harness.classpath(version, src=JAVA_SRC, name="txn-classes")


def java_command(version: str, mode: str, options: dict[str, object]) -> list[str]:
    cmd = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.logFile=System.err",
           "-cp", java_classpath(version), "kbroker.txn.TxnTool", mode]
    for k, v in options.items():
        cmd += [f"--{k}", str(v)]
    return cmd


@dataclass
class JavaResult:
    returncode: int
    lines: list[dict]
    summary: dict | None
    stderr: str

    def check(self) -> JavaResult:
        if self.returncode != 0 or self.summary is None:
            raise RuntimeError(f"TxnTool exited {self.returncode}: {self.summary}\n{self.stderr[-3000:]}")
        return self


def parse_java(stdout: str) -> tuple[list[dict], dict | None]:
    lines, summary = [], None
    for line in stdout.splitlines():
        if line.startswith(MARK):
            summary = json.loads(line[len(MARK):])
        elif line.startswith("{"):
            lines.append(json.loads(line))
    return lines, summary


def run_java(version: str, mode: str, options: dict[str, object], timeout: float = 180) -> JavaResult:
    proc = subprocess.run(java_command(version, mode, options), capture_output=True, text=True, timeout=timeout)
    lines, summary = parse_java(proc.stdout)
    return JavaResult(proc.returncode, lines, summary, proc.stderr)


# -- producers -------------------------------------------------------------------------------------

def produce(client: str, bootstrap: str, txn_id: str, name: str, topics: list[str], partitions: int,
            txns: int, per_partition: int, abort_every: int) -> list[Txn]:
    """Runs ``plan(...)`` with ``client`` (one of PRODUCERS); returns the plan once every transaction
    was committed or aborted as planned (raises otherwise)."""
    steps = plan(name, topics, partitions, txns, per_partition, abort_every)
    if client.startswith("java-"):
        r = run_java(client[5:], "produce", {
            "bootstrap": bootstrap, "txn-id": txn_id, "name": name, "topics": ",".join(topics),
            "partitions": partitions, "txns": txns, "per-partition": per_partition,
            "abort-every": abort_every}).check()
        outcomes = [line["outcome"] == "commit" for line in r.lines if "txn" in line]
        if outcomes != [s.committed for s in steps]:
            raise RuntimeError(f"{client}: outcomes {outcomes} differ from the plan")
    elif client == "confluent":
        _produce_confluent(bootstrap, txn_id, name, steps)
    elif client == "kafka-python":
        _produce_kafka_python(bootstrap, txn_id, name, steps)
    else:
        raise ValueError(client)
    return steps


def _produce_confluent(bootstrap: str, txn_id: str, name: str, steps: list[Txn]) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5,
                  "transaction.timeout.ms": 60_000, "log_level": 3})
    p.init_transactions(60)
    for s in steps:
        p.begin_transaction()
        for t, part, v in s.records:
            p.produce(t, key=name.encode(), value=v.encode(), partition=part)
        if s.committed:
            p.commit_transaction(60)
        else:
            p.flush(60)
            p.abort_transaction(60)


def _produce_kafka_python(bootstrap: str, txn_id: str, name: str, steps: list[Txn]) -> None:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=txn_id, linger_ms=5,
                      transaction_timeout_ms=60_000, max_block_ms=60_000)
    try:
        p.init_transactions()
        for s in steps:
            p.begin_transaction()
            for t, part, v in s.records:
                p.send(t, key=name.encode(), value=v.encode(), partition=part)
            if s.committed:
                p.commit_transaction()
            else:
                p.flush()
                p.abort_transaction()
    finally:
        p.close(timeout=10)


# -- readers ---------------------------------------------------------------------------------------

def read(client: str, bootstrap: str, topics: list[str], partitions: int, isolation: str,
         timeout: float = 90, group: str | None = None) -> list[Rec]:
    """Every record of ``topics`` from the beginning up to the end offsets at ``isolation``, in the
    order delivered. With ``group`` the reader commits its final positions for that group."""
    if client == "java" or client.startswith("java-"):
        version = JAVA_VERSIONS[-1] if client == "java" else client[5:]
        opts: dict[str, object] = {"bootstrap": bootstrap, "topics": ",".join(topics), "partitions": partitions,
                                   "isolation": isolation, "timeout-ms": int(timeout * 1000)}
        if group is not None:
            opts["group"] = group
        r = run_java(version, "consume", opts, timeout=timeout + 60).check()
        return [Rec(d["t"], d["p"], d["o"], d["v"]) for d in r.lines]
    if client == "confluent":
        return _read_confluent(bootstrap, topics, partitions, isolation, timeout, group)
    if client == "kafka-python":
        return _read_kafka_python(bootstrap, topics, partitions, isolation, timeout, group)
    raise ValueError(client)


def _read_confluent(bootstrap: str, topics: list[str], partitions: int, isolation: str, timeout: float,
                    group: str | None) -> list[Rec]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group or f"txn-reader-{os.getpid()}-{time.time_ns()}",
                  "enable.auto.commit": False, "isolation.level": isolation, "log_level": 3,
                  "enable.partition.eof": False})
    try:
        tps = [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(partitions)]
        end = {(t, p): c.get_watermark_offsets(TopicPartition(t, p), timeout=30, cached=False)[1]
               for t in topics for p in range(partitions)}
        c.assign(tps)
        out: list[Rec] = []
        deadline = time.monotonic() + timeout
        pos = {k: 0 for k in end}
        while any(pos[k] < end[k] for k in end):
            if time.monotonic() > deadline:
                raise TimeoutError(f"confluent {isolation} reader: positions {pos} short of {end}")
            for m in c.consume(500, 0.2):
                if m.error() is not None:
                    continue
                topic, part, off, value = m.topic(), m.partition(), m.offset(), m.value()
                assert topic is not None and part is not None and off is not None and value is not None
                out.append(Rec(topic, part, off, value.decode()))
            for tp in c.position([TopicPartition(t, p) for (t, p) in end]):
                if tp.offset >= 0:
                    pos[(tp.topic, tp.partition)] = tp.offset
        if group is not None:
            c.commit(offsets=[TopicPartition(t, p, pos[(t, p)]) for (t, p) in end], asynchronous=False)
        return out
    finally:
        c.close()


def _read_kafka_python(bootstrap: str, topics: list[str], partitions: int, isolation: str, timeout: float,
                       group: str | None) -> list[Rec]:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                      isolation_level=isolation, auto_offset_reset="earliest")
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        out: list[Rec] = []
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"kafka-python {isolation} reader: short of {end}")
            for tp, msgs in c.poll(timeout_ms=200, max_records=500).items():
                out += [Rec(tp.topic, tp.partition, m.offset, m.value.decode()) for m in msgs]
        if group is not None:
            c.commit({tp: OffsetAndMetadata(c.position(tp), "", -1) for tp in tps})
        return out
    finally:
        c.close()


def end_offsets(client: str, bootstrap: str, topics: list[str], partitions: int) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (latest at read_committed, latest at read_uncommitted)."""
    if client == "java" or client.startswith("java-"):
        version = JAVA_VERSIONS[-1] if client == "java" else client[5:]
        r = run_java(version, "offsets", {"bootstrap": bootstrap, "topics": ",".join(topics),
                                          "partitions": partitions}).check()
        return {(d["t"], d["p"]): (d["read_committed"], d["read_uncommitted"]) for d in r.lines}
    if client == "confluent":
        return _end_offsets_confluent(bootstrap, topics, partitions)
    if client == "kafka-python":
        return _end_offsets_kafka_python(bootstrap, topics, partitions)
    raise ValueError(client)


def _end_offsets_confluent(bootstrap: str, topics: list[str], partitions: int) -> dict[tuple[str, int], tuple[int, int]]:
    from confluent_kafka import IsolationLevel, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    ask = {TopicPartition(t, p): OffsetSpec.latest() for t in topics for p in range(partitions)}
    res = {}
    for level in (IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED):
        futures = admin.list_offsets(ask, isolation_level=level, request_timeout=30)
        res[level] = {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
    return {k: (res[IsolationLevel.READ_COMMITTED][k], res[IsolationLevel.READ_UNCOMMITTED][k])
            for k in res[IsolationLevel.READ_COMMITTED]}


def _end_offsets_kafka_python(bootstrap: str, topics: list[str], partitions: int) -> dict[tuple[str, int], tuple[int, int]]:
    from kafka import KafkaConsumer, TopicPartition

    tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
    ends = {}
    for level in ("read_committed", "read_uncommitted"):
        c = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=level)
        try:
            ends[level] = c.end_offsets(tps)
        finally:
            c.close()
    return {(tp.topic, tp.partition): (ends["read_committed"][tp], ends["read_uncommitted"][tp]) for tp in tps}


class Held:
    """A Java transactional producer holding a transaction open (TxnTool ``hold``): ``start()`` returns
    once its records are acknowledged; ``finish("commit" | "abort")`` returns TxnTool's summary."""

    def __init__(self, version: str, options: dict[str, object]) -> None:
        self.proc = subprocess.Popen(java_command(version, "hold", options), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def start(self, timeout: float = 120) -> Held:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"TxnTool hold exited: {self.proc.stderr.read()[-3000:] if self.proc.stderr else ''}")
            if line.startswith("@@held@@"):
                return self
        raise TimeoutError("TxnTool hold did not send in time")

    def finish(self, command: str, timeout: float = 120) -> dict:
        out, err = self.proc.communicate(command + "\n", timeout=timeout)
        _, summary = parse_java(out)
        if summary is None:
            raise RuntimeError(f"TxnTool hold exited {self.proc.returncode}: {err[-3000:]}")
        return summary

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
