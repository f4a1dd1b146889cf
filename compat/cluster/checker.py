"""Acknowledged records against the partitions' logs: what the failover campaign proves.

    python -m compat.cluster.checker --bootstrap B --topic T --acks py.jsonl java.jsonl \
        [--snapshot snap-1.json ...] [--save-final final.json | --final final.json]

reads every partition of T from offset 0 to its high watermark (confluent-kafka consumer, assign()),
unless ``--final`` gives a read saved before, and checks, with the ack logs of compat/cluster/producer.py:

- missing: an acknowledged record that is in no partition;
- duplicate: a value at two places (values are unique per record);
- two values at one offset: an offset that holds another value now than in an earlier read (the
  snapshots the campaign takes after each failover), or that two acknowledgements both claim;
- ack position: an acknowledgement's (partition, offset) does not hold its value;
- per-key order: within a partition, the records of one producer and key are not in increasing seq
  order by offset.

With consumer logs (``--consumed``, compat/faults/consumer.py: one JSON line per record delivered,
``{"c", "p", "o", "v"}``, in delivery order), as Jepsen's Kafka workload does, also:

- consumer gap: a consumer was delivered offset o and then o' > o + 1 of one partition (the topic is
  neither compacted nor transactional, so offsets are consecutive), or its first record of a
  partition it reads from offset 0 was not offset 0;
- consumer backwards: a consumer was delivered offset o' <= o after o of one partition;
- and "two values at one offset" / "duplicate" compare every consumer's reads with each other and
  with the final read.

Prints a report; the exit status is 1 on any violation. ``check`` is the pure function behind it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from compat.cluster.producer import parse_value

CATEGORIES = ("missing", "duplicate", "two values at one offset", "ack position", "per-key order")
CONSUMER_CATEGORIES = ("consumer gap", "consumer backwards")
SHOWN = 20


@dataclass
class Entry:
    value: str
    key: str | None = None
    epoch: int | None = None


@dataclass
class Read:
    """One read of a topic: partition -> offset -> entry."""
    label: str
    partitions: dict[int, dict[int, Entry]]
    time_ms: int = 0

    def count(self) -> int:
        return sum(len(p) for p in self.partitions.values())

    def to_json(self) -> dict:
        return {"label": self.label, "time_ms": self.time_ms,
                "partitions": {str(p): [[o, e.value, e.key, e.epoch] for o, e in sorted(es.items())]
                               for p, es in self.partitions.items()}}

    @classmethod
    def from_json(cls, d: dict) -> Read:
        return cls(d["label"], {int(p): {o: Entry(v, k, ep) for o, v, k, ep in rows}
                                for p, rows in d["partitions"].items()}, d.get("time_ms", 0))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), separators=(",", ":")))

    @classmethod
    def load(cls, path: Path) -> Read:
        return cls.from_json(json.loads(Path(path).read_text()))


def load_acks(paths: Iterable[Path]) -> list[dict]:
    """Every line of the ack logs (a torn last line, from a producer killed mid-write, is skipped)."""
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return out


def load_consumed(paths: Iterable[Path]) -> dict[str, list[dict]]:
    """Consumer name -> its delivered records in order, from consumer logs (a torn last line skipped)."""
    out: dict[str, list[dict]] = defaultdict(list)
    for rec in load_acks(paths):
        out[rec["c"]].append(rec)
    return dict(out)


def read_topic(bootstrap: str, topic: str, label: str = "final", timeout: float = 120,
               isolation_level: str = "read_committed") -> Read:
    """Every record of every partition of ``topic`` from offset 0 up to the high watermark each had when
    the read began (``isolation_level``: librdkafka's default read_committed, or read_uncommitted)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"checker-{uuid.uuid4()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 3,
                  "enable.partition.eof": False, "isolation.level": isolation_level})
    deadline = time.monotonic() + timeout
    try:
        md = c.list_topics(topic, timeout=30).topics[topic]
        if md.error is not None:
            raise RuntimeError(f"metadata of {topic}: {md.error}")
        parts = sorted(md.partitions)
        highs = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)[1] for p in parts}
        out: dict[int, dict[int, Entry]] = {p: {} for p in parts}
        todo = {p for p in parts if highs[p] > 0}
        c.assign([TopicPartition(topic, p, 0) for p in sorted(todo)])
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}: partitions {sorted(todo)} not read to their high "
                                   f"watermarks {[highs[p] for p in sorted(todo)]} within {timeout}s")
            for m in c.consume(10_000, timeout=0.5):
                if m.error() is not None:
                    if m.error().fatal():
                        raise KafkaException(m.error())
                    continue
                p = m.partition()
                if p in todo and m.offset() < highs[p]:
                    out[p][m.offset()] = Entry(m.value().decode(), m.key().decode() if m.key() else None,
                                               m.leader_epoch())
            done = [tp for tp in c.position([TopicPartition(topic, p) for p in sorted(todo)])
                    if tp.offset >= highs[tp.partition]]
            if done:
                todo -= {tp.partition for tp in done}
                c.incremental_unassign([TopicPartition(topic, tp.partition) for tp in done])
        return Read(label, out, int(time.time() * 1000))
    finally:
        c.close()


