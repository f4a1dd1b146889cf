"""pytest plugin (the ``pytest11`` entry point ``kbroker``): a real kbroker per test or per run.

Fixtures
    ``kafka_broker``          a fresh broker for one test (function scope): empty, its own data dir.
    ``kafka_broker_session``  one broker shared by every test of the run (session scope): create the
                              topics you need with ``create_topic(name, exist_ok=True)`` or unique names.
    Both are ``kbroker.testing.EmbeddedBroker`` objects: ``.bootstrap_servers`` ("host:port"),
    ``.create_topic(name, partitions=1, config=None)``, ``.delete_topic(name)``, ``.topics()``.

Markers (for ``kafka_broker``)
    ``@pytest.mark.kafka_topics("orders", "payments", partitions=3, config={...})``: topics created
    before the test starts (repeat the marker for topics with other settings).
    ``@pytest.mark.kafka_broker_config({"log.retention.ms": 1000})``: broker configs for this test.

ini options (pytest.ini, or ``[tool.pytest.ini_options]`` in pyproject.toml)
    ``kafka_broker_mode = thread|process`` (default thread), ``kafka_broker_config`` (``key=value``
    lines, for both fixtures).

Nothing here starts a broker or imports the broker's code until a fixture is requested.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

_BROKER_PACKAGES = {"kbroker", "wire", "storage"}


def _leave_broker_code_unrewritten() -> None:
    """pytest rewrites the asserts of every module of a distribution that registers a ``pytest11``
    plugin: for kbroker that would be all of kbroker, wire and storage, re-compiled through pytest's
    rewriter at import (seconds without cached bytecode) and run with rewritten asserts, in every
    pytest run of every project that installs kbroker. Only this plugin module is a plugin (and it has
    no asserts), so the broker's packages are taken off the rewriter's list. pytest offers no public
    call for this; if its private set ever changes, the broker's code is just rewritten as before."""
    for finder in sys.meta_path:
        marked = getattr(finder, "_must_rewrite", None)
        if type(finder).__name__ == "AssertionRewritingHook" and isinstance(marked, set):
            marked.difference_update(_BROKER_PACKAGES)


_leave_broker_code_unrewritten()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("kafka_broker_mode", "kbroker.testing mode of the kafka_broker fixtures: thread or process",
                  default="thread")
    parser.addini("kafka_broker_config", "broker configs (key=value lines) of the kafka_broker fixtures",
                  type="linelist", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kafka_topics(*names, partitions=1, config=None): topics the kafka_broker fixture creates "
                   "before the test")
    config.addinivalue_line(
        "markers", "kafka_broker_config(configs): broker configs of this test's kafka_broker fixture")


def _ini_options(config: pytest.Config) -> tuple[str, dict[str, str]]:
    mode = str(config.getini("kafka_broker_mode")).strip() or "thread"
    props: dict[str, str] = {}
    for line in config.getini("kafka_broker_config"):
        if "=" not in line:
            raise pytest.UsageError(f"kafka_broker_config: {line!r} is not key=value")
        k, v = line.split("=", 1)
        props[k.strip()] = v.strip()
    return mode, props


def _start(mode: str, props: dict[str, Any]) -> Any:
    from kbroker.testing import EmbeddedBroker

    return EmbeddedBroker(mode, props).start()  # type: ignore[arg-type]


@pytest.fixture
def kafka_broker(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh kbroker for this test, stopped (and its data removed) after it."""
    mode, props = _ini_options(request.config)
    for mark in reversed(list(request.node.iter_markers("kafka_broker_config"))):  # the closest wins
        for arg in mark.args:
            props.update(arg)
        props.update(mark.kwargs)
    b = _start(mode, props)
    try:
        for mark in request.node.iter_markers("kafka_topics"):
            for name in mark.args:
                b.create_topic(name, mark.kwargs.get("partitions", 1), mark.kwargs.get("config"))
        yield b
    finally:
        b.stop()  # a broker that crashed during the test fails its teardown (BrokerCrashed)


@pytest.fixture(scope="session")
def kafka_broker_session(pytestconfig: pytest.Config) -> Iterator[Any]:
    """One kbroker for the whole run (the first test that asks starts it)."""
    mode, props = _ini_options(pytestconfig)
    b = _start(mode, props)
    try:
        yield b
    finally:
        b.stop()
