"""Replica placement for new topics and added partitions, the way Kafka's assignor spreads them.

Rack-unaware (some broker has no ``broker.rack``): brokers sorted by id; partition p's first replica
(its preferred leader) is broker ``(p + start) % n``, round-robin from a random start; the followers
follow the first replica at a distance ``1 + (shift + j) % (n - 1)`` for the j-th follower, where the
shift starts random and grows by one after every n partitions, so followers are spread too.

Rack-aware (every broker has a rack): the same walk over a rack-alternated broker list (the brokers
of each rack in id order, taken one rack at a time in rack order), with the shift scaled by the
number of racks; a follower is skipped while its rack already holds a replica of the partition
(until every rack does) or the broker already does (until every broker does).

Added partitions continue from partition 0's first replica, with the existing replication factor.

Pure functions; pass a ``random.Random`` for reproducible placements.
"""

from __future__ import annotations

import random
from collections.abc import Mapping


class InvalidReplicationFactor(ValueError):
    """Replication factor not positive, or larger than the available brokers (INVALID_REPLICATION_FACTOR)."""


class InvalidPartitions(ValueError):
    """A partition count that cannot be used (INVALID_PARTITIONS)."""


Brokers = Mapping[int, str | None]
"""broker id → its rack (None when the broker has no broker.rack)."""


def _replica_index(first: int, shift: int, j: int, n: int) -> int:
    return (first + 1 + (shift + j) % (n - 1)) % n


def rack_alternated(brokers: Brokers) -> list[int]:
    """The brokers ordered rack by rack (racks sorted, each rack's brokers by id): with racks a: 1,2
    and b: 3 → [1, 3, 2]."""
    by_rack: dict[str, list[int]] = {}
    for b in sorted(brokers):
        by_rack.setdefault(str(brokers[b]), []).append(b)
    racks = sorted(by_rack)
    out: list[int] = []
    depth = 0
    while len(out) < len(brokers):
        for r in racks:
            if depth < len(by_rack[r]):
                out.append(by_rack[r][depth])
        depth += 1
    return out


def _check(brokers: Brokers, num_partitions: int, replication_factor: int) -> None:
    if num_partitions <= 0:
        raise InvalidPartitions(f"Number of partitions must be larger than 0, got {num_partitions}.")
    if replication_factor <= 0:
        raise InvalidReplicationFactor(f"Replication factor must be larger than 0, got {replication_factor}.")
    if replication_factor > len(brokers):
        raise InvalidReplicationFactor(
            f"Replication factor: {replication_factor} larger than available brokers: {len(brokers)}.")


def assign_replicas(brokers: Brokers, num_partitions: int, replication_factor: int,
                    rng: random.Random | None = None, *, fixed_start_index: int = -1,
                    start_partition: int = 0) -> dict[int, tuple[int, ...]]:
    """partition → replicas (preferred leader first) for partitions ``start_partition`` ..
    ``start_partition + num_partitions - 1``.  ``fixed_start_index`` ≥ 0 replaces both random draws
    (Kafka does so for added partitions).  Raises InvalidReplicationFactor / InvalidPartitions."""
    _check(brokers, num_partitions, replication_factor)
    rng = rng or random.Random()
    rack_aware = all(brokers[b] is not None for b in brokers)
    order = rack_alternated(brokers) if rack_aware else sorted(brokers)
    n = len(order)
    start = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    shift = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    num_racks = len({brokers[b] for b in brokers}) if rack_aware else 1
    out: dict[int, tuple[int, ...]] = {}
    for p in range(max(0, start_partition), max(0, start_partition) + num_partitions):
        if p > 0 and p % n == 0:
            shift += 1
        first = (p + start) % n
        replicas = [order[first]]
        if not rack_aware:
            replicas += [order[_replica_index(first, shift, j, n)] for j in range(replication_factor - 1)]
        else:
            racks_used = {brokers[order[first]]}
            k = 0
            while len(replicas) < replication_factor:
                if k > 2 * n * n:  # cannot happen: every walk reaches each other broker within n - 1 steps
                    raise AssertionError("rack-aware placement found no broker")
                b = order[_replica_index(first, shift * num_racks, k, n)]
                k += 1
                rack = brokers[b]
                if rack in racks_used and len(racks_used) < num_racks:
                    continue
                if b in replicas and len(replicas) < n:
                    continue
                replicas.append(b)
                racks_used.add(rack)
        out[p] = tuple(replicas)
    return out


def assign_added_partitions(brokers: Brokers, existing: Mapping[int, tuple[int, ...]], total_partitions: int,
                            rng: random.Random | None = None) -> dict[int, tuple[int, ...]]:
    """The replicas of the partitions ``len(existing)`` .. ``total_partitions - 1`` added to a topic,
    with the existing replication factor, continuing from partition 0's first replica."""
    if not existing or 0 not in existing:
        raise InvalidPartitions("the topic has no partition 0 to continue from")
    if total_partitions <= len(existing):
        raise InvalidPartitions(
            f"Topic currently has {len(existing)} partitions, {total_partitions} would not be an increase.")
    zero = existing[0]
    order = rack_alternated(brokers) if all(brokers[b] is not None for b in brokers) else sorted(brokers)
    start = next((i for i, b in enumerate(order) if b >= zero[0]), 0)
    if zero[0] in order:
        start = order.index(zero[0])
    return assign_replicas(brokers, total_partitions - len(existing), len(zero), rng,
                           fixed_start_index=start, start_partition=len(existing))
