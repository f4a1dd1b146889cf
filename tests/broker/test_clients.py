"""Real Kafka clients (kafka-python, confluent-kafka, aiokafka) against a real kbroker over TCP.

Each client creates a 3-partition topic with its own admin API, produces 10,000 keyed records (about
1,000 keys, two headers each, explicit timestamps, acks=all) and reads everything back with assign()
from the beginning; see compat/scenarios/.  The checker itself is tested first, on doctored data, so
that a scenario that passes is known to be able to fail.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from compat.scenarios import load
from compat.scenarios.common import Got, Rec, ScenarioFailed, make_records, verify

PY_CLIENTS = ["kafka-python", "confluent-kafka", "aiokafka"]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("client", PY_CLIENTS)
def test_roundtrip(broker, client):
    summary = load(client).roundtrip(broker.bootstrap)
    assert summary.startswith("10000 records, ") and summary.endswith(", 3 partitions"), summary


# ------------------------------------------------------------------ the checker can fail


def _as_consumed(recs: list[Rec], partitions: int = 3) -> tuple[list[tuple[int, int]], list[Got]]:
    """What a perfect broker would return: each key in one partition, offsets in order."""
    delivered, got, nxt = [], [], [0] * partitions
    for r in recs:
        p = sum(r.key or b"") % partitions
        delivered.append((p, nxt[p]))
        got.append(Got(p, nxt[p], r.key, r.value, r.headers, r.timestamp or 0, "create"))
        nxt[p] += 1
    return delivered, got


@pytest.fixture(scope="module")
def sample():
    recs = make_records(300, 30)
    delivered, got = _as_consumed(recs)
    return recs, delivered, got


def test_verify_accepts_exact_copy(sample):
    recs, delivered, got = sample
    assert verify(recs, got, delivered=delivered, partitions=3) == "300 records, 30 keys, 3 partitions"
    assert verify(recs, list(reversed(got)), partitions=3).startswith("300 records")


@pytest.mark.parametrize("damage, kind", [
    (lambda g: g[:-1], "count"),
    (lambda g: g + [g[0]], "duplicate"),
    (lambda g: [replace(x, value=x.value + b"!") if i == 7 else x for i, x in enumerate(g)], "value"),
    (lambda g: [replace(x, key=b"other") if i == 8 else x for i, x in enumerate(g)], "key"),
    (lambda g: [replace(x, headers=x.headers[:1]) if i == 9 else x for i, x in enumerate(g)], "headers"),
    (lambda g: [replace(x, headers=(x.headers[1], x.headers[0])) if i == 9 else x for i, x in enumerate(g)],
     "headers"),
    (lambda g: [replace(x, timestamp=x.timestamp + 1) if i == 10 else x for i, x in enumerate(g)], "timestamp"),
    (lambda g: [replace(x, timestamp_type="log_append") if i == 11 else x for i, x in enumerate(g)],
     "timestamp"),
    (lambda g: [replace(x, offset=x.offset + 1) if i == len(g) - 1 else x for i, x in enumerate(g)], "offsets"),
])
def test_verify_detects(sample, damage, kind):
    recs, delivered, got = sample
    with pytest.raises(ScenarioFailed, match=kind):
        verify(recs, damage(list(got)), delivered=delivered, partitions=3)


def test_verify_detects_reordering_and_partition_moves(sample):
    recs, _, got = sample
    # swap the values of two records of one key in one partition: sequence order breaks
    p0 = [g for g in got if g.key == got[0].key]
    a, b = p0[0], p0[1]
    swapped = [replace(g, value=b.value) if g is a else replace(g, value=a.value) if g is b else g for g in got]
    with pytest.raises(ScenarioFailed, match="order"):
        verify(recs, swapped, partitions=3)
    # one record of a key served from another partition
    moved = [replace(g, partition=(g.partition + 1) % 3, offset=10_000) if g is a else g for g in got]
    with pytest.raises(ScenarioFailed, match="key-partition"):
        verify(recs, moved, partitions=3)
