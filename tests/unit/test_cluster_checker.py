"""compat/cluster/checker.check, the verdict of the cluster failover campaign, on synthetic ack logs and
reads: each kind of violation is found where it is, and a clean run has none."""

from __future__ import annotations

import json

from compat.cluster.checker import CATEGORIES, Entry, Read, check, load_acks
from compat.cluster.producer import parse_value, record


def ack(name: str, seq: int, p: int, o: int, ts: int = 0) -> dict:
    k, v = record(name, seq)
    return {"producer": name, "p": p, "o": o, "k": k, "v": v, "ts": ts}


def clean_run() -> tuple[list[dict], Read]:
    """Two producers, 120 records each, spread over 3 partitions by key, every record acknowledged."""
    acks, parts = [], {0: {}, 1: {}, 2: {}}
    for seq in range(120):
        for name in ("py", "java"):
            k, v = record(name, seq)
            p = int(k[1:]) % 3
            o = len(parts[p])
            parts[p][o] = Entry(v, k, 0)
            acks.append(ack(name, seq, p, o))
    return acks, Read("final", parts)


def counts(result) -> dict[str, int]:
    return {c: len(result.violations[c]) for c in CATEGORIES}


def test_clean_run_has_no_violations() -> None:
    acks, final = clean_run()
    snapshot = Read("after kill 1", {p: dict(list(es.items())[:30]) for p, es in final.partitions.items()})
    r = check(acks, final, [snapshot])
    assert r.total == 0, r.report()
    assert r.stats["acknowledged"] == 240 and r.stats["records in the final read"] == 240
    assert "checker violations: 0" in r.report()


def test_unacknowledged_records_in_the_log_are_no_violation() -> None:
    acks, final = clean_run()
    r = check(acks[:-5] + [{"producer": "py", "k": "k1", "v": "py-999", "ts": 1, "err": "timed out"}], final)
    assert r.total == 0, r.report()
    assert r.stats["in the log but never acknowledged"] == 5
    assert r.stats["delivery failures reported by producers"] == 1


def test_missing_acknowledged_record() -> None:
    acks, final = clean_run()
    lost = acks[7]
    del final.partitions[lost["p"]][lost["o"]]
    r = check(acks, final)
    assert counts(r)["missing"] == 1 and lost["v"] in r.violations["missing"][0]
    assert counts(r)["ack position"] == 1  # and its offset holds nothing
    assert r.total == 2


def test_duplicate_value() -> None:
    acks, final = clean_run()
    p0 = final.partitions[0]
    p0[len(p0)] = Entry(p0[3].value, p0[3].key, 1)  # the same record written again at the end
    r = check(acks, final)
    assert counts(r)["duplicate"] == 1 and p0[3].value in r.violations["duplicate"][0]
    assert counts(r)["per-key order"] == 1  # its seq goes back in its key's order too
    assert counts(r)["missing"] == 0


def test_offset_that_held_two_values() -> None:
    acks, final = clean_run()
    snapshot = Read("after kill 2", {p: dict(es) for p, es in final.partitions.items()})
    # after the snapshot, the tail of partition 1 was truncated and rewritten with unacknowledged records
    p1 = final.partitions[1]
    last = max(p1)
    p1[last] = Entry("py-5000", "k1", 2)
    r = check([a for a in acks if (a["p"], a["o"]) != (1, last)], final, [snapshot])
    assert counts(r)["two values at one offset"] == 1
    assert f"1@{last}" in r.violations["two values at one offset"][0]
    assert "after kill 2" in r.violations["two values at one offset"][0]
    # ...and the record that was there, once seen, is now missing only from the reads, not from the acks
    assert counts(r)["missing"] == 0


def test_offset_gone_from_the_final_read() -> None:
    acks, final = clean_run()
    snapshot = Read("after kill 1", {p: dict(es) for p, es in final.partitions.items()})
    last = max(final.partitions[2])
    del final.partitions[2][last]
    r = check([a for a in acks if (a["p"], a["o"]) != (2, last)], final, [snapshot])
    assert counts(r) == {**{c: 0 for c in CATEGORIES}, "two values at one offset": 1}
    assert "gone" in r.violations["two values at one offset"][0]


