"""Durability: what a producer was told is written survives SIGTERM, kill -9 and a torn
log tail, at the offsets it was told; offsets continue from the log end afterwards.

Real broker processes and real clients (confluent-kafka to produce, kafka-python to
read back); the raw client only where exact batch bytes matter.  Every wait is bounded.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.support.rawclient import RawClient
from wire.records import build_batch, crc_ok, decode_batch, iter_batches

TOPIC = "durable"
PARTITIONS = 3


def wait_until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class AckedProducer(threading.Thread):
    """Produces numbered keyed records with acks=all until stopped; records exactly which
    (partition, offset, value) were acknowledged.  One request in flight per connection,
    so a partition's acknowledged records are in production order."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.topic = topic
        self.acked: list[tuple[int, int, int, bytes]] = []  # (seq, partition, offset, value)
        self.failed = 0
        self.produced = 0
        self.unflushed = -1
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def _on_delivery(self, err, msg) -> None:
        if err is not None:
            self.failed += 1
            return
        seq = int(msg.key()[1:])
        self.acked.append((seq, msg.partition(), msg.offset(), msg.value()))

    def run(self) -> None:
        import confluent_kafka as ck

        try:
            p = ck.Producer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "acks": "all",
                    "enable.idempotence": False,
                    "max.in.flight.requests.per.connection": 1,
                    "linger.ms": 2,
                    "message.timeout.ms": 60000,
                    "retry.backoff.ms": 50,
                    "reconnect.backoff.ms": 50,
                    "reconnect.backoff.max.ms": 300,
                    "queue.buffering.max.messages": 5000,
                    "log_level": 0,
                }
            )
            i = 0
            while not self.stop_event.is_set():
                try:
                    p.produce(
                        self.topic, key=b"k%d" % i, value=b"value-%08d" % i, on_delivery=self._on_delivery
                    )
                except BufferError:
                    p.poll(0.05)
                    continue
                i += 1
                self.produced = i
                p.poll(0)
                if i % 200 == 0:
                    time.sleep(0.005)  # leave the broker (and the test) some CPU
            self.unflushed = p.flush(60)
        except BaseException as e:  # surfaced by the test
            self.error = e

    def finish(self) -> None:
        self.stop_event.set()
        self.join(90)
        assert not self.is_alive(), "producer thread did not finish"
        if self.error is not None:
            raise self.error


def create_topic(bootstrap: str, name: str, partitions: int, configs: dict[str, str] | None = None) -> None:
    with RawClient.connect(bootstrap) as c:
        c.create_topic(name, partitions, configs)


