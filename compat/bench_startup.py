"""Start-up benchmark of an embedded test broker (issue 14): the time from "start" to the first
successful Metadata answer, and the memory (RSS) the broker costs, for

- ``thread cold``: kbroker.testing in thread mode, the first broker of a fresh Python process — the
  import of kbroker included (what a test run pays once);
- ``thread warm``: the next brokers of that process (what each test of a function-scoped fixture pays);
- ``process``: kbroker.testing in process mode (a ``python -m kbroker.testing.child`` process — ``kbroker serve`` that
  also stops with its parent — whose ready line is read);
- ``kbroker serve``: the same command started by hand on a free port, polled with Metadata;
- ``Apache Kafka``: the reference Kafka 4.1.1, one KRaft node (compat/kafka_ref: storage format, then
  the JVM); with ``--no-kafka``, or without java or its jars, that row is left out.

    python -m compat.bench_startup [--runs N] [--no-kafka] [--no-bytecode-cache] [--only thread,process,serve,kafka]

Each run starts from nothing (a fresh process or JVM, a fresh data directory). The Metadata request is
kbroker.testing.wireclient's (v12, the same bytes to both brokers), polled every 5 ms for the systems
that do not say when they are ready. RSS is VmRSS from /proc: the child's for the process rows, the
whole test process and what starting the broker added to it for the thread rows.

Python child processes get a bytecode cache (PYTHONPYCACHEPREFIX under compat/.cache/, one warm-up
run first), as an installed package has; ``--no-bytecode-cache`` measures with none, which is what
PYTHONDONTWRITEBYTECODE=1 gives.

Results go in compat/BENCHMARKS.md ("Issue 14: start-up of an embedded test broker").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kbroker.testing import EmbeddedBroker, wireclient
from tests.support import ROOT
from tests.support.brokerproc import free_port

PYC_CACHE = ROOT / "compat" / ".cache" / "pycache"
POLL_S = 0.005
TIMEOUT_S = 120.0

# run in a fresh interpreter: one cold broker, then warm ones; prints one JSON object
_THREAD_CHILD = r"""
import json, sys, time
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
base = rss_kb()
t0 = time.perf_counter()
from kbroker.testing import EmbeddedBroker
times, rss, added = [], None, None
for i in range(int(sys.argv[1])):
    t = time.perf_counter() if i else t0
    b = EmbeddedBroker("thread").start()
    try:
        b.metadata()
        times.append(time.perf_counter() - t)
        if i == 0:
            rss = rss_kb()
            added = rss - base
    finally:
        b.stop()
print(json.dumps({"times": times, "rss_kb": rss, "added_kb": added}))
"""


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _env(bytecode_cache: bool) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYC_CACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def _wait_metadata(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the broker exited with {proc.returncode}")
        try:
            if wireclient.metadata("127.0.0.1", port, timeout=5).brokers:
                return
        except OSError:
            pass
        time.sleep(POLL_S)
    raise TimeoutError("no Metadata answer")


def thread_runs(runs: int, env: dict[str, str]) -> tuple[list[float], list[float], list[int], list[int]]:
    """(cold seconds, warm seconds, RSS kB, RSS added kB): one fresh process per run, 3 brokers each."""
    cold, warm, rss, added = [], [], [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _THREAD_CHILD, "3"], env=env, capture_output=True, text=True,
                             timeout=TIMEOUT_S, check=True, cwd=ROOT).stdout
        r = json.loads(out.strip().splitlines()[-1])
        cold.append(r["times"][0])
        warm.extend(r["times"][1:])
        rss.append(r["rss_kb"])
        added.append(r["added_kb"])
    return cold, warm, rss, added


def process_runs(runs: int, env: dict[str, str]) -> tuple[list[float], list[int]]:
    """kbroker.testing's process mode, started from this process with the child environment ``env``."""
    times, rss = [], []
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the child inherits it
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            b = EmbeddedBroker("process").start()
            try:
                b.metadata()
                times.append(time.perf_counter() - t0)
                assert b.pid is not None
                rss.append(_rss_kb(b.pid))
            finally:
                b.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return times, rss


