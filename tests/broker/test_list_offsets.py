"""ListOffsets: by timestamp, earliest, latest and max-timestamp, through real clients
(confluent-kafka and kafka-python) and a raw v7 request, before and after a restart.

The data has exact batch boundaries (written with the raw client), timestamps that go
backwards inside a batch, and one partition spread over many small segments with a
dense index, so lookups cross segment and index boundaries.
"""

from __future__ import annotations

import time

import pytest

from tests.support.brokerproc import BrokerProcess
from tests.support.rawclient import RawClient
from wire.records import build_batch

TOPIC = "times"
T0 = (time.time_ns() // 1_000_000 // 1000) * 1000 - 3_600_000  # an hour ago, whole second

# Per partition: batches of relative timestamps (ms after T0).
P0 = [[0, 10, 20], [30, 40], [50], [70, 60, 80], [80, 90], [120, 100, 110]]
P1 = [[5 + 10 * (3 * i + j) for j in range(3)] for i in range(40)]  # 120 records, ~40 batches
P2: list[list[int]] = []  # empty
LAYOUT = {0: P0, 1: P1, 2: P2}


def flat(p: int) -> list[int]:
    """Absolute timestamps by offset."""
    return [T0 + t for batch in LAYOUT[p] for t in batch]


def expected(p: int, target: int) -> tuple[int, int] | None:
    """(offset, timestamp) of the first record whose timestamp >= target."""
    for off, ts in enumerate(flat(p)):
        if ts >= target:
            return off, ts
    return None


def queries(p: int) -> list[int]:
    """Targets: before the first, exactly on each, between each pair, after the last."""
    ts = sorted(set(flat(p))) or [T0]
    out = {ts[0] - 1000, ts[0] - 5, ts[-1] + 1, ts[-1] + 100_000}
    for t in ts:
        out.update((t - 1, t, t + 1))
    return sorted(out)


@pytest.fixture(scope="module")
def tbroker(tmp_path_factory):
    d = tmp_path_factory.mktemp("list_offsets")
    b = BrokerProcess(d / "data").start()
    with RawClient.connect(b.bootstrap) as c:
        # small segments and a dense index for partition 1's many batches
        c.create_topic(TOPIC, 3, {"segment.bytes": "1024", "index.interval.bytes": "100"})
        for p, batches in LAYOUT.items():
            next_offset = 0
            for stamps in batches:
                recs = [(b"k%d" % t, b"v%d" % t, None, T0 + t) for t in stamps]
                r = c.produce(TOPIC, p, build_batch(recs))
                assert r.error_code == 0 and r.base_offset == next_offset
                next_offset += len(stamps)
    assert len(list((d / "data" / f"{TOPIC}-1").glob("*.log"))) > 3, (
        "partition 1 should span several segments"
    )
    yield b
    b.stop()


def check_confluent(bootstrap: str) -> None:
    import confluent_kafka as ck

    c = ck.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "list-offsets-test",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        for p in LAYOUT:
            lo, hi = c.get_watermark_offsets(ck.TopicPartition(TOPIC, p), timeout=10)
            assert (lo, hi) == (0, len(flat(p))), f"partition {p}"
            for t in queries(p):
                # one partition per call: librdkafka keeps one entry per partition
                (tp,) = c.offsets_for_times([ck.TopicPartition(TOPIC, p, t)], timeout=10)
                assert tp.error is None
                want = expected(p, t)
                assert tp.offset == (want[0] if want else -1), f"p{p} T0+{t - T0}"
    finally:
        c.close()


def check_kafka_python(bootstrap: str) -> None:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, request_timeout_ms=10000
    )
    try:
        tps = [TopicPartition(TOPIC, p) for p in LAYOUT]
        assert c.beginning_offsets(tps) == {tp: 0 for tp in tps}
        assert c.end_offsets(tps) == {tp: len(flat(tp.partition)) for tp in tps}
        for p in LAYOUT:
            tp = TopicPartition(TOPIC, p)
            for t in queries(p):
                got = c.offsets_for_times({tp: t})[tp]
                want = expected(p, t)
                if want is None:
                    assert got is None, f"p{p} T0+{t - T0}"
                else:
                    assert got is not None, f"p{p} T0+{t - T0}"
                    assert (got.offset, got.timestamp) == want, f"p{p} T0+{t - T0}"
    finally:
        c.close()


def check_raw(bootstrap: str) -> None:
    with RawClient.connect(bootstrap) as c:
        # timestamps through the raw protocol too, at the lowest and the highest version
        for version in (1, 7):
            for p in LAYOUT:
                for t in queries(p):
                    r = c.list_offset(TOPIC, p, t, version=version)
                    assert r.error_code == 0
                    want = expected(p, t) or (-1, -1)
                    assert (r.offset, r.timestamp) == want, f"v{version} p{p} T0+{t - T0}"
        # MAX_TIMESTAMP (-3), v7+: the first record carrying the largest timestamp,
        # even in the middle of its batch
        r = c.list_offset(TOPIC, 0, -3, version=7)
        assert r.error_code == 0
        assert (r.offset, r.timestamp) == (flat(0).index(T0 + 120), T0 + 120)
        r = c.list_offset(TOPIC, 1, -3, version=7)
        assert (r.offset, r.timestamp) == (len(flat(1)) - 1, flat(1)[-1])
        # earliest (-2) and latest (-1)
        for p in LAYOUT:
            assert c.list_offset(TOPIC, p, -2).offset == 0
            assert c.list_offset(TOPIC, p, -1).offset == len(flat(p))
        assert c.list_offset(TOPIC, 5, -1).error_code == 3  # UNKNOWN_TOPIC_OR_PARTITION
        assert c.list_offset("no-such-topic", 0, -1).error_code == 3


def test_expected_model_sanity():
    assert expected(0, T0 - 1) == (0, T0)
    assert expected(0, T0 + 15) == (2, T0 + 20)
    assert expected(0, T0 + 60) == (6, T0 + 70)  # 60 sits at offset 7, after 70
    assert expected(0, T0 + 95) == (11, T0 + 120)
    assert expected(0, T0 + 121) is None


def test_by_timestamp_confluent(tbroker):
    check_confluent(tbroker.bootstrap)


def test_by_timestamp_kafka_python(tbroker):
    check_kafka_python(tbroker.bootstrap)


def test_raw_and_max_timestamp(tbroker):
    check_raw(tbroker.bootstrap)


def test_same_after_clean_restart(tbroker):
    assert tbroker.stop() == 0
    tbroker.start()
    check_raw(tbroker.bootstrap)
    check_confluent(tbroker.bootstrap)
    check_kafka_python(tbroker.bootstrap)


def test_same_after_crash_restart(tbroker):
    tbroker.kill()  # no clean-shutdown marker: indexes are rebuilt by recovery
    tbroker.start()
    check_raw(tbroker.bootstrap)
    check_kafka_python(tbroker.bootstrap)
