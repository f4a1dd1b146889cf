"""Helpers shared by the consumer-group tests (this module holds no tests).

Every wait is bounded; nothing asserts on how long something took.
"""

from __future__ import annotations

from typing import Any

from tests.support.waiting import WAIT

# Small session timeouts keep the tests short; 6000 ms is Kafka's own minimum.
GROUP_OVERRIDES = {"group.initial.rebalance.delay.ms": "0", "group.min.session.timeout.ms": "1000"}
SESSION_MS = 6000


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        fut.result(30)


def produce(bootstrap: str, topic: str, values: range, partitions: int | None = None) -> dict[int, int]:
    """Produces str(i) for each i (keyed, or round-robin over ``partitions``); returns the
    number of records per partition."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    counts: dict[int, int] = {}

    def report(err: Any, msg: Any) -> None:
        assert err is None, err
        counts[msg.partition()] = counts.get(msg.partition(), 0) + 1

    for i in values:
        kw = {"partition": i % partitions} if partitions else {"key": str(i).encode()}
        while True:
            try:
                p.produce(topic, value=str(i).encode(), on_delivery=report, **kw)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(WAIT) == 0
    return counts


def confluent_conf(bootstrap: str, group: str, **extra: Any) -> dict[str, Any]:
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 300,
            "topic.metadata.refresh.interval.ms": 1000}
    conf.update(extra)
    return conf


def assignments(consumers: list[Any]) -> list[set[int]]:
    return [{tp.partition for tp in c.assignment()} for c in consumers]


def disjoint_cover(parts: list[set[int]], n: int) -> bool:
    return all(parts) and sum(len(p) for p in parts) == n and set().union(*parts) == set(range(n))


def poll_all(consumers: list[Any], sink: list[list[tuple[int, int, int]]], timeout: float = 0.05) -> None:
    """One consume() round on each confluent consumer; appends (partition, offset, value)."""
    for c, out in zip(consumers, sink, strict=True):
        for m in c.consume(500, timeout):
            if m.error() is None:
                out.append((m.partition(), m.offset(), int(m.value())))
