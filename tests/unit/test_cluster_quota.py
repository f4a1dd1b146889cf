"""The replication throttles' bookkeeping (kbroker.cluster.quota): Kafka's SimpleRate over 11 windows
of 1 s, the bound of each side from the dynamic broker configs, and the throttled partitions from the
topics' throttled-replicas lists.  The time is passed in, so nothing here waits."""

from __future__ import annotations

import pytest

from kbroker.cluster.quota import (
    ALL,
    LONG_MAX,
    Rate,
    ReplicationQuota,
    ReplicationThrottle,
    parse_throttled_replicas,
)


def test_the_first_window_counts_as_a_whole_window():
    r = Rate(11, 1000)
    r.record(500, 0)
    assert r.measure(0) == 500  # not 500 / 0 s
    assert r.measure(500) == 500
    assert r.measure(2000) == 250  # 500 over the 2 s since the sample started


def test_the_rate_covers_the_samples_kept():
    r = Rate(11, 1000)
    for t in range(0, 10_000, 1000):  # 100 bytes each second for 10 s
        r.record(100, t)
    assert r.measure(10_000) == pytest.approx(100)


def test_a_sample_without_events_for_the_whole_window_expires():
    r = Rate(11, 1000)
    r.record(1_000_000, 0)
    assert r.measure(10_999) > 0
    assert r.measure(11_000) == 0  # 11 windows of 1 s without a new event: reset


def test_old_samples_are_reused_round_robin():
    r = Rate(2, 1000)
    for t in range(0, 10_000, 1000):
        r.record(10, t)
    assert len(r._samples) == 3  # the samples plus the overlapping one
    # at 9.5 s the sample of 7 s has had no event for 2 windows: reset; 20 bytes since 8 s remain
    assert r.measure(9_500) == pytest.approx(20 / 1.5)


def test_quota_is_exceeded_above_its_bound_only():
    q = ReplicationQuota(11, 1)
    q.record(10_000, 0)
    assert not q.is_exceeded(0)  # unbounded by default (Long.MAX_VALUE)
    q.update_bound(10_000)
    assert not q.is_exceeded(0)  # at the bound is acceptable
    q.record(1, 0)
    assert q.is_exceeded(0)
    assert not q.is_exceeded(2_000)  # 10 001 bytes over 2 s
    q.update_bound(LONG_MAX)
    q.record(10**12, 2_000)
    assert not q.is_exceeded(2_000)


@pytest.mark.parametrize(("value", "broker", "expected"), [
    ("*", 1, ALL),
    ("", 1, frozenset()),
    ("0:1,1:2,2:1", 1, frozenset({0, 2})),
    (" 0 : 1 , 3:1", 1, frozenset({0, 3})),
    ("0:1,1:2", 3, frozenset()),
])
def test_throttled_replicas_keep_the_partitions_of_this_broker(value, broker, expected):
    assert parse_throttled_replicas(value, broker) == expected


def test_throttle_follows_the_topic_and_broker_configs():
    t = ReplicationThrottle(2)
    t.apply_topic_config("t", {"leader.replication.throttled.replicas": "0:2,1:3",
                               "follower.replication.throttled.replicas": "*"})
    assert t.leader.is_throttled("t", 0) and not t.leader.is_throttled("t", 1)
    assert t.follower.is_throttled("t", 5)
    assert not t.leader.is_throttled("other", 0)
    t.apply_topic_config("t", {"leader.replication.throttled.replicas": "1:2"})
    assert t.leader.is_throttled("t", 1) and not t.leader.is_throttled("t", 0)
    assert not t.follower.is_throttled("t", 5)  # the list went: no throttle
    t.remove_topic("t")
    assert not t.leader.is_throttled("t", 1)

    # this broker's value, else the cluster default's, else unthrottled
    t.apply_broker_configs({"leader.replication.throttled.rate": "1000"},
                           {"leader.replication.throttled.rate": "5", "follower.replication.throttled.rate": "7"})
    assert (t.leader.bound, t.follower.bound) == (1000, 7)
    t.apply_broker_configs({}, {})
    assert (t.leader.bound, t.follower.bound) == (LONG_MAX, LONG_MAX)
