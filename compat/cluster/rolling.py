"""The rolling restart: every broker in turn SIGTERMed (a controlled shutdown) and started again under
load, with nothing lost and no delivery failed; afterwards the preferred leaders come back.

    python -m compat.cluster.rolling --rebalance auto     # auto.leader.rebalance.enable=true
    python -m compat.cluster.rolling --rebalance tool     # disabled; Kafka's kafka-leader-election

A cluster of 3 brokers and a ZooKeeper (compat/cluster/launcher.py); a topic of 6 partitions,
replication factor 3, ``min.insync.replicas=2``; the idempotent ``acks=all`` confluent-kafka producer
and the Java one (compat/cluster/producer.py) send ``--rate`` records/s each, logging every
acknowledgement, while broker 1, 2 and 3 are SIGTERMed one after the other, each started again once
it has exited, and the next one stopped only when every ISR is full again (and both producers got
acknowledgements since). Then the preferred leaders must lead again:

- ``auto``: by the controller's own check (``leader.imbalance.check.interval.seconds``, short here);
- ``tool``: ``kafka-leader-election --election-type PREFERRED --all-topic-partitions`` (Kafka 4.1.1's
  org.apache.kafka.tools.LeaderElectionCommand, jars of compat/kafka_ref, run as compat/cli_compare.py
  runs Kafka's tools); after the producers are done, a second topic's partition (replicas [a, b],
  ``unclean.leader.election.enable=false``) is made offline with only the out-of-sync b alive and
  ``kafka-leader-election --election-type UNCLEAN --topic .. --partition 0`` must elect b.

The producers' gate files move ahead of them (5 s at ``--rate``) and then stop: each producer sends up
to that count, every answer is waited for, it is ended; the topic is read and compat/cluster/checker.py compares it with the ack logs. The report
gives each restart (was the broker the controller, how long its SIGTERM took, what its controlled
shutdown logged) and, per producer, the longest interval without an acknowledgement during the rolling
restart. It ends with ``violations: N`` (checker violations, delivery failures, problems); the exit
status is 1 when N > 0.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from compat.cluster import producer as producers
from compat.cluster.checker import check, load_acks, read_topic
from compat.cluster.failover import AckCounter, ProducerRun
from compat.cluster.launcher import Cluster

TOPIC = "rolling"
OFFLINE_TOPIC = "offline"
LEADER_ELECTION = "org.apache.kafka.tools.LeaderElectionCommand"
HUGE = 10_000_000  # records a producer may send: it is stopped with its gate


def now_ms() -> int:
    return int(time.time() * 1000)


def longest_gap(acks: list[dict], name: str, start_ms: int, end_ms: int) -> tuple[int, int, int]:
    """The longest interval without an acknowledgement of producer ``name`` within [start_ms, end_ms]
    (its edges count as acknowledgements): (length ms, from ms, to ms)."""
    ts = sorted(a["ts"] for a in acks if a["producer"] == name and "err" not in a and start_ms <= a["ts"] <= end_ms)
    points = [start_ms, *ts, end_ms]
    best = (0, start_ms, start_ms)
    for a, b in zip(points, points[1:], strict=False):
        if b - a > best[0]:
            best = (b - a, a, b)
    return best


def run_tool(args: list[str], bootstrap: str, timeout: float = 120) -> str:
    """One of Kafka 4.1.1's tools, as compat/cli_compare.py runs them: its output and ``(exit N)``."""
    from compat.cli_compare import Step
    from compat.cli_compare import run_tool as cli_run_tool
    from compat.kafka_ref.launcher import fetch_jars

    return cli_run_tool(fetch_jars(), bootstrap, Step("leader-election", LEADER_ELECTION, args), timeout)


