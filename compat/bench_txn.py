"""Transactional throughput: kbroker against the reference Apache Kafka, in the same run.

    python -m compat.bench_txn [--records N] [--size BYTES] [--per-txn K] [--partitions P] [--rounds R]
                               [--only kbroker|kafka]

For each round, kbroker (a single broker, pread transfer) and then Apache Kafka (compat/kafka_ref, a single
KRaft node) are started fresh.  A confluent-kafka transactional producer (acks=all, idempotent, linger 5 ms)
writes N records of SIZE bytes to a topic of P partitions in transactions of K records each (begin, K
produce() calls, commit), timed from the first begin to the last commit; then a read_committed consumer
reads them all back from offset 0, timed until the last record arrives, and the same is done with
read_uncommitted (the difference is what filtering by the last stable offset and the aborted list costs).
Every 10th transaction is flushed and then aborted instead of committed (its records are in the log, not
counted as delivered; the read_committed reader must not see them and the run checks it).  Prints each round, the medians per
system and kbroker / Kafka.  Results go in compat/BENCHMARKS.md, with the machine they were taken on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from compat.bench import _start, medians, ratios

ABORT_EVERY = 10


def _create(b, topic: str, partitions: int) -> None:
    import confluent_kafka.admin as cka

    admin = cka.AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([cka.NewTopic(topic, partitions, 1)])[topic].result(30)


def _consume(bootstrap: str, topic: str, partitions: int, isolation: str, expected: int) -> tuple[float, int]:
    """Seconds to read ``expected`` records (all partitions from 0) and how many arrived."""
    import confluent_kafka as ck

    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{isolation}", "enable.auto.commit": False,
                     "isolation.level": isolation, "fetch.max.bytes": 52428800,
                     "max.partition.fetch.bytes": 10485760, "enable.partition.eof": True})
    c.assign([ck.TopicPartition(topic, p, 0) for p in range(partitions)])
    n = 0
    eof: set[int] = set()
    t0 = time.perf_counter()
    deadline = time.monotonic() + 120
    while len(eof) < partitions and time.monotonic() < deadline:
        for m in c.consume(10000, 1):
            if m.error() is None:
                n += 1
            elif m.error().code() == ck.KafkaError._PARTITION_EOF:
                eof.add(m.partition())
    elapsed = time.perf_counter() - t0
    c.close()
    if n < expected:
        raise RuntimeError(f"{isolation}: {n} of {expected} records arrived")
    return elapsed, n


def measure(b, records: int, size: int, per_txn: int, partitions: int) -> dict[str, float]:
    import confluent_kafka as ck

    topic = "bench-txn"
    _create(b, topic, partitions)
    p = ck.Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "bench-txn", "linger.ms": 5,
                     "batch.size": 1 << 20, "queue.buffering.max.messages": 1_000_000})
    p.init_transactions(30)
    payload = b"x" * size
    committed = aborted = 0
    txns = -(-records // per_txn)
    t0 = time.perf_counter()
    for t in range(txns):
        p.begin_transaction()
        n = min(per_txn, records - t * per_txn)
        for i in range(n):
            while True:
                try:
                    p.produce(topic, payload, key=str(i).encode())
                    break
                except BufferError:
                    p.poll(0.01)
        if t % ABORT_EVERY == ABORT_EVERY - 1:
            p.flush(30)  # abort_transaction drops what is still queued: have the aborted records written first
            p.abort_transaction(30)
            aborted += n
        else:
            p.commit_transaction(30)
            committed += n
    t_prod = time.perf_counter() - t0
    t_rc, n_rc = _consume(b.bootstrap, topic, partitions, "read_committed", committed)
    if n_rc != committed:
        raise RuntimeError(f"read_committed saw {n_rc} records, {committed} were committed")
    t_ru, _ = _consume(b.bootstrap, topic, partitions, "read_uncommitted", committed + aborted)
    mb = committed * size / 1e6
    return {"txn_produce_rps": (committed + aborted) / t_prod, "txns_per_s": txns / t_prod,
            "read_committed_rps": committed / t_rc, "read_committed_MBps": mb / t_rc,
            "read_uncommitted_rps": (committed + aborted) / t_ru}


def run(target: str, records: int, size: int, per_txn: int, partitions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        b, _, _ = _start(target, Path(d))
        try:
            return measure(b, records, size, per_txn, partitions)
        finally:
            b.stop()


def _line(name: str, r: dict[str, float]) -> str:
    return (f"{name:16s} txn produce {r['txn_produce_rps']:8.0f} rec/s {r['txns_per_s']:6.0f} txn/s | "
            f"read_committed {r['read_committed_rps']:8.0f} rec/s {r['read_committed_MBps']:6.1f} MB/s | "
            f"read_uncommitted {r['read_uncommitted_rps']:8.0f} rec/s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--per-txn", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", choices=["kbroker", "kafka"])
    args = ap.parse_args()
    systems = {"kbroker": "pread", "kafka": "kafka"}
    if args.only:
        systems = {args.only: systems[args.only]}
    print(f"{args.records} x {args.size} B, {args.per_txn} records per transaction (every {ABORT_EVERY}th aborted), "
          f"{args.partitions} partition(s)", flush=True)
    rounds: dict[str, list[dict[str, float]]] = {s: [] for s in systems}
    for i in range(1, args.rounds + 1):
        for name, target in systems.items():
            r = run(target, args.records, args.size, args.per_txn, args.partitions)
            rounds[name].append(r)
            print(_line(f"{i} {name}", r), flush=True)
    med = {name: medians(rs) for name, rs in rounds.items()}
    for name, m in med.items():
        print(_line(f"median {name}", m), flush=True)
    if len(med) == 2:
        rat = ratios(med["kbroker"], med["kafka"])
        print("kbroker / kafka (medians): " + ", ".join(f"{k} {v:.2f}x" for k, v in rat.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