def read_all(bootstrap: str, topic: str, partitions: int, timeout: float = 60) -> dict[int, list]:
    """Every record of every partition from offset 0 to the end offset, with kafka-python."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        request_timeout_ms=10000,
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, 0)
        ends = c.end_offsets(tps)
        out: dict[int, list] = {p: [] for p in range(partitions)}
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "reading back timed out"
            for tp, msgs in c.poll(timeout_ms=500).items():
                out[tp.partition].extend(msgs)
        return out
    finally:
        c.close()


def check_log_against_acks(log: dict[int, list], acked: list[tuple[int, int, int, bytes]]) -> None:
    for p, msgs in log.items():
        # the log is dense: offsets 0..end-1, no gaps
        assert [m.offset for m in msgs] == list(range(len(msgs))), f"partition {p} has gaps"
    by_partition: dict[int, list] = {p: [] for p in log}
    for seq, p, off, value in acked:
        by_partition[p].append((seq, off, value))
    for p, acks in by_partition.items():
        msgs = log[p]
        offsets = [off for _, off, _ in acks]
        assert len(set(offsets)) == len(offsets), f"partition {p}: an offset was acknowledged twice"
        for seq, off, value in acks:
            assert off < len(msgs), f"partition {p}: acknowledged offset {off} lost (log end {len(msgs)})"
            assert msgs[off].value == value, f"partition {p} offset {off}: {msgs[off].value!r} != {value!r}"
            assert msgs[off].key == b"k%d" % seq
        # in order: in production order, a partition's acknowledged offsets only go up
        acks.sort()
        assert [off for _, off, _ in acks] == sorted(offsets), f"partition {p}: acknowledged out of order"


def check_appends_continue(bootstrap: str, topic: str, ends: dict[int, int]) -> None:
    """New records land exactly at the previous log end of each partition."""
    import confluent_kafka as ck

    got: list[tuple[int, int, bytes]] = []

    def cb(err, msg):
        assert err is None, err
        got.append((msg.partition(), msg.offset(), msg.value()))

    p = ck.Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "message.timeout.ms": 30000,
            "max.in.flight.requests.per.connection": 1,
            "log_level": 0,
        }
    )
    for part in ends:
        for j in range(3):
            p.produce(topic, value=b"after-%d-%d" % (part, j), partition=part, on_delivery=cb)
        assert p.flush(30) == 0
    for part, end in ends.items():
        mine = sorted((off, v) for pp, off, v in got if pp == part)
        assert [off for off, _ in mine] == [end, end + 1, end + 2], f"partition {part}"
    log = read_all(bootstrap, topic, len(ends))
    for part, end in ends.items():
        assert len(log[part]) == end + 3
        assert [m.value for m in log[part][end:]] == [b"after-%d-%d" % (part, j) for j in range(3)]


# ---------------------------------------------------------------- producer vs. SIGTERM / kill -9


@pytest.mark.parametrize("how", ["sigterm", "kill"])
def test_acknowledged_records_survive(broker_factory, how):
    b = broker_factory()
    create_topic(b.bootstrap, TOPIC, PARTITIONS)
    prod = AckedProducer(b.bootstrap, TOPIC)
    prod.start()
    try:
        wait_until(lambda: len(prod.acked) >= 3000 or not prod.is_alive(), 60, "3000 acknowledgements")
        if how == "sigterm":
            assert b.stop() == 0, b.log()
        else:
            b.kill()
        assert prod.is_alive(), prod.error
        # in flight at the stop: produced but not acknowledged (the stop was mid-stream)
        at_stop = len(prod.acked)
        b.start()
        # the same producer carries on against the restarted broker
        wait_until(
            lambda: len(prod.acked) >= at_stop + 1000 or not prod.is_alive(),
            60,
            "acknowledgements after the restart",
        )
    finally:
        prod.finish()
    assert prod.unflushed == 0
    assert len(prod.acked) >= at_stop + 1000

    log = read_all(b.bootstrap, TOPIC, PARTITIONS)
    check_log_against_acks(log, prod.acked)
    assert sum(len(m) for m in log.values()) >= len(prod.acked)
    check_appends_continue(b.bootstrap, TOPIC, {p: len(m) for p, m in log.items()})


# ---------------------------------------------------------------- torn tail


def raw_read_all(c: RawClient, topic: str, partition: int) -> tuple[list[tuple[int, bytes]], int]:
    """(offset, value) of every record, checking each batch's CRC, and the high watermark."""
    out: list[tuple[int, bytes]] = []
    offset = 0
    for _ in range(1000):
        pd = c.fetch(topic, partition, offset)
        assert pd.error_code == 0, pd
        data = bytes(pd.records or b"")
        for pos, header in iter_batches(data):
            assert crc_ok(data, pos, header), f"batch at offset {header.base_offset} fails its CRC"
            for r in decode_batch(data, pos)[1]:
                out.append((r.offset, r.value))
                offset = r.offset + 1
        if offset >= pd.high_watermark:
            return out, pd.high_watermark
    raise AssertionError("fetch made no progress")


def last_segment(data_dir: Path, topic: str, partition: int) -> Path:
    logs = sorted((data_dir / f"{topic}-{partition}").glob("*.log"))
    assert logs and all(len(p.stem) == 20 for p in logs)
    return logs[-1]


def _torn_batch(kind: str, base_offset: int) -> bytes:
    """What a torn append leaves: the batch that would come next, cut short or damaged."""
    batch = bytearray(build_batch([(b"torn", b"x" * 100, None, None)] * 4, base_offset=base_offset))
    if kind == "partial":
        return bytes(batch[:30])
    batch[70] ^= 0x10  # a record byte: the batch parses but fails its CRC-32C
    return bytes(batch)


