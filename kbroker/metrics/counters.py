"""The broker's plain counters: integers the hot path adds to, read only when ``/metrics`` is scraped.

No locks and no Prometheus objects here: every counter is written on the event loop (the one thread
that serves requests), and a scrape runs on that loop too, so a read never sees half an update.
A counter only grows; rates are the reader's business (Prometheus' ``rate()``, the console's chart
polling ``Traffic.totals()``).

What is counted, as Kafka counts it:

- ``messages_in``: records appended by Produce requests (the offsets a batch takes: a producer's batch
  of n records counts n), per topic and broker-wide; follower and coordinator appends are not counted.
- ``bytes_in``: the bytes of those record batches as the producer sent them (Kafka's
  ``records.sizeInBytes`` of each appended partition's data), counted after a successful append.
- ``bytes_out``: the record bytes of Fetch responses to consumers (not to followers: Kafka counts those
  as replication bytes), per topic.
- requests per API key: how many were answered, the error codes (other than NONE) found anywhere in
  the responses, and the time from the decoded request to its queued response (a long-poll fetch's wait
  included, as Kafka's TotalTimeMs).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from kbroker.metrics.errors import count_errors

# Upper bounds of the request latency histogram, in milliseconds (the last bucket is +Inf).
LATENCY_BUCKETS_MS: tuple[float, ...] = (0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0,
                                         1000.0, 2500.0, 5000.0, 10000.0, 30000.0)


class TopicTraffic:
    """The running totals of one topic (or of the broker, for ``Traffic.total``)."""

    __slots__ = ("messages_in", "bytes_in", "bytes_out")

    def __init__(self) -> None:
        self.messages_in = 0
        self.bytes_in = 0
        self.bytes_out = 0


@dataclass(frozen=True, slots=True)
class TrafficTotals:
    """A read of one ``TopicTraffic``: what the console's rate charts poll."""

    messages_in: int
    bytes_in: int
    bytes_out: int


class Traffic:
    """Messages and bytes in and out, per topic and broker-wide (Kafka's BrokerTopicMetrics).
    The broker-wide totals are kept apart from the per-topic ones.  A deleted topic's counters are
    dropped (``forget``, as Kafka removes the topic's BrokerTopicMetrics): a topic created again under
    that name starts from zero, which Prometheus reads as a counter reset."""

    __slots__ = ("total", "_topics")

    def __init__(self) -> None:
        self.total = TopicTraffic()
        self._topics: dict[str, TopicTraffic] = {}

    def _topic(self, topic: str) -> TopicTraffic:
        t = self._topics.get(topic)
        if t is None:
            t = self._topics[topic] = TopicTraffic()
        return t

    def record_in(self, topic: str, messages: int, nbytes: int) -> None:
        """A Produce request appended ``messages`` records in ``nbytes`` of batch bytes to ``topic``."""
        t = self._topics.get(topic) or self._topic(topic)
        t.messages_in += messages
        t.bytes_in += nbytes
        total = self.total
        total.messages_in += messages
        total.bytes_in += nbytes

    def record_out(self, topic: str, nbytes: int) -> None:
        """A Fetch response to a consumer carries ``nbytes`` of ``topic``'s record bytes."""
        (self._topics.get(topic) or self._topic(topic)).bytes_out += nbytes
        self.total.bytes_out += nbytes

    def forget(self, topic: str) -> None:
        """The topic was deleted: its per-topic counters go (the broker-wide totals keep its traffic)."""
        self._topics.pop(topic, None)

    # -- the read API (scrapes, the console) ------------------------------------------------------

    def totals(self) -> TrafficTotals:
        """Broker-wide totals since the broker started."""
        t = self.total
        return TrafficTotals(t.messages_in, t.bytes_in, t.bytes_out)

    def topic_totals(self) -> dict[str, TrafficTotals]:
        """Totals per topic since the broker started (a topic appears once it has traffic)."""
        return {name: TrafficTotals(t.messages_in, t.bytes_in, t.bytes_out) for name, t in self._topics.items()}


class ApiStats:
    """One API key's requests, error codes and latency histogram (bucket counts, not cumulative)."""

    __slots__ = ("requests", "errors", "buckets", "time_ms")

    def __init__(self) -> None:
        self.requests = 0
        self.errors: dict[int, int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS_MS) + 1)
        self.time_ms = 0.0


class RequestMetrics:
    """Requests per API key and the connections of the listener (Kafka's RequestMetrics and
    SocketServerMetrics).  A response's error codes are found by ``kbroker.metrics.errors``."""

    __slots__ = ("by_key", "connections_created", "connections_closed")

    def __init__(self) -> None:
        self.by_key: dict[int, ApiStats] = {}
        self.connections_created = 0
        self.connections_closed = 0

    def observe(self, api_key: int, elapsed_ms: float, response: Any) -> None:
        """One request of ``api_key`` was answered with ``response`` (None: no response, acks=0)."""
        s = self.by_key.get(api_key)
        if s is None:
            s = self.by_key[api_key] = ApiStats()
        s.requests += 1
        s.time_ms += elapsed_ms
        s.buckets[bisect_left(LATENCY_BUCKETS_MS, elapsed_ms)] += 1
        if response is not None:
            count_errors(response, s.errors)


class Purgatory:
    """Requests parked now (Kafka's DelayedOperationPurgatory sizes): fetches waiting for min_bytes,
    acks=all produces waiting for the high watermark."""

    __slots__ = ("fetch", "produce")

    def __init__(self) -> None:
        self.fetch = 0
        self.produce = 0


class LogActivity:
    """What the cleaner and retention did since the broker started.  Updated on the event loop from
    the results the worker threads return."""

    __slots__ = ("cleaner_runs", "cleaner_bytes_read", "cleaner_bytes_written", "cleaner_uncleanable",
                 "retention_runs", "retention_segments_deleted", "retention_bytes_deleted")

    def __init__(self) -> None:
        self.cleaner_runs = 0  # logs cleaned
        self.cleaner_bytes_read = 0
        self.cleaner_bytes_written = 0
        self.cleaner_uncleanable = 0  # partitions the cleaner gave up on (a gauge)
        self.retention_runs = 0  # retention passes over every log
        self.retention_segments_deleted = 0
        self.retention_bytes_deleted = 0


@dataclass
class Metrics:
    """Every counter one broker keeps; the composition root makes one and hands each part to the code
    that adds to it (handlers through ``Services``, the cleaner and retention through their constructors)."""

    traffic: Traffic = field(default_factory=Traffic)
    requests: RequestMetrics = field(default_factory=RequestMetrics)
    purgatory: Purgatory = field(default_factory=Purgatory)
    log_activity: LogActivity = field(default_factory=LogActivity)
