"""BROKER_LOGGER (type 8): kbroker's Python loggers through DescribeConfigs and
IncrementalAlterConfigs, with Kafka 4.1.1's `kafka-configs --entity-type broker-loggers`
(ConfigCommand from the reference broker's jars) and raw frames for Kafka's errors."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.rawclient import RawClient
from tests.support.tools import require_kafka_jars
from wire.errors import ErrorCode as E
from wire.messages.alter_configs import AlterConfigsRequest
from wire.messages.describe_configs import DescribeConfigsRequest
from wire.messages.incremental_alter_configs import IncrementalAlterConfigsRequest

LOGGER = 8
IAC = IncrementalAlterConfigsRequest


def describe(rc: RawClient, name: str = "1", keys=None) -> tuple[int, dict[str, str]]:
    req = DescribeConfigsRequest(resources=[DescribeConfigsRequest.DescribeConfigsResource(
        resource_type=LOGGER, resource_name=name, configuration_keys=keys)])
    [res] = rc.request(req, 4).results
    assert all(c.config_source == 6 and not c.read_only and not c.is_sensitive for c in res.configs)
    return res.error_code, {c.name: c.value for c in res.configs}


def incremental(rc: RawClient, ops: list[tuple[str, int, str | None]], name: str = "1",
                validate_only: bool = False) -> tuple[int, str | None]:
    req = IAC(resources=[IAC.AlterConfigsResource(resource_type=LOGGER, resource_name=name, configs=[
        IAC.AlterableConfig(name=n, config_operation=op, value=v) for n, op, v in ops])],
        validate_only=validate_only)
    [res] = rc.request(req, 1).responses
    return res.error_code, res.error_message


@pytest.fixture
def rc(broker):
    c = RawClient.connect(broker.bootstrap)
    yield c
    c.close()


def test_describe_lists_root_and_kbroker_loggers(rc) -> None:
    code, levels = describe(rc)
    assert code == 0 and levels["root"] in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")
    assert {"kbroker", "kbroker.server", "storage", "wire"} <= set(levels)
    assert describe(rc, keys=["kbroker.server"])[1] == {"kbroker.server": levels["kbroker.server"]}
    assert describe(rc, name="7")[0] == E.INVALID_REQUEST
    assert describe(rc, name="")[0] == E.INVALID_REQUEST


def test_set_and_delete_level(rc) -> None:
    root = describe(rc)[1]["root"]
    assert incremental(rc, [("kbroker.server", 0, "TRACE")], validate_only=True) == (0, None)
    assert describe(rc)[1]["kbroker.server"] == root
    assert incremental(rc, [("kbroker.server", 0, "TRACE"), ("storage", 0, "OFF")]) == (0, None)
    levels = describe(rc)[1]
    assert (levels["kbroker.server"], levels["storage"]) == ("TRACE", "OFF")
    assert incremental(rc, [("kbroker.server", 1, None), ("storage", 1, None)]) == (0, None)
    levels = describe(rc)[1]
    assert (levels["kbroker.server"], levels["storage"]) == (root, root)


@pytest.mark.parametrize("ops,code,fragment", [
    ([("kbroker.server", 0, "LOUD")], E.INVALID_CONFIG, "not a supported log level"),
    ([("no.such.logger", 0, "DEBUG")], E.INVALID_CONFIG, "Logger no.such.logger does not exist!"),
    ([("root", 1, None)], E.INVALID_REQUEST, "root logger is not allowed"),
    ([("kbroker", 2, "DEBUG")], E.INVALID_REQUEST, "APPEND operation is not allowed"),
])
def test_errors(rc, ops, code: int, fragment: str) -> None:
    got, msg = incremental(rc, ops)
    assert got == code and fragment in (msg or ""), (got, msg)


def test_legacy_alter_configs_is_invalid_request(rc) -> None:
    req = AlterConfigsRequest(resources=[AlterConfigsRequest.AlterConfigsResource(
        resource_type=LOGGER, resource_name="1",
        configs=[AlterConfigsRequest.AlterableConfig(name="kbroker", value="DEBUG")])])
    [res] = rc.request(req, 2).responses
    assert res.error_code == E.INVALID_REQUEST


def test_kafka_configs_broker_loggers(broker) -> None:
    java, jars = require_kafka_jars()

    def tool(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([java, "-cp", f"{jars}/*", "kafka.admin.ConfigCommand", "--bootstrap-server",
                               broker.bootstrap, "--entity-type", "broker-loggers", "--entity-name", "1", *args],
                              capture_output=True, text=True, timeout=180)

    def described() -> dict[str, str]:
        p = tool("--describe")
        assert p.returncode == 0, p.stderr[-2000:]
        lines = p.stdout.splitlines()
        assert lines[0] == "Dynamic configs for broker-logger 1 are:", p.stdout
        out = {}
        for line in lines[1:]:
            name, rest = line.strip().split("=", 1)
            assert rest.endswith(" sensitive=false synonyms={}"), line
            out[name] = rest.split()[0]
        return out

    assert "kbroker.server" in described()
    p = tool("--alter", "--add-config", "kbroker.server=DEBUG")
    assert p.returncode == 0 and p.stdout.strip() == "Completed updating config for broker-logger 1.", p.stderr
    assert described()["kbroker.server"] == "DEBUG"
    p = tool("--alter", "--add-config", "kbroker.nope=DEBUG")
    assert p.returncode != 0 and "Invalid broker logger(s): kbroker.nope" in p.stdout + p.stderr