@dataclass
class CheckResult:
    categories: tuple[str, ...] = CATEGORIES
    violations: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for c in self.categories:
            self.violations.setdefault(c, [])

    def counts(self) -> dict[str, int]:
        return {c: len(self.violations[c]) for c in self.categories}

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.violations.values())

    def report(self) -> str:
        lines = ["## Checker", ""]
        lines += [f"- {k}: {v}" for k, v in self.stats.items()]
        lines += ["", "| check | violations |", "|---|---|"]
        lines += [f"| {c} | {len(self.violations[c])} |" for c in self.categories]
        for c in self.categories:
            if self.violations[c]:
                lines += ["", f"### {c} ({len(self.violations[c])})"]
                lines += [f"- {v}" for v in self.violations[c][:SHOWN]]
                if len(self.violations[c]) > SHOWN:
                    lines.append(f"- ... and {len(self.violations[c]) - SHOWN} more")
        lines += ["", f"checker violations: {self.total}"]
        return "\n".join(lines)


def check(acks: list[dict], final: Read, snapshots: Iterable[Read] = (),
          consumed: dict[str, list[dict]] | None = None) -> CheckResult:
    """``consumed``: consumer name -> the records it was delivered, in order ({"p", "o", "v"}), for
    the consumer checks (gaps, going backwards, and their reads against each other and the final read)."""
    r = CheckResult(CATEGORIES + CONSUMER_CATEGORIES) if consumed is not None else CheckResult()
    v = r.violations
    ok_acks = [a for a in acks if "err" not in a]
    failed = [a for a in acks if "err" in a]

    where: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for p, entries in sorted(final.partitions.items()):
        for o, e in sorted(entries.items()):
            where[e.value].append((p, o))

    for a in ok_acks:
        if a["v"] not in where:
            v["missing"].append(f"{a['v']} (acknowledged at partition {a['p']} offset {a['o']}) is in no partition")
    for value, places in where.items():
        if len(places) > 1:
            v["duplicate"].append(f"{value} at " + ", ".join(f"{p}@{o}" for p, o in places))

    claimed: dict[tuple[int, int], set[str]] = defaultdict(set)
    # librdkafka acknowledges a message without an offset when a later one of the same producer
    # and partition was acknowledged first (an implicit ack): its place is not known, only presence
    placed = [a for a in ok_acks if a.get("o") is not None]
    for a in placed:
        claimed[(a["p"], a["o"])].add(a["v"])
    for (p, o), values in sorted(claimed.items()):
        if len(values) > 1:
            v["two values at one offset"].append(f"{p}@{o} acknowledged for {sorted(values)}")
    snaps = 0
    for snap in snapshots:
        snaps += 1
        for p, entries in sorted(snap.partitions.items()):
            now = final.partitions.get(p, {})
            for o, e in sorted(entries.items()):
                later = now.get(o)
                if later is None:
                    v["two values at one offset"].append(
                        f"{p}@{o} held {e.value} in read '{snap.label}' and is gone from the final read")
                elif later.value != e.value:
                    v["two values at one offset"].append(
                        f"{p}@{o} held {e.value} in read '{snap.label}' and {later.value} in the final read")

    for a in placed:
        held = final.partitions.get(a["p"], {}).get(a["o"])
        if held is None:
            v["ack position"].append(f"{a['v']} acknowledged at {a['p']}@{a['o']}: no record there")
        elif held.value != a["v"]:
            v["ack position"].append(f"{a['v']} acknowledged at {a['p']}@{a['o']}, which holds {held.value}")

    unparsed = 0
    for p, entries in sorted(final.partitions.items()):
        last: dict[tuple[str, str | None], tuple[int, int]] = {}
        for o, e in sorted(entries.items()):
            pv = parse_value(e.value)
            if pv is None:
                unparsed += 1
                continue
            name, seq = pv
            k = (name, e.key)
            if k in last and last[k][0] >= seq:
                v["per-key order"].append(f"partition {p}: {name} key {e.key} seq {seq} at offset {o} after seq "
                                          f"{last[k][0]} at offset {last[k][1]}")
            last[k] = (seq, o)

    stats = check_consumed(v, final, consumed) if consumed is not None else {}

    acked_values = {a["v"] for a in ok_acks}
    by_producer: dict[str, int] = defaultdict(int)
    for a in ok_acks:
        by_producer[a["producer"]] += 1
    r.stats = {
        "acknowledged": len(ok_acks),
        "acknowledged per producer": dict(sorted(by_producer.items())),
        "delivery failures reported by producers": len(failed),
        "records in the final read": final.count(),
        "records per partition": {p: len(es) for p, es in sorted(final.partitions.items())},
        "in the log but never acknowledged": sum(1 for val in where if val not in acked_values),
        "earlier reads compared with the final one": snaps,
    }
    r.stats.update(stats)
    if unparsed:
        r.stats["values not of the form <producer>-<seq>"] = unparsed
    if len(placed) != len(ok_acks):
        r.stats["acknowledged without an offset (implicit acks)"] = len(ok_acks) - len(placed)
    return r


