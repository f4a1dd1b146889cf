"""Messages: produce one or many, and read a topic from a start point (offset, earliest/latest,
N from the end, a time, a group's committed offsets) up to its end at the start of the read, a limit,
or for ever (``follow``). Keys, values and header values are raw bytes both ways (no serialisers)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kbroker.admin.models import Header, Message, ProduceResult
from kbroker.admin.session import AdminError, InvalidRequest, NotFound, Session, translate
from kbroker.admin.topics import partition_offsets, partitions_of, topic_exists

COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
FOLLOW_COMMIT_INTERVAL = 5.0  # seconds between a following group reader's commits


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A record to produce (``partition``/``timestamp`` None: the partitioner's / the producer's clock)."""

    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes | None], ...] = ()  # values: bytes (kafka-python sends no null)
    partition: int | None = None
    timestamp: int | None = None


def produce(s: Session, topic: str, messages: Iterable[NewMessage], *, acks: str | int = "all",
            compression: str | None = None, linger_ms: int = 5,
            on_sent: Callable[[int], None] | None = None) -> list[ProduceResult]:
    """Sends the messages in order and waits for every acknowledgement (each bounded by the session's
    request timeout). An unknown topic raises ``NotFound`` (no auto-creation by accident)."""
    if not topic_exists(s, topic):
        raise NotFound(f"topic {topic!r} does not exist")
    acks_value: Any = -1 if str(acks) in ("all", "-1") else int(acks)
    if acks_value not in (-1, 0, 1):
        raise AdminError(f"acks must be all, -1, 0 or 1, not {acks!r}")
    if compression not in (None, *COMPRESSIONS):
        raise AdminError(f"compression {compression!r} is not one of {', '.join(COMPRESSIONS)}")
    messages = _checked(messages)
    timeout_ms = int(s.request_timeout * 1000)
    p = s.producer(acks=acks_value, compression_type=None if compression in (None, "none") else compression,
                   enable_idempotence=acks_value == -1, linger_ms=linger_ms,
                   delivery_timeout_ms=2 * timeout_ms + linger_ms, max_block_ms=timeout_ms)
    futures = []
    try:
        for i, m in enumerate(messages):
            try:
                futures.append(p.send(topic, value=m.value, key=m.key, partition=m.partition,
                                      timestamp_ms=m.timestamp, headers=list(m.headers)))
            except Exception as e:  # noqa: BLE001
                raise translate(e, f"produce to {topic!r}") from None
            if on_sent is not None:
                on_sent(i + 1)
        p.flush(timeout=2 * s.request_timeout)
        out = []
        for f in futures:
            try:
                md = f.get(timeout=s.request_timeout)
            except Exception as e:  # noqa: BLE001
                raise translate(e, f"produce to {topic!r}") from None
            out.append(ProduceResult(md.topic, md.partition, md.offset, md.timestamp))
        return out
    finally:
        p.close(timeout=s.request_timeout)


def _checked(messages: Iterable[NewMessage]) -> Iterator[NewMessage]:
    """The messages, refusing what kafka-python's producer cannot send (a null header value; a record
    with neither key nor value) with a clear message."""
    for m in messages:
        if any(v is None for _, v in m.headers):
            raise InvalidRequest("a header value cannot be null (kafka-python's producer sends byte strings)")
        if m.key is None and m.value is None:
            raise InvalidRequest("a record needs a key or a value (kafka-python's producer refuses neither)")
        yield m


def produce_one(s: Session, topic: str, value: bytes | None, key: bytes | None = None,
                headers: Iterable[tuple[str, bytes | None]] = (), partition: int | None = None) -> ProduceResult:
    return produce(s, topic, [NewMessage(value, key, tuple(headers), partition)], linger_ms=0)[0]


def start_offsets(s: Session, topic: str, partitions: list[int], offset: int | str | None = None,
                  timestamp: int | None = None) -> dict[int, int]:
    """Where a read starts per partition: ``timestamp`` (ms) wins; otherwise ``offset`` is "earliest",
    "latest" (the default), N >= 0 (clamped to the log) or -N (N before the end)."""
    tps = [(topic, p) for p in partitions]
    lo = partition_offsets(s, tps, "earliest")
    hi = partition_offsets(s, tps, "latest")
    if timestamp is not None:
        at = partition_offsets(s, tps, timestamp)
        return {p: at[topic, p] for p in partitions}
    out = {}
    for p in partitions:
        if offset is None or offset == "latest":
            out[p] = hi[topic, p]
        elif offset == "earliest":
            out[p] = lo[topic, p]
        else:
            n = int(offset)
            out[p] = max(lo[topic, p], hi[topic, p] + n) if n < 0 else min(max(n, lo[topic, p]), hi[topic, p])
    return out


