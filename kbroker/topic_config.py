"""Per-topic configuration: Kafka's names, their broker-wide synonyms and defaults; and the
broker configs that may change at runtime.

A topic's effective value is its own override, else the broker's ``log.*`` synonym (a dynamic
per-broker value, else a dynamic cluster-default value, else the properties file), else Kafka's
default.  ``validate`` answers INVALID_CONFIG material.

Changes (AlterConfigs, IncrementalAlterConfigs) are planned here with Kafka's rules
(``plan_topic_change``, ``plan_broker_change``) and raise ``ConfigChangeError`` with the Kafka error
code to answer.  Topic overrides are persisted by ``storage.topics``; dynamic broker configs in
``<data_dir>/dynamic-broker-configs.json``::

    {"version": 1, "broker": {"log.retention.ms": "60000", ...}, "default": {...}}

("broker": set on this broker's id, DYNAMIC_BROKER_CONFIG; "default": set on the cluster default
resource "", DYNAMIC_DEFAULT_BROKER_CONFIG), replaced with tmp → fsync → rename.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kbroker.config import BROKER_DEFAULTS, BrokerConfig
from storage.checkpoint import write_atomic


@dataclass(frozen=True)
class TopicConfigDef:
    name: str
    synonym: str | None  # broker config that supplies the default
    default: str
    type: str  # BOOLEAN STRING INT SHORT LONG DOUBLE LIST CLASS PASSWORD
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    special: str | None = None  # "gzip_level", "throttled_replicas", "remote_storage"


_DEFS = [
    TopicConfigDef("cleanup.policy", "log.cleanup.policy", "delete", "LIST", ("delete", "compact")),
    TopicConfigDef("compression.gzip.level", "compression.gzip.level", "-1", "INT", special="gzip_level"),
    TopicConfigDef("compression.lz4.level", "compression.lz4.level", "9", "INT", minimum=1, maximum=17),
    TopicConfigDef("compression.type", "compression.type", "producer", "STRING",
                   ("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")),
    TopicConfigDef("compression.zstd.level", "compression.zstd.level", "3", "INT", minimum=-131072, maximum=22),
    TopicConfigDef("delete.retention.ms", "log.cleaner.delete.retention.ms", "86400000", "LONG", minimum=0),
    TopicConfigDef("file.delete.delay.ms", "log.segment.delete.delay.ms", "60000", "LONG", minimum=0),
    TopicConfigDef("flush.messages", "log.flush.interval.messages", "9223372036854775807", "LONG", minimum=1),
    TopicConfigDef("flush.ms", "log.flush.interval.ms", "9223372036854775807", "LONG", minimum=0),
    TopicConfigDef("follower.replication.throttled.replicas", None, "", "LIST", special="throttled_replicas"),
    TopicConfigDef("index.interval.bytes", "log.index.interval.bytes", "4096", "INT", minimum=0),
    TopicConfigDef("leader.replication.throttled.replicas", None, "", "LIST", special="throttled_replicas"),
    TopicConfigDef("local.retention.bytes", "log.local.retention.bytes", "-2", "LONG", minimum=-2),
    TopicConfigDef("local.retention.ms", "log.local.retention.ms", "-2", "LONG", minimum=-2),
    TopicConfigDef("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "9223372036854775807",
                   "LONG", minimum=1),
    TopicConfigDef("max.message.bytes", "message.max.bytes", "1048588", "INT", minimum=0),
    TopicConfigDef("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms",
                   "3600000", "LONG", minimum=0),
    TopicConfigDef("message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms",
                   "9223372036854775807", "LONG", minimum=0),
    TopicConfigDef("message.timestamp.type", "log.message.timestamp.type", "CreateTime", "STRING",
                   ("CreateTime", "LogAppendTime")),
    TopicConfigDef("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", "0.5", "DOUBLE", minimum=0,
                   maximum=1.0),
    TopicConfigDef("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", "0", "LONG", minimum=0),
    TopicConfigDef("min.insync.replicas", "min.insync.replicas", "1", "INT", minimum=1),
    TopicConfigDef("preallocate", "log.preallocate", "false", "BOOLEAN"),
    TopicConfigDef("remote.log.copy.disable", None, "false", "BOOLEAN"),
    TopicConfigDef("remote.log.delete.on.disable", None, "false", "BOOLEAN"),
    TopicConfigDef("remote.storage.enable", None, "false", "BOOLEAN", special="remote_storage"),
    TopicConfigDef("retention.bytes", "log.retention.bytes", "-1", "LONG"),
    TopicConfigDef("retention.ms", "log.retention.ms", "604800000", "LONG", minimum=-1),
    TopicConfigDef("segment.bytes", "log.segment.bytes", "1073741824", "INT", minimum=14),
    TopicConfigDef("segment.index.bytes", "log.index.size.max.bytes", "10485760", "INT", minimum=4),
    TopicConfigDef("segment.jitter.ms", "log.roll.jitter.ms", "0", "LONG", minimum=0),
    TopicConfigDef("segment.ms", "log.roll.ms", "604800000", "LONG", minimum=1),
    TopicConfigDef("unclean.leader.election.enable", "unclean.leader.election.enable", "false", "BOOLEAN"),
]
TOPIC_CONFIGS: dict[str, TopicConfigDef] = {d.name: d for d in _DEFS}

# Broker configs AlterConfigs may change at runtime (Kafka's "cluster-wide" update mode), on this
# broker or on the cluster default: the topic defaults' synonyms and the cleaner's knobs.
_EXTRA_DYNAMIC = [
    TopicConfigDef("log.retention.hours", None, "168", "INT", minimum=-1),
    TopicConfigDef("log.retention.minutes", None, "", "INT", minimum=-1),
    TopicConfigDef("log.roll.hours", None, "168", "INT", minimum=1),
    TopicConfigDef("log.cleaner.threads", None, "1", "INT", minimum=0),
    TopicConfigDef("log.cleaner.dedupe.buffer.size", None, "134217728", "LONG", minimum=0),
    TopicConfigDef("log.cleaner.io.buffer.size", None, "524288", "INT", minimum=0),
    TopicConfigDef("log.cleaner.io.max.bytes.per.second", None, "1.7976931348623157E308", "DOUBLE"),
    TopicConfigDef("log.cleaner.backoff.ms", None, "15000", "LONG", minimum=0),
    TopicConfigDef("log.roll.jitter.hours", None, "0", "INT", minimum=0),
    # Kafka's other dynamic broker configs (DynamicBrokerConfig): accepted, persisted and reported;
    # kbroker has no mechanism behind most of them (one network loop, no replication).
    TopicConfigDef("background.threads", None, "10", "INT", minimum=1),
    TopicConfigDef("num.io.threads", None, "8", "INT", minimum=1),
    TopicConfigDef("num.network.threads", None, "3", "INT", minimum=1),
    TopicConfigDef("num.replica.fetchers", None, "1", "INT"),
    TopicConfigDef("num.recovery.threads.per.data.dir", None, "2", "INT", minimum=1),
    TopicConfigDef("max.connections", None, "2147483647", "INT", minimum=0),
    TopicConfigDef("max.connections.per.ip", None, "2147483647", "INT", minimum=0),
    TopicConfigDef("max.connections.per.ip.overrides", None, "", "STRING"),
    TopicConfigDef("max.connection.creation.rate", None, "2147483647", "INT", minimum=0),
    TopicConfigDef("producer.id.expiration.ms", None, "86400000", "INT", minimum=1),
    TopicConfigDef("leader.replication.throttled.rate", None, "9223372036854775807", "LONG", minimum=0),
    TopicConfigDef("follower.replication.throttled.rate", None, "9223372036854775807", "LONG", minimum=0),
    TopicConfigDef("replica.alter.log.dirs.io.max.bytes.per.second", None, "9223372036854775807", "LONG",
                   minimum=0),
    TopicConfigDef("transaction.partition.verification.enable", None, "true", "BOOLEAN"),
    TopicConfigDef("metric.reporters", None, "", "LIST"),
    TopicConfigDef("listeners", None, "PLAINTEXT://:9092", "STRING"),
    TopicConfigDef("advertised.listeners", None, "", "STRING"),
    TopicConfigDef("listener.security.protocol.map", None,
                   "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", "STRING"),
    TopicConfigDef("sasl.enabled.mechanisms", None, "GSSAPI", "LIST"),
    TopicConfigDef("sasl.jaas.config", None, "", "PASSWORD"),
    TopicConfigDef("sasl.kerberos.service.name", None, "", "STRING"),
    TopicConfigDef("sasl.mechanism.inter.broker.protocol", None, "GSSAPI", "STRING"),
    TopicConfigDef("ssl.keystore.type", None, "JKS", "STRING"),
    TopicConfigDef("ssl.keystore.location", None, "", "STRING"),
    TopicConfigDef("ssl.keystore.password", None, "", "PASSWORD"),
    TopicConfigDef("ssl.key.password", None, "", "PASSWORD"),
    TopicConfigDef("ssl.keystore.key", None, "", "PASSWORD"),
    TopicConfigDef("ssl.keystore.certificate.chain", None, "", "PASSWORD"),
    TopicConfigDef("ssl.truststore.type", None, "JKS", "STRING"),
    TopicConfigDef("ssl.truststore.location", None, "", "STRING"),
    TopicConfigDef("ssl.truststore.password", None, "", "PASSWORD"),
    TopicConfigDef("ssl.truststore.certificates", None, "", "PASSWORD"),
    TopicConfigDef("ssl.protocol", None, "TLSv1.3", "STRING"),
    TopicConfigDef("ssl.enabled.protocols", None, "TLSv1.2,TLSv1.3", "LIST"),
    TopicConfigDef("ssl.cipher.suites", None, "", "LIST"),
    TopicConfigDef("ssl.client.auth", None, "none", "STRING", ("required", "requested", "none")),
    TopicConfigDef("ssl.endpoint.identification.algorithm", None, "https", "STRING"),
    TopicConfigDef("remote.log.manager.copier.thread.pool.size", None, "10", "INT", minimum=1),
    TopicConfigDef("remote.log.manager.expiration.thread.pool.size", None, "10", "INT", minimum=1),
    TopicConfigDef("remote.log.reader.threads", None, "10", "INT", minimum=1),
    TopicConfigDef("remote.fetch.max.wait.ms", None, "500", "INT", minimum=1),
]
SENSITIVE = {d.name for d in _EXTRA_DYNAMIC if d.type == "PASSWORD"}
DYNAMIC_BROKER_CONFIGS: dict[str, TopicConfigDef] = {
    **{d.synonym: TopicConfigDef(d.synonym, None, d.default, d.type, d.choices, d.minimum)
       for d in _DEFS if d.synonym and d.synonym != "min.insync.replicas"},
    **{d.name: d for d in _EXTRA_DYNAMIC},
}
# Synonyms Kafka lists for a topic config, most specific first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "retention.ms": ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
    "segment.ms": ("log.roll.ms", "log.roll.hours"),
    "segment.jitter.ms": ("log.roll.jitter.ms", "log.roll.jitter.hours"),
}
DYNAMIC_FILE = "dynamic-broker-configs.json"
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
_OP_NAMES = {SET: "SET", DELETE: "DELETE", APPEND: "APPEND", SUBTRACT: "SUBTRACT"}
INVALID_CONFIG, INVALID_REQUEST = 40, 42


class ConfigChangeError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def synonyms_of(d: TopicConfigDef) -> tuple[str, ...]:
    return SYNONYMS.get(d.name, (d.synonym,) if d.synonym else ())


def validate(name: str, value: str | None) -> str | None:
    """An error message, or None when ``name=value`` is acceptable for a topic."""
    d = TOPIC_CONFIGS.get(name)
    if d is None:
        return f"Unknown topic config name: {name}"
    return _check(d, name, value)


def validate_all(configs: Mapping[str, str]) -> str | None:
    """Each value, then Kafka's cross-checks, for a topic's whole set of overrides."""
    for name, value in configs.items():
        msg = validate(name, value)
        if msg:
            return msg
    low = int(configs.get("min.compaction.lag.ms", TOPIC_CONFIGS["min.compaction.lag.ms"].default))
    high = int(configs.get("max.compaction.lag.ms", TOPIC_CONFIGS["max.compaction.lag.ms"].default))
    if low > high:
        return f"conflict topic config setting min.compaction.lag.ms ({low}) > max.compaction.lag.ms ({high})"
    return None


_REPLICA = re.compile(r"\s*\d+\s*:\s*\d+\s*")


def _check(d: TopicConfigDef, name: str, value: str | None) -> str | None:
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
        if (d.type == "INT" and not -(2**31) <= n < 2**31) or not -(2**63) <= n < 2**63:
            return f"Invalid value {value} for configuration {name}: Not a number of type {d.type}"
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


def broker_default(config: BrokerConfig, d: TopicConfigDef) -> tuple[str, bool]:
    """(value, came_from_broker_config)."""
    if d.name == "retention.ms":
        if config.is_set("log.retention.ms"):
            return config.get("log.retention.ms") or d.default, True
        if config.is_set("log.retention.minutes"):
            return str(config.get_int("log.retention.minutes") * 60_000), True
        if config.is_set("log.retention.hours"):
            return str(config.get_int("log.retention.hours") * 3600_000), True
        return d.default, False
    if d.name == "segment.jitter.ms" and not config.is_set("log.roll.jitter.ms") \
            and config.is_set("log.roll.jitter.hours"):
        return str(config.get_int("log.roll.jitter.hours") * 3600_000), True
    if d.name == "segment.ms" and (config.is_set("log.roll.ms") or config.is_set("log.roll.hours")):
        return str(config.segment_ms), True
    if d.synonym and config.is_set(d.synonym):
        return config.get(d.synonym) or d.default, True
    return d.default, False


def effective(config: BrokerConfig, overrides: Mapping[str, str], name: str) -> str:
    if name in overrides:
        return overrides[name]
    return broker_default(config, TOPIC_CONFIGS[name])[0]


def effective_all(config: BrokerConfig, overrides: Mapping[str, str]) -> dict[str, str]:
    """Every topic config's effective value."""
    return {name: effective(config, overrides, name) for name in TOPIC_CONFIGS}


