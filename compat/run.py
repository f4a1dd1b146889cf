"""Run every client scenario against a fresh kbroker and write compat/MATRIX.md.

    python -m compat.run                      # all clients × all scenarios, writes compat/MATRIX.md
    python -m compat.run --clients kcat --scenarios metadata,json --no-write
    python -m compat.run --bootstrap 127.0.0.1:9092   # against a broker that is already running

Each (client, scenario) runs in its own Python process with a time limit, so a hang or a crash in one
client library is that cell's failure, not the run's.  If the broker dies during a scenario, the cell
says so and a new broker is started for the rest.  Exit status: 0 when every cell passed, was skipped,
was not applicable or is a known gap (see :data:`KNOWN_GAPS`); 1 if any cell failed.

Rows come from ``compat.scenarios.CLIENT_MODULES`` and columns from ``SCENARIO_ORDER``: a new client
(Java, kafkajs, franz-go, Spark) or scenario (consumer groups, ...) is a new module or name there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from compat.scenarios import CLIENT_MODULES, SCENARIO_ORDER, load
from compat.scenarios.groups_scenarios import GROUP_COLUMNS, GROUP_SCENARIOS

ROOT = Path(__file__).resolve().parent.parent

ALL_SCENARIOS = SCENARIO_ORDER + GROUP_COLUMNS


def scenarios_of(client: str) -> dict:
    """The client module's scenarios plus the consumer-group ones (compat/scenarios/groups_*.py)."""
    return {**load(client).SCENARIOS, **GROUP_SCENARIOS.get(client, {})}

RESULT_MARK = "@@compat-result@@ "
DEFAULT_MATRIX = ROOT / "compat" / "MATRIX.md"


@dataclass(frozen=True)
class KnownGap:
    """An allow-listed failure.  ``match`` is a regex that each ``" || "``-separated part of the
    failure message must fully match; anything else failing in that cell is still a failure."""

    label: str  # a few words for the matrix cell
    reason: str
    match: str = ".*"


#: (client, scenario) -> known gap.  A listed cell that passes is reported as a stale entry (a warning:
#: the fix usually lands in someone else's files first; then delete the entry here).  Example:
#:   ("kcat", "compression"): KnownGap("LZ4 sent uncompressed", "why, and where it is tracked",
#:                                     r"lz4 from kcat -> lz4: kcat wrote \{'none': \d+\} batches[^|]*"),
KNOWN_GAPS: dict[tuple[str, str], KnownGap] = {}


def known_gap(client: str, scenario: str, message: str) -> KnownGap | None:
    """The allow-list entry that explains ``message`` entirely, if there is one."""
    gap = KNOWN_GAPS.get((client, scenario))
    if gap is None:
        return None
    parts = [p.strip() for p in message.split(" || ")]
    return gap if all(re.fullmatch(gap.match, p, re.S) for p in parts) else None


@dataclass
class Cell:
    status: str  # pass | fail | skip | n/a | known | stale
    detail: str = ""
    seconds: float = 0.0
    label: str = ""  # the known gap's label


# ---------------------------------------------------------------- child: one scenario


def run_one(client: str, scenario: str, bootstrap: str) -> int:
    from compat.scenarios.common import ScenarioFailed, ScenarioSkipped

    t0 = time.monotonic()
    try:
        detail = scenarios_of(client)[scenario](bootstrap)
        status = "pass"
    except ScenarioSkipped as e:
        status, detail = "skip", str(e)
    except ScenarioFailed as e:
        status, detail = "fail", str(e)
    except BaseException as e:  # noqa: BLE001 - everything a scenario raises is its result
        status, detail = "fail", f"{type(e).__name__}: {e}"
    print(RESULT_MARK + json.dumps({"status": status, "detail": str(detail),
                                    "seconds": time.monotonic() - t0}), flush=True)
    return 0


# ---------------------------------------------------------------- parent: the matrix


def _child(client: str, scenario: str, bootstrap: str, timeout: float, log: Path) -> Cell:
    cmd = [sys.executable, "-m", "compat.run", "--one", client, scenario, "--bootstrap", bootstrap]
    t0 = time.monotonic()
    with open(log, "wb") as out:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=out, timeout=timeout, cwd=str(ROOT))
        except subprocess.TimeoutExpired:
            return Cell("fail", f"timed out after {timeout:.0f}s (log: {log})", time.monotonic() - t0)
        out.write(proc.stdout)
    for line in reversed(proc.stdout.decode(errors="replace").splitlines()):
        if line.startswith(RESULT_MARK):
            r = json.loads(line[len(RESULT_MARK):])
            return Cell(r["status"], r["detail"], r["seconds"])
    return Cell("fail", f"scenario process exited {proc.returncode} without a result (log: {log})",
                time.monotonic() - t0)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _versions(clients: list[str]) -> dict[str, str]:
    out = {}
    for c in clients:
        try:
            out[c] = load(c).version()
        except Exception as e:  # noqa: BLE001 - a client that cannot load is reported, not fatal
            out[c] = f"unavailable ({type(e).__name__}: {e})"
    return out


def _cell_text(c: Cell, limit: int = 90) -> str:
    def short(s: str) -> str:
        s = " ".join(s.split()).replace("|", "\\|")
        return s if len(s) <= limit else s[:limit - 1] + "…"
    return {"pass": "pass",
            "fail": f"**FAIL**: {short(c.detail)}",
            "skip": f"skipped: {short(c.detail)}",
            "known": f"known gap: {short(c.label)}",
            "stale": "pass (allow-list entry now stale)",
            "n/a": "–"}[c.status]


