"""The typed results of ``kbroker.admin``: frozen dataclasses, no client objects inside, so a caller
(the CLI, the web console) can print, serialise or hand them across threads."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Broker:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    cluster_id: str | None
    controller_id: int | None
    brokers: tuple[Broker, ...]


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition as ``topics describe`` shows it: metadata plus offsets (ListOffsets) and the
    size of the leader's replica on disk (DescribeLogDirs; ``None`` when the broker did not say)."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    earliest: int | None = None
    latest: int | None = None
    size: int | None = None
    error: str | None = None

    @property
    def messages(self) -> int | None:
        """latest - earliest: the records currently held (control records included)."""
        if self.earliest is None or self.latest is None:
            return None
        return self.latest - self.earliest


@dataclass(frozen=True, slots=True)
class TopicSummary:
    name: str
    partitions: int
    replication_factor: int
    internal: bool = False


@dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    topic_id: str | None
    internal: bool
    partitions: tuple[PartitionInfo, ...]
    configs: dict[str, str] = field(default_factory=dict)  # the non-default (overridden) ones

    @property
    def replication_factor(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)

    @property
    def size(self) -> int | None:
        sizes = [p.size for p in self.partitions]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    name: str
    value: str | None
    source: str  # Kafka's names: DEFAULT_CONFIG, DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, ...
    read_only: bool = False
    sensitive: bool = False

    @property
    def is_default(self) -> bool:
        return self.source == "DEFAULT_CONFIG"


@dataclass(frozen=True, slots=True)
class Header:
    key: str
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Message:
    """One record read from a partition (key/value/header values are the raw bytes; None is null)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    timestamp_type: int = 0  # 0 CreateTime, 1 LogAppendTime

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of ``kbroker consume --output json`` (see ``encode_bytes`` for bytes)."""
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "timestamp": self.timestamp, "key": encode_bytes(self.key), "value": encode_bytes(self.value),
                "headers": [{"key": h.key, "value": encode_bytes(h.value)} for h in self.headers]}


@dataclass(frozen=True, slots=True)
class ProduceResult:
    topic: str
    partition: int
    offset: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class GroupSummary:
    group_id: str
    protocol_type: str
    state: str


@dataclass(frozen=True, slots=True)
class GroupMember:
    member_id: str
    instance_id: str | None
    client_id: str
    host: str
    assignment: dict[str, tuple[int, ...]] | None  # None when the protocol is not "consumer"


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    log_end: int | None
    member_id: str | None

    @property
    def lag(self) -> int | None:
        if self.committed is None or self.log_end is None:
            return None
        return max(0, self.log_end - self.committed)


@dataclass(frozen=True, slots=True)
class GroupInfo:
    group_id: str
    state: str
    protocol_type: str
    protocol: str
    members: tuple[GroupMember, ...]
    offsets: tuple[PartitionLag, ...]

    @property
    def total_lag(self) -> int:
        return sum(o.lag or 0 for o in self.offsets)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the shape ``kbroker groups describe --output json`` prints)."""
        return {"group": self.group_id, "state": self.state, "protocol_type": self.protocol_type,
                "protocol": self.protocol,
                "members": [{"member_id": m.member_id, "instance_id": m.instance_id, "client_id": m.client_id,
                             "host": m.host, "assignment": None if m.assignment is None else
                             {t: list(ps) for t, ps in m.assignment.items()}} for m in self.members],
                "offsets": [{"topic": o.topic, "partition": o.partition, "committed": o.committed,
                             "log_end": o.log_end, "lag": o.lag, "member_id": o.member_id}
                            for o in self.offsets]}


@dataclass(frozen=True, slots=True)
class OffsetChange:
    """One partition of a reset-offsets plan: where the group is and where it would go."""

    topic: str
    partition: int
    current: int | None
    target: int
    error: str | None = None


# ---------------------------------------------------------------- bytes in JSON

def encode_bytes(data: bytes | None) -> str | dict[str, str] | None:
    """JSON for raw bytes: ``null`` for null, a string when the bytes are valid UTF-8, otherwise
    ``{"base64": "..."}`` — unambiguous, so every byte string round-trips (``decode_bytes``)."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def decode_bytes(value: Any) -> bytes | None:
    """The inverse of ``encode_bytes``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        return base64.b64decode(value["base64"], validate=True)
    raise ValueError(f"not an encoded byte string: {value!r}")