# -- changes ------------------------------------------------------------------------------------------

Op = tuple[str, int, str | None]  # (name, operation, value)


def check_request_shape(ops: Iterable[Op]) -> None:
    """Kafka's checks before any resource-specific work (INVALID_REQUEST)."""
    ops = list(ops)
    names = [n for n, _, _ in ops]
    if len(set(names)) != len(names):
        raise ConfigChangeError(INVALID_REQUEST, "Error due to duplicate config keys")
    for _, op, _ in ops:
        if op not in _OP_NAMES:
            raise ConfigChangeError(INVALID_REQUEST, f"Unknown operations type {op}")
    nulls = [n for n, op, v in ops if op != DELETE and v is None]
    if nulls:
        raise ConfigChangeError(INVALID_REQUEST, "Null value not supported for : " + ", ".join(nulls))


def _apply(current: Mapping[str, str], ops: Iterable[Op], defs: Mapping[str, TopicConfigDef],
           default_of: dict[str, str]) -> dict[str, str]:
    new = dict(current)
    for name, op, value in ops:
        if op == SET:
            assert value is not None
            new[name] = value
        elif op == DELETE:
            new.pop(name, None)
        else:
            d = defs.get(name)
            if d is None or d.type != "LIST":
                raise ConfigChangeError(INVALID_CONFIG,
                                        f"Can't {_OP_NAMES[op]} to key {name} because its type is not LIST.")
            old = new.get(name, default_of.get(name, d.default))
            parts = [p for p in old.split(",") if p]
            for item in (value or "").split(","):
                if op == APPEND and item not in parts:
                    parts.append(item)
                elif op == SUBTRACT and item in parts:
                    parts.remove(item)
            new[name] = ",".join(parts)
    return new


