"""The Prometheus collector: names, labels and values from hand-made counters and state rows, rendered
and read back with prometheus-client's own text parser; and the error-code walk of real response
messages."""

from __future__ import annotations

from prometheus_client import generate_latest

from kbroker.metrics.collector import api_name, build_registry
from kbroker.metrics.counters import LATENCY_BUCKETS_MS, Metrics
from kbroker.metrics.errors import count_errors
from kbroker.metrics.state import ClusterRow, LagRow, LogRow, StateSnapshot
from tests.support.metrics import parse, select, value
from wire.errors import ErrorCode
from wire.messages.fetch import FetchResponse
from wire.messages.fetch import _FetchResponse_FetchableTopicResponse as FetchTopic
from wire.messages.fetch import _FetchResponse_PartitionData as FetchPart
from wire.messages.produce import ProduceResponse
from wire.messages.produce import _ProduceResponse_PartitionProduceResponse as ProducePart
from wire.messages.produce import _ProduceResponse_TopicProduceResponse as ProduceTopic

BTM = "kafka_server_brokertopicmetrics_"


def _produce_response(*codes: int) -> ProduceResponse:
    return ProduceResponse(responses=[ProduceTopic(name="t", partition_responses=[
        ProducePart(index=i, error_code=c) for i, c in enumerate(codes)])])


def _snapshot() -> StateSnapshot:
    return StateSnapshot(
        logs=[LogRow("a", 0, 0, 10, 700), LogRow("a", 1, 5, 9, 300, under_replicated=True)],
        lags=[LagRow("g", "a", 0, 7, 3), LagRow("g", "a", 1, 9, 0)],
        connections=4,
        cluster=ClusterRow(active_controller=True, offline_partitions=2))


def _render(m: Metrics, snap: StateSnapshot) -> dict:
    return parse(generate_latest(build_registry(m, lambda: snap)).decode())


def test_traffic_is_per_topic_and_broker_wide() -> None:
    m = Metrics()
    m.traffic.record_in("a", 3, 300)
    m.traffic.record_in("b", 2, 150)
    m.traffic.record_in("a", 1, 90)
    m.traffic.record_out("a", 500)
    s = _render(m, StateSnapshot())
    assert value(s, BTM + "messagesin_total", topic="a") == 4
    assert value(s, BTM + "messagesin_total", topic="b") == 2
    assert value(s, BTM + "messagesin_total") == 6
    assert value(s, BTM + "bytesin_total", topic="a") == 390
    assert value(s, BTM + "bytesin_total") == 540
    assert value(s, BTM + "bytesout_total", topic="a") == 500
    assert value(s, BTM + "bytesout_total", topic="b") == 0
    assert value(s, BTM + "bytesout_total") == 500
    # the console's read API says the same
    assert m.traffic.totals().bytes_in == 540
    assert m.traffic.topic_totals()["a"].messages_in == 4


def test_requests_errors_and_latency_histogram() -> None:
    m = Metrics()
    m.requests.observe(0, 0.2, _produce_response(0, ErrorCode.NOT_LEADER_OR_FOLLOWER))
    m.requests.observe(0, 3.0, _produce_response(ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.INVALID_RECORD))
    m.requests.observe(0, 99999.0, None)  # acks=0: no response
    m.requests.observe(1, 1.0, FetchResponse(error_code=0, responses=[FetchTopic(topic="t", partitions=[
        FetchPart(partition_index=0, error_code=ErrorCode.OFFSET_OUT_OF_RANGE)])]))
    s = _render(m, StateSnapshot())
    req = "kafka_network_requestmetrics_"
    assert value(s, req + "requests_total", request="Produce") == 3
    assert value(s, req + "requests_total", request="Fetch") == 1
    assert value(s, req + "errors_total", request="Produce", error="NOT_LEADER_OR_FOLLOWER") == 2
    assert value(s, req + "errors_total", request="Produce", error="INVALID_RECORD") == 1
    assert value(s, req + "errors_total", request="Fetch", error="OFFSET_OUT_OF_RANGE") == 1
    assert value(s, req + "errors_total", request="Produce", error="NONE") is None
    assert value(s, req + "totaltimems_count", request="Produce") == 3
    assert value(s, req + "totaltimems_sum", request="Produce") == 0.2 + 3.0 + 99999.0
    buckets = {dict(k)["le"]: v for k, v in select(s, req + "totaltimems_bucket").items()
               if dict(k)["request"] == "Produce"}
    assert buckets["0.5"] == 1 and buckets["5.0"] == 2 and buckets["+Inf"] == 3
    assert len(buckets) == len(LATENCY_BUCKETS_MS) + 1
    assert [v for _, v in sorted(buckets.items(), key=lambda kv: float(kv[0]))] == sorted(buckets.values())


