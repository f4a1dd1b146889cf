"""Cleaner throughput on a large compacted log, built directly with storage + wire.records.

    python -m compat.bench_cleaner                    # 1 GiB, uncompressed, 1 KiB values
    python -m compat.bench_cleaner --codec lz4        # the same records in lz4 batches
    python -m compat.bench_cleaner --size-mb 256 --keys 20000 --dir /tmp/x

The log gets ``--keys`` keys updated round-robin in batches of ``--batch`` records of
``--value-bytes`` each, until it holds ``--size-mb`` MiB, in segments of ``--segment-mb`` MiB; the
last round's records land in the active segment, which is never cleaned. Then one forced cleaning
pass runs (``storage.cleaner.clean``, the same code the broker runs on a worker thread) and the
result is checked (every key's last value present, offsets increasing). Reported: MB/s of log read
by the pass (bytes of the closed segments / wall time), split into the key-map and rewrite phases.
No broker, no network: this measures the cleaner alone.

    python -m compat.bench_cleaner --against kbroker   # the same log through a running broker
    python -m compat.bench_cleaner --against kafka     # ... and through Apache Kafka (compat/kafka_ref)

With ``--against``, a broker is started, a compacted topic is filled through confluent-kafka with
``min.compaction.lag.ms`` so high that nothing is cleaned yet, then IncrementalAlterConfigs sets it to
0 and the time until the broker's cleaner checkpoint reaches the active segment is measured (polled
every 20 ms; ``log.cleaner.backoff.ms`` is 100 on both; the data is synced to disk before). Same data, same procedure on both brokers,
so the ratio is fair; the absolute figure includes the cleaner's start-up latency.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from storage import PartitionLog
from storage.cleaner import clean, read_checkpoint
from tests.support.policies import cleaner_config, log_config
from wire.compression import CODEC_NAMES
from wire.records import build_batch, iter_batches, iter_records

CODECS = {name: codec for codec, name in CODEC_NAMES.items()}


def build(directory: Path, args: argparse.Namespace) -> tuple[PartitionLog, dict[bytes, bytes]]:
    config = log_config(segment_bytes=args.segment_mb << 20)
    log = PartitionLog(directory, config)
    target = args.size_mb << 20
    codec = CODECS[args.codec]
    filler = os.urandom(args.value_bytes * 64)  # values: slices of random bytes (incompressible-ish)
    latest: dict[bytes, bytes] = {}
    now = int(time.time() * 1000)
    i = 0
    while log.size_bytes < target:
        records = []
        for _ in range(args.batch):
            key = b"key-%08d" % (i % args.keys)
            start = (i * 7919) % (len(filler) - args.value_bytes)
            value = b"%012d" % i + filler[start : start + args.value_bytes - 12]
            records.append((key, value, None, now))
            latest[key] = value
            i += 1
        log.append(bytearray(build_batch(records, compression=codec)), now)
    # one more round of every key so that the active segment holds each key's last value
    for first in range(0, args.keys, args.batch):
        records = []
        for k in range(first, min(first + args.batch, args.keys)):
            key, value = b"key-%08d" % k, b"final-%d" % k
            records.append((key, value, None, now))
            latest[key] = value
        log.append(bytearray(build_batch(records, compression=codec)), now)
    return log, latest


def verify(log: PartitionLog, latest: dict[bytes, bytes]) -> int:
    seen: dict[bytes, bytes | None] = {}
    last = -1
    offset = log.log_start_offset
    count = 0
    while offset < log.log_end_offset:
        data = log.read_bytes(offset, 8 << 20)
        for pos, header in iter_batches(data):
            for record in iter_records(data, pos):
                assert record.offset > last
                last = record.offset
                seen[record.key] = record.value  # type: ignore[index]
                count += 1
            offset = header.next_offset
    assert seen == latest, "every key keeps its last value"
    return count


def against(args: argparse.Namespace) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

    segment = str(args.segment_mb << 20)
    overrides = {"log.cleaner.backoff.ms": "100"}
    if args.against == "kafka":
        from compat.kafka_ref.launcher import KafkaRef

        ref = KafkaRef(overrides={**overrides, "message.max.bytes": "10485760"}, heap="2g").start()
        bootstrap, data_dir, stop = ref.bootstrap, ref.dir / "data", ref.stop
    else:
        from tests.support.brokerproc import BrokerProcess

        root = Path(tempfile.mkdtemp(prefix="bench-cleaner-", dir=args.dir))
        proc = BrokerProcess(root / "data", overrides=overrides).start()
        bootstrap, data_dir = proc.bootstrap, root / "data"

        def stop() -> None:
            proc.stop()
            for line in proc.log().splitlines():
                if "cleaned bench-0" in line:
                    print("kbroker:", line.split(" kbroker.cleaner: ")[-1])
            shutil.rmtree(root, ignore_errors=True)

    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        configs = {"cleanup.policy": "compact", "segment.bytes": segment, "min.cleanable.dirty.ratio": "0.01",
                   "min.compaction.lag.ms": str(10**12)}
        [fut] = admin.create_topics([NewTopic("bench", 1, 1, config=configs)]).values()
        fut.result()
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 16384,
                             "queue.buffering.max.kbytes": 262144, "enable.idempotence": False})
        filler = os.urandom(args.value_bytes * 64)
        target, sent, i = args.size_mb << 20, 0, 0
        t0 = time.perf_counter()
        while sent < target:
            key = b"key-%08d" % (i % args.keys)
            start = (i * 7919) % (len(filler) - args.value_bytes)
            value = b"%012d" % i + filler[start : start + args.value_bytes - 12]
            while True:
                try:
                    producer.produce("bench", key=key, value=value, partition=0)
                    break
                except BufferError:
                    producer.poll(0.05)
            sent += len(key) + len(value) + 20
            i += 1
        for k in range(args.keys):
            while True:
                try:
                    producer.produce("bench", key=b"key-%08d" % k, value=b"final-%d" % k, partition=0)
                    break
                except BufferError:
                    producer.poll(0.05)
        assert producer.flush(120) == 0
        produce_s = time.perf_counter() - t0
        part = data_dir / "bench-0"
        logs = sorted(p for p in part.iterdir() if p.name.endswith(".log"))
        active = int(logs[-1].name[:20])
        closed = sum(p.stat().st_size for p in logs[:-1])
        print(f"{args.against}: produced {i + args.keys} records in {produce_s:.1f} s; {closed / 2**20:.0f} MiB "
              f"in {len(logs) - 1} closed segments, active segment from offset {active}")
        os.sync()  # the produced gigabyte on disk first: writeback would otherwise compete with the pass
        [fut] = admin.incremental_alter_configs([ConfigResource("topic", "bench", incremental_configs=[
            ConfigEntry("min.compaction.lag.ms", "0", incremental_operation=AlterConfigOpType.SET)])]).values()
        fut.result()
        t0 = time.perf_counter()
        deadline = t0 + 1800
        while time.perf_counter() < deadline:
            if _cleaned_to(data_dir, part) >= active:
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
        after = sum(p.stat().st_size for p in part.iterdir() if p.name.endswith(".log"))
        print(f"{args.against}: cleaned {closed / 1e6:.0f} MB in {seconds:.2f} s = {closed / 1e6 / seconds:.1f} MB/s "
              f"(log {after / 1e6:.1f} MB after)")
    finally:
        stop()


def _cleaned_to(data_dir: Path, part: Path) -> int:
    """First dirty offset of bench-0 from Kafka's (per log dir) or kbroker's (per partition) checkpoint."""
    try:
        kafka = (data_dir / "cleaner-offset-checkpoint").read_text().split("\n")
        for line in kafka[2:]:
            fields = line.split()
            if len(fields) == 3 and fields[0] == "bench" and fields[1] == "0":
                return int(fields[2])
    except OSError:
        pass
    try:
        return read_checkpoint(part)[0]
    except OSError:
        return -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--segment-mb", type=int, default=128)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--value-bytes", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--codec", choices=sorted(CODECS), default="none")
    ap.add_argument("--dir", type=Path, default=None, help="where to build the log (default: a temp dir)")
    ap.add_argument("--against", choices=["kbroker", "kafka"], default=None,
                    help="fill and clean the log through a running broker instead")
    args = ap.parse_args()
    if args.against:
        against(args)
        return
    root = Path(tempfile.mkdtemp(prefix="bench-cleaner-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        log, latest = build(root / "bench-0", args)
        build_s = time.perf_counter() - t0
        closed = sum(s.size for s in log.segments[:-1])
        records_before = log.log_end_offset
        print(f"built {log.size_bytes / 2**20:.0f} MiB ({closed / 2**20:.0f} MiB in {len(log.segments) - 1} closed "
              f"segments), {records_before} records, {args.keys} keys, codec {args.codec} in {build_s:.1f} s")
        log.flush()
        marks: dict[str, float] = {}

        def hook(step: str) -> None:
            marks.setdefault(step, time.perf_counter())

        t0 = time.perf_counter()
        stats = clean(log, cleaner_config(min_cleanable_ratio=0.0, file_delete_delay_ms=0), int(time.time() * 1000),
                      force=True, hook=hook)
        seconds = time.perf_counter() - t0
        assert stats is not None
        map_s = marks.get("cleaned_partial", t0 + seconds) - t0
        log.reap_retired(0, force=True)
        kept = verify(log, latest)
        mb = stats.bytes_read / 1e6
        print(f"cleaned {mb:.0f} MB in {seconds:.2f} s = {mb / seconds:.1f} MB/s "
              f"(key map {map_s:.2f} s, rewrite and swaps {seconds - map_s:.2f} s)")
        print(f"records {stats.records_read} -> {stats.records_kept} kept, {stats.batches_emptied} batches emptied "
              f"({stats.empty_batches_merged} merged away), segments {stats.segments_before} -> "
              f"{stats.segments_after}, {stats.bytes_written / 1e6:.1f} MB written; {kept} records readable")
        log.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
