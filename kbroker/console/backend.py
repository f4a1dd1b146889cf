"""The one port the console reads and changes a cluster through.

Every method is blocking (a Kafka client library under it) and is called from the console's thread
pool, never on the event loop, so the broker serving the console keeps serving while a page loads.
Results are plain JSON-ready values (dicts, lists, ints, strings), except the raw record bytes of
``read``, which kbroker.console.render turns into the browser's views. A user's mistake (an unknown
topic, a bad config, a group still active) raises ``ConsoleError`` with a message to show; any
other exception is a failure of the cluster or the client, shown as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class ConsoleError(Exception):
    """A refusal to show the user as it is (HTTP 400, or 404 when ``not_found``)."""

    def __init__(self, message: str, *, not_found: bool = False):
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True, slots=True)
class Record:
    """One record read from a partition, bytes untouched."""

    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] = ()


@dataclass(frozen=True, slots=True)
class Read:
    """A page of records and the partition's bounds when it was read; ``start`` is the offset the
    read began at (resolved from a timestamp when one was asked for)."""

    records: Sequence[Record]
    start: int
    earliest: int
    latest: int
    position: int | None = None


@dataclass(frozen=True, slots=True)
class Produced:
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class NewTopic:
    name: str
    partitions: int = 1
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


class ConsoleBackend(Protocol):
    """What the console needs from a cluster."""

    def overview(self) -> dict[str, Any]:
        """``cluster_id``, ``controller``, ``brokers`` [{id, host, port}], ``topics``, ``partitions``."""
        ...

    def topics(self) -> list[dict[str, Any]]:
        """[{name, partitions, replication_factor, internal, messages, size}] by name."""
        ...

    def topic(self, name: str) -> dict[str, Any]:
        """{name, internal, partitions: [{partition, leader, replicas, isr, earliest, latest, size}],
        configs: [{name, value, source, default, sensitive}]}."""
        ...

    def create_topic(self, topic: NewTopic) -> None: ...

    def delete_topic(self, name: str) -> None: ...

    def read(self, topic: str, partition: int, *, offset: int | None, timestamp: int | None,
             limit: int) -> Read:
        """Up to ``limit`` records of one partition from ``offset``, or from the first record at or
        after ``timestamp`` (ms), or from the earliest when neither is given."""
        ...

    def produce(self, topic: str, *, partition: int | None, key: bytes | None, value: bytes | None,
                headers: Sequence[tuple[str, bytes | None]]) -> Produced: ...

    def groups(self) -> list[dict[str, Any]]:
        """[{group_id, state, protocol_type, members}] by id."""
        ...

    def group(self, group_id: str) -> dict[str, Any]:
        """{group_id, state, protocol_type, protocol, members: [{member_id, client_id, host,
        assignments: [{topic, partition}]}], offsets: [{topic, partition, committed, latest, lag}]}."""
        ...

    def reset_offsets(self, group_id: str, topic: str | None, *, to: str,
                      timestamp: int | None) -> list[dict[str, Any]]:
        """Moves the group's committed offsets (of one topic, or of every topic it has offsets for)
        to ``earliest``, ``latest`` or ``datetime`` (``timestamp`` ms); returns
        [{topic, partition, offset}] as set."""
        ...

    def end_totals(self) -> dict[str, int]:
        """``messages`` (sum of the latest offsets of every partition: it only grows as records
        come in) and ``bytes`` (sum of log sizes, which retention may shrink): the fallback throughput source when the broker's metrics are not at hand."""
        ...

    def close(self) -> None: ...
