"""Compacted topics end to end, with real clients over TCP: the background cleaner keeps the latest
value of every key with offsets unchanged (kafka-python and confluent-kafka, producing and consuming,
gzip and lz4 batches), a tombstone goes after delete.retention.ms, and __consumer_offsets is
compacted like any other topic while committed offsets survive."""

from __future__ import annotations

import shutil
import subprocess
import time

from confluent_kafka import Consumer as CkConsumer
from confluent_kafka import Producer as CkProducer
from confluent_kafka import TopicPartition as CkTP
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.support import ROOT
from tests.support.rawclient import RawClient
from tests.support.readback import raw_batches, raw_records
from tests.support.waiting import wait_for

JAVA_JARS = ROOT / "compat" / ".cache" / "java"  # kafka-clients-<version>/, fetched by compat/java

KEYS, UPDATES = 100, 200
FAST_CLEANER = {"log.cleaner.backoff.ms": "100", "log.retention.check.interval.ms": "200"}


def kafka_python_read(bootstrap: str, topic: str, end: int, timestamps: bool = False) -> list[tuple]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                             consumer_timeout_ms=15_000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)  # below the log start? it is 0 here: compaction never moves it
    out = []
    for msg in consumer:
        out.append((msg.offset, msg.key, msg.value) + ((msg.timestamp,) if timestamps else ()))
        if consumer.position(tp) >= end:
            break
    consumer.close()
    return out


def confluent_read(bootstrap: str, topic: str, end: int, timestamps: bool = False) -> list[tuple]:
    consumer = CkConsumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{time.time_ns()}",
                           "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([CkTP(topic, 0, 0)])
    out = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            if consumer.position([CkTP(topic, 0)])[0].offset >= end:
                break
            continue
        assert not msg.error(), msg.error()
        out.append((msg.offset(), msg.key(), msg.value()) + ((msg.timestamp()[1],) if timestamps else ()))
        if msg.offset() + 1 >= end or consumer.position([CkTP(topic, 0)])[0].offset >= end:
            break
    consumer.close()
    return out


