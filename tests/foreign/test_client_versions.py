"""Issue 9, acceptance 2: clients pinned to every broker release their version table knows bootstrap
against kbroker and round-trip (keyed records with two headers each, produced with acks=all and read
back from the beginning, offsets, keys, values and headers compared).

- kafka-python: ``api_version`` set to every release in kafka-python's own table
  (``kafka.protocol.broker_version_data.BROKER_API_VERSIONS``, read at collection time) from (1, 0)
  to the newest it knows. Releases before 1.0 are left out: before 0.11 there are no record headers
  (message format v2), and kbroker, like Kafka 4, rejects the older formats; 0.11 is the same wire
  table as 1.0 for what this test does. With ``api_version`` pinned kafka-python sends no ApiVersions
  and uses its table's versions directly, so a release whose table exceeds what kbroker serves fails.
- confluent-kafka (librdkafka): ``api.version.request=true`` (ApiVersions negotiation), and
  ``api.version.request=false`` with each ``broker.version.fallback`` librdkafka documents that can
  still use headers: librdkafka's own tables stop at 0.9.0 (0.9.0, 0.8.2, 0.8.1, 0.8.0, which use
  message formats 0/1 and no headers, rejected by Kafka 4 as by kbroker, so they are not tested);
  any value >= 0.10 means "the broker has ApiVersions" and librdkafka's feature set follows from the
  value, so each release 0.10.0 .. 4.x is its own test id.
- Java kafka-clients 3.9.x and 4.x (compat/java/versions.txt; jars fetched by compat/java/fetch-jars.sh)
  running tests/java/VersionRoundTrip.java. The Java client always negotiates through ApiVersions.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from typing import Any

import pytest

from compat.java import harness
from tests.support import ROOT
from tests.support.rawclient import RawClient

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
N = 20


def _kafka_python_releases() -> list[tuple[int, ...]]:
    from kafka.protocol.broker_version_data import BROKER_API_VERSIONS

    return sorted(v for v in BROKER_API_VERSIONS if v >= (1, 0))


KAFKA_PYTHON_RELEASES = _kafka_python_releases()
# librdkafka: values >= 0.10 select its feature set from the release (see the module docstring)
LIBRDKAFKA_FALLBACKS = ["0.10.0", "0.10.1", "0.10.2", "0.11.0", "1.0.0", "1.1.0", "2.0.0", "2.1.0", "2.4.0",
                        "2.8.0", "3.0.0", "3.5.0", "3.9.0", "4.0.0", "4.1.0"]


def _records(tag: str) -> list[tuple[bytes, bytes, list[Any]]]:
    return [(f"k{i}".encode(), f"{tag}-v{i}".encode(), [("h1", f"a{i}".encode()), ("h2", f"b{i}".encode())])
            for i in range(N)]


def _topic(shared_broker, name: str) -> str:
    topic = f"{name}-{uuid.uuid4().hex[:8]}"
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic(topic, 1)
    return topic


def _check(got: list[tuple[Any, Any, Any, list[Any]]], want: list[tuple[bytes, bytes, list[Any]]]) -> None:
    assert [g[0] for g in got] == list(range(N)), f"offsets {[g[0] for g in got]}"
    assert [(k, v, list(h)) for _, k, v, h in got] == [(k, v, list(h)) for k, v, h in want]


# ---------------------------------------------------------------- kafka-python


@pytest.mark.timeout(120)
@pytest.mark.parametrize("api_version", KAFKA_PYTHON_RELEASES, ids=[".".join(map(str, v)) for v in KAFKA_PYTHON_RELEASES])
def test_kafka_python_pinned(shared_broker, api_version) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = _topic(shared_broker, "kp")
    want = _records("kp")
    producer = KafkaProducer(bootstrap_servers=shared_broker.bootstrap, api_version=api_version, acks="all",
                             request_timeout_ms=15000, max_block_ms=20000)
    try:
        for k, v, h in want:
            producer.send(topic, key=k, value=v, headers=h, partition=0).get(timeout=20)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(bootstrap_servers=shared_broker.bootstrap, api_version=api_version,
                             enable_auto_commit=False, request_timeout_ms=15000)
    got: list[tuple[Any, Any, Any, list[Any]]] = []
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + 30
        while len(got) < N and time.monotonic() < deadline:
            for recs in consumer.poll(timeout_ms=500).values():
                got += [(r.offset, r.key, r.value, [(hk, hv) for hk, hv in r.headers]) for r in recs]
    finally:
        consumer.close()
    _check(got, want)


# ---------------------------------------------------------------- confluent-kafka

CONFLUENT_CASES = [("api.version.request=true", {"api.version.request": True})] + [
    (f"fallback-{v}", {"api.version.request": False, "broker.version.fallback": v}) for v in LIBRDKAFKA_FALLBACKS]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("conf", [c for _, c in CONFLUENT_CASES], ids=[i for i, _ in CONFLUENT_CASES])
def test_confluent_pinned(shared_broker, conf) -> None:
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    topic = _topic(shared_broker, "ck")
    want = _records("ck")
    errors: list[str] = []
    base = {"bootstrap.servers": shared_broker.bootstrap, **conf}
    p = Producer({**base, "acks": "all", "message.timeout.ms": 20000,
                  "error_cb": lambda e: errors.append(str(e))})

    def delivered(err, msg) -> None:
        if err is not None:
            errors.append(str(err))

    for k, v, h in want:
        p.produce(topic, key=k, value=v, headers=h, partition=0, on_delivery=delivered)
    assert p.flush(30) == 0, f"undelivered; errors: {errors}"
    assert not errors, errors
    c = Consumer({**base, "group.id": f"g-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False,
                  "error_cb": lambda e: errors.append(str(e))})
    got: list[tuple[Any, Any, Any, list[Any]]] = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while len(got) < N and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            got.append((m.offset(), m.key(), m.value(), list(m.headers() or [])))
    finally:
        c.close()
    assert got, f"nothing consumed; errors: {errors}"
    _check(got, want)


# ---------------------------------------------------------------- Java kafka-clients

JAVA_VERSIONS = harness.versions()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("version", JAVA_VERSIONS, ids=[f"kafka-clients-{v}" for v in JAVA_VERSIONS])
def test_java_clients(shared_broker, version) -> None:
    missing = harness.missing_tools()
    try:
        if missing:
            raise harness.JavaUnavailable(f"{', '.join(missing)} not installed")
        jars = harness.jars(version)
    except harness.JavaUnavailable as e:
        if IN_CI:
            pytest.fail(f"Java client tests must run under CI=true: {e}")
        pytest.skip(str(e))
    topic = _topic(shared_broker, "java")
    proc = subprocess.run(["java", "-Xmx256m", "-XX:+UseSerialGC", "-cp", f"{jars}/*",
                           str(ROOT / "tests" / "java" / "VersionRoundTrip.java"), shared_broker.bootstrap,
                           topic, str(N)], capture_output=True, text=True, timeout=200)
    assert proc.returncode == 0 and proc.stdout.strip() == f"OK {N}", proc.stdout + proc.stderr[-3000:]
