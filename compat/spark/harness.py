"""Spark Structured Streaming scenarios against kbroker: the side that produces and checks.

For each Spark version under ``compat/spark/<line>/pom.xml``, ``compat/spark/setup.sh`` prepares a
venv with that pyspark and the matching ``spark-sql-kafka-0-10`` jars (from Maven Central, no Ivy at
run time).  Each scenario here produces records with confluent-kafka (explicit partitions and
CreateTime timestamps, keys, null keys and values, headers), runs ``compat/spark/scenarios.py`` in
that venv as a subprocess, and requires every query's output to be *exactly* the records it should
have read: same topic, partition, offset, key, value, headers, timestamp and timestamp type, no
more, no fewer, no duplicates.

* :func:`functional` -- one Spark session: readStream with ``subscribe`` / ``subscribePattern`` /
  ``assign``; startingOffsets ``earliest`` / ``latest`` / a JSON map; availableNow and processingTime
  triggers; memory, parquet and json sinks; batch reads with startingOffsets and endingOffsets, and
  with startingOffsetsByTimestamp;
  writeStream into a kbroker topic (key, value, headers, partition) read back by Spark and by
  confluent-kafka; a pattern subscription picking up a topic created while it runs.
* :func:`exactly_once` -- a processingTime query into a checkpointed json file sink while a producer
  keeps writing; the broker is killed with SIGKILL and restarted on the same port mid-run, then the
  Spark driver itself is killed with SIGKILL and the query restarted from its checkpoint; at the end
  the sink must hold every record of the topic exactly once.
* :func:`cluster_failover` -- the same query (with ``failOnDataLoss=true``) over a replicated topic
  (RF 3, ``min.insync.replicas=2``) of a three-broker cluster while the leader of each partition in
  turn is SIGKILLed and restarted; an idempotent acks=all producer keeps writing, and at the end the
  sink must be exactly the records it had acknowledged.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCENARIOS = HERE / "scenarios.py"
MARK = "@@spark@@ "


class SparkScenarioFailed(AssertionError):
    """Spark and kbroker disagreed (or Spark failed); the message says where."""


class SparkUnavailable(Exception):
    """This Spark line cannot run here (no Java, or compat/spark/setup.sh has not run)."""


# ---------------------------------------------------------------- Spark lines and their caches


@dataclass(frozen=True)
class SparkLine:
    line: str  # "4.0", "3.5": the directory under compat/spark/
    version: str  # pyspark and spark-sql-kafka version
    scala: str

    @property
    def cache(self) -> Path:
        return Path(os.environ.get("KBROKER_COMPAT_CACHE", ROOT / "compat" / ".cache")) / f"spark-{self.line}"

    @property
    def python(self) -> Path:
        return self.cache / "venv" / "bin" / "python"

    @property
    def jar_dir(self) -> Path:
        return self.cache / "jars"

    def unavailable(self) -> str | None:
        """Why this line cannot run here, or None when it can."""
        if shutil.which("java") is None:
            return "Java is not installed (Spark needs a Java 17+ runtime)"
        if not (self.cache / "ready").exists() or not self.python.exists():
            return f"pyspark {self.version} is not set up in {self.cache} (run bash compat/spark/setup.sh)"
        return None


def lines() -> list[SparkLine]:
    """The Spark versions under test, newest first, read from compat/spark/*/pom.xml."""
    out = []
    for pom in sorted(HERE.glob("*/pom.xml"), reverse=True):
        text = pom.read_text()
        v = re.search(r"<spark.version>([^<]+)</spark.version>", text)
        s = re.search(r"<scala.binary.version>([^<]+)</scala.binary.version>", text)
        if v and s:
            out.append(SparkLine(pom.parent.name, v.group(1), s.group(1)))
    return out


def get_line(line: str) -> SparkLine:
    for sl in lines():
        if sl.line == line:
            return sl
    raise KeyError(f"no Spark line {line!r} under {HERE}")


# ---------------------------------------------------------------- records, produced and read with confluent-kafka

Row = dict[str, Any]  # the dump format of scenarios.py: t p o k v h ts tt


def _b64(b: bytes | None) -> str | None:
    return None if b is None else base64.b64encode(b).decode()


