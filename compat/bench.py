"""Throughput benchmark: produce and fetch through a real kbroker with confluent-kafka.

    python -m compat.bench [--records N] [--size BYTES] [--transfer pread|sendfile|both] [--kafka] [--cluster]

Starts a broker per fetch transfer mode on a free loopback port — and, with --kafka,
the reference Apache Kafka (compat/kafka_ref) — produces N records of SIZE bytes
(acks=all, linger 5 ms, batches up to 1 MiB) to a 1-partition topic, then consumes
them all from offset 0, and prints MB/s and records/s for each phase and the ratio
kbroker / Kafka.  ``--cluster``: also a 3-broker kbroker cluster with ZooKeeper
(compat.cluster.launcher), the topic replicated 3 times with min.insync.replicas=2, the same
acks=all producer and consumer (pread transfer).  Results go in compat/BENCHMARKS.md, with the machine they were
taken on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.support.brokerproc import BrokerProcess


def run(target: str, records: int, size: int) -> dict[str, float]:
    import confluent_kafka as ck
    import confluent_kafka.admin  # noqa: F401

    with tempfile.TemporaryDirectory() as d:
        rf, configs = 1, {}
        if target == "kafka":
            from compat.kafka_ref.launcher import KafkaRef

            b = KafkaRef().start()
        elif target == "cluster":
            from compat.cluster.launcher import Cluster

            b = Cluster(Path(d), brokers=3).start()
            rf, configs = 3, {"min.insync.replicas": "2"}
        else:
            b = BrokerProcess(Path(d) / "data", overrides={"fetch.transfer": target}).start()
        try:
            topic = "bench"
            admin = ck.admin.AdminClient({"bootstrap.servers": b.bootstrap})
            admin.create_topics([ck.admin.NewTopic(topic, 1, rf, config=configs)])[topic].result(30)
            if target == "cluster":
                b.wait_isr_full(topic)
            payload = b"x" * size
            p = ck.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5,
                             "batch.size": 1 << 20, "queue.buffering.max.messages": 1_000_000})
            t0 = time.perf_counter()
            for _i in range(records):
                while True:
                    try:
                        p.produce(topic, payload)
                        break
                    except BufferError:
                        p.poll(0.01)
            assert p.flush(60) == 0
            t_prod = time.perf_counter() - t0
            c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "bench", "enable.auto.commit": False,
                             "fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 10485760})
            c.assign([ck.TopicPartition(topic, 0, 0)])
            n = 0
            t0 = time.perf_counter()
            while n < records:
                msgs = c.consume(10000, 5)
                n += sum(1 for m in msgs if m.error() is None)
            t_cons = time.perf_counter() - t0
            c.close()
        finally:
            b.stop()
    mb = records * size / 1e6
    return {"produce_MBps": mb / t_prod, "produce_rps": records / t_prod,
            "consume_MBps": mb / t_cons, "consume_rps": records / t_cons}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--transfer", default="both", choices=["pread", "sendfile", "both"])
    ap.add_argument("--kafka", action="store_true", help="also run the reference Apache Kafka")
    ap.add_argument("--cluster", action="store_true", help="also a 3-broker cluster, replication factor 3")
    args = ap.parse_args()
    modes = ["pread", "sendfile"] if args.transfer == "both" else [args.transfer]
    if args.cluster:
        modes.append("cluster")
    if args.kafka:
        modes.append("kafka")
    results = {}
    for m in modes:
        r = results[m] = run(m, args.records, args.size)
        print(f"{m:8s} produce {r['produce_MBps']:8.1f} MB/s {r['produce_rps']:10.0f} rec/s | "
              f"consume {r['consume_MBps']:8.1f} MB/s {r['consume_rps']:10.0f} rec/s", flush=True)
    if "kafka" in results:
        k = results["kafka"]
        for m in [m for m in modes if m not in ("kafka", "cluster")]:
            r = results[m]
            print(f"{m} / kafka: produce {r['produce_MBps'] / k['produce_MBps']:.2f}x, "
                  f"consume {r['consume_MBps'] / k['consume_MBps']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
