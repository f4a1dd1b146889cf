"""Partition reassignment under load, with Kafka's own tools: three brokers and a ZooKeeper, a topic
of 6 partitions with replication factor 3 and min.insync.replicas=2, an idempotent acks=all
confluent-kafka producer and the Java one (compat/cluster/producer.py) running throughout.

Scale out: a 4th broker joins (``Cluster.add_broker``); Kafka 4.1.1's ``kafka-reassign-partitions``
(org.apache.kafka.tools.reassign.ReassignPartitionsCommand, the jars of compat/kafka_ref) ``--execute``s a
JSON plan moving replicas of partitions 0-2 onto it and ``--verify`` is run until it reports every
move completed; the Java Admin's ``alterPartitionReassignments`` (compat/cluster/java/.../Reassign.java)
moves replicas of partitions 3-5.  Scale in: every replica is moved off broker 1 with the tool, broker
1 is stopped (SIGTERM).  Then: every record acknowledged is there exactly once at its offset, in key
order (compat/cluster/checker.py), and every partition has 3 in-sync replicas on brokers 2-4.

Needs java/javac with the kafka-clients jars, the Kafka 4.1.1 jars and ZooKeeper; without them it
skips, except under CI=true, where it fails."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from compat.cluster import checker, producer
from tests.broker.test_cluster import FAST
from tests.support import ROOT
from tests.support.tools import IN_CI, require_java_producer
from tests.support.zookeeper import require_zookeeper

TOPIC = "scale"
COUNT = 6000  # records per producer
RATE = 100  # records per second per producer while the reassignments run
REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"


def _kafka_jars() -> Path:
    from compat.kafka_ref.launcher import fetch_jars

    try:
        return fetch_jars()
    except (OSError, subprocess.CalledProcessError) as e:
        if IN_CI:
            pytest.fail(f"the Kafka 4.1.1 jars must be there under CI=true: {e}")
        pytest.skip(f"the Kafka 4.1.1 jars are not available: {e}")


def _tool(jars: Path, bootstrap: str, *args: str, timeout: float = 120) -> tuple[int, str]:
    cmd = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", f"{jars}/*", REASSIGN,
           "--bootstrap-server", bootstrap, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = (p.stdout + p.stderr).strip()
    print(f"$ kafka-reassign-partitions {' '.join(args)}\n{out}\n(exit {p.returncode})", flush=True)
    return p.returncode, out


def _write_plan(workdir: Path, name: str, moves: dict[int, list[int]], topic: str = TOPIC) -> Path:
    plan = workdir / f"{name}.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic, "partition": p, "replicas": r} for p, r in sorted(moves.items())]}))
    return plan


def _execute(jars: Path, bootstrap: str, plan: Path, *extra: str) -> str:
    rc, out = _tool(jars, bootstrap, "--reassignment-json-file", str(plan), "--execute", *extra)
    assert rc == 0 and "Successfully started partition reassignment" in out, out
    return out


def _verify_until_completed(jars: Path, bootstrap: str, plan: Path, topic: str, partitions: Iterable[int],
                            timeout: float = 90) -> str:
    """``--verify`` every 2 s until it reports every partition's move completed; its last output."""
    deadline = time.monotonic() + timeout
    while True:
        rc, out = _tool(jars, bootstrap, "--reassignment-json-file", str(plan), "--verify")
        done = [f"Reassignment of partition {topic}-{p} is completed." in out for p in partitions]
        if rc == 0 and all(done):
            return out
        assert rc == 0 and "rror" not in out, out  # in progress, or an error
        assert time.monotonic() < deadline, f"the reassignment {plan.name} did not complete:\n{out}"
        time.sleep(2)


def _execute_and_verify(jars: Path, bootstrap: str, workdir: Path, name: str,
                        moves: dict[int, list[int]]) -> str:
    plan = _write_plan(workdir, name, moves)
    _execute(jars, bootstrap, plan)
    return _verify_until_completed(jars, bootstrap, plan, TOPIC, moves)


def _java_reassign(bootstrap: str, moves: dict[int, list[int]]) -> dict[int, list[int]]:
    cmd = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
           "-Dorg.slf4j.simpleLogger.logFile=System.err", "-cp", producer.java_classpath(), "kbroker.cluster.Reassign",
           "--bootstrap", bootstrap, "--topic", TOPIC, "--timeout-s", "90"]
    for p, r in sorted(moves.items()):
        cmd += ["--move", f"{p}={','.join(map(str, r))}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    out = proc.stdout + proc.stderr[-3000:]
    print(f"$ java kbroker.cluster.Reassign ...\n{out}", flush=True)
    assert proc.returncode == 0, out
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("@@reassign@@ "))
    return {int(k): v for k, v in json.loads(line.split(" ", 1)[1]).items()}


