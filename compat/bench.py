"""Throughput benchmark: produce and fetch through a real kbroker with confluent-kafka.

    python -m compat.bench [--records N] [--size BYTES] [--transfer pread|sendfile|both] [--kafka] [--cluster]
    python -m compat.bench --clusters [--rounds R] [--records N] [--size BYTES] [--warmup N]
                           [--latency-rate RPS] [--latency-seconds S] [--latency-settle SETTLE]

Starts a broker per fetch transfer mode on a free loopback port — and, with --kafka,
the reference Apache Kafka (compat/kafka_ref) — produces N records of SIZE bytes
(acks=all, linger 5 ms, batches up to 1 MiB) to a 1-partition topic, then consumes
them all from offset 0, and prints MB/s and records/s for each phase and the ratio
kbroker / Kafka.  ``--cluster``: also a 3-broker kbroker cluster with ZooKeeper
(compat.cluster.launcher), the topic replicated 3 times with min.insync.replicas=2, the same
acks=all producer and consumer (pread transfer).

``--clusters``: 3 brokers against 3 brokers, nothing else — the kbroker cluster above and a 3-node
Apache Kafka KRaft cluster (compat.cluster.kafka), started fresh for each round, one system up at a
time, alternating kbroker, Kafka, kbroker, Kafka, ... for R rounds each.  Each round runs the same
load: (optionally) WARMUP records to another topic, untimed; the produce and consume phases above
with every delivery's latency (produce() to acknowledgement, as librdkafka reports it — under a
producer that outruns the broker this is mostly time queued in the client); then RPS records/s,
paced, for SETTLE seconds uncounted (right after the bulk phase a JVM is still compiling and
collecting) and S seconds counted, whose latencies are the broker's acks=all round trip plus linger.  It prints each
round (with the 1-minute load average at its start), the medians per system and kbroker / Kafka.

Results go in compat/BENCHMARKS.md, with the machine they were taken on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.support.brokerproc import BrokerProcess

CLUSTER_TOPIC_CONFIG = {"min.insync.replicas": "2"}


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100): the smallest value with at least q% of the
    values at or below it."""
    if not values:
        raise ValueError("no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} outside (0, 100]")
    ordered = sorted(values)
    rank = -(-len(ordered) * q // 100)  # ceil without floats for whole q
    return ordered[max(int(rank), 1) - 1]


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Per metric, the median over the rounds that have it."""
    keys = {k for r in rounds for k in r}
    return {k: statistics.median([r[k] for r in rounds if k in r]) for k in sorted(keys)}


def ratios(ours: dict[str, float], theirs: dict[str, float]) -> dict[str, float]:
    """ours / theirs for every metric both have (and theirs is not zero)."""
    return {k: ours[k] / theirs[k] for k in ours if k in theirs and theirs[k]}


def _start(target: str, workdir: Path):
    """The broker or cluster ``target`` names, started; with its topic replication factor and configs."""
    if target == "kafka":
        from compat.kafka_ref.launcher import KafkaRef

        return KafkaRef().start(), 1, {}
    if target == "kafka-cluster":
        from compat.cluster.kafka import KafkaCluster

        return KafkaCluster(workdir, nodes=3).start(), 3, CLUSTER_TOPIC_CONFIG
    if target == "cluster":
        from compat.cluster.launcher import Cluster

        c = Cluster(workdir, brokers=3)
        try:
            c.start()
        except BaseException:
            c.stop()
            raise
        return c, 3, CLUSTER_TOPIC_CONFIG
    return BrokerProcess(workdir / "data", overrides={"fetch.transfer": target}).start(), 1, {}


def _producer(bootstrap: str, on_delivery=None):
    import confluent_kafka as ck

    conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
            "batch.size": 1 << 20, "queue.buffering.max.messages": 1_000_000}
    if on_delivery is not None:
        conf["on_delivery"] = on_delivery
    return ck.Producer(conf)


def _create_topic(b, topic: str, rf: int, configs: dict[str, str]) -> None:
    import confluent_kafka.admin as cka

    admin = cka.AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([cka.NewTopic(topic, 1, rf, config=configs)])[topic].result(30)
    if rf > 1:
        b.wait_isr_full(topic)


def measure(b, rf: int, configs: dict[str, str], records: int, size: int, latency: bool = False,
            warmup: int = 0, paced_rate: int = 0, paced_seconds: float = 0,
            paced_settle: float = 0) -> dict[str, float]:
    """The load against a started broker or cluster ``b``; see the module's docstring."""
    import confluent_kafka as ck

    payload = b"x" * size
    if warmup:
        _create_topic(b, "warmup", rf, configs)
        w = _producer(b.bootstrap)
        for _i in range(warmup):
            while True:
                try:
                    w.produce("warmup", payload)
                    break
                except BufferError:
                    w.poll(0.01)
        assert w.flush(60) == 0
    topic = "bench"
    _create_topic(b, topic, rf, configs)
    lat: list[float] = []
    failed: list[object] = []

    def delivered(err, msg) -> None:
        if err is None:
            lat.append(msg.latency())
        else:
            failed.append(err)

    p = _producer(b.bootstrap, delivered if latency else None)
    t0 = time.perf_counter()
    for i in range(records):
        while True:
            try:
                p.produce(topic, payload)
                break
            except BufferError:
                p.poll(0.01)
        if latency and i % 1000 == 0:
            p.poll(0)  # latency() is read when the callback runs: serve the callbacks as they come
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
    mb = records * size / 1e6
    out = {"produce_MBps": mb / t_prod, "produce_rps": records / t_prod,
           "consume_MBps": mb / t_cons, "consume_rps": records / t_cons}
    if latency:
        if failed:
            raise RuntimeError(f"{len(failed)} deliveries failed, first: {failed[0]}")
        out["produce_p50_ms"] = percentile(lat, 50) * 1e3
        out["produce_p99_ms"] = percentile(lat, 99) * 1e3
    if paced_rate and paced_seconds:
        def paced(n: int) -> None:
            t0 = time.perf_counter()
            for i in range(n):
                due = t0 + i / paced_rate
                while (delay := due - time.perf_counter()) > 0:
                    p.poll(delay)  # waits at most ``delay``, serving acknowledgements meanwhile
                p.produce(topic, payload)
                p.poll(0)
            assert p.flush(60) == 0

        paced(int(paced_rate * paced_settle))
        lat.clear()
        paced(int(paced_rate * paced_seconds))
        if failed:
            raise RuntimeError(f"{len(failed)} paced deliveries failed, first: {failed[0]}")
        out["paced_p50_ms"] = percentile(lat, 50) * 1e3
        out["paced_p99_ms"] = percentile(lat, 99) * 1e3
    return out


def run(target: str, records: int, size: int, **load) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        b, rf, configs = _start(target, Path(d))
        try:
            return measure(b, rf, configs, records, size, **load)
        finally:
            b.stop()


def _line(name: str, r: dict[str, float]) -> str:
    s = (f"{name:14s} produce {r['produce_MBps']:7.1f} MB/s {r['produce_rps']:9.0f} rec/s | "
         f"consume {r['consume_MBps']:7.1f} MB/s {r['consume_rps']:9.0f} rec/s")
    if "produce_p99_ms" in r:
        s += f" | load p50/p99 {r['produce_p50_ms']:7.1f} / {r['produce_p99_ms']:7.1f} ms"
    if "paced_p99_ms" in r:
        s += f" | paced p50/p99 {r['paced_p50_ms']:5.1f} / {r['paced_p99_ms']:5.1f} ms"
    return s


def clusters(args: argparse.Namespace) -> int:
    systems = {"kbroker": "cluster", "kafka": "kafka-cluster"}
    rounds: dict[str, list[dict[str, float]]] = {s: [] for s in systems}
    print(f"3 brokers each, topic 1 partition RF 3 min.insync.replicas=2, acks=all; {args.records} x "
          f"{args.size} B, warm-up {args.warmup}, paced {args.latency_rate} rec/s x {args.latency_seconds} s "
          f"after {args.latency_settle} s uncounted",
          flush=True)
    for i in range(1, args.rounds + 1):
        for name, target in systems.items():
            load = os.getloadavg()[0]
            r = run(target, args.records, args.size, latency=True, warmup=args.warmup,
                    paced_rate=args.latency_rate, paced_seconds=args.latency_seconds,
                    paced_settle=args.latency_settle)
            r["load_1m"] = load
            rounds[name].append(r)
            print(_line(f"{i} {name}", r) + f" | load avg {load:.2f}", flush=True)
    med = {name: medians(rs) for name, rs in rounds.items()}
    for name, m in med.items():
        print(_line(f"median {name}", m), flush=True)
    rat = ratios(med["kbroker"], med["kafka"])
    print("kbroker / kafka (medians): " + ", ".join(f"{k} {v:.2f}x" for k, v in rat.items() if k != "load_1m"))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--transfer", default="both", choices=["pread", "sendfile", "both"])
    ap.add_argument("--kafka", action="store_true", help="also run the reference Apache Kafka")
    ap.add_argument("--cluster", action="store_true", help="also a 3-broker cluster, replication factor 3")
    ap.add_argument("--clusters", action="store_true",
                    help="only 3 kbroker brokers against 3 Apache Kafka nodes, alternating, --rounds each")
    ap.add_argument("--rounds", type=int, default=2, help="--clusters: rounds per system")
    ap.add_argument("--warmup", type=int, default=0, help="--clusters: untimed records first, another topic")
    ap.add_argument("--latency-rate", type=int, default=500, help="--clusters: paced phase, records/s")
    ap.add_argument("--latency-seconds", type=float, default=10, help="--clusters: paced phase length")
    ap.add_argument("--latency-settle", type=float, default=5,
                    help="--clusters: paced seconds first, not counted (the bulk phase's after-effects)")
    args = ap.parse_args()
    if args.clusters:
        return clusters(args)
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
