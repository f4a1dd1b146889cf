"""Topic configs, Kafka's ``LogConfig`` model: one table, one resolver, one frozen typed snapshot.

``TOPIC_CONFIGS`` (``kbroker.config_defs``, re-exported here with ``ConfigDef``, ``check_value`` and
``validate``) is the only place a topic config is described: its type, Kafka's default, the broker
config(s) that supply its default (most specific first), its validator and a line of
documentation.  ``resolve(broker_config, overrides)`` turns a topic's overrides into a
``TopicConfig``: every value typed, each with its source and its synonym chain as DescribeConfigs
reports them, and the policies storage is handed (``log``: segment settings, ``retention``: the
retention policy, ``cleaner_config(...)``: the cleaner's settings).  The topic service
(``kbroker.topics``) resolves a topic once when it is created or altered and every topic again when
a dynamic broker config changes; requests read the snapshot and never parse a string.

A value's source, most specific first: the topic's own override (DYNAMIC_TOPIC_CONFIG), its broker
synonym set on this broker by AlterConfigs (DYNAMIC_BROKER_CONFIG), on the cluster default
(DYNAMIC_DEFAULT_BROKER_CONFIG), in the properties file (STATIC_BROKER_CONFIG), else Kafka's default
(DEFAULT_CONFIG).  ``retention.ms`` falls back to ``log.retention.minutes`` and
``log.retention.hours``, ``segment.ms`` to ``log.roll.hours``, ``segment.jitter.ms`` to
``log.roll.jitter.hours`` (converted to milliseconds), as Kafka does.

``check_overrides`` is the one validation of a topic's whole set of overrides, used by CreateTopics
and by both alter APIs, so a topic can never be created with a set an alter would reject or the
other way round: each value by its validator, then Kafka's cross-checks
(``min.compaction.lag.ms`` <= ``max.compaction.lag.ms``), then the storage policies' own bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from kbroker.config import BROKER_DEFAULTS, BrokerConfig

# The table lives in kbroker.config_defs (kbroker.config reads it too); its names are re-exported here.
from kbroker.config_defs import LONG_MAX, TOPIC_CONFIGS, ConfigDef, validate
from kbroker.config_defs import check_value as check_value
from storage.cleaner import CleanerConfig
from storage.log import LogConfig
from storage.retention import RetentionPolicy

# Kafka's ConfigSource ids (DescribeConfigs v1+, CreateTopics v5+).
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC_BROKER, DEFAULT = 1, 2, 3, 4, 5
# DescribeConfigs v3+ config types.
TYPE_IDS = {"BOOLEAN": 1, "STRING": 2, "INT": 3, "SHORT": 4, "LONG": 5, "DOUBLE": 6, "LIST": 7, "CLASS": 8,
            "PASSWORD": 9}


class InvalidTopicConfig(ValueError):
    """A topic's set of overrides that Kafka would answer INVALID_CONFIG."""


def check_overrides(broker: BrokerConfig, overrides: Mapping[str, str]) -> TopicConfig:
    """The one check of a topic's whole set of overrides (CreateTopics, AlterConfigs,
    IncrementalAlterConfigs): each value, Kafka's cross-checks, then the storage policies' own
    bounds. Returns the resolved config; raises InvalidTopicConfig with Kafka's message."""
    for name, value in overrides.items():
        msg = validate(name, value)
        if msg:
            raise InvalidTopicConfig(msg)
    low = int(overrides.get("min.compaction.lag.ms", TOPIC_CONFIGS["min.compaction.lag.ms"].default))
    high = int(overrides.get("max.compaction.lag.ms", TOPIC_CONFIGS["max.compaction.lag.ms"].default))
    if low > high:
        raise InvalidTopicConfig(
            f"conflict topic config setting min.compaction.lag.ms ({low}) > max.compaction.lag.ms ({high})")
    try:
        return resolve(broker, overrides)
    except ValueError as exc:  # a storage bound (LogConfig's) the table's validator does not know
        raise InvalidTopicConfig(str(exc)) from None