def java_read(bootstrap: str, topic: str) -> dict[str, list[tuple[int, bytes, bytes | None]]]:
    """The Java consumer's view of the topic, per kafka-clients version whose jars are cached."""
    out: dict[str, list[tuple[int, bytes, bytes | None]]] = {}
    if shutil.which("java") is None:
        return out
    for jars in sorted(JAVA_JARS.glob("kafka-clients-*")):
        if not (jars / ".complete").exists():
            continue
        proc = subprocess.run(["java", "-cp", f"{jars}/*", str(ROOT / "tests" / "java" / "CompactedRead.java"),
                               bootstrap, topic], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = []
        for line in proc.stdout.splitlines():
            offset, key, value = line.split("\t") if not line.startswith("END") else (None, None, None)
            if offset is not None:
                records.append((int(offset), bytes.fromhex(key), None if value == "-" else bytes.fromhex(value)))
        out[jars.name] = records
    return out


def check_compacted(got: list[tuple[int, bytes, bytes | None]], produced: dict[int, tuple[bytes, bytes]],
                    latest: dict[bytes, bytes]) -> None:
    offsets = [o for o, _, _ in got]
    assert offsets == sorted(set(offsets)), "offsets strictly increase"
    for offset, key, value in got:
        assert produced[offset] == (key, value), f"offset {offset} holds what was written there"
    final = {}
    for _, key, value in got:
        final[key] = value
    assert final == latest
    assert len(got) < KEYS * UPDATES / 4, f"{len(got)} records left of {KEYS * UPDATES}"


def test_latest_value_per_key_with_both_clients(broker_factory) -> None:
    broker = broker_factory(FAST_CLEANER)
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("state", 1, {"cleanup.policy": "compact", "segment.bytes": "4096",
                                      "min.cleanable.dirty.ratio": "0.01", "file.delete.delay.ms": "500"})
    produced: dict[int, tuple[bytes, bytes]] = {}
    latest: dict[bytes, bytes] = {}
    # first half with kafka-python (gzip), then the second half with confluent-kafka (lz4)
    kp = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip", linger_ms=2)
    futures = []
    for u in range(UPDATES // 2):
        for k in range(KEYS):
            key, value = b"key-%03d" % k, b"key-%03d=%d" % (k, u)
            futures.append((key, value, kp.send("state", key=key, value=value, partition=0)))
    kp.flush()
    for key, value, fut in futures:
        produced[fut.get(timeout=30).offset] = (key, value)
        latest[key] = value
    kp.close()

    def delivered(err, msg) -> None:
        assert err is None, err
        produced[msg.offset()] = (msg.key(), msg.value())

    cp = CkProducer({"bootstrap.servers": broker.bootstrap, "compression.type": "lz4", "linger.ms": 2})
    for u in range(UPDATES // 2, UPDATES):
        for k in range(KEYS):
            key, value = b"key-%03d" % k, b"key-%03d=%d" % (k, u)
            cp.produce("state", key=key, value=value, partition=0, on_delivery=delivered)
            latest[key] = value
        cp.poll(0)
    assert cp.flush(30) == 0
    assert len(produced) == KEYS * UPDATES
    end = max(produced) + 1

    # the cleaner runs in the background: wait until the closed segments are compacted
    wait_for(lambda: len(raw_records(broker.bootstrap, "state")) < KEYS * UPDATES / 4, what="the cleaner", timeout=60)
    with RawClient.connect(broker.bootstrap) as raw:
        assert raw.list_offset("state", 0, -2).offset == 0, "compaction never moves the log start"
        assert raw.list_offset("state", 0, -1).offset == end
    recs = raw_records(broker.bootstrap, "state")
    check_compacted([(r.offset, r.key, r.value) for r in recs], produced, latest)
    check_compacted(kafka_python_read(broker.bootstrap, "state", end), produced, latest)
    check_compacted(confluent_read(broker.bootstrap, "state", end), produced, latest)
    # the Java consumer, when compat/java has fetched kafka-clients (scripts/install-deps.sh)
    for version, records in java_read(broker.bootstrap, "state").items():
        print(f"Java consumer {version}: {len(records)} records")
        check_compacted(records, produced, latest)
    # and it all survives a restart (the cleaned segments and the cleaner's checkpoint)
    broker.restart()
    check_compacted(confluent_read(broker.bootstrap, "state", end), produced, latest)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TombstoneTopic:
    """A topic with small segments: keys a..j five times each, then a tombstone for c (its produce
    timestamp kept), then fillers that roll segments past it. It is written with
    cleanup.policy=delete and made compacted by ``compact`` (AlterConfigs), so that the moment of
    the first cleaning is known to within the test's own steps."""

    def __init__(self, bootstrap: str, topic: str, delete_retention_ms: int) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        with RawClient.connect(bootstrap) as raw:
            raw.create_topic(topic, 1, {"cleanup.policy": "delete", "segment.bytes": "1024",
                                        "min.cleanable.dirty.ratio": "0.01",
                                        "delete.retention.ms": str(delete_retention_ms)})
        p = CkProducer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        stamps: list[int] = []

        def send(key: bytes, value: bytes | None) -> None:  # one batch per record: segments roll often
            p.produce(topic, key=key, value=value, partition=0,
                      on_delivery=lambda err, msg: stamps.append(msg.timestamp()[1]))
            assert p.flush(30) == 0

        for k in "abcdefghij":
            for u in range(5):
                send(k.encode(), f"{k}{u}".encode())
        send(b"c", None)
        self.tombstone_ts = stamps[-1]
        for i in range(30):
            send(b"filler-%d" % (i % 10), b"x" * 40)

    def state(self) -> dict[bytes, list[bytes | None]]:
        out: dict[bytes, list[bytes | None]] = {}
        for r in raw_records(self.bootstrap, self.topic):
            out.setdefault(r.key, []).append(r.value)
        return out

    def horizon(self) -> int | None:
        """The delete horizon of the batch holding c's tombstone (None while unstamped)."""
        for header, records in raw_batches(self.bootstrap, self.topic):
            if any(r.key == b"c" and r.value is None for r in records):
                return header.delete_horizon_ms
        return None

    def compact(self) -> int:
        """cleanup.policy=compact from now on; returns the wall-clock ms just before the change."""
        before = now_ms()
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        [fut] = admin.incremental_alter_configs([ConfigResource("topic", self.topic, incremental_configs=[
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)])]).values()
        fut.result(30)
        return before

    def wait_cleaned(self) -> int:
        """Until c's values are gone and its tombstone's batch is stamped; returns the horizon."""
        wait_for(lambda: (s := self.state()) and s.get(b"c") == [None] and s.get(b"a") == [b"a4"],
                 what="c's old values to be cleaned", timeout=60)
        return wait_for(self.horizon, what="the tombstone's batch to be stamped with a delete horizon", timeout=60)


def test_stamped_tombstone_batch_reads_the_same_in_clients(broker_factory) -> None:
    """Stamping a delete horizon rewrites the batch's baseTimestamp and its records' timestamp
    deltas: real clients must still see the tombstone with the timestamp it was produced with."""
    broker = broker_factory(FAST_CLEANER)
    t = TombstoneTopic(broker.bootstrap, "tomb-ts", 86_400_000)
    since = t.compact()
    stamped = t.wait_cleaned()
    assert since + 86_400_000 <= stamped <= now_ms() + 86_400_000
    with RawClient.connect(broker.bootstrap) as raw:
        end = raw.list_offset("tomb-ts", 0, -1).offset
    for read in (confluent_read, kafka_python_read):
        got = [r[1:] for r in read(broker.bootstrap, "tomb-ts", end, timestamps=True)]
        assert (b"c", None, t.tombstone_ts) in got, read.__name__
        assert sum(1 for k, _, _ in got if k == b"c") == 1, read.__name__


def test_tombstone_goes_after_delete_retention(broker_factory) -> None:
    """The first cleaning that keeps the tombstone stamps its batch with a delete horizon of that
    moment + delete.retention.ms (Kafka's KIP-534); every read that ends before the horizon still
    finds the tombstone, and a pass after it drops the tombstone."""
    retention = 5000
    broker = broker_factory(FAST_CLEANER)
    t = TombstoneTopic(broker.bootstrap, "tomb", retention)
    state = t.state
    assert set(state()[b"c"]) == {b"c0", b"c1", b"c2", b"c3", b"c4", None}, "not compacted yet"
    since = t.compact()
    stamped = t.wait_cleaned()
    assert since + retention <= stamped <= now_ms() + retention
    while True:  # until the horizon every read finds the tombstone
        seen = state()
        if now_ms() >= stamped:
            break
        assert seen.get(b"c") == [None], "the tombstone went before its delete horizon"
        time.sleep(0.1)
    final = wait_for(lambda: (s := state()) and b"c" not in s and s, what="the tombstone to go", timeout=60)
    assert final[b"a"] == [b"a4"] and final[b"j"] == [b"j4"]
    # a consumer from the beginning sees no trace of c
    c = CkConsumer({"bootstrap.servers": broker.bootstrap, "group.id": "t", "auto.offset.reset": "earliest",
                    "enable.auto.commit": False})
    c.assign([CkTP("tomb", 0, 0)])
    keys = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            break
        assert not msg.error()
        keys.add(msg.key())
    c.close()
    assert b"a" in keys and b"c" not in keys


def test_consumer_offsets_are_compacted(broker_factory) -> None:
    broker = broker_factory({**FAST_CLEANER, "offsets.topic.num.partitions": "1",
                             "offsets.topic.segment.bytes": "4096", "log.cleaner.min.cleanable.ratio": "0.01"})
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("work", 1, {})
    p = CkProducer({"bootstrap.servers": broker.bootstrap})
    for i in range(50):
        p.produce("work", value=b"%d" % i, partition=0)
    assert p.flush(30) == 0
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="committer", enable_auto_commit=False)
    tp = TopicPartition("work", 0)
    c.assign([tp])
    from kafka.structs import OffsetAndMetadata

    for i in range(1, 301):  # 300 commits of the same key: one record each in __consumer_offsets
        c.commit({tp: OffsetAndMetadata(i % 50 + 1, "", -1)})
    c.commit({tp: OffsetAndMetadata(42, "", -1)})
    c.close()
    wait_for(lambda: len(raw_records(broker.bootstrap, "__consumer_offsets")) < 100,
             what="__consumer_offsets to be compacted", timeout=60)
    broker.restart()
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="committer", enable_auto_commit=False)
    assert c.committed(tp) == 42
    c.close()
