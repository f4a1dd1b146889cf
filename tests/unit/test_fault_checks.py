"""The fault campaign's checks on synthetic data: compat/cluster/checker.check with consumer logs (gaps,
going backwards, two values at one offset across reads) and compat/faults/replicas (replicas compared
batch by batch in log directories written here)."""

from __future__ import annotations

from pathlib import Path

from compat.cluster.checker import CONSUMER_CATEGORIES, Entry, Read, check
from compat.faults.campaign import longest_gap
from compat.faults.replicas import compare_topic
from storage.segment import file_name
from wire.records import build_batch


def final_read() -> Read:
    return Read("final", {p: {o: Entry(f"py-{p * 100 + o}", "k", 0) for o in range(10)} for p in range(2)})


def delivered(name: str, order: list[tuple[int, int]], final: Read) -> list[dict]:
    return [{"c": name, "p": p, "o": o, "v": final.partitions[p][o].value} for p, o in order]


def acks_of(final: Read) -> list[dict]:
    return [{"producer": "py", "p": p, "o": o, "k": e.key, "v": e.value, "ts": o}
            for p, es in final.partitions.items() for o, e in es.items()]


def test_consumers_reading_everything_in_order_are_clean() -> None:
    final = final_read()
    order = [(p, o) for o in range(10) for p in range(2)]  # interleaved partitions are fine
    r = check(acks_of(final), final, (), {"c1": delivered("c1", order, final), "c2": delivered("c2", order, final)})
    assert r.total == 0, r.report()
    assert set(CONSUMER_CATEGORIES) <= set(r.violations)
    assert r.stats["records delivered to consumer c1"] == 20


def test_gap_backwards_and_two_values_are_found() -> None:
    final = final_read()
    c1 = delivered("c1", [(0, 0), (0, 1), (0, 4), (0, 5), (0, 3), (1, 2)], final)
    c2 = delivered("c2", [(0, 0), (0, 1)], final)
    c2[1]["v"] = "java-7"  # offset 0@1 held another value for c2
    r = check(acks_of(final), final, (), {"c1": c1, "c2": c2})
    gaps = r.violations["consumer gap"]
    assert len(gaps) == 2, gaps  # 0: 1 -> 4; partition 1 first read at 2
    assert any("offsets 2..3 skipped" in g for g in gaps) and any("partition 1 at offset 2" in g for g in gaps)
    assert r.violations["consumer backwards"] == ["consumer c1: partition 0 offset 3 after 5"]
    assert any("java-7" in x for x in r.violations["two values at one offset"])


def test_without_consumer_logs_the_old_categories_only() -> None:
    final = final_read()
    r = check(acks_of(final), final)
    assert "consumer gap" not in r.violations and "consumer gap" not in r.report()


def write_log(d: Path, batches: list[bytes]) -> None:
    d.mkdir(parents=True)
    (d / file_name(0, ".log")).write_bytes(b"".join(batches))


def test_replicas_compared_batch_by_batch(tmp_path: Path) -> None:
    b0 = build_batch([(b"k", b"a", None, 1), (b"k", b"b", None, 2)], base_offset=0, partition_leader_epoch=0)
    b2 = build_batch([(b"k", b"c", None, 3)], base_offset=2, partition_leader_epoch=1)
    other = build_batch([(b"k", b"X", None, 3)], base_offset=2, partition_leader_epoch=2)
    dirs = {b: tmp_path / f"b{b}" for b in (1, 2, 3)}
    for b in (1, 2, 3):
        write_log(dirs[b] / "t-0", [b0, b2])
    write_log(dirs[1] / "t-1", [b0, b2])
    write_log(dirs[2] / "t-1", [b0, other])
    write_log(dirs[3] / "t-1", [b0])
    p0, p1 = compare_topic(dirs, "t", 2, 3)
    assert p0.differences == [] and p0.summary()["log end per broker"] == {1: 3, 2: 3, 3: 3}
    assert "batch at 2..2 differs between brokers 1 and 2" in p1.differences
    assert "log end 2 on broker 3, 3 on broker 1" in p1.differences
    assert "batch at 2 (to 2) on broker 1, not on broker 3" in p1.differences


def test_longest_gap() -> None:
    assert longest_gap([10, 20, 50, 55], 0, 60) == (30, 20, 50)
    assert longest_gap([], 0, 5) == (5, 0, 5)