def make_records(tag: str, n: int, partitions: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` records spread over ``partitions`` (explicitly), with CreateTime timestamps that are not
    monotonic; every 13th key and every 17th value is null; most carry headers, some a null-valued
    one."""
    base_ts = (int(time.time()) - 3600) * 1000
    out = []
    for i in range(start, start + n):
        key = None if i % 13 == 5 else f"key-{i % 97:03d}".encode()
        value = None if i % 17 == 3 else f"{tag}|{i}|".encode() + b"payload \x00\xff " * (1 + i % 4)
        headers: list[tuple[str, bytes | None]] = []
        if i % 5:
            headers = [("i", str(i).encode()), ("bin", i.to_bytes(4, "big") + b"\x00\xff")]
            if i % 7 == 0:
                headers.append(("nul", None))
        out.append({"p": i % partitions, "k": key, "v": value, "h": headers,
                    "ts": base_ts + i * 3 + (i * 37) % 11 - 5})
    return out


def _conf(bootstrap: str) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "broker.address.family": "v4"}


def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(_conf(bootstrap))
    futures = admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()], operation_timeout=30)
    for t, f in futures.items():
        try:
            f.result(60)
        except Exception as e:
            raise SparkScenarioFailed(f"creating topic {t}: {e}") from e


def produce(bootstrap: str, topic: str, recs: list[dict[str, Any]]) -> list[Row]:
    """Produce with acks=all; returns each record as a dump row at the offset it was given."""
    from confluent_kafka import Producer

    p = Producer({**_conf(bootstrap), "acks": "all", "linger.ms": 5})
    rows: list[Row | None] = [None] * len(recs)
    errors: list[str] = []

    def report(i: int):
        def cb(err, msg):
            if err is not None:
                errors.append(f"record {i}: {err}")
            else:
                r = recs[i]
                rows[i] = {"t": topic, "p": msg.partition(), "o": msg.offset(), "k": _b64(r["k"]),
                           "v": _b64(r["v"]), "h": [[k, _b64(v)] for k, v in r["h"]], "ts": r["ts"], "tt": 0}
        return cb

    for i, r in enumerate(recs):
        while True:
            try:
                p.produce(topic, value=r["v"], key=r["k"], partition=r["p"], timestamp=r["ts"],
                          headers=r["h"] or None, on_delivery=report(i))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(60)
    if left or errors or any(r is None for r in rows):
        raise SparkScenarioFailed(f"producing to {topic}: {left} undelivered, errors: {errors[:3]}")
    return rows  # type: ignore[return-value]


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[str, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({**_conf(bootstrap), "group.id": "kbroker-spark-harness", "enable.auto.commit": False})
    try:
        return {str(p): c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
    finally:
        c.close()


def read_topic(bootstrap: str, topic: str, partitions: int, timeout: float = 90) -> list[Row]:
    """Every record of ``topic`` (offset 0 to the high watermark) as dump rows, read with assign()."""
    from confluent_kafka import Consumer, TopicPartition

    ends = end_offsets(bootstrap, topic, partitions)
    c = Consumer({**_conf(bootstrap), "group.id": "kbroker-spark-harness", "enable.auto.commit": False,
                  "isolation.level": "read_uncommitted"})
    rows: list[Row] = []
    try:
        todo = {int(p): e for p, e in ends.items() if e > 0}
        c.assign([TopicPartition(topic, p, 0) for p in todo])
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for m in c.consume(500, 1.0):
                if m.error():
                    raise SparkScenarioFailed(f"reading {topic} back: {m.error()}")
                tt, ts = m.timestamp()
                rows.append({"t": topic, "p": m.partition(), "o": m.offset(), "k": _b64(m.key()),
                             "v": _b64(m.value()), "h": [[k, _b64(v)] for k, v in (m.headers() or [])],
                             "ts": ts, "tt": tt - 1})
                if m.offset() + 1 >= todo.get(m.partition(), 0):
                    todo.pop(m.partition(), None)
        if todo:
            raise SparkScenarioFailed(f"reading {topic} back: partitions {sorted(todo)} incomplete after {timeout}s")
    finally:
        c.close()
    return rows


# ---------------------------------------------------------------- comparing


def _key(r: Row) -> tuple:
    return (r["t"], r["p"], r["o"])


def _short(r: Row | None) -> str:
    if r is None:
        return "nothing"
    s = json.dumps(r, sort_keys=True)
    return s if len(s) < 220 else s[:219] + "…"


def compare(name: str, want: list[Row], got: list[Row], *, headers: bool = True, timestamps: bool = True) -> str:
    """``got`` must be exactly ``want``: the same (topic, partition, offset) positions, each once,
    with the same key, value, timestamp type, and (when asked for) headers and timestamps."""
    problems: list[str] = []
    counts: Counter[str] = Counter()

    def add(kind: str, text: str) -> None:
        counts[kind] += 1
        if counts[kind] <= 3:
            problems.append(text)

    by_pos: dict[tuple, Row] = {}
    for r in got:
        if _key(r) in by_pos:
            add("duplicate", f"{_key(r)} delivered more than once")
        by_pos[_key(r)] = r
    wanted = {_key(r): r for r in want}
    for pos, w in wanted.items():
        g = by_pos.get(pos)
        if g is None:
            add("missing", f"{pos} missing (want {_short(w)})")
            continue
        fields = ["k", "v", "tt"] + (["h"] if headers else []) + (["ts"] if timestamps else [])
        diff = [f for f in fields if g.get(f) != w.get(f)]
        if diff:
            add("different", f"{pos} differs in {diff}: got {_short(g)}, want {_short(w)}")
    for pos in by_pos.keys() - wanted.keys():
        add("unexpected", f"{pos} not expected: {_short(by_pos[pos])}")
    if counts:
        kinds = ", ".join(f"{k}×{n}" for k, n in counts.items())
        raise SparkScenarioFailed(f"{name}: {len(got)} rows for {len(want)} records ({kinds}): " + "; ".join(problems))
    return f"{name} {len(got)}"


def _load(path: Path) -> list[Row]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


# ---------------------------------------------------------------- the Spark process


class SparkProcess:
    """``scenarios.py PLAN`` in the line's venv, in its own process group (so that a kill takes the
    JVM with it).  Events come from stdout; stderr (Spark's log) goes to a file."""

    def __init__(self, sl: SparkLine, plan: dict[str, Any], work: Path, name: str):
        self.work = work
        plan = {**plan, "work": str(work), "jar_dir": str(sl.jar_dir)}
        plan_path = work / f"{name}-plan.json"
        plan_path.write_text(json.dumps(plan))
        self.log_path = work / f"{name}-spark.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SPARK_", "PYSPARK_"))}
        env.update(SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=str(sl.python), PYTHONUNBUFFERED="1",
                   TMPDIR=str(work))
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(sl.python), str(SCENARIOS), str(plan_path)], cwd=str(work), env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     start_new_session=True)
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith(MARK):
                self.events.put(json.loads(line[len(MARK):]))
        self.events.put(None)

    def log_tail(self, n: int = 3000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        keep = [ln for ln in text.splitlines() if not ln.startswith("\tat ")]
        return "\n".join(keep)[-n:]

    def next_event(self, timeout: float) -> dict[str, Any]:
        try:
            ev = self.events.get(timeout=timeout)
        except queue.Empty:
            raise SparkScenarioFailed(f"Spark sent nothing for {timeout:.0f}s; log {self.log_path}:\n"
                                      f"{self.log_tail()}") from None
        if ev is None:
            self.events.put(None)
            rc = self.proc.wait()
            raise SparkScenarioFailed(f"Spark process exited {rc}; log {self.log_path}:\n{self.log_tail()}")
        if ev["event"] == "error":
            raise SparkScenarioFailed(f"Spark: {ev['error']}\n{ev.get('trace', '')[-1500:]}")
        return ev

    def expect(self, event: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next_event(max(0.1, deadline - time.monotonic()))
            if ev["event"] == event:
                return ev

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL the driver and its JVM (the whole process group: the JVM may outlive the driver)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9
        finally:
            self._log.close()


def _check_ready(sl: SparkLine) -> None:
    reason = sl.unavailable()
    if reason:
        raise SparkUnavailable(reason)


# ---------------------------------------------------------------- scenario: functional


def functional(sl: SparkLine, bootstrap: str, work: Path) -> str:
    _check_ready(sl)
    work.mkdir(parents=True, exist_ok=True)
    run = f"spark{sl.line.replace('.', '')}-{uuid.uuid4().hex[:8]}"
    t = {"main": f"{run}-main", "pat_a": f"{run}-pat-a", "pat_b": f"{run}-pat-b", "sink": f"{run}-sink",
         "latest": f"{run}-latest", "lat1": f"{run}-lat-1", "lat2": f"{run}-lat-2"}
    create_topics(bootstrap, {t["main"]: 3, t["pat_a"]: 2, t["pat_b"]: 1, t["sink"]: 3, t["latest"]: 2,
                              t["lat1"]: 2})
    main = produce(bootstrap, t["main"], make_records("main", 2400, 3))
    pat = (produce(bootstrap, t["pat_a"], make_records("pat-a", 300, 2))
           + produce(bootstrap, t["pat_b"], make_records("pat-b", 150, 1)))
    old_latest = produce(bootstrap, t["latest"], make_records("old", 50, 2))
    old_lat1 = produce(bootstrap, t["lat1"], make_records("old", 40, 2))

    # a different time in each partition, inside its records (timestamps are not monotonic)
    since = {p: sorted(r["ts"] for r in main if r["p"] == p)[200 + 150 * p] for p in range(3)}
    plan = {"mode": "functional", "bootstrap": bootstrap, "topics": t,
            "pattern": re.escape(run) + "-pat-.*", "latest_pattern": re.escape(run) + "-lat-.*",
            "assign": {t["main"]: [0, 2]}, "assign_start": {t["main"]: {"0": 100, "2": -2}},
            "slice_start": {t["main"]: {"0": 5, "1": -2, "2": 300}},
            "slice_end": {t["main"]: {"0": 50, "1": -1, "2": 301}},
            "since": {t["main"]: {str(p): since[p] for p in range(3)}}}
    sp = SparkProcess(sl, plan, work, "functional")
    results: list[str] = []
    got: dict[str, list[Row]] = {}
    try:
        session = sp.expect("session", timeout=300)
        if session["spark"] != sl.version:
            raise SparkScenarioFailed(f"the venv runs Spark {session['spark']}, expected {sl.version}")
        for _ in range(7):
            ev = sp.expect("done", timeout=300)
            got[ev["name"]] = _load(work / f"{ev['name']}.jsonl")
        sp.expect("latest-started", timeout=300)
        new_latest = produce(bootstrap, t["latest"], make_records("new", 300, 2, start=1000))
        new_lat1 = produce(bootstrap, t["lat1"], make_records("new", 200, 2, start=2000))
        create_topics(bootstrap, {t["lat2"]: 2})
        new_lat2 = produce(bootstrap, t["lat2"], make_records("created", 100, 2, start=3000))
        ends = {k: {t[k]: end_offsets(bootstrap, t[k], 2)} for k in ("latest", "lat1", "lat2")}
        sp.send({"subscribe_latest": ends["latest"], "pattern_latest": {**ends["lat1"], **ends["lat2"]}})
        for _ in range(2):
            ev = sp.expect("done", timeout=300)
            got[ev["name"]] = _load(work / f"{ev['name']}.jsonl")
        sp.expect("finished", timeout=120)
    except BaseException:
        sp.kill()
        raise
    finally:
        sp.close()

    p0_from_100 = [r for r in main if (r["p"] == 0 and r["o"] >= 100) or r["p"] == 2]
    in_slice = [r for r in main if (r["p"] == 0 and 5 <= r["o"] < 50) or r["p"] == 1
                or (r["p"] == 2 and 300 <= r["o"] < 301)]
    by_time = []
    for p in range(3):  # from the first offset whose timestamp is at or after `since`
        rows = [r for r in main if r["p"] == p]
        first = next(r["o"] for r in rows if r["ts"] >= since[p])
        by_time += [r for r in rows if r["o"] >= first]
    sink_want = [{**r, "t": t["sink"]} for r in main]
    sink_read = read_topic(bootstrap, t["sink"], 3)
    checks = [
        ("subscribe_earliest", main, {}),
        ("pattern_parquet", pat, {"headers": False}),
        ("assign_json", p0_from_100, {}),
        ("batch_all", main, {}),
        ("batch_slice", in_slice, {"headers": False}),
        ("batch_by_time", by_time, {"headers": False}),
        ("kafka_sink_readback", sink_want, {"timestamps": False}),
        ("subscribe_latest", new_latest, {}),
        ("pattern_latest", new_lat1 + new_lat2, {"headers": False}),
    ]
    for name, want, kw in checks:
        if name not in got:
            raise SparkScenarioFailed(f"{name}: Spark reported no result")
        results.append(compare(name, want, got[name], **kw))
    compare("kafka sink read by confluent-kafka", sink_want, sink_read, timestamps=False)
    # old records stayed out of the `latest` queries
    assert not {_key(r) for r in old_latest + old_lat1} & {_key(r) for r in got["subscribe_latest"]
                                                           + got["pattern_latest"]}
    return f"Spark {sl.version}: " + ", ".join(results)


# ---------------------------------------------------------------- scenario: exactly once across kills


class _Producer(threading.Thread):
    """Keeps producing unique records (acks=all, retries on) until stopped; remembers which were
    acknowledged: their values in ``acked`` and each as a dump row at the offset it was given in
    ``acked_rows``.  Without idempotence a retry after the broker is killed may write a record twice,
    which is still a record of the topic that the sink must hold (at its own offset) exactly once;
    with it (``idempotent=True``) the broker must drop such retries, so that the log holds exactly
    the acknowledged records."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, per_tick: int = 20, tick: float = 0.1,
                 idempotent: bool = False):
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.partitions = bootstrap, topic, partitions
        self.per_tick, self.tick, self.idempotent = per_tick, tick, idempotent
        self.stop_event = threading.Event()
        self.acked: set[str] = set()
        self.acked_rows: list[Row] = []
        self.errors: list[str] = []
        self.sent = 0

    def run(self) -> None:
        from confluent_kafka import Producer

        p = Producer({**_conf(self.bootstrap), "acks": "all", "enable.idempotence": self.idempotent,
                      "linger.ms": 5, "message.timeout.ms": 120000, "retry.backoff.ms": 200,
                      "reconnect.backoff.max.ms": 1000,
                      "log_level": 2})  # connection errors while the broker is down are expected

        def report(r: dict[str, Any]):
            def cb(err, msg):
                if err is not None:
                    self.errors.append(str(err))
                else:
                    self.acked.add(msg.value().decode())
                    self.acked_rows.append({"t": self.topic, "p": msg.partition(), "o": msg.offset(),
                                            "k": _b64(r["k"]), "v": _b64(r["v"]),
                                            "h": [[k, _b64(v)] for k, v in r["h"]], "ts": r["ts"], "tt": 0})
            return cb

        i = 0
        next_tick = time.monotonic()
        while not self.stop_event.is_set():
            next_tick += self.tick
            for _ in range(self.per_tick):
                r = make_records("stream", 1, self.partitions, start=i)[0]
                r["v"] = f"stream|{i}".encode()
                try:
                    p.produce(self.topic, value=r["v"], key=r["k"], partition=r["p"], timestamp=r["ts"],
                              headers=r["h"] or None, on_delivery=report(r))
                    i += 1
                except BufferError:
                    break
            p.poll(0)
            self.stop_event.wait(max(0.0, next_tick - time.monotonic()))
        self.sent = i
        left = p.flush(120)
        if left:
            self.errors.append(f"{left} records still unacknowledged after flush")


def _data_batches(sp: SparkProcess, n: int, phase: str, batches: list[tuple[str, int]],
                  timeout: float = 240) -> None:
    """Until the query has finished ``n`` more batches that read something; each batch is noted in
    ``batches`` with ``phase``."""
    deadline = time.monotonic() + timeout
    seen = 0
    while seen < n:
        ev = sp.expect("batch", timeout=max(1.0, deadline - time.monotonic()))
        batches.append((phase, ev["rows"]))
        if ev["rows"] > 0:
            seen += 1


def exactly_once(sl: SparkLine, broker: Any, work: Path, partitions: int = 3) -> str:
    """``broker`` is a tests/support/brokerproc.py BrokerProcess that this scenario may kill and restart."""
    _check_ready(sl)
    work.mkdir(parents=True, exist_ok=True)
    topic = f"spark{sl.line.replace('.', '')}-stream-{uuid.uuid4().hex[:8]}"
    create_topics(broker.bootstrap, {topic: partitions})
    plan = {"mode": "stream", "bootstrap": broker.bootstrap, "topic": topic, "trigger": "1 second",
            "max_per_trigger": 400, "out": str(work / "stream-out"), "checkpoint": str(work / "stream-checkpoint")}
    producer = _Producer(broker.bootstrap, topic, partitions)
    producer.start()
    try:
        batches: list[tuple[str, int]] = []

        def data_batches(sp: SparkProcess, n: int, phase: str) -> None:
            _data_batches(sp, n, phase, batches)

        sp1 = SparkProcess(sl, plan, work, "stream-1")
        try:
            sp1.expect("started", timeout=300)
            data_batches(sp1, 2, "before broker kill")
            broker.kill()
            time.sleep(2)
            broker.start()
            data_batches(sp1, 2, "after broker restart")
        finally:
            sp1.kill()  # the driver dies mid-run; the query restarts from its checkpoint below
            sp1.close()

        sp2 = SparkProcess(sl, plan, work, "stream-2")
        try:
            sp2.expect("started", timeout=300)
            data_batches(sp2, 2, "after query restart")
            producer.stop_event.set()
            producer.join(180)
            ends = end_offsets(broker.bootstrap, topic, partitions)
            sp2.send({"until": {topic: ends}})
            sp2.expect("done", timeout=300)
            sp2.expect("finished", timeout=120)
        except BaseException:
            sp2.kill()
            raise
        finally:
            sp2.close()
    finally:
        producer.stop_event.set()  # also when a step above failed
        producer.join(180)

    if producer.errors:
        raise SparkScenarioFailed(f"the producer failed: {producer.errors[:3]}")
    log = read_topic(broker.bootstrap, topic, partitions)
    in_log = Counter(base64.b64decode(r["v"]).decode() for r in log if r["v"] is not None)
    lost = producer.acked - set(in_log)
    if lost:
        raise SparkScenarioFailed(f"{len(lost)} acknowledged records are not in the log, e.g. {sorted(lost)[:3]}")
    sink = _load(work / "stream.jsonl")
    summary = compare("exactly-once sink", log, sink)
    retried = sum(n - 1 for n in in_log.values() if n > 1)
    return (f"Spark {sl.version}: {summary} rows in the checkpointed json sink = every record of the topic, "
            f"once each ({producer.sent} produced, {len(producer.acked)} acked, {retried} written twice by "
            f"producer retries); {len([b for b in batches if b[1]])} data batches across a broker SIGKILL + "
            f"restart and a driver SIGKILL + query restart from the checkpoint")


# ---------------------------------------------------------------- scenario: leader kills in a cluster


def cluster_failover(sl: SparkLine, cluster: Any, work: Path, partitions: int = 3, kills: int = 3) -> str:
    """``cluster`` is a started compat/cluster/launcher.py Cluster of three brokers, which this
    scenario kills and restarts broker by broker.  A topic of ``partitions`` partitions, RF 3 and
    min.insync.replicas=2; an idempotent acks=all producer keeps writing while a processingTime query
    with failOnDataLoss=true feeds a checkpointed json sink.  ``kills`` times, the leader of the next
    partition is SIGKILLed, the query must go on reading while it is down, and it is restarted and
    back in every ISR before the next kill.  At the end the sink must be exactly the acknowledged
    records (topic, partition, offset, key, value, headers, timestamp), and the query must not have
    failed (it would on offsets going backwards or records vanishing)."""
    _check_ready(sl)
    work.mkdir(parents=True, exist_ok=True)
    topic = f"spark{sl.line.replace('.', '')}-failover-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, partitions, 3, {"min.insync.replicas": "2"})
    cluster.wait_isr_full(topic)
    plan = {"mode": "stream", "bootstrap": cluster.bootstrap, "topic": topic, "trigger": "1 second",
            "max_per_trigger": 400, "out": str(work / "stream-out"), "checkpoint": str(work / "stream-checkpoint"),
            # Spark's AdminClient sends ListOffsets to the leader its metadata names; one sent to a
            # broker just killed (still the leader until its ZooKeeper session expires) waits for that
            # node until default.api.timeout.ms (60 s), then Spark retries with a new AdminClient,
            # which finds the new leader: 20 s keeps the retry (fetchOffset.numRetries=3) and the run short
            # (the AdminClient refuses a default.api.timeout.ms below request.timeout.ms)
            "options": {"failOnDataLoss": "true", "kafka.default.api.timeout.ms": "20000",
                        "kafka.request.timeout.ms": "10000"}}
    producer = _Producer(cluster.bootstrap, topic, partitions, idempotent=True)
    producer.start()
    batches: list[tuple[str, int]] = []
    killed: list[str] = []
    try:
        sp = SparkProcess(sl, plan, work, "failover")
        try:
            sp.expect("started", timeout=300)
            _data_batches(sp, 2, "before the first kill", batches)
            for k in range(kills):
                p = k % partitions
                leaders = cluster.leaders(topic)
                victim = leaders[p]
                led = {q for q, b in leaders.items() if b == victim}
                cluster.kill(victim)
                killed.append(f"broker {victim} (leader of partitions {sorted(led)})")
                cluster.wait_leader_moved(topic, led, victim, timeout=60)
                _data_batches(sp, 2, f"broker {victim} down", batches)
                cluster.restart(victim)
                cluster.wait_isr_full(topic, timeout=90)
                _data_batches(sp, 1, f"broker {victim} back", batches)
            producer.stop_event.set()
            producer.join(180)
            if producer.is_alive():
                raise SparkScenarioFailed("the producer did not finish flushing in 180 s")
            ends = end_offsets(cluster.bootstrap, topic, partitions)
            sp.send({"until": {topic: ends}})
            sp.expect("done", timeout=300)
            sp.expect("finished", timeout=120)
        except BaseException:
            sp.kill()
            raise
        finally:
            sp.close()
    finally:
        producer.stop_event.set()  # also when a step above failed
        producer.join(180)

    if producer.errors:
        raise SparkScenarioFailed(f"the producer failed: {producer.errors[:3]}")
    # the log itself first, so that a broker losing or adding records is told apart from Spark doing so
    log_summary = compare("the topic read by confluent-kafka", producer.acked_rows,
                          read_topic(cluster.bootstrap, topic, partitions))
    summary = compare("failover sink", producer.acked_rows, _load(work / "stream.jsonl"))
    return (f"Spark {sl.version}: {summary} rows in the checkpointed json sink = the acknowledged records "
            f"({producer.sent} produced idempotently with acks=all; {log_summary}); "
            f"{len([b for b in batches if b[1]])} data batches with failOnDataLoss=true across SIGKILL + "
            f"restart of " + ", then ".join(killed))


def main(argv: list[str] | None = None) -> int:
    """python -m compat.spark.harness [LINE ...]: run both scenarios against a fresh broker."""
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("lines", nargs="*", help="Spark lines (default: all of " + ", ".join(s.line for s in lines()) + ")")
    ap.add_argument("--scenario", choices=("functional", "exactly-once", "cluster-failover", "all"),
                    default="all", help="cluster-failover runs alone (ZooKeeper and three brokers of its own)")
    args = ap.parse_args(argv)
    from tests.support.brokerproc import BrokerProcess

    rc = 0
    for sl in [get_line(x) for x in args.lines] or lines():
        work = Path(tempfile.mkdtemp(prefix=f"kbroker-spark{sl.line}-"))
        if args.scenario == "cluster-failover":
            from compat.cluster.launcher import Cluster
            from tests.broker.test_cluster import FAST

            t0 = time.monotonic()
            try:
                with Cluster(work / "cluster", brokers=3, overrides=FAST) as cluster:
                    summary = cluster_failover(sl, cluster, work / "cluster_failover")
                print(f"PASS cluster_failover ({time.monotonic() - t0:.0f}s): {summary}", flush=True)
            except (SparkScenarioFailed, SparkUnavailable, TimeoutError) as e:
                rc = 1
                print(f"FAIL cluster_failover ({time.monotonic() - t0:.0f}s): {e}", flush=True)
            print(f"work dir: {work}")
            continue
        broker = BrokerProcess(work / "data").start()
        try:
            todo = {"functional": [functional], "exactly-once": [exactly_once],
                    "all": [functional, exactly_once]}[args.scenario]
            for fn in todo:
                t0 = time.monotonic()
                try:
                    arg = broker if fn is exactly_once else broker.bootstrap
                    summary = fn(sl, arg, work / fn.__name__)
                    print(f"PASS {fn.__name__} ({time.monotonic() - t0:.0f}s): {summary}", flush=True)
                except (SparkScenarioFailed, SparkUnavailable) as e:
                    rc = 1
                    print(f"FAIL {fn.__name__} ({time.monotonic() - t0:.0f}s): {e}", flush=True)
        finally:
            broker.stop()
        print(f"work dir: {work}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
