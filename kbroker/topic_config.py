"""Per-topic configuration: Kafka's names, their broker-wide synonyms and defaults.

A topic's effective value is its own override, else the broker's ``log.*``
synonym, else Kafka's default.  ``validate`` answers INVALID_CONFIG material.
"""

from __future__ import annotations

from dataclasses import dataclass

from kbroker.config import BrokerConfig


@dataclass(frozen=True)
class TopicConfigDef:
    name: str
    synonym: str | None  # broker config that supplies the default
    default: str
    type: str  # BOOLEAN STRING INT SHORT LONG DOUBLE LIST CLASS PASSWORD
    choices: tuple[str, ...] = ()
    minimum: float | None = None


_DEFS = [
    TopicConfigDef("cleanup.policy", "log.cleanup.policy", "delete", "LIST", ("delete", "compact")),
    TopicConfigDef("compression.type", "compression.type", "producer", "STRING",
                   ("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")),
    TopicConfigDef("delete.retention.ms", "log.cleaner.delete.retention.ms", "86400000", "LONG", minimum=0),
    TopicConfigDef("file.delete.delay.ms", "log.segment.delete.delay.ms", "60000", "LONG", minimum=0),
    TopicConfigDef("flush.messages", "log.flush.interval.messages", "9223372036854775807", "LONG", minimum=1),
    TopicConfigDef("flush.ms", "log.flush.interval.ms", "9223372036854775807", "LONG", minimum=0),
    TopicConfigDef("index.interval.bytes", "log.index.interval.bytes", "4096", "INT", minimum=0),
    TopicConfigDef("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "9223372036854775807",
                   "LONG", minimum=1),
    TopicConfigDef("max.message.bytes", "message.max.bytes", "1048588", "INT", minimum=0),
    TopicConfigDef("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms",
                   "3600000", "LONG", minimum=0),
    TopicConfigDef("message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms",
                   "9223372036854775807", "LONG", minimum=0),
    TopicConfigDef("message.timestamp.type", "log.message.timestamp.type", "CreateTime", "STRING",
                   ("CreateTime", "LogAppendTime")),
    TopicConfigDef("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", "0.5", "DOUBLE", minimum=0),
    TopicConfigDef("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", "0", "LONG", minimum=0),
    TopicConfigDef("min.insync.replicas", "min.insync.replicas", "1", "INT", minimum=1),
    TopicConfigDef("retention.bytes", "log.retention.bytes", "-1", "LONG"),
    TopicConfigDef("retention.ms", "log.retention.ms", "604800000", "LONG", minimum=-1),
    TopicConfigDef("segment.bytes", "log.segment.bytes", "1073741824", "INT", minimum=14),
    TopicConfigDef("segment.index.bytes", "log.index.size.max.bytes", "10485760", "INT", minimum=4),
    TopicConfigDef("segment.ms", "log.roll.ms", "604800000", "LONG", minimum=1),
    TopicConfigDef("unclean.leader.election.enable", "unclean.leader.election.enable", "false", "BOOLEAN"),
]
TOPIC_CONFIGS: dict[str, TopicConfigDef] = {d.name: d for d in _DEFS}


def validate(name: str, value: str | None) -> str | None:
    """An error message, or None when ``name=value`` is acceptable for a topic."""
    d = TOPIC_CONFIGS.get(name)
    if d is None:
        return f"Unknown topic config name: {name}"
    if value is None:
        return None
    if d.type == "LIST" and d.choices:
        items = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in d.choices]
        if bad or not items:
            return f"Invalid value {value} for configuration {name}: must be a list of {d.choices}"
        return None
    if d.choices and value not in d.choices:
        return f"Invalid value {value} for configuration {name}: String must be one of: {', '.join(d.choices)}"
    if d.type in ("INT", "LONG", "SHORT"):
        try:
            n = int(value)
        except ValueError:
            return f"Invalid value {value} for configuration {name}: Not a number of type {d.type}"
        if d.minimum is not None and n < d.minimum:
            return f"Invalid value {value} for configuration {name}: Value must be at least {int(d.minimum)}"
        if d.type == "INT" and n > 2**31 - 1:
            return f"Invalid value {value} for configuration {name}: Not a number of type INT"
    if d.type == "DOUBLE":
        try:
            x = float(value)
        except ValueError:
            return f"Invalid value {value} for configuration {name}: Not a number of type DOUBLE"
        if d.minimum is not None and x < d.minimum:
            return f"Invalid value {value} for configuration {name}: Value must be at least {d.minimum}"
    if d.type == "BOOLEAN" and value.lower() not in ("true", "false"):
        return f"Invalid value {value} for configuration {name}: Expected value to be either true or false"
    return None


def broker_default(config: BrokerConfig, d: TopicConfigDef) -> tuple[str, bool]:
    """(value, came_from_broker_config)."""
    if d.name == "retention.ms":
        if config.is_set("log.retention.ms"):
            return config.get("log.retention.ms") or d.default, True
        if config.is_set("log.retention.hours"):
            return str(config.get_int("log.retention.hours") * 3600_000), True
        return d.default, False
    if d.name == "segment.ms" and (config.is_set("log.roll.ms") or config.is_set("log.roll.hours")):
        return str(config.segment_ms), True
    if d.synonym and config.is_set(d.synonym):
        return config.get(d.synonym) or d.default, True
    return d.default, False


def effective(config: BrokerConfig, overrides: dict[str, str], name: str) -> str:
    if name in overrides:
        return overrides[name]
    return broker_default(config, TOPIC_CONFIGS[name])[0]
