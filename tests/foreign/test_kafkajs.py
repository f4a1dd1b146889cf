"""kafkajs 2.2 (npm) against kbroker: produce with headers and timestamps, read back exactly, gzip and
snappy batches, and consumer groups (sharing, commits, resume, a SIGKILLed member's partitions taken
over).  The program is compat/kafkajs/client.js, installed by compat/kafkajs/setup.sh (which
scripts/install-deps.sh runs).  Without node or kafkajs the tests are skipped, except under CI=true.
"""

from __future__ import annotations

import pytest

from compat.scenarios import kafkajs
from tests.support.tools import require_program_client


@pytest.fixture
def bootstrap(shared_broker):
    require_program_client("node", kafkajs)
    return shared_broker.bootstrap


def test_version(bootstrap):
    assert kafkajs.version() == "2.2.4"


@pytest.mark.parametrize("scenario", ["roundtrip", "compression", "group", "group-failover"])
def test_kafkajs(bootstrap, scenario):
    print(kafkajs.SCENARIOS[scenario](bootstrap))
