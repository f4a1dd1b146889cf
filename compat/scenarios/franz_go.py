"""franz-go (Go module github.com/twmb/franz-go/pkg/kgo) scenarios, run by the program built from
compat/franz-go/main.go (see :mod:`compat.scenarios.program_client` for its command line).

franz-go's producer is idempotent with acks=all by default (InitProducerId and sequence numbers) and
places keys with murmur2; it supports every codec natively.  Its consumers here are group members
with franz-go's default balancer, cooperative-sticky (incremental rebalancing over the classic
protocol).
"""

from __future__ import annotations

import os
from pathlib import Path

from compat.scenarios.common import ScenarioSkipped
from compat.scenarios.program_client import ProgramClient, scenarios

CLIENT = "franz-go"
ROOT = Path(__file__).resolve().parent.parent.parent


def binary() -> Path:
    cache = Path(os.environ.get("KBROKER_COMPAT_CACHE", ROOT / "compat" / ".cache"))
    return cache / "franz-go" / "kbroker-franz-go"


def _command() -> list[str]:
    if not binary().exists():
        raise ScenarioSkipped(f"the franz-go program is not built ({binary()}; run bash compat/franz-go/setup.sh)")
    return [str(binary())]


_client = ProgramClient(CLIENT, _command)
version = _client.version
create_topic = _client.create_topic
produce = _client.produce
consume = _client.consume
member_command = _client.member_command
SCENARIOS = scenarios(_client)
