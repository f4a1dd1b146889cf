"""A Jepsen-style fault campaign against kbroker's replicated ZooKeeper-mode cluster (run as root):

    python -m compat.faults --duration 600 --seed N      # the 10-minute run
    python -m compat.faults --duration 150 --seed N      # the CI form (tests/foreign/test_fault_campaign.py)

Three brokers and a three-node ZooKeeper ensemble, each in a network namespace of its own, the
clients (producers, consumers, this driver's admin) in another (compat/faults/netns.py: the driver
builds the network, re-executes itself inside the client namespace, and tears everything down at
the end, on Ctrl-C and on errors too; leftovers of a crashed run are removed at the start).

Workload: a topic of 6 partitions, replication factor 3, ``min.insync.replicas=2``; the idempotent
``acks=all`` confluent-kafka and Java producers of compat/cluster/producer.py, ``--rate`` records/s
each for ``--duration`` seconds, logging every acknowledgement; ``--consumers`` confluent-kafka
consumers (compat/faults/consumer.py) reading every partition from offset 0 all along.

Faults, one at a time, each healed (and the ISR full again, bounded) before the next, chosen with
``random.Random(seed)`` (the seed is printed): every kind once first in a shuffled order, then at
random until ``--duration`` is used up:

- ``kill``: SIGKILL the leader of a random partition, restart it a few seconds later;
- ``pause``: SIGSTOP the leader of a random partition, SIGCONT after 1-3 s or, half the time, past
  ``zookeeper.session.timeout.ms``;
- ``partition-leader``: nftables drops everything between a partition's leader and the other brokers
  (clients and ZooKeeper still reach it), past ``replica.lag.time.max.ms``;
- ``partition-zk``: a broker cut from every ZooKeeper node, sometimes past the session timeout;
- ``zk-kill``: SIGKILL one ZooKeeper node, restart it;
- ``rolling-restart``: SIGTERM each broker in turn, restart it, wait for the full ISR.

Then: producers finish, the ISR is full, a final read of every partition; compat/cluster/checker.py
compares the ack logs, the consumers' reads and the final read (lost, duplicate, an offset with two
values, consumer gaps and going backwards, ...); the brokers are stopped and every replica of every
partition is compared batch by batch in the log directories (compat/faults/replicas.py). The report
(stdout, and JSON in ``--report``, default ``<dir>/report.json``) lists the faults with their times,
the acknowledgements per producer, the violations (counts and examples), the longest time without
any acknowledgement and the replica comparison; it ends with ``violations: N``, the exit status is 1
when N > 0 or the campaign itself went wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from compat.cluster import producer as producers
from compat.cluster.checker import check, load_acks, load_consumed, read_topic
from compat.cluster.launcher import Cluster
from compat.faults import netns
from compat.faults.replicas import compare_topic
from tests.support.brokerproc import BrokerProcess
from tests.support.zookeeper import ZooKeeperEnsemble, wait_session

TOPIC = "faults"
KINDS = ("kill", "pause", "partition-leader", "partition-zk", "zk-kill", "rolling-restart")
ROOT = Path(__file__).resolve().parents[2]
BROKER_PORT = 9092


def now_ms() -> int:
    return int(time.time() * 1000)


CHROOT = "/kafka"
"""the brokers' znodes live under a chroot of the ensemble, as a shared ZooKeeper is used in production"""


class NetCluster(Cluster):
    """compat/cluster/launcher.py's Cluster (its waits and metadata helpers) over the namespaced
    servers: a ZooKeeper ensemble and brokers listening on their namespace's address."""

    def __init__(self, workdir: Path, net: netns.Network, overrides: dict[str, str]) -> None:
        self.workdir = Path(workdir)
        self.overrides = dict(overrides)
        self.ensemble = ZooKeeperEnsemble(self.workdir / "zookeeper", len(net.zk), hosts=[n.ip for n in net.zk],
                                          prefixes=[netns.exec_prefix(n.ns) for n in net.zk])
        self.zk = self.ensemble
        self.chroot = CHROOT
        self.brokers: dict[int, BrokerProcess] = {}
        for broker_id, node in net.brokers.items():
            data = self.workdir / f"broker-{broker_id}" / "data"
            data.parent.mkdir(parents=True, exist_ok=True)
            conf = {"broker.id": str(broker_id), "zookeeper.connect": self.zookeeper_connect,
                    **self.overrides}
            self.brokers[broker_id] = BrokerProcess(data, port=BROKER_PORT, overrides=conf,
                                                    prefix=netns.exec_prefix(node.ns), host=node.ip)
        self._admin = None
        self._lock = threading.Lock()

    def signal(self, broker_id: int, sig: int) -> None:
        proc = self.brokers[broker_id].proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, sig)


