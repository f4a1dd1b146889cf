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
from pathlib import Path

from compat.scenarios.common import ScenarioSkipped
from compat.scenarios.program_client import ProgramClient, scenarios

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
SCENARIOS = scenarios(_client, codecs=CODECS)
