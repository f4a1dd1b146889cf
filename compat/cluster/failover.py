"""The failover campaign (issue 11, acceptance 1): leaders are SIGKILLed under load and no acknowledged
record may be lost, duplicated, moved or reordered.

    python -m compat.cluster.failover [--records 200000] [--kills 10] [--report FILE]
    python -m compat.cluster.failover --records 20000 --kills 3          # the short CI form

A cluster of 3 brokers and a ZooKeeper (compat/cluster/launcher.py); a topic of 6 partitions,
replication factor 3, ``min.insync.replicas=2``; half the records from the idempotent ``acks=all``
confluent-kafka producer, half from the Java one (compat/cluster/producer.py), at the same time, each
logging every acknowledgement. Kill ``i`` happens once ``(i+1)/(kills+1)`` of the records are
acknowledged: the leader of partition ``i % 6`` gets SIGKILL, comes back ``--down-seconds`` later and
the next kill waits until it is in every ISR again (bounded). Each producer is paced (``--rate``) and
held by a gate file so that production cannot run out before the last kill. After each rejoin the
topic is read and kept; at the end compat/cluster/checker.py compares the ack logs, those reads and a
final read.

For every kill the report gives the time from the SIGKILL to the first acknowledgement of a record on
a partition the killed broker led. An acknowledgement counts when the record's batch carries a newer
leader epoch than the partition's records acknowledged before the kill (the new leader wrote it); when
the log carries no usable epochs, acknowledgements within ``--inflight-ms`` of the kill are taken for
answers the killed broker had already sent. The report ends with ``violations: N``; the exit status is
1 when N > 0.

``--single-node`` runs the same machinery against one broker without ZooKeeper (replication factor 1):
the harness's own test before a cluster exists.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from compat.cluster import producer as producers
from compat.cluster.checker import Read, check, load_acks, read_topic
from compat.cluster.launcher import Cluster

TOPIC = "failover"


def _epoch(entries: dict, offset: int) -> int | None:
    """The leader epoch of the batch that holds ``offset`` in a read, None when unknown."""
    e = entries.get(offset)
    return None if e is None or e.epoch is None or e.epoch < 0 else e.epoch


def acks_by_partition(acks: list[dict]) -> dict[int, list[tuple[int, int]]]:
    """Partition -> the (ts, offset) of its acknowledgements, in time order."""
    out: dict[int, list[tuple[int, int]]] = {}
    for x in acks:
        if "err" not in x and x.get("o") is not None:  # no offset: librdkafka's implicit ack
            out.setdefault(x["p"], []).append((x["ts"], x["o"]))
    for lst in out.values():
        lst.sort()
    return out


def first_ack_after(acked: list[tuple[int, int]], entries: dict, killed_ms: int,
                    inflight_ms: int) -> tuple[int | None, str]:
    """The time of the first acknowledgement on a partition that a leader written after a kill at
    ``killed_ms`` gave, and how it was told apart: "epoch" when the read shows a batch of a newer
    leader epoch than every record acknowledged before the kill, else "time" (the first one at least
    ``inflight_ms`` after the kill; earlier ones are taken for answers already on their way)."""
    epoch = functools.partial(_epoch, entries)
    known = [e for e in (epoch(o) for ts, o in acked if ts < killed_ms) if e is not None]
    after = [(ts, o) for ts, o in acked if ts >= killed_ms]
    if known:
        old = max(known)
        newer = next((ts for ts, o in after if (e := epoch(o)) is not None and e > old), None)
        if newer is not None:
            return newer, "epoch"
    return next((ts for ts, _ in after if ts >= killed_ms + inflight_ms), None), "time"


class CampaignTimeout(BaseException):
    """The whole campaign ran out of time (a BaseException: no ``except Exception`` on the way may
    swallow it)."""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Kill:
    index: int
    broker: int
    partition: int
    led: list[int]
    killed_ms: int
    moved_ms: int | None = None
    restarted_ms: int | None = None
    rejoined_ms: int | None = None
    first_ack_ms: int | None = None
    all_acked_ms: int | None = None
    method: str = ""
    problem: str | None = None


@dataclass
class ProducerRun:
    name: str
    count: int
    ack_log: Path
    gate: Path
    proc: subprocess.Popen | None = None
    out: Path | None = None
    summary: dict = field(default_factory=dict)

    def set_gate(self, allowed: int) -> None:
        tmp = self.gate.with_suffix(".tmp")
        tmp.write_text(f"{min(allowed, self.count)}\n")
        os.replace(tmp, self.gate)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.running():
            assert self.proc is not None
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


class AckCounter:
    """Counts the lines the producers have written to their ack logs so far."""

    def __init__(self, paths: list[Path]) -> None:
        self.pos = {p: 0 for p in paths}
        self.lines = 0

    def update(self) -> int:
        for path, pos in self.pos.items():
            try:
                with open(path, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1
            self.lines += data.count(b"\n", 0, end)
            self.pos[path] = pos + end
        return self.lines


class Campaign:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.workdir = Path(a.dir or tempfile.mkdtemp(prefix="kbroker-failover-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.single = a.single_node
        self.rf = 1 if self.single else a.replication_factor
        self.min_isr = 1 if self.single else a.min_insync_replicas
        overrides = {} if self.single else {
            "default.replication.factor": str(self.rf),
            "min.insync.replicas": str(self.min_isr),
            "offsets.topic.replication.factor": str(self.rf),
            "unclean.leader.election.enable": "false",
            "zookeeper.session.timeout.ms": str(a.session_timeout_ms),
            "auto.leader.rebalance.enable": "true",
            "leader.imbalance.check.interval.seconds": "10",
        }
        overrides.update(dict(o.split("=", 1) for o in a.override))
        self.cluster = Cluster(self.workdir, 1 if self.single else a.brokers, overrides, zookeeper=not self.single)
        self.kills: list[Kill] = []
        self.snapshots: list[Path] = []
        self.problems: list[str] = []
        self.producers: list[ProducerRun] = []
        self.thresholds = [a.records * (j + 1) // (a.kills + 1) for j in range(a.kills)]
        self.started_ms = 0

    # -- set-up ----------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return [n for n in self.a.producers.split(",") if n]

    def rate_per_producer(self, n: int) -> float:
        if self.a.rate is not None:
            return self.a.rate / n
        # one segment (records between two kills) per expected kill cycle
        return self.a.records / (self.a.kills + 1) / self.a.cycle_seconds / n

    def start_producers(self) -> None:
        names = self.names()
        n = len(names)
        counts = [self.a.records // n + (1 if i < self.a.records % n else 0) for i in range(n)]
        rate = self.rate_per_producer(n)
        for name, count in zip(names, counts, strict=True):
            run = ProducerRun(name, count, self.workdir / f"acks-{name}.jsonl", self.workdir / f"gate-{name}")
            self.producers.append(run)
            self.gate(run, -1)
            kind = "java" if name.startswith("java") else "py"
            if kind == "java":
                cmd = producers.java_command(self.cluster.bootstrap, TOPIC, count, run.ack_log, name=name,
                                             rate=rate, gate=run.gate, version=self.a.java_version)
            else:
                cmd = producers.python_command(self.cluster.bootstrap, TOPIC, count, run.ack_log, name=name,
                                               rate=rate, gate=run.gate)
            run.out = self.workdir / f"producer-{name}.out"
            with open(run.out, "wb") as out:
                env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]) + os.pathsep
                           + os.environ.get("PYTHONPATH", ""))
                run.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, env=env)

    def gate(self, run: ProducerRun, after_kill: int) -> None:
        """After kill ``after_kill`` (-1: before the first) a producer may go up to the threshold of the
        kill after next: never past a kill that has not happened, so records remain for it."""
        nxt = after_kill + 2
        allowed = run.count if nxt >= self.a.kills else run.count * (nxt + 1) // (self.a.kills + 1)
        run.set_gate(allowed)

    # -- the run ---------------------------------------------------------------------------------------

    def run(self) -> int:
        a = self.a
        result = None
        try:
            self.cluster.start()
            self.cluster.create_topic(TOPIC, a.partitions, self.rf, {"min.insync.replicas": str(self.min_isr)})
            self.cluster.wait_isr_full(TOPIC, a.rejoin_timeout)
            if not self.single:
                self.check_replicas()
        except Exception as e:  # noqa: BLE001 - reported, with the brokers' logs
            self.problems.append(f"the cluster did not come up: {type(e).__name__}: {e}")
        else:
            result = self.campaign()
        report = self.report(result)
        print(report, flush=True)
        if a.report:
            Path(a.report).write_text(report + "\n")
        return 1 if (result is None or result.total) or self.problems else 0

    def campaign(self):
        a = self.a
        self.started_ms = now_ms()
        self.start_producers()
        counter = AckCounter([p.ack_log for p in self.producers])
        for j, threshold in enumerate(self.thresholds):
            try:
                if not self.wait_acks(counter, threshold, f"kill {j + 1}") or not self.kill_one(j):
                    break
            except Exception as e:  # noqa: BLE001 - stop killing, still check what was acknowledged
                self.problems.append(f"kill {j + 1}: {type(e).__name__}: {e}")
                break
        for run in self.producers:
            run.set_gate(run.count)
        for broker_id in self.cluster.brokers:  # one left down by a kill that went wrong
            if not self.cluster.is_running(broker_id):
                try:
                    self.cluster.restart(broker_id, timeout=a.rejoin_timeout)
                except Exception as e:  # noqa: BLE001
                    self.problems.append(f"broker {broker_id} did not start again: {type(e).__name__}: {e}")
        self.wait_producers()
        try:
            self.cluster.wait_isr_full(TOPIC, a.rejoin_timeout)
        except TimeoutError as e:
            self.problems.append(f"at the end: {e}")
        acks = load_acks([p.ack_log for p in self.producers])
        try:
            final = read_topic(self.cluster.bootstrap, TOPIC, "final", a.read_timeout)
        except Exception as e:  # noqa: BLE001
            self.problems.append(f"the final read failed: {type(e).__name__}: {e}")
            self.settle_problems(acks)
            return None
        final.save(self.workdir / "read-final.json")
        result = check(acks, final, (Read.load(s) for s in self.snapshots))
        self.measure(acks, final)
        self.settle_problems(acks)
        return result

    def check_replicas(self) -> None:
        d = self.cluster.describe(TOPIC)
        bad = {p: s for p, s in d.items() if len(s.replicas) != self.rf}
        if bad:
            raise RuntimeError(f"{TOPIC} was created with replicas {bad}, not {self.rf} each")

    def wait_acks(self, counter: AckCounter, threshold: int, what: str) -> bool:
        last, last_change = counter.update(), time.monotonic()
        while True:
            n = counter.update()
            if n >= threshold:
                return True
            if n != last:
                last, last_change = n, time.monotonic()
            if all(not r.running() for r in self.producers):
                self.problems.append(f"the producers ended with {n} acknowledgements, before {what} "
                                     f"(due at {threshold})")
                return False
            if time.monotonic() - last_change > self.a.stall_seconds:
                self.problems.append(f"no acknowledgement for {self.a.stall_seconds}s at {n} of {threshold} "
                                     f"(waiting for {what})")
                return False
            time.sleep(0.05)

    def kill_one(self, j: int) -> bool:
        a, c = self.a, self.cluster
        d = c.describe(TOPIC)
        partition = j % a.partitions
        victim = d[partition].leader
        if victim < 0:
            self.problems.append(f"kill {j + 1}: partition {partition} has no leader")
            return False
        k = Kill(j + 1, victim, partition, sorted(p for p, s in d.items() if s.leader == victim), now_ms())
        c.kill(victim)
        self.kills.append(k)
        for run in self.producers:
            self.gate(run, j)
        print(f"kill {k.index}: broker {victim} (leader of {k.led})", file=sys.stderr, flush=True)
        if not self.single:
            try:
                c.wait_leader_moved(TOPIC, set(k.led), victim, a.rejoin_timeout)
                k.moved_ms = now_ms()
            except TimeoutError as e:
                k.problem = str(e)
        pause = k.killed_ms / 1000 + a.down_seconds - time.time()
        if pause > 0:
            time.sleep(pause)
        c.restart(victim, timeout=a.rejoin_timeout)
        k.restarted_ms = now_ms()
        try:
            c.wait_isr_full(TOPIC, a.rejoin_timeout)
            k.rejoined_ms = now_ms()
        except TimeoutError as e:
            k.problem = (k.problem + "; " if k.problem else "") + f"broker {victim} did not rejoin: {e}"
            self.problems.append(f"kill {k.index}: {k.problem}")
            return False
        if k.problem:
            self.problems.append(f"kill {k.index}: {k.problem}")
        snap = read_topic(c.bootstrap, TOPIC, f"after kill {k.index}", a.read_timeout)
        path = self.workdir / f"read-after-kill-{k.index}.json"
        snap.save(path)
        self.snapshots.append(path)
        return True

    def wait_producers(self) -> None:
        deadline = time.monotonic() + self.a.producer_timeout
        for run in self.producers:
            assert run.proc is not None
            try:
                run.proc.wait(max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.problems.append(f"producer {run.name} still running after {self.a.producer_timeout}s")
                run.terminate()
            assert run.out is not None
            text = run.out.read_text(errors="replace")
            lines = [ln for ln in text.splitlines() if ln.startswith(producers.MARK)]
            run.summary = json.loads(lines[-1][len(producers.MARK):]) if lines else {}
            run.summary["exit"] = run.proc.returncode
            if not lines:
                run.summary["tail"] = "\n".join(text.splitlines()[-15:])

    # -- measures --------------------------------------------------------------------------------------

    def measure(self, acks: list[dict], final: Read) -> None:
        by_partition = acks_by_partition(acks)
        for k in self.kills:
            found = [first_ack_after(by_partition.get(p, []), final.partitions.get(p, {}), k.killed_ms,
                                     self.a.inflight_ms) for p in k.led]
            firsts = [ts for ts, _ in found if ts is not None]
            if firsts and len(firsts) == len(k.led):
                k.all_acked_ms = max(firsts)
            if firsts:
                k.first_ack_ms = min(firsts)
            k.method = "+".join(sorted({m for _, m in found}))

    def settle_problems(self, acks: list[dict]) -> None:
        if len(self.kills) < self.a.kills:
            self.problems.append(f"{len(self.kills)} kills of {self.a.kills}")
        for k in self.kills:
            if k.first_ack_ms is None:
                self.problems.append(f"kill {k.index}: no acknowledgement on partitions {k.led} after it")
        for run in self.producers:
            s = run.summary
            if s.get("exit") != 0 or s.get("acked") != run.count:
                self.problems.append(f"producer {run.name}: {s.get('acked')} of {run.count} acknowledged, "
                                     f"{s.get('failed')} failed, exit {s.get('exit')}")

    # -- the report ------------------------------------------------------------------------------------

    def report(self, result) -> str:
        a = self.a

        def sec(t: int | None, since: int | None) -> str:
            return "-" if t is None or since is None else f"{(t - since) / 1000:.2f}"

        mode = "1 broker, no ZooKeeper (harness self-test)" if self.single else f"{a.brokers} brokers + ZooKeeper"
        lines = ["# Cluster failover campaign", "",
                 f"- cluster: {mode}; work dir {self.workdir}",
                 f"- topic {TOPIC}: {a.partitions} partitions, replication factor {self.rf}, "
                 f"min.insync.replicas {self.min_isr}",
                 f"- records: {a.records} ({', '.join(f'{r.name} {r.count}' for r in self.producers)}), "
                 f"idempotent, acks=all; {self.rate_per_producer(len(self.names())):.0f} records/s per producer at most",
                 f"- kills: {len(self.kills)} of {a.kills} (SIGKILL of the leader of partition i % {a.partitions}; "
                 f"restart after {a.down_seconds}s; next kill once the ISR is full again)",
                 "", "## Kills", "",
                 "| # | broker | led | leader moved (s) | first ack on its partitions (s) | all its partitions acked (s) "
                 "| restarted (s) | ISR full (s) | measured by |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for k in self.kills:
            lines.append(f"| {k.index} | {k.broker} | {k.led} | {sec(k.moved_ms, k.killed_ms)} | "
                         f"{sec(k.first_ack_ms, k.killed_ms)} | {sec(k.all_acked_ms, k.killed_ms)} | "
                         f"{sec(k.restarted_ms, k.killed_ms)} | {sec(k.rejoined_ms, k.killed_ms)} | {k.method} |")
        times = [(k.first_ack_ms - k.killed_ms) / 1000 for k in self.kills if k.first_ack_ms is not None]
        lines.append("")
        if times:
            lines.append(f"Kill to first acknowledgement on a partition it led: median {statistics.median(times):.2f} s, "
                         f"max {max(times):.2f} s (over {len(times)} kills)")
        else:
            lines.append("Kill to first acknowledgement: not measured")
        lines += ["", "## Producers", ""]
        for r in self.producers:
            lines.append(f"- {r.name}: {json.dumps({k: v for k, v in r.summary.items() if k != 'tail'})}")
            if r.summary.get("tail"):
                lines += ["  ```", *("  " + ln for ln in r.summary["tail"].splitlines()), "  ```"]
        lines += ["", result.report() if result is not None else "## Checker\n\nnot run", "",
                  "## Campaign problems", ""]
        lines += [f"- {p}" for p in self.problems] or ["- none"]
        if self.problems:
            for broker_id in self.cluster.brokers:
                tail = self.cluster.log(broker_id).splitlines()[-a.log_lines:]
                lines += ["", f"### broker {broker_id} log (last {len(tail)} lines)", "```", *tail, "```"]
        total = (result.total if result is not None else 1) + len(self.problems)
        lines += ["", f"violations: {total}"]
        return "\n".join(lines)

    def cleanup(self) -> None:
        for run in self.producers:
            run.terminate()
        self.cluster.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--replication-factor", type=int, default=3)
    ap.add_argument("--min-insync-replicas", type=int, default=2)
    ap.add_argument("--producers", default="py,java", help="comma-separated names; java* runs the Java producer")
    ap.add_argument("--java-version", help="kafka-clients version (default: the newest of compat/java/versions.txt)")
    ap.add_argument("--rate", type=float, help="records/s of all producers together (default: from --cycle-seconds)")
    ap.add_argument("--cycle-seconds", type=float, default=20,
                    help="expected time of one kill, failover, restart and rejoin, to pace the producers")
    ap.add_argument("--down-seconds", type=float, default=3, help="from a kill to the restart")
    ap.add_argument("--rejoin-timeout", type=float, default=120)
    ap.add_argument("--stall-seconds", type=float, default=180)
    ap.add_argument("--producer-timeout", type=float, default=600, help="for the producers to finish after the kills")
    ap.add_argument("--read-timeout", type=float, default=180)
    ap.add_argument("--inflight-ms", type=int, default=200)
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--timeout", type=float, default=3600, help="for the whole campaign")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="a broker config")
    ap.add_argument("--dir", type=Path, help="working directory (default: a new temporary one, kept)")
    ap.add_argument("--report", type=Path)
    ap.add_argument("--log-lines", type=int, default=25, help="of each broker's log in a failed report")
    ap.add_argument("--single-node", action="store_true", help="one broker without ZooKeeper, RF 1")
    a = ap.parse_args(argv)
    if a.kills < 1 or a.records < 2 * (a.kills + 1):
        ap.error("need --kills >= 1 and enough --records for every kill")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    campaign = Campaign(a)
    atexit.register(campaign.cleanup)

    def on_signal(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")

    def on_alarm(_signum, _frame):
        raise CampaignTimeout(f"the campaign did not finish within {a.timeout}s")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(a.timeout))
    try:
        return campaign.run()
    except CampaignTimeout as e:
        print(f"# Cluster failover campaign\n\n{e} (work dir {campaign.workdir})\n\nviolations: 1", flush=True)
        return 1
    finally:
        signal.alarm(0)
        campaign.cleanup()


if __name__ == "__main__":
    sys.exit(main())
