"""Broker configuration: a Kafka-style ``.properties`` file with Kafka's names.

``BROKER_DEFAULTS`` is every broker config kbroker knows, with its default; the default of a topic
config's broker synonym (``log.segment.bytes``, ``log.cleanup.policy``, ...) is read from the
topic-config table (``kbroker.config_defs``), the one place it is written.  This module imports
nothing else from kbroker.

Unknown keys are warned about, never fatal.  Values are kept as strings (as Kafka's
DescribeConfigs reports them) and converted on access.

``KBROKER_*`` environment variables set broker configs too (``env_configs``), below the properties
file and ``--override``: the way container images are configured, where a file is awkward.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kbroker.config_defs import BY_SYNONYM

log = logging.getLogger("kbroker.config")


BrokerDefault = tuple[str | None, str, str]  # (default, type, documentation)


@dataclass(frozen=True)
class _Synonym:
    """A topic config's broker synonym: its default and its type are the topic config's, read from
    the topic-config table (``kbroker.config_defs``)."""

    doc: str


def _entry(name: str, e: BrokerDefault | _Synonym) -> BrokerDefault:
    if isinstance(e, _Synonym):
        d = BY_SYNONYM[name]
        return d.default, d.type, e.doc
    return e


# name -> (default, type, documentation), or _Synonym(documentation) for the broker synonym of a topic
# config.  The synonyms Kafka gives no value (log.retention.ms, log.roll.ms, log.flush.interval.ms,
# log.roll.jitter.ms) are written here as None: the topic config's default applies, and
# DescribeConfigs lists no DEFAULT_CONFIG synonym for them.  The hour and minute variants
# (log.retention.hours, log.roll.hours, ...) are broker configs of their own.
_BROKER_CONFIGS: dict[str, BrokerDefault | _Synonym] = {
    "node.id": ("1", "INT", "The node id of this broker."),
    "broker.id": ("1", "INT", "Alias of node.id."),
    "listeners": ("PLAINTEXT://127.0.0.1:9092", "LIST", "Listener to bind."),
    "advertised.listeners": (None, "LIST", "Address clients are told to use (defaults to listeners)."),
    "http.listeners": (None, "STRING", "kbroker: http://HOST:PORT of the HTTP listener (/metrics); unset: none."),
    "log.dirs": ("./kbroker-data", "STRING", "Directory holding the logs."),
    "log.dir": (None, "STRING", "Alias of log.dirs."),
    "num.partitions": ("1", "INT", "Partitions of an auto-created topic."),
    "default.replication.factor": ("1", "INT", "Replication factor of an auto-created topic (or -1 in CreateTopics)."),
    "auto.create.topics.enable": ("true", "BOOLEAN", "Create unknown topics on metadata requests."),
    "delete.topic.enable": ("true", "BOOLEAN", "Allow topics to be deleted."),
    "log.segment.bytes": _Synonym("Size of a log segment."),
    "log.roll.ms": (None, "LONG", "Age after which a segment rolls."),
    "log.roll.hours": ("168", "INT", "Age in hours after which a segment rolls."),
    "log.index.interval.bytes": _Synonym("Bytes of log between offset index entries."),
    "log.index.size.max.bytes": _Synonym("Maximum size of an index file."),
    "log.flush.interval.messages": _Synonym("Messages before an fsync."),
    "log.flush.interval.ms": (None, "LONG", "Milliseconds before an fsync."),
    "log.retention.hours": ("168", "INT", "Hours to keep a log segment."),
    "log.retention.ms": (None, "LONG", "Milliseconds to keep a log segment."),
    "log.retention.bytes": _Synonym("Maximum size of a partition log."),
    "log.cleanup.policy": _Synonym("delete or compact."),
    "log.message.timestamp.type": _Synonym("CreateTime or LogAppendTime."),
    "message.max.bytes": _Synonym("Largest record batch accepted."),
    "log.preallocate": _Synonym("Default preallocate: create segment files at full size."),
    "log.roll.jitter.ms": (None, "LONG", "Largest random jitter subtracted from a segment's roll time."),
    "log.roll.jitter.hours": ("0", "INT", "Roll jitter in hours (after log.roll.jitter.ms)."),
    "log.local.retention.ms": _Synonym("Accepted for compatibility (no tiered storage)."),
    "log.local.retention.bytes": _Synonym("Accepted for compatibility (no tiered storage)."),
    "compression.gzip.level": _Synonym("Default compression.gzip.level."),
    "compression.lz4.level": _Synonym("Default compression.lz4.level."),
    "compression.zstd.level": _Synonym("Default compression.zstd.level."),
    "socket.request.max.bytes": ("104857600", "INT", "Largest request accepted."),
    "compression.type": _Synonym("Final compression of a topic."),
    "fetch.transfer": ("pread", "STRING", "kbroker: 'pread' (copy) or 'sendfile' (zero-copy) for fetch data."),
    "cluster.id": (None, "STRING", "kbroker: cluster id (generated and persisted when unset)."),
    "log.retention.minutes": (None, "INT", "Minutes to keep a log segment (before log.retention.hours)."),
    "log.retention.check.interval.ms": ("300000", "LONG", "How often segments are checked for retention."),
    "log.segment.delete.delay.ms": _Synonym("Wait before the files of a deleted segment are removed."),
    "log.cleaner.enable": ("true", "BOOLEAN", "Run the log cleaner for compacted topics."),
    "log.cleaner.threads": ("1", "INT", "Cleaner threads (kbroker cleans one log at a time)."),
    "log.cleaner.backoff.ms": ("15000", "LONG", "Sleep of the cleaner when no log needs cleaning."),
    "log.cleaner.dedupe.buffer.size": ("134217728", "LONG", "Key map budget (24 bytes per key, as Kafka counts)."),
    "log.cleaner.io.buffer.size": ("524288", "INT", "Bytes the cleaner reads at a time."),
    "log.cleaner.io.max.bytes.per.second": ("1.7976931348623157E308", "DOUBLE", "Cleaner I/O throttle."),
    "log.cleaner.min.cleanable.ratio": _Synonym("Default min.cleanable.dirty.ratio."),
    "log.cleaner.min.compaction.lag.ms": _Synonym("Default min.compaction.lag.ms."),
    "log.cleaner.max.compaction.lag.ms": _Synonym("Default max.compaction.lag.ms."),
    "log.cleaner.delete.retention.ms": _Synonym("Default delete.retention.ms."),
    "log.message.timestamp.before.max.ms": _Synonym("Default message.timestamp.before.max.ms."),
    "log.message.timestamp.after.max.ms": _Synonym("Default message.timestamp.after.max.ms."),
    "min.insync.replicas": _Synonym("Fewest in-sync replicas an acks=all produce needs (NOT_ENOUGH_REPLICAS below)."),
    "unclean.leader.election.enable": _Synonym("Elect a replica outside the ISR when no ISR member is alive (may lose data)."),
    # -- the replicated cluster (ZooKeeper mode; all ignored without zookeeper.connect)
    "zookeeper.connect": (None, "STRING", "host:port[,host:port...][/chroot] of ZooKeeper; unset: a single broker."),
    "zookeeper.session.timeout.ms": ("18000", "INT", "ZooKeeper session timeout: a broker silent this long is dead."),
    "zookeeper.connection.timeout.ms": (None, "INT", "Wait for the ZooKeeper connection at start (default: the session timeout)."),
    "broker.rack": (None, "STRING", "Rack of this broker (rack-aware replica placement)."),
    "replica.lag.time.max.ms": ("30000", "LONG", "A follower not caught up for this long leaves the ISR."),
    "replica.fetch.max.bytes": ("1048576", "INT", "Bytes a follower asks for per partition."),
    "replica.fetch.response.max.bytes": ("10485760", "INT", "Bytes a follower asks for per fetch."),
    "replica.fetch.wait.max.ms": ("500", "INT", "Longest wait of a follower's fetch at the leader."),
    "replica.fetch.min.bytes": ("1", "INT", "Bytes a follower's fetch waits for."),
    "replica.fetch.backoff.ms": ("1000", "INT", "Pause of a follower after a fetch error."),
    "replica.socket.timeout.ms": ("30000", "INT", "Socket timeout of a follower's fetch connection."),
    "replica.high.watermark.checkpoint.interval.ms": ("5000", "LONG", "How often high watermarks are checkpointed."),
    "num.replica.fetchers": ("1", "INT", "Fetcher connections per source broker."),
    "replication.quota.window.num": ("11", "INT", "Samples of the replication throttles' rate."),
    "replication.quota.window.size.seconds": ("1", "INT", "Length of each sample of the replication throttles' rate."),
    "controlled.shutdown.enable": ("true", "BOOLEAN", "On shutdown, move this broker's leaderships away first."),
    "controlled.shutdown.max.retries": ("3", "INT", "Attempts of a controlled shutdown."),
    "controlled.shutdown.retry.backoff.ms": ("5000", "LONG", "Pause between controlled shutdown attempts."),
    "auto.leader.rebalance.enable": ("true", "BOOLEAN", "Give leadership back to preferred replicas."),
    "leader.imbalance.check.interval.seconds": ("300", "LONG", "How often the controller checks leader balance."),
    "leader.imbalance.per.broker.percentage": ("10", "INT", "Imbalance of a broker that triggers a rebalance."),
    "producer.id.expiration.ms": ("86400000", "INT", "Idle time after which a producer's sequence state is dropped."),
    "producer.id.expiration.check.interval.ms": ("600000", "INT", "How often idle producers are looked for."),
    "group.initial.rebalance.delay.ms": ("3000", "INT", "Wait before the first rebalance of an empty group."),
    "group.min.session.timeout.ms": ("6000", "INT", "Smallest session timeout a member may ask for."),
    "group.max.session.timeout.ms": ("1800000", "INT", "Largest session timeout a member may ask for."),
    "group.max.size": ("2147483647", "INT", "Most members a group may have."),
    "offsets.topic.num.partitions": ("50", "INT", "Partitions of __consumer_offsets (fixed once created)."),
    "offsets.topic.segment.bytes": ("104857600", "INT", "Segment size of __consumer_offsets."),
    "offsets.topic.replication.factor": ("3", "SHORT", "Replicas of __consumer_offsets in a cluster (one broker: 1)."),
    "offsets.commit.timeout.ms": ("5000", "INT", "Longest an offset commit waits for its replicas."),
    "offset.metadata.max.bytes": ("4096", "INT", "Longest metadata string of a committed offset."),
    "offsets.retention.minutes": ("10080", "INT", "Offsets of a group Empty this long expire."),
    "offsets.retention.check.interval.ms": ("600000", "LONG", "How often offsets are checked for expiry."),
    "transaction.state.log.num.partitions": ("50", "INT", "Partitions of __transaction_state (fixed once created)."),
    "transaction.state.log.segment.bytes": ("104857600", "INT", "Segment size of __transaction_state."),
    "transaction.state.log.replication.factor": ("3", "SHORT", "Replicas of __transaction_state in a cluster (one broker: 1)."),
    "transaction.state.log.min.isr": ("2", "INT", "min.insync.replicas of __transaction_state."),
    "transaction.max.timeout.ms": ("900000", "INT", "Largest transaction timeout a producer may ask for."),
    "transactional.id.expiration.ms": ("604800000", "INT", "An idle transactional id is forgotten after this long."),
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": ("10000", "INT", "How often timed-out transactions are aborted."),
    "transaction.remove.expired.transaction.cleanup.interval.ms": ("3600000", "INT", "How often expired transactional ids are removed."),
}
BROKER_DEFAULTS: dict[str, BrokerDefault] = {name: _entry(name, e) for name, e in _BROKER_CONFIGS.items()}

TRUE = {"true", "1", "yes"}


class ConfigError(ValueError):
    pass


class StartupError(RuntimeError):
    """The broker cannot start (ZooKeeper unreachable, its broker id taken): the entry point prints the
    reason and exits 2, without a traceback."""


@dataclass(frozen=True)
class Listener:
    name: str
    host: str
    port: int


def parse_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        for sep in ("=", ":"):
            if sep in line:
                k, v = line.split(sep, 1)
                props[k.strip()] = v.strip()
                break
        else:
            props[line] = ""
    return props


ENV_PREFIX = "KBROKER_"
_UNDERSCORES = {1: ".", 2: "_", 3: "-"}


def env_name_to_key(name: str) -> str | None:
    """The config key a ``KBROKER_*`` environment variable names, or None when it names none.

    After the prefix, the name is lower-cased and each run of underscores read by its length: one
    is a dot, two an underscore, three a dash (``KBROKER_ADVERTISED_LISTENERS`` is
    ``advertised.listeners``, ``KBROKER_FOO__BAR`` is ``foo_bar``, ``KBROKER_FOO___BAR`` is
    ``foo-bar``) -- environment names cannot hold dots or dashes, and Kafka's names hold all three.
    A longer run, or a run at either end, is not a key."""
    if not name.startswith(ENV_PREFIX):
        return None
    rest = name[len(ENV_PREFIX):]
    if not rest or rest.startswith("_") or rest.endswith("_"):
        return None
    parts = re.split(r"(_+)", rest.lower())
    out = []
    for part in parts:
        if part.startswith("_"):
            sep = _UNDERSCORES.get(len(part))
            if sep is None:
                return None
            out.append(sep)
        else:
            out.append(part)
    return "".join(out)


def env_configs(environ: Mapping[str, str]) -> dict[str, str]:
    """The broker configs set by ``KBROKER_*`` variables of ``environ`` (see ``env_name_to_key``).

    Only names of broker configs kbroker knows are taken: other ``KBROKER_*`` variables may belong
    to other tools (the project's test scripts use some), so they are logged and left alone rather
    than warned about as unknown config keys."""
    props: dict[str, str] = {}
    for name, value in environ.items():
        key = env_name_to_key(name)
        if key is None:
            continue
        if key in BROKER_DEFAULTS:
            props[key] = value.strip()
        else:
            log.info("environment variable %s (%s) is not a broker config; left alone", name, key)
    return props


def parse_listener(s: str) -> Listener:
    s = s.split(",")[0].strip()
    if "://" not in s:
        raise ConfigError(f"listener {s!r} is not NAME://HOST:PORT")
    name, rest = s.split("://", 1)
    host, _, port = rest.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        return Listener(name, host, int(port))
    except ValueError:
        raise ConfigError(f"listener {s!r} has no valid port") from None


class BrokerConfig:
    def __init__(self, props: dict[str, str] | None = None) -> None:
        self.props = dict(props or {})
        # AlterConfigs on this broker / on the cluster default (kbroker.topic_config persists them);
        # they win over the properties file, this broker's over the default.
        self.dynamic: dict[str, str] = {}
        self.dynamic_default: dict[str, str] = {}
        for k in self.props:
            if k not in BROKER_DEFAULTS:
                log.warning("unknown config key %s (ignored)", k)

    @classmethod
    def load(cls, path: str | Path | None, overrides: list[str] | None = None,
             environ: Mapping[str, str] | None = None) -> BrokerConfig:
        """The configs of ``KBROKER_*`` variables in ``environ`` (the process's environment when
        None), then the properties file at ``path`` over them, then each ``KEY=VALUE`` override."""
        props = env_configs(os.environ if environ is None else environ)
        if path:
            props.update(parse_properties(Path(path).read_text()))
        for ov in overrides or []:
            if "=" not in ov:
                raise ConfigError(f"--override {ov!r} is not KEY=VALUE")
            k, v = ov.split("=", 1)
            props[k.strip()] = v.strip()
        return cls(props)

    def is_set(self, key: str) -> bool:
        return key in self.dynamic or key in self.dynamic_default or key in self.props

    def get(self, key: str) -> str | None:
        for layer in (self.dynamic, self.dynamic_default, self.props):
            if key in layer:
                return layer[key]
        d = BROKER_DEFAULTS.get(key)
        return d[0] if d else None

    def get_int(self, key: str) -> int:
        v = self.get(key)
        if v is None:
            raise ConfigError(f"{key} has no value")
        try:
            return int(v)
        except ValueError:
            raise ConfigError(f"{key}={v!r} is not a number") from None

    def get_bool(self, key: str) -> bool:
        return (self.get(key) or "").lower() in TRUE

    # ---- derived values
    @property
    def node_id(self) -> int:
        return self.get_int("broker.id" if self.is_set("broker.id") and not self.is_set("node.id")
                            else "node.id")

    @property
    def listener(self) -> Listener:
        return parse_listener(self.get("listeners") or "")

    def resolve_port(self, port: int) -> None:
        """The listener was bound to an OS-chosen port (configured as 0): ``listeners``, and
        ``advertised.listeners`` when it says port 0 too, now name the real ``port``."""
        for key in ("listeners", "advertised.listeners"):
            value = self.props.get(key)
            if value:
                lst = parse_listener(value)
                if lst.port == 0:
                    host = f"[{lst.host}]" if ":" in lst.host else lst.host
                    self.props[key] = f"{lst.name}://{host}:{port}"

    @property
    def advertised(self) -> Listener:
        adv = self.get("advertised.listeners")
        lst = parse_listener(adv) if adv else self.listener
        if lst.host in ("0.0.0.0", "::", ""):
            lst = Listener(lst.name, "127.0.0.1", lst.port)
        return lst

    @property
    def http_listener(self) -> Listener | None:
        """``http.listeners`` (``http://HOST:PORT``, port 0: any free port), or None when unset."""
        value = (self.get("http.listeners") or "").strip()
        if not value:
            return None
        lst = parse_listener(value)
        if lst.name.lower() != "http":
            raise ConfigError(f"http.listeners {value!r} is not http://HOST:PORT")
        return lst

    @property
    def data_dir(self) -> Path:
        d = self.props.get("log.dirs") or self.props.get("log.dir") or BROKER_DEFAULTS["log.dirs"][0]
        return Path(str(d).split(",")[0])

    @property
    def segment_ms(self) -> int:
        if self.get("log.roll.ms"):
            return self.get_int("log.roll.ms")
        return self.get_int("log.roll.hours") * 3600_000

    @property
    def flush_interval_ms(self) -> int | None:
        v = self.get("log.flush.interval.ms")
        return int(v) if v else None

    @property
    def flush_interval_messages(self) -> int | None:
        v = self.get_int("log.flush.interval.messages")
        return None if v >= 2**62 else v

    def cleaner_knobs(self) -> tuple[int, int, float]:
        """The broker's ``log.cleaner.dedupe.buffer.size``, ``log.cleaner.io.buffer.size`` (at least
        4096) and ``log.cleaner.io.max.bytes.per.second``."""
        return (self.get_int("log.cleaner.dedupe.buffer.size"), max(self.get_int("log.cleaner.io.buffer.size"), 4096),
                float(self.get("log.cleaner.io.max.bytes.per.second") or "inf"))

    @property
    def zookeeper_connect(self) -> str | None:
        """``zookeeper.connect`` when this broker is part of a cluster, else None (a single broker)."""
        return self.get("zookeeper.connect") or None

    @property
    def num_partitions(self) -> int:
        return self.get_int("num.partitions")

    @property
    def auto_create_topics(self) -> bool:
        return self.get_bool("auto.create.topics.enable")

    @property
    def delete_topic_enable(self) -> bool:
        return self.get_bool("delete.topic.enable")

    @property
    def offset_metadata_max_bytes(self) -> int:
        return self.get_int("offset.metadata.max.bytes")

    @property
    def socket_request_max_bytes(self) -> int:
        return self.get_int("socket.request.max.bytes")
