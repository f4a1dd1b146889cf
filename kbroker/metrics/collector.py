"""The Prometheus view of the broker: one custom collector that reads the plain counters
(``kbroker.metrics.counters``) and a state snapshot (``kbroker.metrics.state``) at scrape time.

Names follow what dashboards built on Kafka's JMX exporter and on kafka_exporter expect (the metric
table is in docs/metrics.md):

- ``kafka_server_brokertopicmetrics_{messagesin,bytesin,bytesout}_total`` with ``topic``, and without it
  for the broker total (as JMX has BrokerTopicMetrics with and without the topic tag);
- ``kafka_network_requestmetrics_requests_total{request}``, ``..._errors_total{request,error}`` (error code
  names, NONE not counted) and the histogram ``kafka_network_requestmetrics_totaltimems{request}``
  (milliseconds, as TotalTimeMs);
- ``kafka_server_delayedoperationpurgatory_purgatorysize{delayedoperation="Produce"|"Fetch"}``;
- ``kafka_log_log_{logstartoffset,logendoffset,size}{topic,partition}``;
- ``kafka_consumergroup_lag`` and ``kafka_consumergroup_current_offset`` ``{consumergroup,topic,partition}``
  (kafka_exporter's), and ``kafka_consumergroup_lag_sum{consumergroup,topic}``;
- ``kafka_server_socketservermetrics_connection_count``, ``..._connection_creation_total``,
  ``..._connection_close_total``;
- cleaner and retention activity: ``kafka_log_logcleaner_*`` and ``kafka_log_logmanager_retention_*``
  (kbroker's counters in Kafka's naming; Kafka itself has no such counters);
- in a cluster: ``kafka_server_replicamanager_underreplicatedpartitions``,
  ``kafka_controller_kafkacontroller_offlinepartitionscount`` and ``..._activecontrollercount``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from kbroker.metrics.counters import (
    LATENCY_BUCKETS_MS,
    LogActivity,
    Metrics,
    Purgatory,
    RequestMetrics,
    Traffic,
)
from kbroker.metrics.state import StateSnapshot, StateSource
from wire.errors import ErrorCode
from wire.messages import REQUESTS

BTM = "kafka_server_brokertopicmetrics_"
REQ = "kafka_network_requestmetrics_"
SOCK = "kafka_server_socketservermetrics_"


def api_name(api_key: int) -> str:
    """Kafka's name of an API (``Produce``, ``Fetch``, ``ListOffsets``...), as the ``request`` tag has it."""
    cls = REQUESTS.get(api_key)
    return cls.__name__.removesuffix("Request") if cls is not None else str(api_key)


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)