@contextmanager
def net_cluster(workdir: Path, overrides: dict[str, str], lock_timeout: float = 600,
                start_timeout: float = 90) -> Iterator[tuple[netns.Network, NetCluster]]:
    """The network and a started NetCluster on it, with the calling thread inside the client
    namespace meanwhile (so its clients, and the processes it starts, reach the servers): for tests
    that inject their own faults. At the end, however it ends: every cut healed, the servers
    stopped, the thread back in its namespace, the namespaces and whatever runs in them gone."""
    with netns.exclusive(lock_timeout):
        net = netns.Network()
        try:
            net.setup()
            with netns.inside(netns.CLIENT):
                cluster = NetCluster(workdir, net, overrides)
                try:
                    cluster.start(timeout=start_timeout)
                    yield net, cluster
                finally:
                    for node in [*net.zk, *net.brokers.values()]:
                        try:
                            net.heal(node.ns)
                        except RuntimeError:
                            pass
                    cluster.stop()
                    cluster._admin = None
        finally:
            netns.teardown()


@dataclass
class Fault:
    index: int
    kind: str
    target: str
    start_ms: int
    detail: str = ""
    heal_ms: int | None = None
    recovered_ms: int | None = None
    problem: str | None = None


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen
    out: Path
    log: Path
    summary: dict = field(default_factory=dict)

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.running():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def spawn(cmd: list[str], out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(out, "wb") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env, cwd=str(ROOT))


def summary_of(p: Proc, mark: str) -> dict:
    text = p.out.read_text(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.startswith(mark)]
    s = json.loads(lines[-1][len(mark):]) if lines else {"tail": "\n".join(text.splitlines()[-15:])}
    s["exit"] = p.proc.returncode
    return s


def longest_gap(ts: list[int], start_ms: int, end_ms: int) -> tuple[int, int, int]:
    """(length, from, to) of the longest interval in [start_ms, end_ms] without an acknowledgement."""
    points = [start_ms, *sorted(t for t in ts if start_ms <= t <= end_ms), end_ms]
    best = (0, start_ms, start_ms)
    for a, b in zip(points, points[1:], strict=False):
        if b - a > best[0]:
            best = (b - a, a, b)
    return best