def serve_runs(runs: int, env: dict[str, str]) -> tuple[list[float], list[int]]:
    """``python -m kbroker serve`` on a free port, polled with Metadata until it answers."""
    times, rss = [], []
    for _ in range(runs):
        d = Path(tempfile.mkdtemp(prefix="bench-startup-"))
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "kbroker", "serve", "--override",
                                 f"listeners=PLAINTEXT://127.0.0.1:{port}", "--override", f"log.dirs={d}"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_metadata(port, proc, time.monotonic() + TIMEOUT_S)
            times.append(time.perf_counter() - t0)
            rss.append(_rss_kb(proc.pid))
        finally:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(d, ignore_errors=True)
    return times, rss


def kafka_runs(runs: int) -> tuple[list[float], list[float], list[int]] | None:
    """(format + start seconds, start seconds, RSS kB) of the reference Kafka, or None without it."""
    from compat.kafka_ref.launcher import JARS, KafkaRef, new_cluster_id

    if shutil.which("java") is None or not (JARS / ".complete").exists():
        return None
    total, start, rss = [], [], []
    for _ in range(runs):
        k = KafkaRef()
        t0 = time.perf_counter()
        k.launch(new_cluster_id())  # formats the log dir (a JVM of its own), then starts Kafka
        t1 = time.perf_counter()
        try:
            assert k.proc is not None
            _wait_metadata(k.port, k.proc, time.monotonic() + TIMEOUT_S)
            t2 = time.perf_counter()
            total.append(t2 - t0)
            start.append(t2 - t1)
            rss.append(_rss_kb(k.proc.pid))
        finally:
            k.stop()
    return total, start, rss


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def _mb(values: list[int]) -> str:
    return f"{statistics.median(values) / 1024:.0f} MB"


def _all_ms(values: list[float]) -> str:
    return " ".join(f"{v * 1000:.0f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-kafka", action="store_true", help="leave out the reference Apache Kafka")
    ap.add_argument("--no-bytecode-cache", action="store_true", help="children compile every module afresh")
    ap.add_argument("--only", default="thread,process,serve,kafka", help="comma-separated systems to measure")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    cache = not args.no_bytecode_cache
    env = _env(cache)
    if cache:  # the warm-up run writes the bytecode cache
        thread_runs(1, env)
        serve_runs(1, env)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"bytecode cache {'on' if cache else 'off'}, {args.runs} runs each (median; all runs in ms)")
    rows: list[tuple[str, str, str, str]] = []
    if "thread" in only:
        cold, warm, trss, added = thread_runs(args.runs, env)
        rows.append(("kbroker.testing thread, first in a process", _ms(cold),
                     f"{_mb(added)} added ({_mb(trss)} process)", _all_ms(cold)))
        rows.append(("kbroker.testing thread, next ones", _ms(warm), "-", _all_ms(warm)))
    if "process" in only:
        ptimes, prss = process_runs(args.runs, env)
        rows.append(("kbroker.testing process", _ms(ptimes), _mb(prss), _all_ms(ptimes)))
    if "serve" in only:
        stimes, srss = serve_runs(args.runs, env)
        rows.append(("kbroker serve (subprocess, polled)", _ms(stimes), _mb(srss), _all_ms(stimes)))
    if "kafka" in only and not args.no_kafka:
        k = kafka_runs(args.runs)
        if k is None:
            print("Apache Kafka left out: java or the reference jars are missing (compat/kafka_ref/launcher.py fetch)")
        else:
            total, start, krss = k
            rows.append(("Apache Kafka 4.1.1 JVM, format + start", _ms(total), _mb(krss), _all_ms(total)))
            rows.append(("Apache Kafka 4.1.1 JVM, start (after format)", _ms(start), "-", _all_ms(start)))
    print("| system | start-up to first Metadata answer | RSS | runs (ms) |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