class RollingRestart:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.workdir = Path(a.dir or tempfile.mkdtemp(prefix="kbroker-rolling-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        overrides = {
            "min.insync.replicas": "2",
            "unclean.leader.election.enable": "false",
            "zookeeper.session.timeout.ms": "6000",
            "replica.fetch.wait.max.ms": "200",
            "auto.leader.rebalance.enable": "true" if a.rebalance == "auto" else "false",
            "leader.imbalance.check.interval.seconds": str(a.imbalance_check_seconds),
        }
        overrides.update(dict(o.split("=", 1) for o in a.override))
        self.cluster = Cluster(self.workdir, 3, overrides)
        self.producers: list[ProducerRun] = []
        self.problems: list[str] = []
        self.restarts: list[dict] = []
        self.tool_runs: list[tuple[str, str]] = []
        self.lines: list[str] = []
        self.roll_ms = (0, 0)
        self._stop_gates = threading.Event()
        self._gating: threading.Thread | None = None
        self.started = time.monotonic()

    # -- producers -------------------------------------------------------------------------------------

    def start_producers(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]) + os.pathsep
                   + os.environ.get("PYTHONPATH", ""))
        self.started = time.monotonic()
        for name in ("py", "java"):
            run = ProducerRun(name, HUGE, self.workdir / f"acks-{name}.jsonl", self.workdir / f"gate-{name}")
            run.set_gate(self.gate_now())
            if name == "java":
                cmd = producers.java_command(self.cluster.bootstrap, TOPIC, HUGE, run.ack_log, name=name,
                                             rate=self.a.rate, gate=run.gate)
            else:
                cmd = producers.python_command(self.cluster.bootstrap, TOPIC, HUGE, run.ack_log, name=name,
                                               rate=self.a.rate, gate=run.gate)
            run.out = self.workdir / f"producer-{name}.out"
            with open(run.out, "wb") as out:
                run.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, env=env)
            self.producers.append(run)
        self._gating = threading.Thread(target=self._move_gates, name="gates", daemon=True)
        self._gating.start()

    def gate_now(self) -> int:
        """A record count the paced producers cannot have reached yet (they re-read the gate when
        they reach it): ``--rate`` per second since their start, plus 5 s."""
        return int(self.a.rate * (time.monotonic() - self.started + 5))

    def _move_gates(self) -> None:
        while not self._stop_gates.wait(0.5):
            for run in self.producers:
                run.set_gate(self.gate_now())

    def acked(self, run: ProducerRun) -> int:
        return AckCounter([run.ack_log]).update()

    def wait_progress(self, what: str, more: int = 20, timeout: float = 120) -> None:
        """Until every producer has ``more`` acknowledgements (or failures) past what it has now."""
        base = {r.name: self.acked(r) for r in self.producers}
        self.cluster.wait(lambda: all(self.acked(r) >= base[r.name] + more for r in self.producers), timeout,
                          f"acknowledgements of both producers {what}")

    def stop_producers(self) -> None:
        """Holds each producer at a record count it has not reached (it is paced: at most ``rate``
        per second since its start), waits for all of those answers, ends it."""
        self._stop_gates.set()
        if self._gating is not None:
            self._gating.join()
        stop_at = max(int(r.gate.read_text()) for r in self.producers)
        for run in self.producers:
            run.set_gate(stop_at)  # where each stops: it has sent fewer, it re-reads when it gets there
        for run in self.producers:
            try:
                self.cluster.wait(lambda run=run: self.acked(run) >= stop_at or not run.running(), 180,
                                  f"the {run.name} producer's {stop_at} answers")
            except TimeoutError as e:
                self.problems.append(str(e))
            if not run.running():
                self.problems.append(f"the {run.name} producer ended early: {run.out.read_text()[-2000:]}")
            run.terminate()

    # -- the run ---------------------------------------------------------------------------------------

    def run(self) -> int:
        c = self.cluster
        c.start()
        c.create_topic(TOPIC, 6, 3, {"min.insync.replicas": "2"})
        c.wait_isr_full(TOPIC, 60)
        preferred = {p: s.replicas[0] for p, s in c.describe(TOPIC).items()}
        self.lines.append(f"- preferred leaders: {preferred}")
        self.start_producers()
        self.wait_progress("before the first restart", timeout=180)
        start_ms = now_ms()
        for b in sorted(c.brokers):
            self.restart_one(b)
        end_ms = now_ms()
        self.roll_ms = (start_ms, end_ms)
        self.preferred_back(preferred)
        self.wait_progress("after the preferred leaders came back")
        self.stop_producers()
        acks = load_acks([r.ack_log for r in self.producers])
        final = read_topic(c.bootstrap, TOPIC, "final", 180)
        result = check(acks, final)
        failed = [x for x in acks if "err" in x]
        self.lines.append("")
        self.lines.append(f"## Longest interval without an acknowledgement during the rolling restart "
                          f"({(end_ms - start_ms) / 1000:.1f} s)")
        self.lines.append("")
        for run in self.producers:
            gap, a, b = longest_gap(acks, run.name, start_ms, end_ms)
            self.lines.append(f"- {run.name}: {gap} ms (from +{(a - start_ms) / 1000:.1f} s to "
                              f"+{(b - start_ms) / 1000:.1f} s)")
        if self.a.rebalance == "tool":
            self.unclean_offline_partition()
        self.lines.append("")
        self.lines.append(result.report())
        violations = result.total + len(failed) + len(self.problems)
        self.lines.append("")
        self.lines.append(f"- delivery failures: {len(failed)}" + (f" (first: {failed[0]})" if failed else ""))
        for p in self.problems:
            self.lines.append(f"- problem: {p}")
        self.lines.append(f"violations: {violations}")
        return 1 if violations else 0

    def controller_id(self) -> int:
        return self.cluster.metadata().controller_id

    def restart_one(self, b: int) -> None:
        c = self.cluster
        ctl = self.controller_id()
        proc = c.brokers[b]
        log_start = proc.log_path.stat().st_size if proc.log_path.exists() else 0
        t0 = time.monotonic()
        rc = proc.stop(timeout=90)  # SIGTERM
        took = time.monotonic() - t0
        text = proc.log_path.read_text(errors="replace")[log_start:]
        # the broker's own account (kbroker.cluster.zk); a broker that is the controller also logs the
        # controller's answer, from another thread, in either order with it
        shutdown = [m.group(1) for m in re.finditer(r"kbroker\.cluster\.zk: (controlled shutdown of broker \d+[^\n]*)",
                                                    text)]
        c.restart(b, timeout=90)
        c.wait_isr_full(TOPIC, 120)
        self.wait_progress(f"after broker {b} came back")
        entry = {"broker": b, "was controller": b == ctl, "SIGTERM to exit s": round(took, 2), "exit": rc,
                 "controlled shutdown": shutdown[-1] if shutdown else "(nothing logged)",
                 "leaders after rejoin": c.leaders(TOPIC)}
        self.restarts.append(entry)
        if rc != 0:
            self.problems.append(f"broker {b} exited with {rc}")
        if not any(" done" in s for s in shutdown):
            self.problems.append(f"broker {b}: no completed controlled shutdown in its log: {shutdown}")

    def preferred_back(self, preferred: dict[int, int]) -> None:
        c = self.cluster
        if self.a.rebalance == "tool":
            before = c.leaders(TOPIC)
            self.lines.append(f"- leaders before kafka-leader-election: {before}")
            out = run_tool(["--election-type", "PREFERRED", "--all-topic-partitions"], c.bootstrap)
            self.tool_runs.append(("kafka-leader-election --election-type PREFERRED --all-topic-partitions", out))
            if "(exit 0)" not in out:
                self.problems.append(f"kafka-leader-election PREFERRED failed: {out}")
        try:
            c.wait(lambda: c.leaders(TOPIC) == preferred, 60 + 2 * self.a.imbalance_check_seconds,
                   "the preferred leaders back")
            self.lines.append(f"- preferred leaders back: {c.leaders(TOPIC)}")
        except TimeoutError as e:
            self.problems.append(f"{e}: leaders {c.leaders(TOPIC)}, preferred {preferred}")

    def unclean_offline_partition(self) -> None:
        """Replicas [a, b], unclean elections disabled: b leaves, records come, a dies; b comes back out
        of sync and the partition stays offline until kafka-leader-election --election-type UNCLEAN."""
        from confluent_kafka import Producer
        from confluent_kafka.admin import NewTopic

        c = self.cluster
        ctl = self.controller_id()
        a, b = [x for x in sorted(c.brokers) if x != ctl][:2]  # the controller stays up
        fs = c.admin().create_topics([NewTopic(OFFLINE_TOPIC, 1, replica_assignment=[[a, b]], config={
            "unclean.leader.election.enable": "false", "min.insync.replicas": "1"})])
        fs[OFFLINE_TOPIC].result(30)
        c.wait(lambda: c.isr_full(OFFLINE_TOPIC), 60, f"{OFFLINE_TOPIC} in sync")
        c.brokers[b].stop(timeout=90)
        c.wait(lambda: c.describe(OFFLINE_TOPIC)[0].isr == (a,), 60, f"ISR [{a}]")
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "log_level": 0})
        for i in range(10):
            p.produce(OFFLINE_TOPIC, value=b"only-on-%d-%d" % (a, i), partition=0)
        if p.flush(30):
            self.problems.append("records to the offline topic not acknowledged")
        c.kill(a)  # SIGKILL: gone when its ZooKeeper session expires
        c.wait(lambda: c.describe(OFFLINE_TOPIC)[0].leader == -1, 60, f"{OFFLINE_TOPIC}-0 offline")
        c.restart(b, timeout=90)
        ctl_log = c.brokers[ctl].log_path
        c.wait(lambda: f"new [{b}])" in ctl_log.read_text(errors="replace").rsplit(f"gone [{a}]", 1)[-1], 60,
               f"the controller to see broker {b} again")
        st = c.describe(OFFLINE_TOPIC)[0]
        self.lines.append(f"- {OFFLINE_TOPIC}-0 before the UNCLEAN election: leader {st.leader}, isr {list(st.isr)}, "
                          f"replicas {list(st.replicas)} (broker {a} down, {b} up and out of sync)")
        if st.leader != -1:
            self.problems.append(f"{OFFLINE_TOPIC}-0 has leader {st.leader} with unclean elections disabled")
        out = run_tool(["--election-type", "UNCLEAN", "--topic", OFFLINE_TOPIC, "--partition", "0"], c.bootstrap)
        self.tool_runs.append((f"kafka-leader-election --election-type UNCLEAN --topic {OFFLINE_TOPIC} --partition 0",
                               out))
        if "(exit 0)" not in out:
            self.problems.append(f"kafka-leader-election UNCLEAN failed: {out}")
        try:
            c.wait(lambda: c.describe(OFFLINE_TOPIC)[0].leader == b, 30, f"leader {b}")
            st = c.describe(OFFLINE_TOPIC)[0]
            self.lines.append(f"- {OFFLINE_TOPIC}-0 after: leader {st.leader}, isr {list(st.isr)}")
        except TimeoutError as e:
            self.problems.append(str(e))
        c.restart(a, timeout=90)

    def report(self) -> str:
        out = [f"# Rolling restart ({self.a.rebalance})", "", f"work dir {self.workdir}", "", "## Restarts", ""]
        out += [f"- {json.dumps(r)}" for r in self.restarts]
        out += [""]
        for cmd, text in self.tool_runs:
            out += [f"## {cmd}", "", "```", text, "```", ""]
        out += self.lines
        return "\n".join(out)

    def cleanup(self) -> None:
        self._stop_gates.set()
        for run in self.producers:
            run.terminate()
        self.cluster.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rebalance", choices=("auto", "tool"), required=True)
    ap.add_argument("--rate", type=float, default=100, help="records/s of each producer")
    ap.add_argument("--imbalance-check-seconds", type=int, default=3,
                    help="leader.imbalance.check.interval.seconds")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="a broker config")
    ap.add_argument("--dir", type=Path, help="working directory (default: a new temporary one, kept)")
    ap.add_argument("--report", type=Path)
    a = ap.parse_args(argv)
    r = RollingRestart(a)
    atexit.register(r.cleanup)
    rc = 1
    try:
        rc = r.run()
    except Exception as e:  # noqa: BLE001 - reported with what was seen so far
        r.problems.append(f"{type(e).__name__}: {e}")
        r.lines.append(f"- problem: {type(e).__name__}: {e}")
        r.lines.append(f"violations: {len(r.problems)}")
    finally:
        r.cleanup()
    text = r.report()
    print(text, flush=True)
    if a.report:
        a.report.write_text(text + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
