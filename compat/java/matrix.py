"""Matrix rows for the Java client (compat/run.py): one row per kafka-clients line in versions.txt.

Columns: ``roundtrip`` (the default producer, idempotent with acks=all, 10,000 records to 3
partitions, read back with assign()), ``metadata`` (Admin: describeCluster, create / list / describe
by name and id / describeConfigs / createPartitions / delete topics) and ``group`` (issue 4's
acceptance 1: 100,000 records to 6 partitions with the default producer, two group members in turn
read exactly those with per-key order kept, Admin listOffsets agrees, Admin list/describe groups).
Each cell is one JVM running the scenarios of compat/java/src (see Main.java); the rows modules are
``compat.java.row_3_9`` and ``compat.java.row_4``.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable

from compat.java import harness
from compat.scenarios.common import ScenarioFailed, ScenarioSkipped


def pick(prefix: str) -> str:
    """The version in versions.txt of the line ``prefix`` ("3.9", "4")."""
    found = [v for v in harness.versions() if v == prefix or v.startswith(prefix + ".")]
    if not found:
        raise ValueError(f"no kafka-clients {prefix}.x in compat/java/versions.txt")
    return found[-1]


def _run(version: str, bootstrap: str, scenarios: list[str], options: dict[str, object]) -> str:
    try:
        r = harness.run(version, bootstrap, scenarios, options)
    except harness.JavaUnavailable as e:
        raise ScenarioSkipped(f"{e} (scripts/install-deps.sh installs them)") from None
    if not r.ok:
        failed = [f"{x['scenario']}: {x['detail']}" for x in r.results if not x["ok"]]
        raise ScenarioFailed("; ".join(failed) or f"java exited {r.returncode}: {r.stderr.strip()[-500:]}")
    return "; ".join(x["detail"] for x in r.results)


def scenarios(version: str) -> dict[str, Callable[[str], str]]:
    def topic(what: str) -> str:
        return f"compat-java-{version}-{what}-{uuid.uuid4().hex[:8]}"

    def roundtrip(bootstrap: str) -> str:
        return _run(version, bootstrap, ["create-topic", "produce", "consume-assign"],
                    {"topic": topic("roundtrip"), "partitions": 3, "count": 10_000})

    def metadata(bootstrap: str) -> str:
        return _run(version, bootstrap, ["admin-topics"], {"topic": topic("admin")})

    def group(bootstrap: str) -> str:
        name = topic("group")
        return _run(version, bootstrap, ["create-topic", "produce", "consume-group", "admin-offsets", "admin-groups"],
                    {"topic": name, "partitions": 6, "count": 100_000, "group": name})

    return {"roundtrip": roundtrip, "metadata": metadata, "group": group}


def version_text(version: str) -> str:
    return f"kafka-clients {version} (Java {_java_version()})"


def _java_version() -> str:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
    except OSError:
        return "not installed"
    first = out.splitlines()[0] if out else "?"
    return first.split('"')[1] if '"' in first else first
