from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brokerproc import BrokerProcess  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")


@pytest.fixture
def broker_factory(tmp_path):
    """Makes broker processes with their own data dirs; all are stopped at the end."""
    made: list[BrokerProcess] = []

    def make(overrides: dict[str, str] | None = None, name: str = "data") -> BrokerProcess:
        b = BrokerProcess(tmp_path / name, overrides=overrides)
        made.append(b)
        return b.start()

    yield make
    for b in made:
        b.stop()


@pytest.fixture(scope="module")
def shared_broker(tmp_path_factory):
    """One broker for the tests of a module that do not restart it."""
    d = tmp_path_factory.mktemp("shared")
    b = BrokerProcess(d / "data").start()
    yield b
    b.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def broker(broker_factory):
    return broker_factory()


def require_tool(name: str) -> str:
    """The path of an external tool; skipped when absent, except under CI where it must exist."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required under CI=true but is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def require_program_client(tool: str, client) -> None:
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true nothing may skip: a skip (importorskip, skipif, a missing tool) is turned
    into a failure that names its reason, so CI shows every missing install step."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (nothing may skip there): {reason}"