def plan_topic_change(current: Mapping[str, str], ops: Iterable[Op], replace: bool = False) -> dict[str, str]:
    """A topic's new overrides: ``ops`` applied to ``current`` (IncrementalAlterConfigs), or the SET
    ops alone when ``replace`` (AlterConfigs, which drops every override it does not name)."""
    ops = list(ops)
    check_request_shape(ops)
    new = _apply({} if replace else current, ops, TOPIC_CONFIGS, {})
    msg = validate_all(new)
    if msg:
        raise ConfigChangeError(INVALID_CONFIG, msg)
    return new


THREAD_COUNTS = ("background.threads", "num.io.threads", "num.network.threads", "num.replica.fetchers",
                 "num.recovery.threads.per.data.dir", "log.cleaner.threads")


def is_sensitive(name: str) -> bool:
    """Kafka hides PASSWORD configs, listener-prefixed ones among them, and configs it does not know."""
    base = name.split(".", 3)[3] if name.startswith("listener.name.") and name.count(".") >= 3 else name
    if base in SENSITIVE or base.endswith(".sasl.jaas.config"):
        return True
    return name not in DYNAMIC_BROKER_CONFIGS and name not in BROKER_DEFAULTS and not name.startswith("listener.name.")


def plan_broker_change(current: Mapping[str, str], ops: Iterable[Op], replace: bool = False,
                       config: BrokerConfig | None = None) -> dict[str, str]:
    """A broker resource's new dynamic configs (same rules; a config that cannot change at runtime or
    a bad value is INVALID_REQUEST, as Kafka answers for broker resources).  Like Kafka, a name it
    does not know is accepted and kept (reported as sensitive); a security config must carry a
    listener prefix (``listener.name.<listener>.ssl.keystore.password``); a thread count may change
    to between half and double its current value."""
    ops = list(ops)
    check_request_shape(ops)
    names = [n for n, _, _ in ops]
    fixed = sorted(n for n in names if n in BROKER_DEFAULTS and n not in DYNAMIC_BROKER_CONFIGS)
    if fixed:
        raise ConfigChangeError(INVALID_REQUEST, f"Cannot update these configs dynamically: Set({', '.join(fixed)})")
    security = [n for n in names if n.startswith(("ssl.", "sasl.")) and n in DYNAMIC_BROKER_CONFIGS]
    if security:
        raise ConfigChangeError(INVALID_REQUEST, "These security configs can be dynamically updated only "
                                f"per-listener using the listener prefix: HashSet({', '.join(security)})")
    new = _apply({} if replace else current, ops, DYNAMIC_BROKER_CONFIGS, {})
    for name, value in new.items():
        d = DYNAMIC_BROKER_CONFIGS.get(name)
        msg = _check(d, name, value) if d else None
        if msg:
            raise ConfigChangeError(INVALID_REQUEST, msg)
    if config is not None:
        for key, op, raw in ops:
            if key in THREAD_COUNTS and op == SET and raw is not None:
                name, value = key, raw
                now = int(config.get(name) or DYNAMIC_BROKER_CONFIGS[name].default)
                n = int(value)
                bound = ("value should be at least half the current value" if n < now / 2 else
                         "value should not be greater than double the current value" if n > now * 2 else None)
                if bound:
                    raise ConfigChangeError(INVALID_REQUEST, "Invalid value org.apache.kafka.common.config."
                                            f"ConfigException: Dynamic thread count update validation failed for "
                                            f"{name}={value}, {bound} {now} for configuration Invalid dynamic "
                                            "configuration")
    return new


def load_dynamic(config: BrokerConfig, data_dir: Path) -> None:
    """Install the persisted dynamic broker configs into ``config`` (at start-up)."""
    path = Path(data_dir) / DYNAMIC_FILE
    if not path.exists():
        return
    obj = json.loads(path.read_text("utf-8"))
    if obj.get("version") != 1:
        raise ValueError(f"{path}: unknown version {obj.get('version')!r}")
    config.dynamic = {str(k): str(v) for k, v in obj.get("broker", {}).items()}
    config.dynamic_default = {str(k): str(v) for k, v in obj.get("default", {}).items()}


def save_dynamic(config: BrokerConfig, data_dir: Path) -> None:
    obj = {"version": 1, "broker": config.dynamic, "default": config.dynamic_default}
    write_atomic(Path(data_dir) / DYNAMIC_FILE, json.dumps(obj, indent=1, sort_keys=True).encode())
