"""compat.bench's summary arithmetic: nearest-rank percentiles, per-metric medians over rounds, and the
kbroker / Kafka ratios."""

from __future__ import annotations

import pytest

from compat.bench import medians, percentile, ratios


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 1) == 1.0
    assert percentile([7.0], 99) == 7.0
    # 10 values: the 99th percentile is the largest, the median the 5th smallest
    ten = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0, 5.5, 3.5]
    assert percentile(ten, 99) == 9.0
    assert percentile(ten, 50) == 3.5
    assert percentile(ten, 95) == 9.0
    assert percentile(ten, 90) == 6.0


def test_percentile_rejects_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 0)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_medians_per_metric_over_rounds() -> None:
    rounds = [{"produce_MBps": 100.0, "p99": 9.0}, {"produce_MBps": 300.0, "p99": 5.0},
              {"produce_MBps": 200.0}]
    assert medians(rounds) == {"produce_MBps": 200.0, "p99": 7.0}


def test_ratios_only_for_shared_nonzero_metrics() -> None:
    ours = {"produce_MBps": 300.0, "p99": 4.0, "only_ours": 1.0, "zero_theirs": 2.0}
    theirs = {"produce_MBps": 150.0, "p99": 8.0, "zero_theirs": 0.0}
    assert ratios(ours, theirs) == {"produce_MBps": 2.0, "p99": 0.5}
