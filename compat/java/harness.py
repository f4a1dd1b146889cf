"""Compile and run the Java client scenarios (compat/java/src) against a broker.

    python -m compat.java.harness --bootstrap 127.0.0.1:9092 [--version 4.4.0] produce consume-group ...

The kafka-clients versions are the lines of ``compat/java/versions.txt``; their jars are fetched by
``compat/java/fetch-jars.sh`` (Maven) into ``compat/.cache/java/kafka-clients-<v>/``. The sources are
compiled with ``javac`` once per version into ``compat/.cache/java/classes-<v>/`` and recompiled only
when a source is newer than the last build. Each scenario prints one ``@@java-result@@ {json}`` line
(see Main.java); ``run`` returns them parsed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
CACHE = HERE.parent / ".cache" / "java"
MARK = "@@java-result@@ "


class JavaUnavailable(RuntimeError):
    """java, javac or the jars (and Maven to fetch them) are missing."""


def versions() -> list[str]:
    lines = (HERE / "versions.txt").read_text().splitlines()
    return [v.strip() for v in lines if v.strip() and not v.lstrip().startswith("#")]


def missing_tools() -> list[str]:
    return [t for t in ("java", "javac") if shutil.which(t) is None]


def jars(version: str) -> Path:
    """The directory of kafka-clients ``version`` and its runtime jars, fetched if needed."""
    d = CACHE / f"kafka-clients-{version}"
    if not (d / ".complete").exists():
        if shutil.which("mvn") is None:
            raise JavaUnavailable(f"kafka-clients {version} is not in {d} and mvn is not installed to fetch it")
        subprocess.run(["bash", str(HERE / "fetch-jars.sh"), version], check=True)
    return d


def classpath(version: str, src: Path = SRC, name: str = "classes") -> str:
    """Compiled scenarios + jars of ``version`` (compiling when a source changed). Other Java programs
    built against the same jars (compat/cluster/java) pass their source folder ``src`` and the
    ``name`` of their build folder (``compat/.cache/java/<name>-<version>``)."""
    missing = missing_tools()
    if missing:
        raise JavaUnavailable(f"{', '.join(missing)} not installed")
    jar_dir = jars(version)
    out = CACHE / f"{name}-{version}"
    sources = sorted(src.rglob("*.java"))
    stamp = out / ".built"
    newest = max(p.stat().st_mtime for p in sources)
    if not stamp.exists() or stamp.stat().st_mtime < newest:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        cp = str(jar_dir / "*")
        proc = subprocess.run(["javac", "-nowarn", "-encoding", "UTF-8", "--release", "17", "-cp", cp,
                               "-d", str(out), *map(str, sources)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"javac against kafka-clients {version} failed:\n{proc.stdout}{proc.stderr}")
        stamp.write_text("ok\n")
    return f"{out}{os.pathsep}{jar_dir / '*'}"


@dataclass
class JavaRun:
    version: str
    returncode: int
    results: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.results) and all(r["ok"] for r in self.results)

    def result(self, scenario: str) -> dict | None:
        return next((r for r in self.results if r["scenario"] == scenario), None)

    def summary(self) -> str:
        lines = [f"kafka-clients {self.version}: exit {self.returncode}"]
        lines += [f"  {'PASS' if r['ok'] else 'FAIL'} {r['scenario']} ({r['seconds']}s): {r['detail']}"
                  for r in self.results]
        if not self.ok:
            lines.append("  stderr (last lines):\n" + "\n".join(self.stderr.splitlines()[-40:]))
        return "\n".join(lines)


def command(version: str, bootstrap: str, scenarios: list[str], options: dict[str, object] | None = None,
            log_level: str = "warn") -> list[str]:
    """The java command line running ``scenarios`` in order against ``bootstrap`` in one JVM.
    Client logs (slf4j-simple) go to stderr at ``log_level``."""
    cmd = ["java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           f"-Dorg.slf4j.simpleLogger.defaultLogLevel={log_level}",
           "-Dorg.slf4j.simpleLogger.logFile=System.err",
           "-cp", classpath(version), "kbroker.compat.Main", "--bootstrap", bootstrap]
    for k, v in (options or {}).items():
        cmd += [f"--{k}", str(v)]
    return cmd + scenarios


def run(version: str, bootstrap: str, scenarios: list[str], options: dict[str, object] | None = None,
        timeout: float = 600, log_level: str = "warn") -> JavaRun:
    proc = subprocess.run(command(version, bootstrap, scenarios, options, log_level), capture_output=True,
                          text=True, timeout=timeout)
    return JavaRun(version, proc.returncode, results_of(proc.stdout), proc.stdout, proc.stderr)


def popen(version: str, bootstrap: str, scenarios: list[str], options: dict[str, object] | None = None,
          log_level: str = "warn") -> subprocess.Popen[str]:
    """Like ``run`` but in the background (for kill -9 tests); parse its stdout with ``results_of``."""
    return subprocess.Popen(command(version, bootstrap, scenarios, options, log_level), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def results_of(stdout: str) -> list[dict]:
    return [json.loads(line[len(MARK):]) for line in stdout.splitlines() if line.startswith(MARK)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--version", action="append", help="kafka-clients version (default: all in versions.txt)")
    ap.add_argument("--option", action="append", default=[], help="KEY=VALUE passed as --KEY VALUE")
    ap.add_argument("scenarios", nargs="+")
    args = ap.parse_args()
    options = dict(o.split("=", 1) for o in args.option)
    ok = True
    for v in args.version or versions():
        # the scenarios need a fresh topic and group: one of their own per version unless named
        mine = {"topic": f"java-{v}", "group": f"java-{v}-group", **options}
        r = run(v, args.bootstrap, args.scenarios, mine)
        print(r.summary())
        ok &= r.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
