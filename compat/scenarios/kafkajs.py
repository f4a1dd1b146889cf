"""kafkajs 2.2 (npm) scenarios, run by ``node compat/kafkajs/client.js`` (see
:mod:`compat.scenarios.program_client` for its command line).

kafkajs speaks only non-flexible versions (ApiVersions 0-2, Produce <= 7, Fetch <= 11, Metadata <= 6);
its producer is not idempotent by default and places keys with the Java-compatible murmur2
partitioner.  It has no assign(): its reads are group consumers starting from the beginning.  gzip is
built in and snappy comes from the kafkajs-snappy codec; LZ4 and ZSTD would need native codec
packages, so the compression scenario covers gzip and snappy only.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from compat.scenarios.common import (
    ScenarioSkipped,
    compression_scenario,
    other_python_readers,
    roundtrip_scenario,
)
from compat.scenarios.groups_scenarios import failover_scenario, group_scenario
from compat.scenarios.program_client import ProgramClient

CLIENT = "kafkajs"
CODECS = ("gzip", "snappy")
HERE = Path(__file__).resolve().parent.parent / "kafkajs"


def _command() -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise ScenarioSkipped("node is not installed")
    if not (HERE / "node_modules" / "kafkajs" / "package.json").exists():
        raise ScenarioSkipped("kafkajs is not installed (run bash compat/kafkajs/setup.sh)")
    return [node, str(HERE / "client.js")]


_client = ProgramClient(CLIENT, _command)
version = _client.version
create_topic = _client.create_topic
produce = _client.produce
consume = _client.consume
member_command = _client.member_command


def roundtrip(bootstrap: str) -> str:
    return roundtrip_scenario(sys.modules[__name__], bootstrap)


def compression(bootstrap: str) -> str:
    return compression_scenario(bootstrap, sys.modules[__name__], other_python_readers(CLIENT), codecs=CODECS)


def group(bootstrap: str) -> str:
    return group_scenario(CLIENT, bootstrap)


def group_failover(bootstrap: str) -> str:
    return failover_scenario(CLIENT, bootstrap)


SCENARIOS = {"roundtrip": roundtrip, "compression": compression, "group": group, "group-failover": group_failover}
