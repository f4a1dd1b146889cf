"""Compacted topics end to end, with real clients over TCP: the background cleaner keeps the latest
value of every key with offsets unchanged (kafka-python and confluent-kafka, producing and consuming,
gzip and lz4 batches), a tombstone goes after delete.retention.ms, and __consumer_offsets is
compacted like any other topic while committed offsets survive."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from confluent_kafka import Consumer as CkConsumer
from confluent_kafka import Producer as CkProducer
from confluent_kafka import TopicPartition as CkTP
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from rawclient import RawClient

from wire.records import iter_batches, iter_records

ROOT = Path(__file__).resolve().parent.parent
JAVA_JARS = ROOT / "compat" / ".cache" / "java"  # kafka-clients-<version>/, fetched by compat/java

KEYS, UPDATES = 100, 200
FAST_CLEANER = {"log.cleaner.backoff.ms": "100", "log.retention.check.interval.ms": "200"}


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def raw_records(bootstrap: str, topic: str, partition: int = 0) -> list:
    """Every record from the log start to the high watermark, read with raw fetches."""
    out = []
    with RawClient.connect(bootstrap) as raw:
        offset = raw.list_offset(topic, partition, -2).offset
        end = raw.list_offset(topic, partition, -1).offset
        while offset < end:
            part = raw.fetch(topic, partition, offset)
            assert part.error_code == 0, part.error_code
            data = bytes(part.records)
            assert data, f"no batch for offset {offset} below the high watermark {end}"
            for pos, header in iter_batches(data):
                out += [r for r in iter_records(data, pos) if r.offset >= offset]
                offset = max(offset, header.next_offset)
    return out


def kafka_python_read(bootstrap: str, topic: str, end: int) -> list[tuple[int, bytes, bytes | None]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                             consumer_timeout_ms=15_000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)  # below the log start? it is 0 here: compaction never moves it
    out = []
    for msg in consumer:
        out.append((msg.offset, msg.key, msg.value))
        if consumer.position(tp) >= end:
            break
    consumer.close()
    return out


def confluent_read(bootstrap: str, topic: str, end: int) -> list[tuple[int, bytes, bytes | None]]:
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
        out.append((msg.offset(), msg.key(), msg.value()))
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
    wait_for(lambda: len(raw_records(broker.bootstrap, "state")) < KEYS * UPDATES / 4, what="the cleaner")
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


def test_tombstone_goes_after_delete_retention(broker_factory) -> None:
    broker = broker_factory(FAST_CLEANER)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    with RawClient.connect(broker.bootstrap) as raw:
        raw.create_topic("tomb", 1, {"cleanup.policy": "compact", "segment.bytes": "1024",
                                     "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "86400000"})
    p = CkProducer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})

    def send(key: bytes, value: bytes | None) -> None:  # one batch per record: segments roll often
        p.produce("tomb", key=key, value=value, partition=0)
        assert p.flush(30) == 0

    for k in "abcdefghij":
        for u in range(5):
            send(k.encode(), f"{k}{u}".encode())
    send(b"c", None)  # the tombstone
    for i in range(30):  # roll segments past the tombstone
        send(b"filler-%d" % (i % 10), b"x" * 40)

    def state() -> dict[bytes, list[bytes | None]]:
        out: dict[bytes, list[bytes | None]] = {}
        for r in raw_records(broker.bootstrap, "tomb"):
            out.setdefault(r.key, []).append(r.value)
        return out

    # cleaned: c's values are gone, its tombstone stays (delete.retention.ms is a day)
    kept = wait_for(lambda: (s := state()) and s.get(b"c") == [None] and s.get(b"a") == [b"a4"] and s,
                    what="c's old values to be cleaned")
    assert kept[b"c"] == [None]
    time.sleep(0.5)  # more cleaner rounds: the tombstone is still not due
    assert state()[b"c"] == [None]
    # lower delete.retention.ms: the tombstone is now older than that, and the next pass drops it
    [fut] = admin.incremental_alter_configs([ConfigResource("topic", "tomb", incremental_configs=[
        ConfigEntry("delete.retention.ms", "100", incremental_operation=AlterConfigOpType.SET)])]).values()
    fut.result()
    final = wait_for(lambda: (s := state()) and b"c" not in s and s, what="the tombstone to go")
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
             what="__consumer_offsets to be compacted")
    broker.restart()
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="committer", enable_auto_commit=False)
    assert c.committed(tp) == 42
    c.close()
