"""``KBROKER_*`` environment variables as broker configs (kbroker.config.env_configs): the name
mapping with its escapes, which variables are taken, and their place below the properties file and
``--override``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbroker.config import BrokerConfig, env_configs, env_name_to_key


@pytest.mark.parametrize(("name", "key"), [
    ("KBROKER_ADVERTISED_LISTENERS", "advertised.listeners"),
    ("KBROKER_LOG_DIRS", "log.dirs"),
    ("KBROKER_NODE_ID", "node.id"),
    ("KBROKER_FOO__BAR", "foo_bar"),
    ("KBROKER_FOO___BAR", "foo-bar"),
    ("KBROKER_A_B__C___D", "a.b_c-d"),
    ("KBROKER_listeners", "listeners"),
])
def test_names_map_to_keys(name: str, key: str) -> None:
    assert env_name_to_key(name) == key


@pytest.mark.parametrize("name", [
    "KBROKER_", "KBROKER__LOG", "KBROKER_LOG_", "KBROKER_LOG____DIRS", "KAFKA_LOG_DIRS", "LOG_DIRS",
])
def test_names_that_are_no_key(name: str) -> None:
    assert env_name_to_key(name) is None


def test_only_known_broker_configs_are_taken() -> None:
    environ = {
        "KBROKER_LISTENERS": "PLAINTEXT://0.0.0.0:9093 ",
        "KBROKER_LOG_DIRS": "/var/lib/kbroker",
        "KBROKER_TEST_VENV": "/somewhere",  # another tool's variable: not a config
        "KBROKER_LOG_DIRS_": "ignored",
        "PATH": "/usr/bin",
    }
    assert env_configs(environ) == {"listeners": "PLAINTEXT://0.0.0.0:9093", "log.dirs": "/var/lib/kbroker"}


def test_environment_is_below_file_and_overrides(tmp_path: Path) -> None:
    props = tmp_path / "server.properties"
    props.write_text("log.dirs=/from/file\nnum.partitions=4\n")
    environ = {"KBROKER_LOG_DIRS": "/from/env", "KBROKER_NUM_PARTITIONS": "2", "KBROKER_NODE_ID": "7",
               "KBROKER_LISTENERS": "PLAINTEXT://127.0.0.1:9999"}
    cfg = BrokerConfig.load(props, ["num.partitions=6"], environ=environ)
    assert cfg.data_dir == Path("/from/file")
    assert cfg.num_partitions == 6
    assert cfg.node_id == 7
    assert cfg.listener.port == 9999


def test_environment_alone_configures_a_broker() -> None:
    cfg = BrokerConfig.load(None, environ={"KBROKER_ADVERTISED_LISTENERS": "PLAINTEXT://example:19092"})
    assert (cfg.advertised.host, cfg.advertised.port) == ("example", 19092)
    assert cfg.listener.port == 9092  # the embedded default stays


def test_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KBROKER_NUM_PARTITIONS", "3")
    assert BrokerConfig.load(None).num_partitions == 3
