"""``/metrics`` on the broker's HTTP listener, scraped around a bounded load from confluent-kafka
(acceptance 3 of issue 14): 5,000 keyed records with headers to three topics, a consumer group reading
them, then the counters against what the clients sent and read, the log files and ``kbroker groups
describe``; retention and cleaner activity counted; and no HTTP port at all when ``http.listeners`` is
unset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.brokerproc import BrokerProcess
from tests.support.groups import GROUP_OVERRIDES, confluent_conf, create_topic
from tests.support.metrics import http_port, listening_ports, scrape, value
from tests.support.rawclient import RawClient
from tests.support.waiting import WAIT, wait_for
from wire.records import iter_batches

confluent_kafka = pytest.importorskip("confluent_kafka")

TOPICS = ("m-a", "m-b", "m-c")
PER_TOPIC = {"m-a": 2000, "m-b": 1800, "m-c": 1200}  # 5,000 records
EXTRA = 150  # produced to m-b after the group committed: its lag
GROUP = "metrics-group"
BTM = "kafka_server_brokertopicmetrics_"


def _produce(bootstrap: str, counts: dict[str, int], start: int = 0) -> dict[str, int]:
    """Keyed records with a header; returns the records acknowledged per topic."""
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    acked: dict[str, int] = dict.fromkeys(counts, 0)

    def report(err, msg) -> None:  # noqa: ANN001
        assert err is None, err
        acked[msg.topic()] += 1

    for topic, n in counts.items():
        for i in range(start, start + n):
            while True:
                try:
                    p.produce(topic, key=f"k{i % 37}".encode(), value=f"{topic}-{i}".encode() * 3,
                              headers=[("seq", str(i).encode())], on_delivery=report)
                    break
                except BufferError:
                    p.poll(0.05)
    assert p.flush(WAIT) == 0
    return acked


def _consume_all(bootstrap: str, counts: dict[str, int]) -> dict[str, int]:
    """The group reads every record of ``counts`` and commits; returns the records read per topic."""
    c = confluent_kafka.Consumer(confluent_conf(bootstrap, GROUP))
    got: dict[str, int] = dict.fromkeys(counts, 0)
    try:
        c.subscribe(list(counts))

        def step() -> None:
            for m in c.consume(500, 0.2):
                if m.error() is None:
                    got[m.topic()] += 1

        wait_for(lambda: got == counts, step, what=f"the group to read {counts}")
        c.commit(asynchronous=False)
    finally:
        c.close()
    return got


def _log_files(data_dir: Path, topic: str) -> tuple[int, int]:
    """(records, bytes) of the topic's segment files, read from disk."""
    records = size = 0
    for seg in sorted(data_dir.glob(f"{topic}-*/*.log")):
        buf = seg.read_bytes()
        size += len(buf)
        for _, header in iter_batches(buf):
            records += header.last_offset_delta + 1
    return records, size


def _describe(bootstrap: str) -> dict[tuple[str, int], tuple[int, int]]:
    """``kbroker groups describe``: (current offset, lag) per partition."""
    out = subprocess.run([sys.executable, "-m", "kbroker", "groups", "describe", GROUP, "--bootstrap-server",
                          bootstrap], capture_output=True, text=True, timeout=60, cwd=str(ROOT), check=True).stdout
    rows = {}
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("TOPIC"))
    for line in lines[start + 1:]:
        topic, partition, current, _end, lag, *_ = line.split()
        rows[topic, int(partition)] = (int(current), int(lag))
    return rows


@pytest.fixture(scope="module")
def mbroker(tmp_path_factory):
    overrides = dict(GROUP_OVERRIDES, **{"http.listeners": "http://127.0.0.1:0"})
    b = BrokerProcess(tmp_path_factory.mktemp("metrics") / "data", overrides=overrides).start()
    yield b
    b.stop()


