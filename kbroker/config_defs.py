"""The topic-config table: each topic config's type, Kafka's default, its broker synonyms and its
validator, with no storage and no broker config attached.

``TOPIC_CONFIGS`` is the only place a topic config is described.  Both ``kbroker.config`` (a broker
synonym's default is its topic config's default, ``BY_SYNONYM``) and ``kbroker.topic_config`` (the
resolver, which re-exports these names) read it; this module imports nothing from kbroker, so the
broker config can depend on it.  ``check_value`` / ``validate`` check one value, in Kafka's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LONG_MAX = 2**63 - 1


@dataclass(frozen=True)
class ConfigDef:
    """One config's description. ``synonyms``: the broker configs that supply its default, most
    specific first; ``special`` names a validator beyond type/choices/range."""

    name: str
    type: str  # BOOLEAN STRING INT SHORT LONG DOUBLE LIST CLASS PASSWORD
    default: str
    synonyms: tuple[str, ...] = ()
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    special: str | None = None  # "gzip_level", "throttled_replicas", "remote_storage"

    @property
    def synonym(self) -> str | None:
        """The broker config that is this config's default (``log.retention.ms`` for ``retention.ms``)."""
        return self.synonyms[0] if self.synonyms else None


def _d(name: str, type_: str, default: str, synonyms: tuple[str, ...] | str | None, doc: str,
       **kw: object) -> ConfigDef:
    syn = (synonyms,) if isinstance(synonyms, str) else (synonyms or ())
    return ConfigDef(name, type_, default, syn, doc, **kw)  # type: ignore[arg-type]


TOPIC_CONFIGS: dict[str, ConfigDef] = {d.name: d for d in [
    _d("cleanup.policy", "LIST", "delete", "log.cleanup.policy",
       "delete: old segments go by retention; compact: the latest value of each key is kept.",
       choices=("delete", "compact")),
    _d("compression.gzip.level", "INT", "-1", "compression.gzip.level",
       "Level of gzip when the broker recompresses to gzip (-1: zlib's default).", special="gzip_level"),
    _d("compression.lz4.level", "INT", "9", "compression.lz4.level",
       "Level of lz4 when the broker recompresses to lz4.", minimum=1, maximum=17),
    _d("compression.type", "STRING", "producer", "compression.type",
       "The codec batches are stored in; producer keeps the producer's.",
       choices=("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")),
    _d("compression.zstd.level", "INT", "3", "compression.zstd.level",
       "Level of zstd when the broker recompresses to zstd.", minimum=-131072, maximum=22),
    _d("delete.retention.ms", "LONG", "86400000", "log.cleaner.delete.retention.ms",
       "How long a compacted topic keeps tombstones after cleaning.", minimum=0),
    _d("file.delete.delay.ms", "LONG", "60000", "log.segment.delete.delay.ms",
       "Wait before the files of a segment taken out of the log are removed.", minimum=0),
    _d("flush.messages", "LONG", str(LONG_MAX), "log.flush.interval.messages",
       "Messages appended before the log is fsynced.", minimum=1),
    _d("flush.ms", "LONG", str(LONG_MAX), "log.flush.interval.ms",
       "Milliseconds before appended messages are fsynced.", minimum=0),
    _d("follower.replication.throttled.replicas", "LIST", "", None,
       "partition:broker pairs (or *) whose fetching as follower is throttled (cluster only).", special="throttled_replicas"),
    _d("index.interval.bytes", "INT", "4096", "log.index.interval.bytes",
       "Bytes of log between two offset index entries.", minimum=0),
    _d("leader.replication.throttled.replicas", "LIST", "", None,
       "partition:broker pairs (or *) whose serving as leader is throttled (cluster only).", special="throttled_replicas"),
    _d("local.retention.bytes", "LONG", "-2", "log.local.retention.bytes",
       "Tiered storage's local retention by size (accepted; no tiered storage).", minimum=-2),
    _d("local.retention.ms", "LONG", "-2", "log.local.retention.ms",
       "Tiered storage's local retention by time (accepted; no tiered storage).", minimum=-2),
    _d("max.compaction.lag.ms", "LONG", str(LONG_MAX), "log.cleaner.max.compaction.lag.ms",
       "Longest a record stays ineligible for compaction.", minimum=1),
    _d("max.message.bytes", "INT", "1048588", "message.max.bytes",
       "Largest record batch the topic accepts.", minimum=0),
    _d("message.timestamp.after.max.ms", "LONG", "3600000", "log.message.timestamp.after.max.ms",
       "Furthest a CreateTime timestamp may lie ahead of the broker's clock.", minimum=0),
    _d("message.timestamp.before.max.ms", "LONG", str(LONG_MAX), "log.message.timestamp.before.max.ms",
       "Furthest a CreateTime timestamp may lie behind the broker's clock.", minimum=0),
    _d("message.timestamp.type", "STRING", "CreateTime", "log.message.timestamp.type",
       "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's.",
       choices=("CreateTime", "LogAppendTime")),
    _d("min.cleanable.dirty.ratio", "DOUBLE", "0.5", "log.cleaner.min.cleanable.ratio",
       "Share of the log not yet cleaned at which the cleaner works on it.", minimum=0, maximum=1.0),
    _d("min.compaction.lag.ms", "LONG", "0", "log.cleaner.min.compaction.lag.ms",
       "Shortest a record stays uncompacted.", minimum=0),
    _d("min.insync.replicas", "INT", "1", "min.insync.replicas",
       "In-sync replicas an acks=all produce needs.", minimum=1),
    _d("preallocate", "BOOLEAN", "false", "log.preallocate",
       "Create segment files at full size (accepted; segment files grow as written)."),
    _d("remote.log.copy.disable", "BOOLEAN", "false", None, "Tiered storage (accepted; no tiered storage)."),
    _d("remote.log.delete.on.disable", "BOOLEAN", "false", None, "Tiered storage (accepted; no tiered storage)."),
    _d("remote.storage.enable", "BOOLEAN", "false", None, "Tiered storage (cannot be enabled).",
       special="remote_storage"),
    _d("retention.bytes", "LONG", "-1", "log.retention.bytes",
       "Largest size of a partition's log before old segments go (-1: no limit)."),
    _d("retention.ms", "LONG", "604800000", ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
       "Longest a segment is kept (-1: no limit).", minimum=-1),
    _d("segment.bytes", "INT", "1073741824", "log.segment.bytes", "Size at which a segment rolls.", minimum=14),
    _d("segment.index.bytes", "INT", "10485760", "log.index.size.max.bytes",
       "Size of a segment's offset and time index.", minimum=4),
    _d("segment.jitter.ms", "LONG", "0", ("log.roll.jitter.ms", "log.roll.jitter.hours"),
       "Largest random time taken off segment.ms for each segment.", minimum=0),
    _d("segment.ms", "LONG", "604800000", ("log.roll.ms", "log.roll.hours"),
       "Age at which a segment rolls.", minimum=1),
    _d("unclean.leader.election.enable", "BOOLEAN", "false", "unclean.leader.election.enable",
       "Let an out-of-sync replica become leader when no ISR member is alive (may lose data)."),
]}

