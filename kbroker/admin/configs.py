"""Topic and broker configs: describe (overridden ones, or all) and alter (set/delete keys) through
DescribeConfigs and IncrementalAlterConfigs (kafka-python falls back to AlterConfigs on old brokers)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kbroker.admin.models import ConfigEntry
from kbroker.admin.session import AdminError, InvalidRequest, NotFound, Session

ENTITY_TYPES = ("topics", "brokers")


def _resource(entity_type: str, name: str, configs: Any = None) -> Any:
    from kafka.admin import ConfigResource, ConfigResourceType

    if entity_type not in ENTITY_TYPES:
        raise AdminError(f"entity type {entity_type!r} is not one of {', '.join(ENTITY_TYPES)}")
    kind = ConfigResourceType.TOPIC if entity_type == "topics" else ConfigResourceType.BROKER
    return ConfigResource(kind, name, configs)


def default_broker(s: Session) -> str:
    """The node id (as a string) of the first broker the cluster lists: ``configs`` on brokers
    without ``--entity-name``."""
    meta = s.call("describe cluster", s.admin.describe_cluster)
    brokers = sorted(b["broker_id"] for b in meta.get("brokers") or [])
    if not brokers:
        raise AdminError("the cluster lists no brokers")
    return str(brokers[0])


def describe_configs(s: Session, entity_type: str, name: str, *, all_configs: bool = False) -> list[ConfigEntry]:
    """The entity's configs, sorted by name: only the overridden ones unless ``all_configs``."""
    if entity_type == "topics":
        from kbroker.admin.topics import topic_exists

        if not topic_exists(s, name):
            raise NotFound(f"topic {name!r}: the topic does not exist")
    got: dict[str, Any] = s.call(f"describe configs of {entity_type} {name!r}", s.admin.describe_configs,
                 [_resource(entity_type, name)], config_filter="all" if all_configs else "modified")
    entries: dict[str, Any] = {}
    for by_name in got.values():
        entries.update(by_name.get(name) or {})
    out = [ConfigEntry(k, v.get("value"), str(v.get("config_source", "UNKNOWN")), bool(v.get("read_only")),
                       bool(v.get("is_sensitive"))) for k, v in entries.items()]
    return sorted(out, key=lambda e: e.name)


def alter_configs(s: Session, entity_type: str, name: str, *, set_configs: Mapping[str, str] | None = None,
                  delete_configs: Iterable[str] = (), validate_only: bool = False) -> None:
    """Sets and removes config keys (incremental: other overrides stay). A key the broker does not
    know or a bad value raises ``InvalidRequest`` with the broker's message."""
    from kafka.admin import AlterConfigOp

    ops: dict[str, Any] = {k: (AlterConfigOp.SET, v) for k, v in (set_configs or {}).items()}
    ops.update({k: (AlterConfigOp.DELETE, None) for k in delete_configs})
    if not ops:
        raise AdminError("nothing to alter: give --add-config and/or --delete-config")
    if entity_type == "topics":
        from kbroker.admin.topics import topic_exists

        if not topic_exists(s, name):
            raise NotFound(f"topic {name!r}: the topic does not exist")
    got = s.call(f"alter configs of {entity_type} {name!r}", s.admin.alter_configs, [_resource(entity_type, name, ops)],
                 validate_only=validate_only, raise_on_unknown=False)
    for results in got.values():
        for res_name, result in results.items():
            if result != "OK":
                text = str(result)
                if text.startswith("[Error"):
                    text = text.split("] ", 1)[-1]
                raise InvalidRequest(f"alter configs of {entity_type} {res_name!r}: {text}")
