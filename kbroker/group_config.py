"""The GROUP config resource (type 32): Kafka 4.1.1's per-group configs (GroupConfig).

Each config's default is its broker config (``group.consumer.session.timeout.ms`` for
``consumer.session.timeout.ms``, ...), and a group's value must lie within the broker's min/max
bounds for it (INVALID_CONFIG otherwise), with the heartbeat interval below the session timeout.
kbroker serves classic-protocol groups only, so the consumer/share/streams values are stored and
reported but steer nothing yet.  Persisted in ``<data_dir>/group-configs.json``
(``{"version": 1, "groups": {"g": {"consumer.session.timeout.ms": "50000"}}}``), replaced with
tmp -> fsync -> rename.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kbroker.config import BrokerConfig
from kbroker.config_changes import (
    APPEND,
    DELETE,
    INVALID_CONFIG,
    SET,
    ConfigChangeError,
    Op,
    check_request_shape,
)
from storage.checkpoint import write_atomic

FILE = "group-configs.json"


@dataclass(frozen=True)
class GroupConfigDef:
    name: str
    synonym: str  # the broker config that supplies the default
    default: str
    type: str
    low: str | None = None  # broker config bounding the value from below / above
    high: str | None = None
    choices: tuple[str, ...] = ()


_DEFS = [
    GroupConfigDef("consumer.heartbeat.interval.ms", "group.consumer.heartbeat.interval.ms", "5000", "INT",
                   "group.consumer.min.heartbeat.interval.ms", "group.consumer.max.heartbeat.interval.ms"),
    GroupConfigDef("consumer.session.timeout.ms", "group.consumer.session.timeout.ms", "45000", "INT",
                   "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms"),
    GroupConfigDef("share.auto.offset.reset", "group.share.auto.offset.reset", "latest", "STRING"),
    GroupConfigDef("share.heartbeat.interval.ms", "group.share.heartbeat.interval.ms", "5000", "INT",
                   "group.share.min.heartbeat.interval.ms", "group.share.max.heartbeat.interval.ms"),
    GroupConfigDef("share.isolation.level", "group.share.isolation.level", "read_uncommitted", "STRING",
                   choices=("read_committed", "read_uncommitted")),
    GroupConfigDef("share.record.lock.duration.ms", "group.share.record.lock.duration.ms", "30000", "INT",
                   "group.share.min.record.lock.duration.ms", "group.share.max.record.lock.duration.ms"),
    GroupConfigDef("share.session.timeout.ms", "group.share.session.timeout.ms", "45000", "INT",
                   "group.share.min.session.timeout.ms", "group.share.max.session.timeout.ms"),
    GroupConfigDef("streams.heartbeat.interval.ms", "group.streams.heartbeat.interval.ms", "5000", "INT",
                   "group.streams.min.heartbeat.interval.ms", "group.streams.max.heartbeat.interval.ms"),
    GroupConfigDef("streams.num.standby.replicas", "group.streams.num.standby.replicas", "0", "INT",
                   None, "group.streams.max.standby.replicas"),
    GroupConfigDef("streams.session.timeout.ms", "group.streams.session.timeout.ms", "45000", "INT",
                   "group.streams.min.session.timeout.ms", "group.streams.max.session.timeout.ms"),
]
GROUP_CONFIGS: dict[str, GroupConfigDef] = {d.name: d for d in _DEFS}
# Kafka 4.1.1's defaults of the bounding broker configs.
BOUND_DEFAULTS = {
    "group.consumer.min.heartbeat.interval.ms": "5000", "group.consumer.max.heartbeat.interval.ms": "15000",
    "group.consumer.min.session.timeout.ms": "45000", "group.consumer.max.session.timeout.ms": "60000",
    "group.share.min.heartbeat.interval.ms": "5000", "group.share.max.heartbeat.interval.ms": "15000",
    "group.share.min.record.lock.duration.ms": "15000", "group.share.max.record.lock.duration.ms": "60000",
    "group.share.min.session.timeout.ms": "45000", "group.share.max.session.timeout.ms": "60000",
    "group.streams.min.heartbeat.interval.ms": "5000", "group.streams.max.heartbeat.interval.ms": "15000",
    "group.streams.max.standby.replicas": "2",
    "group.streams.min.session.timeout.ms": "45000", "group.streams.max.session.timeout.ms": "60000",
}


def broker_value(config: BrokerConfig, name: str, default: str) -> str:
    return config.get(name) if config.is_set(name) else default  # type: ignore[return-value]


def default_of(config: BrokerConfig, d: GroupConfigDef) -> tuple[str, bool]:
    """(value, came_from_broker_config)."""
    if config.is_set(d.synonym):
        return str(config.get(d.synonym)), True
    return d.default, False


def _bound(config: BrokerConfig, name: str | None) -> int | None:
    return None if name is None else int(broker_value(config, name, BOUND_DEFAULTS[name]))


def validate(config: BrokerConfig, configs: Mapping[str, str]) -> str | None:
    for name, value in configs.items():
        d = GROUP_CONFIGS.get(name)
        if d is None:
            return f"Unknown group config name: {name}"
        if d.type == "INT":
            try:
                n = int(value)
            except ValueError:
                return f"Invalid value {value} for configuration {name}: Not a number of type INT"
            low, high = _bound(config, d.low), _bound(config, d.high)
            if n < 0 or (low is not None and n < low):
                return f"{name} must be greater than or equal to {d.low or 0}"
            if high is not None and n > high:
                return f"{name} must be less than or equal to {d.high}"
        elif d.choices and value not in d.choices:
            return f"Invalid value {value} for configuration {name}: String must be one of: {', '.join(d.choices)}"
        elif name == "share.auto.offset.reset" and value not in ("latest", "earliest") \
                and not value.startswith("by_duration:"):
            return (f"Invalid value {value} for configuration {name}: "
                    "Invalid value for share.auto.offset.reset, must be one of latest, earliest or by_duration:PnDTnHnMn.nS")

    def eff(name: str) -> int:
        d = GROUP_CONFIGS[name]
        return int(configs[name]) if name in configs else int(default_of(config, d)[0])

    for kind in ("consumer", "share", "streams"):
        if eff(f"{kind}.heartbeat.interval.ms") >= eff(f"{kind}.session.timeout.ms"):
            return f"{kind}.heartbeat.interval.ms must be less than {kind}.session.timeout.ms"
    return None


class GroupConfigStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE
        self.groups: dict[str, dict[str, str]] = {}
        if self.path.exists():
            obj = json.loads(self.path.read_text("utf-8"))
            if obj.get("version") != 1:
                raise ValueError(f"{self.path}: unknown version {obj.get('version')!r}")
            self.groups = {str(g): {str(k): str(v) for k, v in c.items()} for g, c in obj.get("groups", {}).items()}

    def get(self, group: str) -> dict[str, str]:
        return dict(self.groups.get(group, {}))

    def plan(self, config: BrokerConfig, group: str, ops: Iterable[Op], replace: bool) -> dict[str, str]:
        ops = list(ops)
        check_request_shape(ops)
        new = {} if replace else self.get(group)
        for name, op, value in ops:
            if op == SET:
                new[name] = str(value)
            elif op == DELETE:
                new.pop(name, None)
            else:
                kind = "APPEND" if op == APPEND else "SUBTRACT"
                raise ConfigChangeError(INVALID_CONFIG, f"Can't {kind} to key {name} because its type is not LIST.")
        msg = validate(config, new)
        if msg:
            raise ConfigChangeError(INVALID_CONFIG, msg)
        return new

    def set(self, group: str, configs: dict[str, str]) -> None:
        groups = dict(self.groups)
        if configs:
            groups[group] = configs
        else:
            groups.pop(group, None)
        write_atomic(self.path, json.dumps({"version": 1, "groups": groups}, indent=1, sort_keys=True).encode())
        self.groups = groups