def test_counters_match_what_clients_sent_and_read(mbroker) -> None:
    bs = mbroker.bootstrap
    port = http_port(mbroker.log_path)
    assert mbroker.proc is not None and listening_ports(mbroker.proc.pid) == {mbroker.port, port}
    for t in TOPICS:
        create_topic(bs, t, 3)
    assert _produce(bs, PER_TOPIC) == PER_TOPIC
    assert _consume_all(bs, PER_TOPIC) == PER_TOPIC
    s = scrape(port)
    for t in TOPICS:
        records, size = _log_files(mbroker.data_dir, t)
        assert records == PER_TOPIC[t]
        assert value(s, BTM + "messagesin_total", topic=t) == PER_TOPIC[t]
        # bytes in: the record batches appended, exactly the bytes of the topic's segment files
        assert value(s, BTM + "bytesin_total", topic=t) == size
        assert sum(value(s, "kafka_log_log_size", topic=t, partition=str(p)) or 0 for p in range(3)) == size
        assert sum(value(s, "kafka_log_log_logendoffset", topic=t, partition=str(p)) or 0
                   for p in range(3)) == PER_TOPIC[t]
        # bytes out: every batch went to the consumer at least once
        assert (value(s, BTM + "bytesout_total", topic=t) or 0) >= size
    assert value(s, BTM + "messagesin_total") == sum(PER_TOPIC.values())
    assert value(s, BTM + "bytesin_total") == sum(value(s, BTM + "bytesin_total", topic=t) or 0 for t in TOPICS)
    assert value(s, BTM + "bytesout_total") == sum(value(s, BTM + "bytesout_total", topic=t) or 0 for t in TOPICS)
    req = "kafka_network_requestmetrics_"
    for api in ("Produce", "Fetch", "Metadata", "JoinGroup", "OffsetCommit"):
        n = value(s, req + "requests_total", request=api)
        assert n and n > 0, api
        assert value(s, req + "totaltimems_count", request=api) == n
    assert (value(s, "kafka_server_socketservermetrics_connection_creation_total") or 0) > 0

    # lag: more records to one topic after the commit; the scrape and `kbroker groups describe` agree
    assert _produce(bs, {"m-b": EXTRA}, start=PER_TOPIC["m-b"]) == {"m-b": EXTRA}
    s = scrape(port)
    described = _describe(bs)
    assert set(described) == {(t, p) for t in TOPICS for p in range(3)}
    for (t, p), (current, lag) in described.items():
        labels = {"consumergroup": GROUP, "topic": t, "partition": str(p)}
        assert value(s, "kafka_consumergroup_current_offset", **labels) == current
        assert value(s, "kafka_consumergroup_lag", **labels) == lag
    assert sum(lag for (t, _), (_, lag) in described.items() if t == "m-b") == EXTRA
    assert value(s, "kafka_consumergroup_lag_sum", consumergroup=GROUP, topic="m-b") == EXTRA
    assert value(s, BTM + "messagesin_total", topic="m-b") == PER_TOPIC["m-b"] + EXTRA


def test_a_deleted_topic_leaves_the_per_topic_counters(mbroker) -> None:
    from confluent_kafka.admin import AdminClient

    bs, port = mbroker.bootstrap, http_port(mbroker.log_path)
    create_topic(bs, "m-gone", 1)
    assert _produce(bs, {"m-gone": 40}) == {"m-gone": 40}
    s = scrape(port)
    assert value(s, BTM + "messagesin_total", topic="m-gone") == 40
    total = value(s, BTM + "messagesin_total")
    admin = AdminClient({"bootstrap.servers": bs})
    admin.delete_topics(["m-gone"])["m-gone"].result(WAIT)

    def without_topic():  # noqa: ANN202
        got = scrape(port)
        return got if value(got, BTM + "messagesin_total", topic="m-gone") is None else None
    s = wait_for(without_topic, what="the deleted topic's counters to go")
    assert value(s, BTM + "bytesin_total", topic="m-gone") is None
    assert value(s, BTM + "messagesin_total") == total  # the broker total keeps its traffic
    # created again: it counts from zero
    create_topic(bs, "m-gone", 1)
    assert _produce(bs, {"m-gone": 5}) == {"m-gone": 5}
    assert value(scrape(port), BTM + "messagesin_total", topic="m-gone") == 5


def test_no_http_listener_when_unset(tmp_path) -> None:
    b = BrokerProcess(tmp_path / "data").start()
    try:
        assert b.proc is not None
        wait_for(lambda: "kbroker ready on" in b.log_path.read_text(errors="replace"), what="the ready line")
        assert listening_ports(b.proc.pid) == {b.port}
        assert "kbroker http on" not in b.log_path.read_text(errors="replace")
    finally:
        b.stop()


def test_retention_and_cleaner_activity(tmp_path) -> None:
    overrides = {"http.listeners": "http://127.0.0.1:0", "log.retention.check.interval.ms": "200",
                 "log.cleaner.backoff.ms": "200"}
    b = BrokerProcess(tmp_path / "data", overrides=overrides).start()
    try:
        with RawClient.connect(b.bootstrap) as raw:
            raw.create_topic("m-timed", 1, {"segment.bytes": "1024", "retention.ms": "300",
                                            "file.delete.delay.ms": "0"})
            raw.create_topic("m-compacted", 1, {"segment.bytes": "1024", "cleanup.policy": "compact",
                                                "min.cleanable.dirty.ratio": "0.01"})
        p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
        for i in range(120):
            for topic in ("m-timed", "m-compacted"):
                p.produce(topic, key=b"k%d" % (i % 3), value=b"%04d" % i + b"." * 100, partition=0)
            p.flush(10)
        assert p.flush(30) == 0
        port = http_port(b.log_path)
        a = "kafka_log_logmanager_retention_"

        def active() -> dict | None:
            s = scrape(port)
            done = ((value(s, a + "deleted_segments_total") or 0) > 0
                    and (value(s, "kafka_log_logcleaner_cleaner_runs_total") or 0) > 0)
            return s if done else None

        s = wait_for(active, what="a retention pass that deleted segments and a cleaner run", interval=0.3)
        assert (value(s, a + "runs_total") or 0) > 0 and (value(s, a + "deleted_bytes_total") or 0) > 0
        assert (value(s, "kafka_log_logcleaner_cleaned_bytes_total") or 0) > 0
        with RawClient.connect(b.bootstrap) as raw:
            start = raw.list_offset("m-timed", 0, -2).offset
        assert start > 0
        # the gauge reads the log itself (retention may have moved on since the scrape: never backwards)
        assert 0 < (value(s, "kafka_log_log_logstartoffset", topic="m-timed", partition="0") or 0) <= start
    finally:
        b.stop()
