"""Every replica of a partition against the others, from the brokers' log directories (brokers
stopped): the batches of each ``<topic>-<partition>/*.log`` segment, read with storage's file names
and wire's batch iteration (nothing is opened for writing, no recovery runs), compared byte for byte
per batch. A follower writes its leader's batches as they are, so after healing every replica must
hold the same batches (same offsets, same bytes, leader epochs included) up to the same log end."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from storage.segment import parse_file_name
from wire.records import crc_ok, iter_batches


@dataclass
class ReplicaLog:
    broker: int
    batches: dict[int, tuple[int, str]] = field(default_factory=dict)  # base offset -> (last offset, sha256)
    bad_crc: list[int] = field(default_factory=list)

    @property
    def log_end(self) -> int:
        return max((last for last, _ in self.batches.values()), default=-1) + 1

    @property
    def start(self) -> int:
        return min(self.batches, default=0)


def read_replica(directory: Path, broker: int) -> ReplicaLog:
    out = ReplicaLog(broker)
    segs = sorted((parsed[0], f) for f in directory.iterdir()
                  if (parsed := parse_file_name(f.name)) is not None and parsed[1] == ".log")
    for _, path in segs:
        buf = path.read_bytes()
        for pos, h in iter_batches(buf):
            if not crc_ok(buf, pos, h):
                out.bad_crc.append(h.base_offset)
            last = h.base_offset + h.last_offset_delta
            out.batches[h.base_offset] = (last, hashlib.sha256(buf[pos:pos + h.total_size]).hexdigest())
    return out


@dataclass
class PartitionComparison:
    partition: int
    replicas: dict[int, ReplicaLog]
    differences: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"partition": self.partition,
                "log end per broker": {b: r.log_end for b, r in sorted(self.replicas.items())},
                "batches per broker": {b: len(r.batches) for b, r in sorted(self.replicas.items())},
                "identical": not self.differences, "differences": self.differences[:20],
                "difference count": len(self.differences)}


def compare_partition(partition: int, replicas: dict[int, ReplicaLog], expected: int) -> PartitionComparison:
    c = PartitionComparison(partition, replicas)
    if len(replicas) != expected:
        c.differences.append(f"{len(replicas)} replicas on disk (brokers {sorted(replicas)}), expected {expected}")
    for r in replicas.values():
        for base in r.bad_crc:
            c.differences.append(f"broker {r.broker}: batch at {base} fails its CRC")
    if len(replicas) < 2:
        return c
    ref_id = min(replicas)
    ref = replicas[ref_id]
    for b, r in sorted(replicas.items()):
        if b == ref_id:
            continue
        if r.log_end != ref.log_end:
            c.differences.append(f"log end {r.log_end} on broker {b}, {ref.log_end} on broker {ref_id}")
        if r.start != ref.start:
            c.differences.append(f"first offset {r.start} on broker {b}, {ref.start} on broker {ref_id}")
        for base in sorted(set(ref.batches) | set(r.batches)):
            x, y = ref.batches.get(base), r.batches.get(base)
            if x == y:
                continue
            if x is None or y is None:
                which = ref_id if x is None else b  # the broker without it
                have = b if x is None else ref_id
                c.differences.append(f"batch at {base} (to {(y or x)[0]}) on broker {have}, not on broker {which}")
            elif x[0] != y[0]:
                c.differences.append(f"batch at {base} ends at {x[0]} on broker {ref_id}, {y[0]} on broker {b}")
            else:
                c.differences.append(f"batch at {base}..{x[0]} differs between brokers {ref_id} and {b}")
    return c


def compare_topic(log_dirs: dict[int, Path], topic: str, partitions: int, rf: int) -> list[PartitionComparison]:
    """``log_dirs``: broker id -> its ``log.dirs``."""
    out = []
    for p in range(partitions):
        replicas = {b: read_replica(d / f"{topic}-{p}", b) for b, d in sorted(log_dirs.items())
                    if (d / f"{topic}-{p}").is_dir()}
        out.append(compare_partition(p, replicas, rf))
    return out