def test_two_acknowledgements_for_one_offset() -> None:
    acks, final = clean_run()
    other = next(a for a in acks if a["p"] == acks[0]["p"] and a["o"] != acks[0]["o"])
    bad = dict(other, o=acks[0]["o"])
    r = check([a for a in acks if a is not other] + [bad], final)
    assert counts(r)["two values at one offset"] == 1
    assert counts(r)["ack position"] == 1 and other["v"] in r.violations["ack position"][0]


def test_ack_position_that_holds_another_value() -> None:
    acks, final = clean_run()
    a = acks[10]
    wrong = dict(a, o=a["o"] + 1)  # an offset that holds another (unacknowledged) record
    r = check([x for x in acks if x is not a and (x["p"], x["o"]) != (a["p"], a["o"] + 1)] + [wrong], final)
    assert counts(r) == {**{c: 0 for c in CATEGORIES}, "ack position": 1}


def test_per_key_order_violation() -> None:
    acks, final = clean_run()
    p0 = final.partitions[0]
    # swap two records of the same producer and key: both still there, but in the wrong order
    same = [o for o, e in sorted(p0.items()) if e.key == p0[0].key and e.value.startswith(p0[0].value.split("-")[0])]
    a, b = same[0], same[1]
    p0[a], p0[b] = p0[b], p0[a]
    moved = {(0, a): p0[a].value, (0, b): p0[b].value}
    fixed = [dict(x, o=b if x["o"] == a else a) if (x["p"], x["o"]) in moved else x for x in acks]
    r = check(fixed, final)
    assert counts(r) == {**{c: 0 for c in CATEGORIES}, "per-key order": 1}, r.report()
    assert parse_value(p0[a].value)[1] > parse_value(p0[b].value)[1]


def test_read_round_trip_and_ack_log(tmp_path) -> None:
    acks, final = clean_run()
    final.save(tmp_path / "final.json")
    again = Read.load(tmp_path / "final.json")
    assert again.partitions == final.partitions
    log = tmp_path / "py.jsonl"
    log.write_text("".join(json.dumps(a) + "\n" for a in acks[:3]) + '{"producer": "py", "p"')  # torn last line
    assert load_acks([log]) == acks[:3]


def test_first_acknowledgement_after_a_kill() -> None:
    from compat.cluster.failover import first_ack_after

    # offsets 0-9 written in leader epoch 3, acknowledged at 100..190; the kill at 195; offsets 10-11
    # still answered by the old leader (epoch 3) at 196 and 198; the new leader (epoch 4) from 6000
    entries = {o: Entry(f"py-{o}", "k0", 3 if o < 12 else 4) for o in range(20)}
    acked = [(100 + 10 * o, o) for o in range(10)] + [(196, 10), (198, 11)] + [(6000 + o, o) for o in range(12, 20)]
    assert first_ack_after(acked, entries, 195, 200) == (6012, "epoch")
    # without epochs in the log, the answers within the in-flight window are not counted
    flat = {o: Entry(e.value, e.key, 0) for o, e in entries.items()}
    assert first_ack_after(acked, flat, 195, 200) == (6012, "time")
    assert first_ack_after(acked, flat, 195, 1) == (196, "time")
    # nothing acknowledged after the kill
    assert first_ack_after(acked[:10], entries, 195, 200) == (None, "time")


def test_implicit_acks_without_an_offset_are_checked_for_presence_only() -> None:
    """librdkafka acknowledges a message without an offset (o: null) when a later one was
    acknowledged first: it must be in the log, its place is not known."""
    acks, final = clean_run()
    acks[3] = dict(acks[3], o=None)
    r = check(acks, final)
    assert r.total == 0, r.report()
    assert r.stats["acknowledged without an offset (implicit acks)"] == 1
    gone = acks[3]["v"]
    final.partitions = {p: {o: e for o, e in es.items() if e.value != gone} for p, es in final.partitions.items()}
    assert counts(check(acks, final))["missing"] == 1
