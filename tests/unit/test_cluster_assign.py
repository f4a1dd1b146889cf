"""Replica placement (kbroker.cluster.assign): Kafka's round-robin with shifted followers, and its
rack-aware variant."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from kbroker.cluster.assign import (
    InvalidPartitions,
    InvalidReplicationFactor,
    assign_added_partitions,
    assign_replicas,
    rack_alternated,
)


def no_racks(*ids: int) -> dict[int, str | None]:
    return {b: None for b in ids}


@pytest.mark.parametrize("seed", range(8))
def test_leaders_and_followers_are_balanced(seed):
    brokers = no_racks(1, 2, 3, 4, 5)
    a = assign_replicas(brokers, 10, 3, random.Random(seed))
    assert sorted(a) == list(range(10))
    for replicas in a.values():
        assert len(replicas) == 3
        assert len(set(replicas)) == 3, replicas
        assert set(replicas) <= set(brokers)
    leaders = Counter(r[0] for r in a.values())
    assert set(leaders.values()) == {2}  # 10 partitions over 5 brokers: two each
    replicas_per_broker = Counter(b for r in a.values() for b in r)
    assert set(replicas_per_broker.values()) == {6}  # 30 replicas over 5 brokers


def test_round_robin_from_the_start_index_with_shifted_followers():
    a = assign_replicas(no_racks(0, 1, 2, 3, 4), 10, 3, fixed_start_index=0)
    assert a[0] == (0, 1, 2)
    assert a[1] == (1, 2, 3)
    assert a[4] == (4, 0, 1)
    # after a full round of brokers the follower shift grows by one
    assert a[5] == (0, 2, 3)
    assert a[9] == (4, 1, 2)


def test_same_seed_same_assignment_and_start_is_random():
    brokers = no_racks(1, 2, 3, 4)
    assert assign_replicas(brokers, 6, 2, random.Random(7)) == assign_replicas(brokers, 6, 2, random.Random(7))
    firsts = {assign_replicas(brokers, 1, 1, random.Random(s))[0][0] for s in range(40)}
    assert firsts == {1, 2, 3, 4}


def test_replication_factor_larger_than_brokers_is_refused():
    with pytest.raises(InvalidReplicationFactor, match="larger than available brokers: 2"):
        assign_replicas(no_racks(1, 2), 3, 3)
    with pytest.raises(InvalidReplicationFactor):
        assign_replicas(no_racks(1, 2), 3, 0)
    with pytest.raises(InvalidPartitions):
        assign_replicas(no_racks(1, 2), 0, 1)


def test_rack_alternated_list():
    assert rack_alternated({1: "a", 2: "a", 3: "b", 4: "c", 5: "c", 6: "a"}) == [1, 3, 4, 2, 5, 6]


@pytest.mark.parametrize("seed", range(8))
def test_rack_aware_spreads_each_partition_over_racks(seed):
    brokers = {1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"}
    a = assign_replicas(brokers, 12, 3, random.Random(seed))
    for replicas in a.values():
        assert len(set(replicas)) == 3
        assert {brokers[b] for b in replicas} == {"a", "b", "c"}, replicas
    assert set(Counter(r[0] for r in a.values()).values()) == {2}
    assert set(Counter(b for r in a.values() for b in r).values()) == {6}


def test_rack_aware_with_more_replicas_than_racks_uses_every_rack_first():
    brokers = {1: "a", 2: "a", 3: "b", 4: "b"}
    for replicas in assign_replicas(brokers, 8, 3, random.Random(1)).values():
        assert len(set(replicas)) == 3
        assert {brokers[b] for b in replicas} == {"a", "b"}
        assert brokers[replicas[0]] != brokers[replicas[1]]


def test_partial_rack_information_falls_back_to_the_plain_placement():
    brokers = {1: "a", 2: None, 3: "b"}
    assert assign_replicas(brokers, 3, 2, fixed_start_index=0) == assign_replicas(
        no_racks(1, 2, 3), 3, 2, fixed_start_index=0)


def test_added_partitions_continue_the_pattern():
    brokers = no_racks(1, 2, 3, 4)
    existing = assign_replicas(brokers, 3, 2, random.Random(3))
    added = assign_added_partitions(brokers, existing, 8, random.Random(3))
    assert sorted(added) == [3, 4, 5, 6, 7]
    order = sorted(brokers)
    start = order.index(existing[0][0])
    for p, replicas in added.items():
        assert replicas[0] == order[(p + start) % 4]  # leaders go on round-robin from partition 0's
        assert len(replicas) == 2 and len(set(replicas)) == 2
    every = {**existing, **added}
    assert set(Counter(r[0] for p, r in every.items() if p < 8).values()) == {2}
    with pytest.raises(InvalidPartitions):
        assign_added_partitions(brokers, existing, 3)