@pytest.mark.parametrize(
    ("how", "kind"),
    [("sigterm", "partial"), ("kill", "partial"), ("kill", "bad_crc"), ("kill", "partial+bad_crc")],
)
def test_torn_tail_is_cut(broker_factory, how, kind):
    # small segments so the damaged segment is not the first one
    b = broker_factory({"log.segment.bytes": "1000"})
    with RawClient.connect(b.bootstrap) as c:
        c.create_topic("torn", 2)
        for i in range(30):
            for p in range(2):
                recs = [(b"k", b"p%d-r%d-%d" % (p, i, j), None, None) for j in range(i % 3 + 1)]
                assert c.produce("torn", p, build_batch(recs)).error_code == 0
        before, end = raw_read_all(c, "torn", 0)
        other_before, _ = raw_read_all(c, "torn", 1)
    seg = last_segment(b.data_dir, "torn", 0)
    assert seg.stem != "0" * 20, "expected several segments"
    if how == "sigterm":
        assert b.stop() == 0
    else:
        b.kill()
    size = seg.stat().st_size
    with open(seg, "ab") as f:
        if kind == "partial+bad_crc":
            f.write(_torn_batch("bad_crc", end) + _torn_batch("partial", end + 4))
        else:
            f.write(_torn_batch(kind, end))
    assert seg.stat().st_size > size
    b.start()
    with RawClient.connect(b.bootstrap) as c:
        assert c.list_offset("torn", 0, -1).offset == end
        assert c.list_offset("torn", 0, -2).offset == 0
        after, hw = raw_read_all(c, "torn", 0)
        assert hw == end
        assert after == before
        assert raw_read_all(c, "torn", 1)[0] == other_before
        r = c.produce("torn", 0, build_batch([(b"k", b"new-1", None, None), (b"k", b"new-2", None, None)]))
        assert r.error_code == 0 and r.base_offset == end
        after, hw = raw_read_all(c, "torn", 0)
        assert hw == end + 2
        assert after == before + [(end, b"new-1"), (end + 1, b"new-2")]
    # and all of it again after one more (clean) restart
    assert b.stop() == 0
    b.start()
    with RawClient.connect(b.bootstrap) as c:
        assert raw_read_all(c, "torn", 0) == (before + [(end, b"new-1"), (end + 1, b"new-2")], end + 2)


# ---------------------------------------------------------------- clean restart keeps offsets


def test_clean_restart_keeps_offsets(broker_factory):
    import confluent_kafka as ck

    b = broker_factory({"log.segment.bytes": "1000"})
    create_topic(b.bootstrap, "kept", 2)
    t0 = (time.time_ns() // 1_000_000) - 600_000
    p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0, "log_level": 0})
    for i in range(300):
        p.produce("kept", value=b"v%d" % i, partition=i % 2, timestamp=t0 + i)
        if i % 50 == 49:
            assert p.flush(30) == 0
    assert p.flush(30) == 0

    def snapshot() -> dict:
        c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "kept-check", "log_level": 0})
        try:
            marks = {q: c.get_watermark_offsets(ck.TopicPartition("kept", q), timeout=10) for q in range(2)}
            times = {}
            for q in range(2):
                for t in (t0 - 1, t0 + 101, t0 + 250, t0 + 10_000):
                    (tp,) = c.offsets_for_times([ck.TopicPartition("kept", q, t)], timeout=10)
                    times[q, t] = tp.offset
            return {"marks": marks, "times": times}
        finally:
            c.close()

    first = snapshot()
    assert first["marks"] == {0: (0, 150), 1: (0, 150)}
    assert first["times"][0, t0 + 101] == 51 and first["times"][1, t0 + 101] == 50
    assert first["times"][0, t0 + 10_000] == -1
    assert len(list((b.data_dir / "kept-0").glob("*.log"))) > 1
    assert b.stop() == 0
    b.start()
    assert snapshot() == first
    b.kill()
    b.start()
    assert snapshot() == first