BY_SYNONYM: dict[str, ConfigDef] = {d.synonyms[0]: d for d in TOPIC_CONFIGS.values() if d.synonyms}
"""Topic configs by their first broker synonym (``log.segment.bytes`` -> ``segment.bytes``)."""


# -- validation ---------------------------------------------------------------------------------------

_REPLICA = re.compile(r"\s*\d+\s*:\s*\d+\s*")


def check_value(d: ConfigDef, name: str, value: str | None) -> str | None:
    """An error message, or None when ``value`` passes ``d``'s validator (Kafka's wording)."""
    if value is None:
        return None
    if d.special == "throttled_replicas":
        items = [v for v in value.split(",")] if value.strip() else []
        if value.strip() == "*" or all(_REPLICA.fullmatch(v) for v in items):
            return None
        shown = "[" + ", ".join(v.strip() for v in value.split(",")) + "]"
        return (f"Invalid value {shown} for configuration {name}: {name} must be the literal '*' or a list "
                "of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...")
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
        if (d.type == "INT" and not -(2**31) <= n < 2**31) or not -(2**63) <= n < 2**63:
            return f"Invalid value {value} for configuration {name}: Not a number of type {d.type}"
        if d.special == "gzip_level" and not (n == -1 or 1 <= n <= 9):
            return f"Invalid value {value} for configuration {name}: Value must be between 1 and 9 or equal to -1"
        if d.maximum is not None and n > d.maximum:
            return f"Invalid value {value} for configuration {name}: Value must be no more than {int(d.maximum)}"
        if d.minimum is not None and n < d.minimum:
            return f"Invalid value {value} for configuration {name}: Value must be at least {int(d.minimum)}"
    if d.type == "DOUBLE":
        try:
            x = float(value)
        except ValueError:
            return f"Invalid value {value} for configuration {name}: Not a number of type DOUBLE"
        if d.maximum is not None and x > d.maximum:
            return f"Invalid value {value} for configuration {name}: Value must be no more than {d.maximum}"
        if d.minimum is not None and x < d.minimum:
            return f"Invalid value {value} for configuration {name}: Value must be at least {d.minimum}"
    if d.type == "BOOLEAN" and value.lower() not in ("true", "false"):
        return f"Invalid value {value} for configuration {name}: Expected value to be either true or false"
    if d.special == "remote_storage" and value.lower() == "true":
        return ("Tiered Storage functionality is disabled in the broker. Topic cannot be configured with "
                "remote log storage.")
    return None


def validate(name: str, value: str | None) -> str | None:
    """An error message, or None when ``name=value`` is acceptable for a topic."""
    d = TOPIC_CONFIGS.get(name)
    if d is None:
        return f"Unknown topic config name: {name}"
    return check_value(d, name, value)
