"""Issue 14, acceptance 1: every ``kbroker`` client command works against kbroker AND against the
reference Apache Kafka 4.1.1, with the same checks (tests/support/cli.py) parametrized over both
targets: topics, configs, cluster, the produce -> consume round trip byte for byte, consume's options,
groups with offset resets, and the errors. One Kafka and one kbroker per module. Needs java and the
reference jars (compat/kafka_ref/launcher.py fetch, run by scripts/install-deps.sh): skipped without
them, failed under CI=true."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support import cli
from tests.support.brokerproc import BrokerProcess, free_port
from tests.support.tools import require_kafka_jars

TARGETS = ("kbroker", "kafka")
CHECKS = [cli.check_topics, cli.check_configs, cli.check_cluster, cli.check_round_trip, cli.check_consume_options,
          cli.check_groups, cli.check_errors]


@pytest.fixture(scope="module")
def brokers():
    """Both brokers, started once for the module."""
    require_kafka_jars()
    from compat.kafka_ref.launcher import KafkaRef

    data = Path(tempfile.mkdtemp(prefix="cli-vs-kafka-"))
    kb = BrokerProcess(data / "kbroker", overrides={"node.id": "1", "group.initial.rebalance.delay.ms": "0"})
    ref = KafkaRef(heap="512m")
    try:
        kb.start()
        ref.start()
        yield {"kbroker": kb.bootstrap, "kafka": ref.bootstrap}
    finally:
        ref.stop()
        kb.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("check", CHECKS, ids=lambda f: f.__name__.removeprefix("check_"))
@pytest.mark.parametrize("target", TARGETS)
def test_command(brokers, target, check) -> None:
    check(brokers[target])


def test_down_broker_on_both_sides_of_the_comparison() -> None:
    """A closed port gives the same clear error whatever broker would have been there."""
    r = cli.kbroker(f"127.0.0.1:{free_port()}", "topics", "list", timeout=30, check=False)
    assert r.returncode == 1 and b"cannot connect to" in r.stderr