def write_matrix(path: Path, results: dict[tuple[str, str], Cell], clients: list[str], scenarios: list[str],
                 versions: dict[str, str], broker_desc: str) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Client compatibility matrix",
        "",
        f"Generated by `python -m compat.run` on {now} against kbroker {broker_desc}, "
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}.",
        "Each cell is one scenario run in its own process against the same broker; "
        "see `compat/scenarios/` for what each checks and `compat/FINDINGS.md` for the gaps.",
        "",
        "| client | version | " + " | ".join(scenarios) + " |",
        "|---|---|" + "---|" * len(scenarios),
    ]
    for c in clients:
        cells = [_cell_text(results[(c, s)]) for s in scenarios]
        lines.append(f"| {c} | {versions.get(c, '?')} | " + " | ".join(cells) + " |")
    lines += ["", "Legend: pass · **FAIL**: reason · skipped: reason · known gap: allow-listed in "
              "`compat/run.py` `KNOWN_GAPS` · – not applicable to this client.", ""]
    details = [(k, v) for k, v in results.items() if v.status != "n/a"]
    lines += ["## Details", "", "| client | scenario | result | seconds | detail |", "|---|---|---|---|---|"]
    for (c, s), cell in details:
        text = " ".join(cell.detail.split()).replace("|", "\\|")
        lines.append(f"| {c} | {s} | {cell.status} | {cell.seconds:.1f} | {text} |")
    if any(v.status == "known" for v in results.values()):
        lines += ["", "## Known gaps", ""]
        for (c, s), cell in results.items():
            if cell.status == "known":
                lines.append(f"- {c} / {s}: {KNOWN_GAPS[(c, s)].reason}")
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", help="comma-separated subset of: " + ", ".join(CLIENT_MODULES))
    ap.add_argument("--scenarios", help="comma-separated subset of: " + ", ".join(ALL_SCENARIOS))
    ap.add_argument("--bootstrap", help="use this running broker instead of starting one")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per scenario (default 300)")
    ap.add_argument("--matrix", type=Path, default=DEFAULT_MATRIX, help="where to write the matrix")
    ap.add_argument("--no-write", action="store_true", help="print the results, do not write the matrix")
    ap.add_argument("--one", nargs=2, metavar=("CLIENT", "SCENARIO"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.one:
        return run_one(args.one[0], args.one[1], args.bootstrap)

    clients = args.clients.split(",") if args.clients else list(CLIENT_MODULES)
    scenarios = args.scenarios.split(",") if args.scenarios else list(ALL_SCENARIOS)
    unknown = [c for c in clients if c not in CLIENT_MODULES] + [s for s in scenarios if s not in ALL_SCENARIOS]
    if unknown:
        ap.error(f"unknown client or scenario: {', '.join(unknown)}")

    versions = _versions(clients)
    work = Path(tempfile.mkdtemp(prefix="kbroker-compat-"))
    broker = None
    if args.bootstrap:
        bootstrap = args.bootstrap
        broker_desc = f"at {bootstrap} (already running)"
    else:
        from tests.support.brokerproc import BrokerProcess

        broker = BrokerProcess(work / "data").start()
        bootstrap = broker.bootstrap
        rev = _git("rev-parse", "--short", "HEAD") or "?"
        dirty = " (with uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ""
        broker_desc = f"commit {rev}{dirty}"
    print(f"broker {bootstrap}; logs in {work}", flush=True)

    results: dict[tuple[str, str], Cell] = {}
    try:
        for c in clients:
            try:
                available = set(scenarios_of(c))
            except Exception as e:  # noqa: BLE001
                available, versions[c] = set(), f"unavailable ({type(e).__name__}: {e})"
                for s in scenarios:
                    results[(c, s)] = Cell("fail", f"client module failed to load: {e}")
                continue
            for s in scenarios:
                if s not in available:
                    results[(c, s)] = Cell("n/a")
                    continue
                cell = _child(c, s, bootstrap, args.timeout, work / f"{c}-{s}.log")
                if broker is not None and broker.proc is not None and broker.proc.poll() is not None:
                    cell = Cell("fail", f"broker exited with {broker.proc.returncode} during this scenario "
                                        f"(log: {broker.log_path}); {cell.detail}", cell.seconds)
                    broker.proc = None
                    broker.start()
                if cell.status == "fail" and (gap := known_gap(c, s, cell.detail)) is not None:
                    cell = Cell("known", cell.detail, cell.seconds, gap.label)
                elif cell.status == "pass" and (c, s) in KNOWN_GAPS:
                    cell = Cell("stale", cell.detail, cell.seconds)
                results[(c, s)] = cell
                print(f"{c:16} {s:12} {cell.status:6} {cell.seconds:6.1f}s  {cell.detail[:160]}", flush=True)
    finally:
        if broker is not None:
            broker.stop()

    if not args.no_write:
        write_matrix(args.matrix, results, clients, scenarios, versions, broker_desc)
        print(f"wrote {os.path.relpath(args.matrix)}")
    stale = [k for k, v in results.items() if v.status == "stale"]
    if stale:
        print("warning: allow-listed gaps that no longer reproduce (delete them from KNOWN_GAPS): "
              + ", ".join(f"{c}/{s}" for c, s in stale), file=sys.stderr)
    bad = [k for k, v in results.items() if v.status == "fail"]
    if bad:
        print("failed: " + ", ".join(f"{c}/{s}" for c, s in bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