class KafkaCollector(Collector):
    def __init__(self, metrics: Metrics, state: StateSource) -> None:
        self._m = metrics
        self._state = state

    def collect(self) -> Iterator[Metric]:
        yield from self._traffic(self._m.traffic)
        yield from self._requests(self._m.requests)
        snap = self._state()
        yield from self._purgatory(self._m.purgatory)
        yield from self._logs(snap)
        yield from self._lags(snap)
        yield from self._connections(self._m.requests, snap)
        yield from self._log_activity(self._m.log_activity)
        yield from self._cluster(snap)

    @staticmethod
    def _traffic(t: Traffic) -> Iterator[Metric]:
        per_topic = t.topic_totals()
        total = t.totals()
        for short, doc, attr in (("messagesin", "Records appended by Produce requests", "messages_in"),
                                 ("bytesin", "Record batch bytes appended by Produce requests", "bytes_in"),
                                 ("bytesout", "Record bytes sent to consumers in Fetch responses", "bytes_out")):
            fam = CounterMetricFamily(BTM + short, doc, labels=["topic"])
            for topic, tt in sorted(per_topic.items()):
                fam.add_metric([topic], getattr(tt, attr))
            # the broker total: the same name without the topic label, as JMX's BrokerTopicMetrics has
            fam.samples.append(Sample(BTM + short + "_total", {}, getattr(total, attr)))
            yield fam

    @staticmethod
    def _requests(r: RequestMetrics) -> Iterator[Metric]:
        reqs = CounterMetricFamily(REQ + "requests", "Requests answered, per API", labels=["request"])
        errs = CounterMetricFamily(REQ + "errors", "Error codes in responses (NONE not counted), per API",
                                   labels=["request", "error"])
        hist = HistogramMetricFamily(REQ + "totaltimems", "Time from the decoded request to its queued "
                                     "response, in milliseconds", labels=["request"])
        for key, s in sorted(r.by_key.items()):
            name = api_name(key)
            reqs.add_metric([name], s.requests)
            for code, n in sorted(s.errors.items()):
                errs.add_metric([name, error_name(code)], n)
            cumulative, buckets = 0, []
            for bound, n in zip((*LATENCY_BUCKETS_MS, float("inf")), s.buckets, strict=True):
                cumulative += n
                buckets.append((_le(bound), cumulative))
            hist.add_metric([name], buckets, s.time_ms)
        yield reqs
        yield errs
        yield hist

    @staticmethod
    def _purgatory(p: Purgatory) -> Iterator[Metric]:
        fam = GaugeMetricFamily("kafka_server_delayedoperationpurgatory_purgatorysize",
                                "Requests waiting in a purgatory", labels=["delayedoperation"])
        fam.add_metric(["Produce"], p.produce)
        fam.add_metric(["Fetch"], p.fetch)
        yield fam

    @staticmethod
    def _logs(snap: StateSnapshot) -> Iterator[Metric]:
        labels = ["topic", "partition"]
        start = GaugeMetricFamily("kafka_log_log_logstartoffset", "First offset of the partition log", labels=labels)
        end = GaugeMetricFamily("kafka_log_log_logendoffset", "Offset after the last record of the log", labels=labels)
        size = GaugeMetricFamily("kafka_log_log_size", "Bytes of the partition log's segments", labels=labels)
        for row in sorted(snap.logs, key=lambda r: (r.topic, r.partition)):
            tp = [row.topic, str(row.partition)]
            start.add_metric(tp, row.log_start_offset)
            end.add_metric(tp, row.log_end_offset)
            size.add_metric(tp, row.size_bytes)
        yield start
        yield end
        yield size

    @staticmethod
    def _lags(snap: StateSnapshot) -> Iterator[Metric]:
        labels = ["consumergroup", "topic", "partition"]
        lag = GaugeMetricFamily("kafka_consumergroup_lag", "High watermark minus the committed offset",
                                labels=labels)
        current = GaugeMetricFamily("kafka_consumergroup_current_offset", "Committed offset of the group",
                                    labels=labels)
        lag_sum = GaugeMetricFamily("kafka_consumergroup_lag_sum", "Lag of the group summed over the topic's "
                                    "partitions", labels=["consumergroup", "topic"])
        sums: dict[tuple[str, str], int] = {}
        for row in snap.lags:
            key = [row.group, row.topic, str(row.partition)]
            lag.add_metric(key, row.lag)
            current.add_metric(key, row.committed)
            sums[row.group, row.topic] = sums.get((row.group, row.topic), 0) + row.lag
        for (group, topic), n in sorted(sums.items()):
            lag_sum.add_metric([group, topic], n)
        yield lag
        yield current
        yield lag_sum

    @staticmethod
    def _connections(r: RequestMetrics, snap: StateSnapshot) -> Iterator[Metric]:
        yield GaugeMetricFamily(SOCK + "connection_count", "Open client connections", value=snap.connections)
        yield CounterMetricFamily(SOCK + "connection_creation", "Connections accepted", value=r.connections_created)
        yield CounterMetricFamily(SOCK + "connection_close", "Connections closed", value=r.connections_closed)

    @staticmethod
    def _log_activity(a: LogActivity) -> Iterator[Metric]:
        yield CounterMetricFamily("kafka_log_logcleaner_cleaner_runs", "Logs cleaned (compacted)",
                                  value=a.cleaner_runs)
        yield CounterMetricFamily("kafka_log_logcleaner_cleaned_bytes", "Bytes the cleaner read from dirty "
                                  "logs", value=a.cleaner_bytes_read)
        yield CounterMetricFamily("kafka_log_logcleaner_written_bytes", "Bytes the cleaner wrote back",
                                  value=a.cleaner_bytes_written)
        yield GaugeMetricFamily("kafka_log_logcleanermanager_uncleanable_partitions_count",
                                "Partitions the cleaner gave up on until restart", value=a.cleaner_uncleanable)
        yield CounterMetricFamily("kafka_log_logmanager_retention_runs", "Retention passes over every log",
                                  value=a.retention_runs)
        yield CounterMetricFamily("kafka_log_logmanager_retention_deleted_segments",
                                  "Segments deleted by retention", value=a.retention_segments_deleted)
        yield CounterMetricFamily("kafka_log_logmanager_retention_deleted_bytes", "Bytes deleted by retention",
                                  value=a.retention_bytes_deleted)

    @staticmethod
    def _cluster(snap: StateSnapshot) -> Iterator[Metric]:
        under = sum(1 for row in snap.logs if row.under_replicated)
        yield GaugeMetricFamily("kafka_server_replicamanager_underreplicatedpartitions",
                                "Partitions led here with fewer in-sync replicas than replicas", value=under)
        if snap.cluster is None:
            return
        yield GaugeMetricFamily("kafka_controller_kafkacontroller_activecontrollercount",
                                "1 on the active controller, 0 elsewhere", value=int(snap.cluster.active_controller))
        yield GaugeMetricFamily("kafka_controller_kafkacontroller_offlinepartitionscount",
                                "Partitions without a live leader (reported by the active controller)",
                                value=snap.cluster.offline_partitions)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def build_registry(metrics: Metrics, state: StateSource) -> CollectorRegistry:
    """A registry holding only the broker's collector (no process or GC metrics of the client library)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KafkaCollector(metrics, state))
    return registry
