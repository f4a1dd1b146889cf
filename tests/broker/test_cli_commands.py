"""Every ``kbroker`` client command as a subprocess against a kbroker process: topics, configs,
cluster, the produce -> consume round trip byte for byte, consume's options, groups and offset
resets, and the errors (unknown topic, bad config, unknown group). The checks live in
tests/support/cli.py; tests/foreign/test_cli_against_kafka.py runs the same ones against Apache Kafka."""

from __future__ import annotations

import pytest

from tests.support import cli
from tests.support.brokerproc import BrokerProcess


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("cli") / "data",
                      overrides={"group.initial.rebalance.delay.ms": "0"}).start()
    yield b.bootstrap
    b.stop()


@pytest.mark.parametrize("check", [cli.check_topics, cli.check_configs, cli.check_cluster, cli.check_round_trip,
                                   cli.check_consume_options, cli.check_groups, cli.check_errors],
                         ids=lambda f: f.__name__.removeprefix("check_"))
def test_command(bootstrap, check) -> None:
    check(bootstrap)