def test_state_gauges() -> None:
    m = Metrics()
    m.purgatory.fetch = 2
    m.requests.connections_created = 7
    m.log_activity.retention_segments_deleted = 3
    m.log_activity.cleaner_runs = 1
    s = _render(m, _snapshot())
    tp = {"topic": "a", "partition": "1"}
    assert value(s, "kafka_log_log_logstartoffset", **tp) == 5
    assert value(s, "kafka_log_log_logendoffset", **tp) == 9
    assert value(s, "kafka_log_log_size", **tp) == 300
    assert value(s, "kafka_consumergroup_lag", consumergroup="g", topic="a", partition="0") == 3
    assert value(s, "kafka_consumergroup_current_offset", consumergroup="g", topic="a", partition="0") == 7
    assert value(s, "kafka_consumergroup_lag_sum", consumergroup="g", topic="a") == 3
    assert value(s, "kafka_server_delayedoperationpurgatory_purgatorysize", delayedoperation="Fetch") == 2
    assert value(s, "kafka_server_delayedoperationpurgatory_purgatorysize", delayedoperation="Produce") == 0
    assert value(s, "kafka_server_socketservermetrics_connection_count") == 4
    assert value(s, "kafka_server_socketservermetrics_connection_creation_total") == 7
    assert value(s, "kafka_log_logmanager_retention_deleted_segments_total") == 3
    assert value(s, "kafka_log_logcleaner_cleaner_runs_total") == 1
    assert value(s, "kafka_server_replicamanager_underreplicatedpartitions") == 1
    assert value(s, "kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert value(s, "kafka_controller_kafkacontroller_offlinepartitionscount") == 2


def test_a_single_broker_has_no_controller_metrics() -> None:
    s = _render(Metrics(), StateSnapshot())
    assert value(s, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert not select(s, "kafka_controller_kafkacontroller_activecontrollercount")


def test_error_walk_counts_nested_codes_only() -> None:
    out: dict[int, int] = {}
    count_errors(_produce_response(0, 0, ErrorCode.INVALID_RECORD), out)
    count_errors(FetchResponse(error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND), out)
    count_errors(object(), out)  # not a message: nothing
    assert out == {ErrorCode.INVALID_RECORD: 1, ErrorCode.FETCH_SESSION_ID_NOT_FOUND: 1}


def test_api_names_are_kafkas() -> None:
    assert [api_name(k) for k in (0, 1, 2, 3, 18)] == ["Produce", "Fetch", "ListOffsets", "Metadata", "ApiVersions"]


def test_the_grafana_dashboard_uses_only_names_the_broker_serves() -> None:
    import json
    import re

    from tests.support import ROOT

    dashboard = json.loads((ROOT / "docs/grafana/kbroker-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs and any(v["type"] == "datasource" for v in dashboard["templating"]["list"])
    m = Metrics()
    m.requests.observe(0, 1.0, _produce_response(ErrorCode.INVALID_RECORD))
    m.traffic.record_in("a", 1, 1)
    served = {name for name, _ in _render(m, _snapshot())}
    used = {n for e in exprs for n in re.findall(r"kafka_[a-z_]+", e)}
    assert used and used <= served, sorted(used - served)