class _Gate:
    """The producers' gate file, raised by RATE every second until ``release``."""

    def __init__(self, path: Path) -> None:
        self.path, self.allowed, self._stop = path, 0, threading.Event()
        self._set(0)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _set(self, n: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(n))
        os.replace(tmp, self.path)

    def _run(self) -> None:
        while not self._stop.wait(1) and self.allowed < COUNT:
            self.allowed = min(COUNT, self.allowed + RATE)
            self._set(self.allowed)

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        self._set(COUNT)


def _acked(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text().splitlines() if '"o":' in line)
    except OSError:
        return 0


@pytest.mark.timeout(600)
def test_scale_out_and_in_under_load_with_kafkas_tool_and_admin(tmp_path) -> None:
    require_zookeeper()
    require_java_producer()
    jars = _kafka_jars()
    from compat.cluster.launcher import Cluster

    c = Cluster(tmp_path / "cluster", brokers=3, overrides=FAST)
    procs: list[subprocess.Popen] = []
    gate: _Gate | None = None
    try:
        c.start()
        c.create_topic(TOPIC, 6, 3, {"min.insync.replicas": "2"})
        c.wait_isr_full(TOPIC)
        bootstrap = c.bootstrap
        gate = _Gate(tmp_path / "gate")
        logs = {"py": tmp_path / "acks-py.jsonl", "java": tmp_path / "acks-java.jsonl"}
        cmds = [producer.python_command(bootstrap, TOPIC, COUNT, logs["py"], name="py", gate=gate.path),
                producer.java_command(bootstrap, TOPIC, COUNT, logs["java"], name="java", gate=gate.path)]
        for name, cmd in zip(logs, cmds, strict=True):
            out = open(tmp_path / f"producer-{name}.out", "w")  # noqa: SIM115 - closed with the process
            procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL))
        c.wait(lambda: all(_acked(p) > 0 for p in logs.values()), 60, "both producers acknowledged")

        # -- scale out: broker 4 joins and takes a replica of every partition
        new = c.add_broker()
        assert new == 4
        before = c.describe(TOPIC)
        # the tool moves partitions 0-2, the Admin 3-5: each drops its last replica for broker 4
        tool_moves = {p: [*before[p].replicas[:2], new] for p in (0, 1, 2)}
        admin_moves = {p: [new, *before[p].replicas[:2]] for p in (3, 4, 5)}
        verified = _execute_and_verify(jars, c.bootstrap, tmp_path, "scale-out", tool_moves)
        assert "is completed" in verified
        assert _java_reassign(c.bootstrap, admin_moves) == admin_moves
        after = c.describe(TOPIC)
        for p, r in {**tool_moves, **admin_moves}.items():
            assert list(after[p].replicas) == r, (p, after[p])
        assert any(_acked(p) < COUNT for p in logs.values())  # the load was still running

        # -- scale in: everything off broker 1, then broker 1 stops
        gone = 1
        now = c.describe(TOPIC)
        out_moves = {}
        for p, s in now.items():
            if gone in s.replicas:
                spare = next(b for b in sorted(c.brokers) if b != gone and b not in s.replicas)
                out_moves[p] = [spare if r == gone else r for r in s.replicas]
        _execute_and_verify(jars, c.bootstrap, tmp_path, "scale-in", out_moves)
        c.wait(lambda: not any(c.brokers[gone].data_dir.glob(f"{TOPIC}-*")), 30,
               f"broker {gone}'s replicas of {TOPIC} deleted")
        c.brokers[gone].stop(timeout=30)  # SIGTERM

        gate.release()
        for proc in procs:
            proc.wait(timeout=240)
        rest = ",".join(c.brokers[b].bootstrap for b in sorted(c.brokers) if b != gone)
        final = checker.read_topic(rest, TOPIC)
        result = checker.check(checker.load_acks(logs.values()), final)
        print(result.report())
        assert result.violations["missing"] == [] and result.violations["duplicate"] == [], result.report()
        assert result.total == 0, result.report()
        assert result.stats["acknowledged"] == 2 * COUNT, result.report()
        assert all(proc.returncode == 0 for proc in procs)
        c.wait(lambda: all(len(s.replicas) == 3 and set(s.isr) == set(s.replicas) and gone not in s.replicas
                           and s.leader in s.replicas for s in c.describe(TOPIC).values()), 60,
               "every partition with 3 in-sync replicas on brokers 2-4")
    finally:
        if gate is not None:
            gate.release()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        c.stop()
