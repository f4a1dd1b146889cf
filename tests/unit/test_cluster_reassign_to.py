"""Kafka's ReplicaAssignment.reassignTo (kbroker.cluster.controller.reassign_to): the full replica set
of a reassignment and its adding / removing replicas, a new target over an ongoing one, a cancel."""

from kbroker.cluster.controller import reassign_to


def test_a_new_reassignment() -> None:
    assert reassign_to((1, 2, 3), (), (4, 1, 2)) == ((4, 1, 2, 3), (4,), (3,))
    assert reassign_to((1, 2, 3), (), (1, 2, 4)) == ((1, 2, 4, 3), (4,), (3,))


def test_the_same_set_changes_nothing() -> None:
    assert reassign_to((1, 2, 3), (), (1, 2, 3)) == ((1, 2, 3), (), ())


def test_a_new_target_over_an_ongoing_one_keeps_the_originals() -> None:
    # 1,2,3 → 4,1,2 in progress (replicas 4,1,2,3, adding 4); now → 5,1,2: 4 is dropped at once
    assert reassign_to((4, 1, 2, 3), (4,), (5, 1, 2)) == ((5, 1, 2, 3), (5,), (3,))


def test_cancel_is_a_reassignment_to_the_originals() -> None:
    full = (4, 1, 2, 3)
    origin = tuple(r for r in full if r != 4)
    assert reassign_to(full, (4,), origin) == ((1, 2, 3), (), ())


def test_changing_the_replication_factor() -> None:
    assert reassign_to((1, 2, 3), (), (2, 3)) == ((2, 3, 1), (), (1,))
    assert reassign_to((1, 2), (), (1, 2, 3)) == ((1, 2, 3), (3,), ())