# -- the source chain ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Synonym:
    name: str
    value: str | None
    source: int


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One config as DescribeConfigs and CreateTopics report it."""

    name: str
    value: str
    source: int
    synonyms: tuple[Synonym, ...]
    type: str
    doc: str


def layers(broker: BrokerConfig, name: str) -> list[Synonym]:
    """Broker config ``name`` as set on this broker, on the cluster default, in the file (most
    specific first)."""
    out = []
    for layer, source in ((broker.dynamic, DYNAMIC_BROKER), (broker.dynamic_default, DYNAMIC_DEFAULT),
                          (broker.props, STATIC_BROKER)):
        if name in layer:
            out.append(Synonym(name, layer[name], source))
    return out


def _hours_or_minutes(broker: BrokerConfig, name: str, unit_ms: int) -> str:
    return str(int(broker.get(name) or "0") * unit_ms)


def broker_value(broker: BrokerConfig, d: ConfigDef) -> str | None:
    """The value the broker's configs give ``d`` (None: Kafka's default applies)."""
    if d.name == "retention.ms":
        if broker.is_set("log.retention.ms"):
            return broker.get("log.retention.ms") or d.default
        if broker.is_set("log.retention.minutes"):
            return _hours_or_minutes(broker, "log.retention.minutes", 60_000)
        if broker.is_set("log.retention.hours"):
            return _hours_or_minutes(broker, "log.retention.hours", 3600_000)
        return None
    if d.name == "segment.jitter.ms" and not broker.is_set("log.roll.jitter.ms") \
            and broker.is_set("log.roll.jitter.hours"):
        return _hours_or_minutes(broker, "log.roll.jitter.hours", 3600_000)
    if d.name == "segment.ms" and (broker.is_set("log.roll.ms") or broker.is_set("log.roll.hours")):
        return str(broker.segment_ms)
    if d.synonym and broker.is_set(d.synonym):
        return broker.get(d.synonym) or d.default
    return None


def _entry(broker: BrokerConfig, overrides: Mapping[str, str], d: ConfigDef) -> ConfigEntry:
    chain: list[Synonym] = []
    if d.name in overrides:
        chain.append(Synonym(d.name, overrides[d.name], DYNAMIC_TOPIC))
    for name in d.synonyms:
        chain += layers(broker, name)
    # Kafka lists a DEFAULT_CONFIG synonym only for the first broker synonym, and only when that one
    # has a default (log.retention.ms, log.roll.ms, log.flush.interval.ms, log.roll.jitter.ms have
    # none); a config with no broker synonym has none either.
    if d.synonyms:
        first = d.synonyms[0]
        default = BROKER_DEFAULTS[first][0] if first in BROKER_DEFAULTS else d.default
        if default is not None:
            chain.append(Synonym(first, default, DEFAULT))
    if d.name in overrides:
        value = overrides[d.name]
    else:
        from_broker = broker_value(broker, d)
        value = d.default if from_broker is None else from_broker
    return ConfigEntry(d.name, value, chain[0].source if chain else DEFAULT, tuple(chain), d.type, d.doc)


# -- the snapshot -------------------------------------------------------------------------------------

# compression.type -> the codec id batches are rewritten to (absent: producer, keep the producer's)
CODECS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
_LEVEL_OF_CODEC = {1: "compression.gzip.level", 3: "compression.lz4.level", 4: "compression.zstd.level"}


@dataclass(frozen=True, slots=True)
class TopicConfig:
    """A topic's resolved configs: typed values, every entry with its source, and the storage policies.
    Frozen: a change builds a new one (``resolve``)."""

    overrides: Mapping[str, str]
    entries: Mapping[str, ConfigEntry]
    cleanup_policy: frozenset[str]
    compression_type: str
    recompress_to: int | None  # codec id batches are rewritten to, None: kept as produced
    recompress_level: int | None  # level of that codec (None: the codec has no level)
    max_message_bytes: int
    log_append_time: bool  # message.timestamp.type=LogAppendTime
    timestamp_before_max_ms: int
    timestamp_after_max_ms: int
    delete_retention_ms: int
    min_compaction_lag_ms: int
    max_compaction_lag_ms: int
    min_cleanable_dirty_ratio: float
    file_delete_delay_ms: int
    min_insync_replicas: int
    unclean_leader_election: bool
    log: LogConfig
    retention: RetentionPolicy

    @property
    def compact(self) -> bool:
        return "compact" in self.cleanup_policy

    def value(self, name: str) -> str:
        return self.entries[name].value

    def cleaner_config(self, dedupe_buffer_size: int, io_buffer_size: int,
                       max_io_bytes_per_second: float) -> CleanerConfig:
        """The cleaner's settings for this topic, with the broker's ``log.cleaner.*`` knobs."""
        return CleanerConfig(
            delete_retention_ms=self.delete_retention_ms,
            min_compaction_lag_ms=self.min_compaction_lag_ms,
            max_compaction_lag_ms=self.max_compaction_lag_ms,
            min_cleanable_ratio=self.min_cleanable_dirty_ratio,
            file_delete_delay_ms=self.file_delete_delay_ms,
            dedupe_buffer_size=dedupe_buffer_size,
            io_buffer_size=io_buffer_size,
            max_io_bytes_per_second=max_io_bytes_per_second,
        )


def _never(n: int) -> int | None:
    return None if n == LONG_MAX else n


def resolve(broker: BrokerConfig, overrides: Mapping[str, str]) -> TopicConfig:
    """``overrides`` (already validated value by value) resolved against the broker's configs.
    ValueError when a value breaks a storage policy's bound."""
    entries = {d.name: _entry(broker, overrides, d) for d in TOPIC_CONFIGS.values()}

    def num(name: str) -> int:
        return int(entries[name].value)

    policy = frozenset(v.strip() for v in entries["cleanup.policy"].value.split(",") if v.strip())
    compression = entries["compression.type"].value
    target = CODECS.get(compression)
    level: int | None = None
    if target in _LEVEL_OF_CODEC:
        level = num(_LEVEL_OF_CODEC[target])  # gzip's -1 is zlib's own default
    segment_ms = num("segment.ms")
    max_lag = num("max.compaction.lag.ms")
    if "compact" in policy and 0 < max_lag < segment_ms:
        # A compacted topic rolls its active segment after max.compaction.lag.ms too, as Kafka does,
        # so that the cleaner can get at every record.
        segment_ms = max_lag
    log = LogConfig(
        segment_bytes=num("segment.bytes"),
        segment_ms=segment_ms,
        index_interval_bytes=num("index.interval.bytes"),
        segment_index_bytes=num("segment.index.bytes"),
        flush_interval_messages=_never(num("flush.messages")),
        flush_interval_ms=_never(num("flush.ms")),
        segment_jitter_ms=num("segment.jitter.ms"),
        preallocate=entries["preallocate"].value.lower() == "true",
    )
    retention = RetentionPolicy(
        retention_ms=num("retention.ms"),
        retention_bytes=num("retention.bytes"),
        delete="delete" in policy,
        file_delete_delay_ms=num("file.delete.delay.ms"),
    )
    return TopicConfig(
        overrides=MappingProxyType(dict(overrides)),
        entries=MappingProxyType(entries),
        cleanup_policy=policy,
        compression_type=compression,
        recompress_to=target,
        recompress_level=level,
        max_message_bytes=num("max.message.bytes"),
        log_append_time=entries["message.timestamp.type"].value == "LogAppendTime",
        timestamp_before_max_ms=num("message.timestamp.before.max.ms"),
        timestamp_after_max_ms=num("message.timestamp.after.max.ms"),
        delete_retention_ms=num("delete.retention.ms"),
        min_compaction_lag_ms=num("min.compaction.lag.ms"),
        max_compaction_lag_ms=max_lag,
        min_cleanable_dirty_ratio=float(entries["min.cleanable.dirty.ratio"].value),
        file_delete_delay_ms=num("file.delete.delay.ms"),
        min_insync_replicas=num("min.insync.replicas"),
        unclean_leader_election=entries["unclean.leader.election.enable"].value.lower() == "true",
        log=log,
        retention=retention,
    )
