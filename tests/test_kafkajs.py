"""kafkajs 2.2 (npm) against kbroker: produce with headers and timestamps, read back exactly, gzip and
snappy batches, and consumer groups (sharing, commits, resume, a SIGKILLed member's partitions taken
over).  The program is compat/kafkajs/client.js, installed by compat/kafkajs/setup.sh (which
scripts/install-deps.sh runs).  Without node or kafkajs the tests are skipped, except under CI=true.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import IN_CI, require_tool

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from compat.scenarios import kafkajs  # noqa: E402
from compat.scenarios.common import ScenarioSkipped  # noqa: E402


@pytest.fixture
def bootstrap(shared_broker):
    require_tool("node")
    try:
        kafkajs._command()
    except ScenarioSkipped as e:
        if IN_CI:
            pytest.fail(f"{e}; required under CI=true")
        pytest.skip(str(e))
    return shared_broker.bootstrap


def test_version(bootstrap):
    assert kafkajs.version() == "2.2.4"


@pytest.mark.parametrize("scenario", ["roundtrip", "compression", "group", "group-failover"])
def test_kafkajs(bootstrap, scenario):
    print(kafkajs.SCENARIOS[scenario](bootstrap))
