"""Fixtures and hooks for every layer of the suite.

- ``broker_factory``, ``shared_broker``, ``broker``: broker processes (tests/support/brokerproc.py).
- ``require_tool``, ``require_program_client``, ``IN_CI`` (tests/support/tools.py), re-exported here.
- Under ``CI=true`` nothing may skip: a skip is reported as a failure naming its reason.
- Each test is marked with its layer, from the folder it lives in: ``unit``, ``inproc``, ``broker``
  or ``foreign`` (registered in pyproject.toml), so ``-m "unit or inproc"`` is the fast lane.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.brokerproc import BrokerProcess
from tests.support.tools import IN_CI, require_program_client, require_tool

__all__ = ["IN_CI", "require_program_client", "require_tool"]

LAYERS = ("unit", "inproc", "broker", "foreign")
HERE = Path(__file__).resolve().parent


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


def layer_of(path: Path) -> str | None:
    """The layer folder (tests/<layer>/...) a test file lives in, or None outside them."""
    try:
        parts = path.resolve().relative_to(HERE).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 and parts[0] in LAYERS else None


def pytest_collection_modifyitems(config, items):
    """Marks each test with the layer of its folder."""
    for item in items:
        layer = layer_of(item.path)
        if layer is not None:
            item.add_marker(getattr(pytest.mark, layer))


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