def check_consumed(v: dict[str, list[str]], final: Read, consumed: dict[str, list[dict]]) -> dict[str, object]:
    """The consumer checks of ``check``, adding to its violations; returns statistics."""
    seen: dict[tuple[int, int], tuple[str, str]] = {}  # (p, o) -> (value, who saw it first)
    place: dict[str, tuple[int, int]] = {}  # value -> (p, o) first seen
    for p, entries in final.partitions.items():
        for o, e in entries.items():
            seen[(p, o)] = (e.value, "the final read")
            place.setdefault(e.value, (p, o))
    stats: dict[str, object] = {}
    for name, records in sorted(consumed.items()):
        last: dict[int, int] = {}
        for rec in records:
            p, o, value = rec["p"], rec["o"], rec["v"]
            prev = last.get(p)
            if prev is None:
                if o != 0:
                    v["consumer gap"].append(f"consumer {name}: first record of partition {p} at offset {o}, not 0")
            elif o <= prev:
                v["consumer backwards"].append(f"consumer {name}: partition {p} offset {o} after {prev}")
            elif o != prev + 1:
                v["consumer gap"].append(f"consumer {name}: partition {p} offset {o} after {prev} "
                                         f"(offsets {prev + 1}..{o - 1} skipped)")
            last[p] = o if prev is None else max(prev, o)
            other = seen.get((p, o))
            if other is None:
                seen[(p, o)] = (value, f"consumer {name}")
                if p in final.partitions and final.partitions[p] and o <= max(final.partitions[p]):
                    v["two values at one offset"].append(
                        f"{p}@{o} held {value} for consumer {name} and is gone from the final read")
            elif other[0] != value:
                v["two values at one offset"].append(
                    f"{p}@{o} held {value} for consumer {name} and {other[0]} for {other[1]}")
            at = place.setdefault(value, (p, o))
            if at != (p, o):
                v["duplicate"].append(f"{value} at {at[0]}@{at[1]} and, for consumer {name}, at {p}@{o}")
        stats[f"records delivered to consumer {name}"] = len(records)
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap")
    ap.add_argument("--topic")
    ap.add_argument("--acks", nargs="+", type=Path, required=True)
    ap.add_argument("--snapshot", nargs="*", type=Path, default=[])
    ap.add_argument("--consumed", nargs="*", type=Path, default=None,
                    help="consumer logs (compat/faults/consumer.py), named by their \"c\" field")
    ap.add_argument("--final", type=Path, help="a read saved before, instead of reading the topic")
    ap.add_argument("--save-final", type=Path)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    if a.final is not None:
        final = Read.load(a.final)
    else:
        if not (a.bootstrap and a.topic):
            ap.error("--bootstrap and --topic are needed unless --final is given")
        final = read_topic(a.bootstrap, a.topic, "final", a.timeout)
    if a.save_final is not None:
        final.save(a.save_final)
    consumed = None if a.consumed is None else load_consumed(a.consumed)
    result = check(load_acks(a.acks), final, (Read.load(s) for s in a.snapshot), consumed)
    print(result.report())
    return 1 if result.total else 0


if __name__ == "__main__":
    sys.exit(main())
