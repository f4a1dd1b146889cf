"""The Java side of compat/streams and compat/connect: the jar folders their fetch-jars.sh fill
(``compat/.cache/<name>/jars``, from compat/<name>/pom.xml, fetched here when absent and mvn is
installed) and the word-count application compiled with javac into ``compat/.cache/streams/classes``
(again only when a source is newer than the last build)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

COMPAT = Path(__file__).resolve().parent.parent
CACHE = COMPAT / ".cache"
SRC = COMPAT / "streams" / "src"


class JavaUnavailable(RuntimeError):
    """java or javac is not installed, or the jars are not fetched and cannot be (no mvn)."""


def require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise JavaUnavailable(f"{', '.join(missing)} not installed")


def jars(name: str) -> Path:
    """``compat/.cache/<name>/jars`` (``streams`` or ``connect``), fetched by its script if needed."""
    d = CACHE / name / "jars"
    if not (d / ".complete").exists():
        if shutil.which("mvn") is None:
            raise JavaUnavailable(f"the {name} jars are not in {d} and mvn is not installed to fetch them "
                                  f"(bash compat/{name}/fetch-jars.sh)")
        subprocess.run(["bash", str(COMPAT / name / "fetch-jars.sh")], check=True)
    return d


def streams_classpath() -> str:
    """The compiled word count and the kafka-streams jars."""
    require("java", "javac")
    jar_dir = jars("streams")
    out = CACHE / "streams" / "classes"
    sources = sorted(SRC.rglob("*.java"))
    stamp = out / ".built"
    if not stamp.exists() or stamp.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        proc = subprocess.run(["javac", "-nowarn", "-encoding", "UTF-8", "--release", "17",
                               "-cp", str(jar_dir / "*"), "-d", str(out), *map(str, sources)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"javac of compat/streams failed:\n{proc.stdout}{proc.stderr}")
        stamp.write_text("ok\n")
    return f"{out}{os.pathsep}{jar_dir / '*'}"


def connect_classpath() -> str:
    require("java")
    return str(jars("connect") / "*")
