"""franz-go (Go module github.com/twmb/franz-go/pkg/kgo) scenarios, run by the program built from
compat/franz-go/main.go (see :mod:`compat.scenarios.program_client` for its command line).

franz-go's producer is idempotent with acks=all by default (InitProducerId and sequence numbers) and
places keys with murmur2; it supports every codec natively.  Its consumers here are group members
with franz-go's default balancer, cooperative-sticky (incremental rebalancing over the classic
protocol).
"""

from __future__ import annotations

import os
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


def roundtrip(bootstrap: str) -> str:
    return roundtrip_scenario(sys.modules[__name__], bootstrap)


def compression(bootstrap: str) -> str:
    return compression_scenario(bootstrap, sys.modules[__name__], other_python_readers(CLIENT))


def group(bootstrap: str) -> str:
    return group_scenario(CLIENT, bootstrap)


def group_failover(bootstrap: str) -> str:
    return failover_scenario(CLIENT, bootstrap)


SCENARIOS = {"roundtrip": roundtrip, "compression": compression, "group": group, "group-failover": group_failover}