def iter_messages(s: Session, topic: str, *, partitions: Iterable[int] | None = None,
                  offset: int | str | None = "earliest", timestamp: int | None = None,
                  limit: int | None = None, follow: bool = False, group: str | None = None,
                  reset: str = "latest", poll_ms: int = 200, on_progress: Callable[[int, int | None], None] | None = None,
                  ) -> Iterator[Message]:
    """Records of ``topic`` in offset order per partition (partitions interleave as fetched).

    Start: see ``start_offsets``; with ``group`` and ``offset="committed"`` the group's committed
    offsets (see ``reset``). Stop: after ``limit`` records, or (unless
    ``follow``) once every partition reached the end it had when the read began. With ``group``,
    the positions reached are committed at the end, and every few seconds while following (the
    partitions are assigned, not subscribed: the group needs no rebalance and a reader never waits for
    one). A read that makes no progress for
    the session's request timeout before reaching those ends raises ``AdminError`` (never a hang).
    ``reset`` ("earliest" or "latest") places partitions the group has no committed offset for."""
    from kafka import TopicPartition

    parts = sorted(partitions) if partitions is not None else partitions_of(s, topic)
    known = set(partitions_of(s, topic)) if partitions is not None else set(parts)
    missing = [p for p in parts if p not in known]
    if missing:
        raise NotFound(f"topic {topic!r} has no partition {missing[0]}")
    if offset == "committed":
        if group is None:
            raise AdminError("offset 'committed' needs a group")
        from kbroker.admin.groups import committed_offsets

        done = committed_offsets(s, group)
        fallback = start_offsets(s, topic, parts, reset)
        start = {p: done.get((topic, p), fallback[p]) for p in parts}
    else:
        start = start_offsets(s, topic, parts, offset, timestamp)
    ends = None if follow else {p: v for (_, p), v in partition_offsets(s, [(topic, p) for p in parts],
                                                                          "latest").items()}
    expected = None if ends is None else sum(max(0, ends[p] - start[p]) for p in parts)
    if limit is not None and expected is not None:
        expected = min(expected, limit)
    consumer = s.consumer(group_id=group, auto_offset_reset="earliest", fetch_max_wait_ms=min(poll_ms, 500))
    tps = {p: TopicPartition(topic, p) for p in parts}
    count = 0
    try:
        consumer.assign(list(tps.values()))
        for p, tp in tps.items():
            consumer.seek(tp, start[p])
        positions = dict(start)
        committed = dict(start)
        last_progress = last_commit = time.monotonic()
        while True:
            if limit is not None and count >= limit:
                return
            if ends is not None and all(positions[p] >= ends[p] for p in parts):
                return
            try:
                batch = consumer.poll(timeout_ms=poll_ms,
                                      max_records=None if limit is None else max(1, limit - count))
            except Exception as e:  # noqa: BLE001
                raise translate(e, f"read {topic!r}") from None
            got_any = False
            for tp, records in sorted(batch.items(), key=lambda kv: kv[0].partition):
                for r in records:
                    if limit is not None and count >= limit:
                        break
                    if ends is not None and r.offset >= ends[tp.partition]:
                        continue
                    count += 1
                    got_any = True
                    positions[tp.partition] = r.offset + 1
                    yield Message(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value,
                                  tuple(Header(k, v) for k, v in (r.headers or [])), r.timestamp_type or 0)
            for p, tp in tps.items():  # past control records and aborted data too
                try:
                    positions[p] = max(positions[p], consumer.position(tp, timeout_ms=poll_ms) or 0)
                except Exception:  # noqa: BLE001 - the next poll tells
                    pass
            if on_progress is not None:
                on_progress(count, expected)
            if got_any:
                last_progress = time.monotonic()
            elif not follow and time.monotonic() - last_progress > s.request_timeout:
                raise AdminError(f"read {topic!r}: no progress for {s.request_timeout:.0f}s before the end")
            if group is not None and follow and time.monotonic() - last_commit > FOLLOW_COMMIT_INTERVAL:
                committed = _commit(consumer, group, tps, positions, committed)
                last_commit = time.monotonic()
    finally:
        try:
            if group is not None and count:
                _commit(consumer, group, tps, positions, committed)
        finally:
            consumer.close()


def _commit(consumer: Any, group: str, tps: dict[int, Any], positions: dict[int, int],
            committed: dict[int, int]) -> dict[int, int]:
    """Commits the positions that moved since ``committed``; returns the new committed positions."""
    from kafka.structs import OffsetAndMetadata

    moved = {p: v for p, v in positions.items() if v > committed[p]}
    if not moved:
        return committed
    try:
        consumer.commit({tps[p]: OffsetAndMetadata(v, "", -1) for p, v in moved.items()})
    except Exception as e:  # noqa: BLE001
        raise InvalidRequest(f"commit offsets of group {group!r}: {e}") from None
    return {**committed, **moved}


def read_messages(s: Session, topic: str, partition: int | None = None, offset: int | str | None = "earliest",
                  timestamp: int | None = None, limit: int = 100) -> list[Message]:
    """Up to ``limit`` records from a partition (or every partition), from an offset or a time: one
    page of a message browser."""
    parts = None if partition is None else [partition]
    return list(iter_messages(s, topic, partitions=parts, offset=offset, timestamp=timestamp, limit=limit))
