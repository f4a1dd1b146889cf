"""The console's backend on kbroker.admin (kafka-python): the same operations the CLI runs.

Each thread of the console's pool has its own ``Session`` (kafka-python's clients are not meant to be
shared between threads), made on first use and closed with the backend. kbroker.admin's errors are
mapped once here: an unknown topic or group is a 404, a refusal (bad config, active group) a 400, a
broker that does not answer stays a failure (502).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from kbroker.admin import groups as admin_groups
from kbroker.admin import messages as admin_messages
from kbroker.admin import topics as admin_topics
from kbroker.admin.cluster import cluster_info
from kbroker.admin.configs import describe_configs
from kbroker.admin.session import AdminError, BrokerUnavailable, NotFound, Session
from kbroker.console.backend import ConsoleError, NewTopic, Produced, Read, Record

T = TypeVar("T")


class AdminBackend:
    """ConsoleBackend on kbroker.admin for the cluster at ``bootstrap``."""

    def __init__(self, bootstrap: str, *, connect_timeout: float = 5.0, request_timeout: float = 15.0):
        self.bootstrap = bootstrap
        self._options = {"connect_timeout": connect_timeout, "request_timeout": request_timeout}
        self._local = threading.local()
        self._sessions: list[Session] = []
        self._lock = threading.Lock()

    def _session(self) -> Session:
        s: Session | None = getattr(self._local, "session", None)
        if s is None:
            s = Session(self.bootstrap, client_id="kbroker-console", **self._options)
            self._local.session = s
            with self._lock:
                self._sessions.append(s)
        return s

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except BrokerUnavailable:
            raise
        except NotFound as e:
            raise ConsoleError(str(e), not_found=True) from None
        except AdminError as e:
            raise ConsoleError(str(e)) from None

    def _run(self, fn: Callable[[Session], T]) -> T:
        with self._errors():
            return fn(self._session())

    # ------------------------------------------------------------ cluster and topics

    def overview(self) -> dict[str, Any]:
        def run(s: Session) -> dict[str, Any]:
            info = cluster_info(s)
            topics = admin_topics.list_topics(s)
            return {"cluster_id": info.cluster_id, "controller": info.controller_id,
                    "brokers": [{"id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack}
                                for b in info.brokers],
                    "topics": len(topics), "partitions": sum(t.partitions for t in topics)}
        return self._run(run)

    def topics(self) -> list[dict[str, Any]]:
        def run(s: Session) -> list[dict[str, Any]]:
            out = []
            for t in admin_topics.describe_topics(s, None, configs=False):
                counts = [p.messages for p in t.partitions]
                out.append({"name": t.name, "internal": t.internal, "partitions": len(t.partitions),
                            "replication_factor": t.replication_factor, "size": t.size,
                            "messages": None if any(c is None for c in counts) else sum(c or 0 for c in counts)})
            return out
        return self._run(run)

    def topic(self, name: str) -> dict[str, Any]:
        def run(s: Session) -> dict[str, Any]:
            t = admin_topics.describe_topic(s, name, configs=False)
            configs = describe_configs(s, "topics", name, all_configs=True)
            return {"name": t.name, "internal": t.internal, "topic_id": t.topic_id,
                    "partitions": [{"partition": p.partition, "leader": p.leader, "replicas": list(p.replicas),
                                    "isr": list(p.isr), "earliest": p.earliest, "latest": p.latest,
                                    "size": p.size, "error": p.error} for p in t.partitions],
                    "configs": [{"name": c.name, "value": c.value, "source": c.source, "default": c.is_default,
                                 "sensitive": c.sensitive} for c in configs]}
        return self._run(run)

    def create_topic(self, topic: NewTopic) -> None:
        self._run(lambda s: admin_topics.create_topic(s, topic.name, topic.partitions, topic.replication_factor,
                                                      topic.configs))

    def delete_topic(self, name: str) -> None:
        self._run(lambda s: admin_topics.delete_topic(s, name))

    def end_totals(self) -> dict[str, int]:
        def run(s: Session) -> dict[str, int]:
            parts = [p for t in admin_topics.describe_topics(s, None, configs=False) for p in t.partitions]
            return {"messages": sum(p.latest or 0 for p in parts), "bytes": sum(p.size or 0 for p in parts)}
        return self._run(run)

    # ------------------------------------------------------------ messages

    def read(self, topic: str, partition: int, *, offset: int | None, timestamp: int | None,
             limit: int) -> Read:
        def run(s: Session) -> Read:
            tp = [(topic, partition)]
            if partition not in admin_topics.partitions_of(s, topic):
                raise NotFound(f"topic {topic!r} has no partition {partition}")
            earliest = admin_topics.partition_offsets(s, tp, "earliest")[topic, partition]
            latest = admin_topics.partition_offsets(s, tp, "latest")[topic, partition]
            if offset is not None:
                start = offset
            elif timestamp is not None:
                start = admin_topics.partition_offsets(s, tp, timestamp)[topic, partition]
            else:
                start = earliest
            start = min(max(start, earliest), latest)
            got = admin_messages.read_messages(s, topic, partition, offset=start, limit=limit) if start < latest else []
            records = [Record(m.partition, m.offset, m.timestamp, m.key, m.value,
                              [(h.key, h.value) for h in m.headers]) for m in got]
            return Read(records=records, start=start, earliest=earliest, latest=latest)
        return self._run(run)

    def produce(self, topic: str, *, partition: int | None, key: bytes | None, value: bytes | None,
                headers: Sequence[tuple[str, bytes | None]]) -> Produced:
        def run(s: Session) -> Produced:
            r = admin_messages.produce_one(s, topic, key=key, value=value, headers=list(headers),
                                           partition=partition)
            return Produced(partition=r.partition, offset=r.offset)
        return self._run(run)

    # ------------------------------------------------------------ groups

    def groups(self) -> list[dict[str, Any]]:
        def run(s: Session) -> list[dict[str, Any]]:
            listed = admin_groups.list_groups(s)
            members: dict[str, int] = {}
            if listed:
                try:  # one DescribeGroups for all of them; the list stands without the counts
                    got = s.call("describe groups", s.admin.describe_groups, [g.group_id for g in listed])
                    members = {gid: len(d.get("members") or []) for gid, d in dict(got).items()}
                except AdminError:
                    pass
            return [{"group_id": g.group_id, "state": g.state, "protocol_type": g.protocol_type,
                     "members": members.get(g.group_id)} for g in listed]
        return self._run(run)

    def group(self, group_id: str) -> dict[str, Any]:
        def run(s: Session) -> dict[str, Any]:
            g = admin_groups.describe_group(s, group_id)
            return {"group_id": g.group_id, "state": g.state, "protocol_type": g.protocol_type,
                    "protocol": g.protocol,
                    "members": [{"member_id": m.member_id, "client_id": m.client_id, "host": m.host,
                                 "instance_id": m.instance_id,
                                 "assignments": [{"topic": t, "partition": p}
                                                 for t, ps in sorted((m.assignment or {}).items()) for p in ps]}
                                for m in g.members],
                    "offsets": [{"topic": o.topic, "partition": o.partition,
                                 "committed": -1 if o.committed is None else o.committed,
                                 "latest": o.log_end, "lag": o.lag, "member_id": o.member_id}
                                for o in g.offsets]}
        return self._run(run)

    def reset_offsets(self, group_id: str, topic: str | None, *, to: str,
                      timestamp: int | None) -> list[dict[str, Any]]:
        def run(s: Session) -> list[dict[str, Any]]:
            changes = admin_groups.reset_offsets(s, group_id, to, timestamp,
                                                 None if topic is None else {topic: None}, execute=True)
            failed = [c for c in changes if c.error]
            if failed:
                raise ConsoleError("; ".join(f"{c.topic}[{c.partition}]: {c.error}" for c in failed))
            return [{"topic": c.topic, "partition": c.partition, "offset": c.target} for c in changes]
        return self._run(run)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            s.close()