class Campaign:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.rng = random.Random(a.seed)
        self.workdir = Path(a.dir)
        self.net = netns.Network()
        self.overrides = {
            "default.replication.factor": "3", "min.insync.replicas": "2",
            "offsets.topic.replication.factor": "3", "unclean.leader.election.enable": "false",
            "zookeeper.session.timeout.ms": str(a.session_timeout_ms),
            "replica.lag.time.max.ms": str(a.replica_lag_ms),
            **dict(o.split("=", 1) for o in a.override)}
        self.cluster = NetCluster(self.workdir, self.net, self.overrides)
        self.faults: list[Fault] = []
        self.problems: list[str] = []
        self.producers: list[Proc] = []
        self.consumers: list[Proc] = []
        self.started_ms = 0
        self.production_end_ms = 0

    def say(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    # -- workload --------------------------------------------------------------------------------

    def start_workload(self) -> None:
        count = int(self.a.rate * self.a.duration)
        boot = self.cluster.bootstrap
        for name in [n for n in self.a.producers.split(",") if n]:
            log = self.workdir / f"acks-{name}.jsonl"
            if name.startswith("java"):
                cmd = producers.java_command(boot, TOPIC, count, log, name=name, rate=self.a.rate)
            else:
                cmd = producers.python_command(boot, TOPIC, count, log, name=name, rate=self.a.rate)
            out = self.workdir / f"producer-{name}.out"
            self.producers.append(Proc(name, spawn(cmd, out), out, log))
        for i in range(1, self.a.consumers + 1):
            name = f"c{i}"
            log = self.workdir / f"consumed-{name}.jsonl"
            out = self.workdir / f"consumer-{name}.out"
            cmd = [sys.executable, "-m", "compat.faults.consumer", "--bootstrap", boot, "--topic", TOPIC,
                   "--log", str(log), "--name", name]
            self.consumers.append(Proc(name, spawn(cmd, out), out, log))

    def warm_up(self, timeout: float = 90) -> None:
        """Until every producer has had an acknowledgement and every consumer a record (the JVM and the
        clients' metadata take seconds): the faults, and the unavailability measure, start from there."""
        def has_line(path: Path) -> bool:
            try:
                with open(path, "rb") as f:
                    return b"\n" in f.read(4096)
            except FileNotFoundError:
                return False

        deadline = time.monotonic() + timeout
        while not all(has_line(p.log) for p in self.producers + self.consumers):
            if time.monotonic() > deadline:
                self.problems.append(f"the workload had not started after {timeout}s")
                break
            time.sleep(0.2)
        self.started_ms = now_ms()
        self.say("workload running")

    # -- faults ----------------------------------------------------------------------------------

    def leader_of_random_partition(self) -> tuple[int, int]:
        d = self.cluster.wait(lambda: {p: s for p, s in self.cluster.describe(TOPIC).items() if s.leader >= 0},
                              30, "a partition with a leader")
        p = self.rng.choice(sorted(d))
        return p, d[p].leader

    def settle(self, f: Fault) -> None:
        try:
            self.cluster.wait_isr_full(TOPIC, self.a.recover_timeout)
            f.recovered_ms = now_ms()
        except TimeoutError as e:
            f.problem = f"not recovered: {e}"
            self.problems.append(f"fault {f.index} ({f.kind} {f.target}): {f.problem}")

    def inject(self, index: int, kind: str) -> Fault:
        c, rng, session_s = self.cluster, self.rng, self.a.session_timeout_ms / 1000
        f = Fault(index, kind, "", now_ms())
        if kind == "kill":
            p, b = self.leader_of_random_partition()
            down = rng.uniform(2, 6)
            f.target, f.detail, f.start_ms = f"broker {b}", f"leader of partition {p}; down {down:.1f}s", now_ms()
            self.say(f"fault {index}: kill -9 broker {b} ({f.detail})")
            c.kill(b)
            time.sleep(down)
            c.restart(b, timeout=self.a.recover_timeout)
            f.heal_ms = now_ms()
        elif kind == "pause":
            p, b = self.leader_of_random_partition()
            past = rng.random() < 0.5
            hold = session_s + rng.uniform(1, 4) if past else rng.uniform(1, 3)
            f.target, f.start_ms = f"broker {b}", now_ms()
            f.detail = f"leader of partition {p}; SIGSTOP for {hold:.1f}s" + (" (past the session timeout)" if past else "")
            self.say(f"fault {index}: pause broker {b} ({f.detail})")
            c.signal(b, signal.SIGSTOP)
            time.sleep(hold)
            c.signal(b, signal.SIGCONT)
            f.heal_ms = now_ms()
        elif kind == "partition-leader":
            p, b = self.leader_of_random_partition()
            hold = self.a.replica_lag_ms / 1000 + rng.uniform(2, 8)
            peers = [n.ip for i, n in self.net.brokers.items() if i != b]
            f.target, f.start_ms = f"broker {b}", now_ms()
            f.detail = f"leader of partition {p} cut from brokers at {peers} for {hold:.1f}s"
            self.say(f"fault {index}: partition broker {b} from its peers ({f.detail})")
            self.net.cut(self.net.brokers[b].ns, peers)
            time.sleep(hold)
            self.net.heal(self.net.brokers[b].ns)
            f.heal_ms = now_ms()
        elif kind == "partition-zk":
            p, b = self.leader_of_random_partition()
            past = rng.random() < 0.6
            hold = session_s + rng.uniform(2, 6) if past else rng.uniform(1, 3)
            f.target, f.start_ms = f"broker {b}", now_ms()
            f.detail = (f"leader of partition {p} cut from every ZooKeeper node for {hold:.1f}s"
                        + (" (past the session timeout)" if past else ""))
            self.say(f"fault {index}: partition broker {b} from ZooKeeper ({f.detail})")
            self.net.cut(self.net.brokers[b].ns, [n.ip for n in self.net.zk])
            time.sleep(hold)
            self.net.heal(self.net.brokers[b].ns)
            f.heal_ms = now_ms()
        elif kind == "zk-kill":
            m = rng.choice(c.ensemble.members)
            down = rng.uniform(2, 8)
            f.target, f.detail, f.start_ms = f"zookeeper {m.myid}", f"down {down:.1f}s", now_ms()
            self.say(f"fault {index}: kill -9 ZooKeeper node {m.myid} ({f.detail})")
            m.kill()
            time.sleep(down)
            m.start(timeout=self.a.recover_timeout)
            f.heal_ms = now_ms()
            wait_session(c.ensemble.connect, self.a.recover_timeout, write=True)
        elif kind == "rolling-restart":
            f.target, f.detail, f.start_ms = "every broker", "SIGTERM, restart, full ISR, in turn", now_ms()
            self.say(f"fault {index}: rolling restart")
            for b in sorted(c.brokers):
                c.brokers[b].stop(timeout=60)
                c.restart(b, timeout=self.a.recover_timeout)
                try:
                    c.wait_isr_full(TOPIC, self.a.recover_timeout)
                except TimeoutError as e:
                    f.problem = f"after restarting broker {b}: {e}"
            f.heal_ms = now_ms()
        else:
            raise ValueError(kind)
        self.settle(f)
        self.say(f"fault {index}: healed after {(f.heal_ms - f.start_ms) / 1000:.1f}s, "
                 + (f"recovered after {(f.recovered_ms - f.start_ms) / 1000:.1f}s" if f.recovered_ms else "NOT recovered"))
        return f

    def schedule(self) -> None:
        first = list(KINDS)
        self.rng.shuffle(first)
        end = self.started_ms + self.a.duration * 1000
        index = 0
        while True:
            if first:
                kind = first.pop(0)
            elif now_ms() + self.a.fault_room * 1000 < end:
                kind = self.rng.choice(KINDS)
            else:
                break
            index += 1
            time.sleep(self.rng.uniform(2, 5))  # quiet before each fault
            try:
                f = self.inject(index, kind)
            except Exception as e:  # noqa: BLE001 - heal what can be healed, go on
                f = Fault(index, kind, "", now_ms(), problem=f"{type(e).__name__}: {e}")
                self.problems.append(f"fault {index} ({kind}) failed: {f.problem}")
                self.repair()
            self.faults.append(f)
            if not any(p.running() for p in self.producers) and not first:
                break

    def repair(self) -> None:
        """After a fault that went wrong: no cut left, nothing paused, every server running."""
        for b, node in self.net.brokers.items():
            try:
                self.net.heal(node.ns)
            except RuntimeError:
                pass
            self.cluster.signal(b, signal.SIGCONT)
            if not self.cluster.is_running(b):
                try:
                    self.cluster.restart(b, timeout=self.a.recover_timeout)
                except Exception as e:  # noqa: BLE001
                    self.problems.append(f"broker {b} did not start again: {e}")
        for node in self.net.zk:
            try:
                self.net.heal(node.ns)
            except RuntimeError:
                pass
        for m in self.cluster.ensemble.members:
            if not m.running:
                try:
                    m.start(timeout=self.a.recover_timeout)
                except Exception as e:  # noqa: BLE001
                    self.problems.append(f"ZooKeeper {m.myid} did not start again: {e}")

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> dict:
        a = self.a
        self.say(f"seed {a.seed}; work dir {self.workdir}")
        self.cluster.start(timeout=90)
        self.cluster.create_topic(TOPIC, a.partitions, 3, {"min.insync.replicas": "2"})
        self.cluster.wait_isr_full(TOPIC, 60)
        self.started_ms = now_ms()
        self.start_workload()
        self.warm_up()
        self.schedule()
        self.repair()
        deadline = time.monotonic() + a.producer_timeout
        for p in self.producers:
            try:
                p.proc.wait(max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.problems.append(f"producer {p.name} still running after the campaign + {a.producer_timeout}s")
                p.kill()
            p.summary = summary_of(p, producers.MARK)
        self.production_end_ms = now_ms()
        try:
            self.cluster.wait_isr_full(TOPIC, a.recover_timeout)
        except TimeoutError as e:
            self.problems.append(f"at the end: {e}")
        acks = load_acks([p.log for p in self.producers])
        final = read_topic(self.cluster.bootstrap, TOPIC, "final", a.read_timeout)
        final.save(self.workdir / "read-final.json")
        self.stop_consumers(final)
        consumed = load_consumed([c.log for c in self.consumers if c.log.exists()])
        for c in self.consumers:
            consumed.setdefault(c.name, [])
        result = check(acks, final, (), consumed)
        self.cluster.stop()
        comparison = compare_topic({b: bp.data_dir for b, bp in self.cluster.brokers.items()}, TOPIC,
                                   a.partitions, 3)
        return self.report(acks, result, comparison)

    def stop_consumers(self, final) -> None:
        """Once every consumer has read up to the final read's end (bounded), SIGTERM them."""
        want = {p: max(es) for p, es in final.partitions.items() if es}

        def caught_up(c: Proc) -> bool:
            last: dict[int, int] = {}
            for rec in load_acks([c.log]) if c.log.exists() else []:
                last[rec["p"]] = max(last.get(rec["p"], -1), rec["o"])
            return all(last.get(p, -1) >= o for p, o in want.items())

        deadline = time.monotonic() + self.a.read_timeout
        for c in self.consumers:
            while c.running() and not caught_up(c) and time.monotonic() < deadline:
                time.sleep(1)
            if not caught_up(c):
                self.problems.append(f"consumer {c.name} did not read up to the end of every partition")
            if c.running():
                c.proc.send_signal(signal.SIGTERM)
                try:
                    c.proc.wait(30)
                except subprocess.TimeoutExpired:
                    c.kill()
            c.summary = summary_of(c, "@@faults-consumer@@ ")

    # -- the report --------------------------------------------------------------------------------

    def report(self, acks: list[dict], result, comparison) -> dict:
        a = self.a
        ok = [x for x in acks if "err" not in x]
        per_producer: dict[str, int] = {}
        for x in ok:
            per_producer[x["producer"]] = per_producer.get(x["producer"], 0) + 1
        first_ack = self.started_ms  # every producer had an acknowledgement (warm_up)
        last_ack = max((x["ts"] for x in ok), default=self.started_ms)
        gap, g_from, g_to = longest_gap([x["ts"] for x in ok], first_ack, last_ack)
        during = [f"{f.index} {f.kind}" for f in self.faults
                  if f.start_ms <= g_to and (f.recovered_ms or f.heal_ms or f.start_ms) >= g_from]
        per_partition = {}
        for part in range(a.partitions):
            pg, pf, pt = longest_gap([x["ts"] for x in ok if x["p"] == part], first_ack, last_ack)
            per_partition[part] = {"ms": pg, "from_ms": pf, "to_ms": pt}
        by_kind = {k: sum(1 for f in self.faults if f.kind == k) for k in KINDS}
        missing_kinds = [k for k, n in by_kind.items() if n == 0]
        if missing_kinds:
            self.problems.append(f"fault kinds never injected: {missing_kinds}")
        violations = {c: {"count": len(v), "examples": v[:20]} for c, v in result.violations.items()}
        differing = [x for x in comparison if x.differences]
        violations["replicas differ"] = {"count": len(differing),
                                         "examples": [f"partition {x.partition}: {d}" for x in differing
                                                      for d in x.differences[:5]][:20]}
        total = sum(v["count"] for v in violations.values())
        rep = {
            "seed": a.seed, "duration_s": a.duration, "work_dir": str(self.workdir),
            "workload_start_ms": self.started_ms, "production_end_ms": self.production_end_ms,
            "cluster": {"brokers": {b: n.ip for b, n in self.net.brokers.items()},
                        "zookeeper": [n.ip for n in self.net.zk], "clients": self.net.client.ip,
                        "overrides": self.overrides},
            "topic": {"name": TOPIC, "partitions": a.partitions, "replication_factor": 3, "min_insync_replicas": 2},
            "faults_by_kind": by_kind,
            "faults": [asdict(f) for f in self.faults],
            "acknowledged_per_producer": per_producer,
            "producers": {p.name: p.summary for p in self.producers},
            "consumers": {c.name: c.summary for c in self.consumers},
            "checker_stats": result.stats,
            "violations": violations,
            "longest_unavailability": {"ms": gap, "from_ms": g_from, "to_ms": g_to, "faults": during},
            "longest_unavailability_per_partition": per_partition,
            "replicas": [x.summary() for x in comparison],
            "problems": self.problems,
            "total_violations": total,
        }
        return rep


def render(rep: dict) -> str:
    t0 = rep["workload_start_ms"]

    def rel(ms: int | None) -> str:
        return "-" if ms is None else f"{(ms - t0) / 1000:.1f}"

    lines = ["# Fault campaign", "",
             f"- seed {rep['seed']}, duration {rep['duration_s']} s, work dir {rep['work_dir']}",
             f"- topic {rep['topic']['name']}: {rep['topic']['partitions']} partitions, RF 3, min.insync.replicas 2",
             f"- faults by kind: {json.dumps(rep['faults_by_kind'])}",
             "", "## Faults (times in s from the start of the workload)", "",
             "| # | kind | target | detail | start | healed | ISR full | problem |", "|---|---|---|---|---|---|---|---|"]
    for f in rep["faults"]:
        lines.append(f"| {f['index']} | {f['kind']} | {f['target']} | {f['detail']} | {rel(f['start_ms'])} | "
                     f"{rel(f['heal_ms'])} | {rel(f['recovered_ms'])} | {f['problem'] or ''} |")
    u = rep["longest_unavailability"]
    lines += ["", "## Workload", "",
              f"- acknowledged per producer: {json.dumps(rep['acknowledged_per_producer'])}"]
    for name, s in rep["producers"].items():
        lines.append(f"- producer {name}: {json.dumps({k: v for k, v in s.items() if k != 'tail'})}")
    for name, s in rep["consumers"].items():
        lines.append(f"- consumer {name}: {json.dumps({k: v for k, v in s.items() if k != 'tail'})}")
    lines.append(f"- longest unavailability (no acknowledgement at all): {u['ms'] / 1000:.2f} s, "
                 f"from {rel(u['from_ms'])} to {rel(u['to_ms'])}, during faults {u['faults'] or 'none'}")
    lines.append("- longest time without an acknowledgement, per partition: " + ", ".join(
        f"{p}: {g['ms'] / 1000:.1f} s ({rel(g['from_ms'])}..{rel(g['to_ms'])})"
        for p, g in rep["longest_unavailability_per_partition"].items()))
    lines += ["", "## Checker", ""] + [f"- {k}: {v}" for k, v in rep["checker_stats"].items()]
    lines += ["", "| check | violations |", "|---|---|"]
    lines += [f"| {c} | {v['count']} |" for c, v in rep["violations"].items()]
    for c, v in rep["violations"].items():
        if v["count"]:
            lines += ["", f"### {c} ({v['count']})"] + [f"- {e}" for e in v["examples"]]
    lines += ["", "## Replicas (log directories, brokers stopped)", "",
              "| partition | log end per broker | batches per broker | identical |", "|---|---|---|---|"]
    for r in rep["replicas"]:
        lines.append(f"| {r['partition']} | {r['log end per broker']} | {r['batches per broker']} | "
                     f"{'yes' if r['identical'] else 'NO: ' + '; '.join(r['differences'][:3])} |")
    lines += ["", "## Campaign problems", ""] + ([f"- {p}" for p in rep["problems"]] or ["- none"])
    lines += ["", f"violations: {rep['total_violations']}"]
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m compat.faults", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=600, help="seconds of production and faults")
    ap.add_argument("--seed", type=int, help="of the fault schedule (default: random, printed)")
    ap.add_argument("--dir", type=Path, help="working directory (default: a new temporary one, kept)")
    ap.add_argument("--report", type=Path, help="the JSON report (default <dir>/report.json)")
    ap.add_argument("--rate", type=float, default=100, help="records/s per producer")
    ap.add_argument("--producers", default="py,java", help="comma-separated; java* runs the Java producer")
    ap.add_argument("--consumers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--replica-lag-ms", type=int, default=5000, help="replica.lag.time.max.ms")
    ap.add_argument("--recover-timeout", type=float, default=120, help="for the full ISR after a fault")
    ap.add_argument("--producer-timeout", type=float, default=400, help="for the producers after the faults")
    ap.add_argument("--read-timeout", type=float, default=180)
    ap.add_argument("--fault-room", type=float, default=25, help="no new fault starts this close to the end")
    ap.add_argument("--timeout", type=float, help="for the whole run (default: 3 x duration + 900 s)")
    ap.add_argument("--lock-timeout", type=float, default=900,
                    help="waiting for another run's network namespaces to go (compat/faults/netns.py exclusive)")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="a broker config")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(2**31)
    if a.dir is None:
        a.dir = Path(tempfile.mkdtemp(prefix="kbroker-faults-"))
    a.dir = a.dir.resolve()
    a.report = (a.report or a.dir / "report.json").resolve()
    if a.timeout is None:
        a.timeout = 3 * a.duration + 900
    return a


def to_args(a: argparse.Namespace) -> list[str]:
    out = ["--duration", str(a.duration), "--seed", str(a.seed), "--dir", str(a.dir), "--report", str(a.report),
           "--rate", str(a.rate), "--producers", a.producers, "--consumers", str(a.consumers),
           "--partitions", str(a.partitions), "--session-timeout-ms", str(a.session_timeout_ms),
           "--replica-lag-ms", str(a.replica_lag_ms), "--recover-timeout", str(a.recover_timeout),
           "--producer-timeout", str(a.producer_timeout), "--read-timeout", str(a.read_timeout),
           "--fault-room", str(a.fault_room), "--timeout", str(a.timeout)]
    for o in a.override:
        out += ["--override", o]
    return out


def inner(a: argparse.Namespace) -> int:
    """In the client namespace: the servers, the workload, the faults, the checks."""
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)  # readiness probes of ZooKeeper nodes that are down
    campaign = Campaign(a)

    def on_signal(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        rep = campaign.run()
    except BaseException as e:
        error = f"{type(e).__name__}: {e}"
        a.report.write_text(json.dumps({"seed": a.seed, "error": error, "problems": campaign.problems,
                                        "faults": [asdict(f) for f in campaign.faults]}, indent=1) + "\n")
        print(f"# Fault campaign\n\nthe campaign failed: {error} (seed {a.seed}, work dir {a.dir})"
              f"\n\nviolations: 1", flush=True)
        if not isinstance(e, Exception):
            raise
        import traceback

        traceback.print_exc()
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the cleanup runs to its end
        for p in campaign.producers + campaign.consumers:
            p.kill()
        campaign.cluster.stop()
    a.report.write_text(json.dumps(rep, indent=1, default=str) + "\n")
    print(render(rep), flush=True)
    print(f"(JSON report: {a.report})", file=sys.stderr, flush=True)
    return 1 if rep["total_violations"] or rep["problems"] else 0


def outer(a: argparse.Namespace) -> int:
    """In the root namespace: builds the network, runs the campaign inside the client namespace,
    tears everything down."""
    why = netns.unavailable()
    if why is not None:
        print(f"cannot run the fault campaign: {why}", file=sys.stderr)
        return 2
    print(f"fault campaign: seed {a.seed}, duration {a.duration}s, work dir {a.dir}", file=sys.stderr, flush=True)
    if a.producers and any(n.startswith("java") for n in a.producers.split(",")):
        producers.java_classpath()  # compile once, before the clock runs
    a.dir.mkdir(parents=True, exist_ok=True)

    def on_signal(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    with netns.exclusive(a.lock_timeout):
        return run_outer(a)


def run_outer(a: argparse.Namespace) -> int:
    left = netns.ours()
    if left:
        print(f"removing namespaces left by an earlier run: {left}", file=sys.stderr, flush=True)
    proc = None
    try:
        netns.Network().setup()
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen([*netns.exec_prefix(netns.CLIENT), sys.executable, "-m", "compat.faults",
                                 *to_args(a), "--inner"], cwd=str(ROOT), env=env)
        try:
            return proc.wait(a.timeout)
        except subprocess.TimeoutExpired:
            print(f"the fault campaign did not finish within {a.timeout}s\n\nviolations: 1", flush=True)
            return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the teardown
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the campaign stops its processes (it has had Ctrl-C too)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        gone = netns.teardown()
        print(f"network namespaces removed: {' '.join(gone)}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    try:
        return inner(a) if a.inner else outer(a)
    except KeyboardInterrupt:
        print("fault campaign interrupted (everything torn down)" if not a.inner else
              "fault campaign interrupted: processes stopped", file=sys.stderr, flush=True)
        return 130
