"""Config changes: AlterConfigs and IncrementalAlterConfigs planned with Kafka's rules, and the
broker configs that may change at runtime.

``plan_topic_change`` computes a topic's new overrides from the operations (SET, DELETE, APPEND,
SUBTRACT) and checks the result with ``kbroker.topic_config.check_overrides``, the same check
CreateTopics uses; ``plan_broker_change`` does the same for a broker resource ("<node id>" or the
cluster default ""), whose configs must be among ``DYNAMIC_BROKER_CONFIGS``.  Both raise
``ConfigChangeError`` with the Kafka error code to answer.  Dynamic broker configs are persisted in
``<data_dir>/dynamic-broker-configs.json``::

    {"version": 1, "broker": {"log.retention.ms": "60000", ...}, "default": {...}}

("broker": set on this broker's id, DYNAMIC_BROKER_CONFIG; "default": set on the cluster default
resource "", DYNAMIC_DEFAULT_BROKER_CONFIG), replaced with tmp → fsync → rename
(``storage.checkpoint.write_atomic``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from kbroker.config import BROKER_DEFAULTS, BrokerConfig
from kbroker.topic_config import (
    TOPIC_CONFIGS,
    ConfigDef,
    InvalidTopicConfig,
    TopicConfig,
    check_overrides,
    check_value,
)
from storage.checkpoint import write_atomic


def _b(name: str, _synonym: None, default: str, type_: str, choices: tuple[str, ...] = (),
       minimum: float | None = None) -> ConfigDef:
    return ConfigDef(name, type_, default, (), "", choices, minimum)


# Broker configs AlterConfigs may change at runtime (Kafka's "cluster-wide" update mode), on this
# broker or on the cluster default: the topic defaults' synonyms and the cleaner's knobs.
_EXTRA_DYNAMIC = [
    _b("log.retention.hours", None, "168", "INT", minimum=-1),
    _b("log.retention.minutes", None, "", "INT", minimum=-1),
    _b("log.roll.hours", None, "168", "INT", minimum=1),
    _b("log.cleaner.threads", None, "1", "INT", minimum=0),
    _b("log.cleaner.dedupe.buffer.size", None, "134217728", "LONG", minimum=0),
    _b("log.cleaner.io.buffer.size", None, "524288", "INT", minimum=0),
    _b("log.cleaner.io.max.bytes.per.second", None, "1.7976931348623157E308", "DOUBLE"),
    _b("log.cleaner.backoff.ms", None, "15000", "LONG", minimum=0),
    _b("log.roll.jitter.hours", None, "0", "INT", minimum=0),
    # Kafka's other dynamic broker configs (DynamicBrokerConfig): accepted, persisted and reported;
    # kbroker has no mechanism behind most of them (one network loop, no replication).
    _b("background.threads", None, "10", "INT", minimum=1),
    _b("num.io.threads", None, "8", "INT", minimum=1),
    _b("num.network.threads", None, "3", "INT", minimum=1),
    _b("num.replica.fetchers", None, "1", "INT"),
    _b("num.recovery.threads.per.data.dir", None, "2", "INT", minimum=1),
    _b("max.connections", None, "2147483647", "INT", minimum=0),
    _b("max.connections.per.ip", None, "2147483647", "INT", minimum=0),
    _b("max.connections.per.ip.overrides", None, "", "STRING"),
    _b("max.connection.creation.rate", None, "2147483647", "INT", minimum=0),
    _b("producer.id.expiration.ms", None, "86400000", "INT", minimum=1),
    _b("leader.replication.throttled.rate", None, "9223372036854775807", "LONG", minimum=0),
    _b("follower.replication.throttled.rate", None, "9223372036854775807", "LONG", minimum=0),
    _b("replica.alter.log.dirs.io.max.bytes.per.second", None, "9223372036854775807", "LONG",
                   minimum=0),
    _b("transaction.partition.verification.enable", None, "true", "BOOLEAN"),
    _b("metric.reporters", None, "", "LIST"),
    _b("listeners", None, "PLAINTEXT://:9092", "STRING"),
    _b("advertised.listeners", None, "", "STRING"),
    _b("listener.security.protocol.map", None,
                   "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", "STRING"),
    _b("sasl.enabled.mechanisms", None, "GSSAPI", "LIST"),
    _b("sasl.jaas.config", None, "", "PASSWORD"),
    _b("sasl.kerberos.service.name", None, "", "STRING"),
    _b("sasl.mechanism.inter.broker.protocol", None, "GSSAPI", "STRING"),
    _b("ssl.keystore.type", None, "JKS", "STRING"),
    _b("ssl.keystore.location", None, "", "STRING"),
    _b("ssl.keystore.password", None, "", "PASSWORD"),
    _b("ssl.key.password", None, "", "PASSWORD"),
    _b("ssl.keystore.key", None, "", "PASSWORD"),
    _b("ssl.keystore.certificate.chain", None, "", "PASSWORD"),
    _b("ssl.truststore.type", None, "JKS", "STRING"),
    _b("ssl.truststore.location", None, "", "STRING"),
    _b("ssl.truststore.password", None, "", "PASSWORD"),
    _b("ssl.truststore.certificates", None, "", "PASSWORD"),
    _b("ssl.protocol", None, "TLSv1.3", "STRING"),
    _b("ssl.enabled.protocols", None, "TLSv1.2,TLSv1.3", "LIST"),
    _b("ssl.cipher.suites", None, "", "LIST"),
    _b("ssl.client.auth", None, "none", "STRING", ("required", "requested", "none")),
    _b("ssl.endpoint.identification.algorithm", None, "https", "STRING"),
    _b("remote.log.manager.copier.thread.pool.size", None, "10", "INT", minimum=1),
    _b("remote.log.manager.expiration.thread.pool.size", None, "10", "INT", minimum=1),
    _b("remote.log.reader.threads", None, "10", "INT", minimum=1),
    _b("remote.fetch.max.wait.ms", None, "500", "INT", minimum=1),
]
SENSITIVE = {d.name for d in _EXTRA_DYNAMIC if d.type == "PASSWORD"}
DYNAMIC_BROKER_CONFIGS: dict[str, ConfigDef] = {
    **{d.synonym: ConfigDef(d.synonym, d.type, d.default, (), "", d.choices, d.minimum)
       for d in TOPIC_CONFIGS.values() if d.synonym and d.synonym != "min.insync.replicas"},
    **{d.name: d for d in _EXTRA_DYNAMIC},
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


def _apply(current: Mapping[str, str], ops: Iterable[Op], defs: Mapping[str, ConfigDef],
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


def plan_topic_change(broker: BrokerConfig, current: Mapping[str, str], ops: Iterable[Op],
                      replace: bool = False) -> tuple[dict[str, str], TopicConfig]:
    """A topic's new overrides: ``ops`` applied to ``current`` (IncrementalAlterConfigs), or the SET
    ops alone when ``replace`` (AlterConfigs, which drops every override it does not name); checked
    as a whole by ``check_overrides``, as CreateTopics checks a new topic's. Returns them with the
    config they resolve to."""
    ops = list(ops)
    check_request_shape(ops)
    new = _apply({} if replace else current, ops, TOPIC_CONFIGS, {})
    try:
        return new, check_overrides(broker, new)
    except InvalidTopicConfig as exc:
        raise ConfigChangeError(INVALID_CONFIG, str(exc)) from None


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
        msg = check_value(d, name, value) if d else None
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


class DynamicBrokerConfigs:
    """The broker configs AlterConfigs set at runtime, on this broker ("<node id>") or on the cluster
    default (""): installed into the BrokerConfig, persisted, and announced to ``on_change`` (the
    topic service re-resolves every topic's config)."""

    def __init__(self, config: BrokerConfig, data_dir: Path, on_change: Callable[[], None]) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self._on_change = on_change

    def current(self, cluster_default: bool) -> dict[str, str]:
        return dict(self.config.dynamic_default if cluster_default else self.config.dynamic)

    def replace(self, cluster_default: bool, new: Mapping[str, str]) -> None:
        if cluster_default:
            self.config.dynamic_default = dict(new)
        else:
            self.config.dynamic = dict(new)
        save_dynamic(self.config, self.data_dir)
        self._on_change()
