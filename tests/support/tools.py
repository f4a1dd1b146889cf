"""External tools a test needs (kcat, java, node, go...), and the CI rule: a missing tool skips the
test on a developer's machine but fails it under ``CI=true``, where everything must be installed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")


def require_tool(name: str) -> str:
    """The path of an external tool; skipped when absent, except under CI where it must exist."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required under CI=true but is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def require_program_client(tool: str, client: Any) -> None:
    """A client driven as a program (compat.scenarios.kafkajs, franz_go): its toolchain and its
    build must be there; skipped otherwise, except under CI where that fails."""
    from compat.scenarios.common import ScenarioSkipped

    require_tool(tool)
    try:
        client._command()
    except ScenarioSkipped as e:
        if IN_CI:
            pytest.fail(f"{e}; required under CI=true")
        pytest.skip(str(e))


def require_kafka_jars() -> tuple[str, Path]:
    """``java`` and the folder of the reference Kafka's jars (Kafka's own CLI tools run from them);
    skipped when absent, except under CI where they must be there (scripts/install-deps.sh fetches
    them with compat/kafka_ref/launcher.py)."""
    from tests.support import ROOT

    java = require_tool("java")
    jars = ROOT / "compat" / ".cache" / "kafka-ref" / "jars"
    if not (jars / ".complete").exists():
        if IN_CI:
            pytest.fail(f"the reference Kafka jars are required under CI=true ({jars})")
        pytest.skip(f"the reference Kafka jars are not fetched ({jars}: compat/kafka_ref/launcher.py fetch)")
    return java, jars


def require_java_producer() -> None:
    """``java``, ``javac`` and the compiled Java programs of compat/cluster/java (the acks=all
    producer, the reassignment client) against the kafka-clients jars; skipped when they cannot be
    built, except under CI where they must."""
    from compat.cluster import producer
    from compat.java import harness

    require_tool("java")
    require_tool("javac")
    try:
        producer.java_classpath()
    except harness.JavaUnavailable as e:
        if IN_CI:
            pytest.fail(f"the Java producer must build under CI=true: {e}")
        pytest.skip(str(e))
