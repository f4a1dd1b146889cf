"""franz-go (github.com/twmb/franz-go/pkg/kgo) against kbroker: its default idempotent producer with
headers and timestamps read back exactly, all four codecs, and consumer groups with its default
cooperative-sticky balancer (sharing, commits, resume, a SIGKILLed member's partitions taken over).
The program is built from compat/franz-go/main.go by compat/franz-go/setup.sh (which
scripts/install-deps.sh runs).  Without Go or the build the tests are skipped, except under CI=true.
"""

from __future__ import annotations

import pytest

from compat.scenarios import franz_go
from tests.support import ROOT
from tests.support.tools import require_program_client


@pytest.fixture
def bootstrap(shared_broker):
    require_program_client("go", franz_go)
    return shared_broker.bootstrap


def test_version(bootstrap):
    gomod = (ROOT / "compat" / "franz-go" / "go.mod").read_text()
    assert f"github.com/twmb/franz-go {franz_go.version()}\n" in gomod


@pytest.mark.parametrize("scenario", ["roundtrip", "compression", "group", "group-failover"])
def test_franz_go(bootstrap, scenario):
    print(franz_go.SCENARIOS[scenario](bootstrap))
