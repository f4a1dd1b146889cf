"""The transaction state machine (kbroker.txn.state), event by event in every state — pure, no
broker: Kafka's TransactionCoordinator decisions (transaction.version 0)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kbroker.txn import state as st
from kbroker.txn.state import MARKERS, TxnMeta, TxnState
from wire.errors import ErrorCode as E

S = TxnState
MAX = 900_000
NOW = 10_000


def meta(state: TxnState, epoch: int = 3, parts=frozenset({("t", 0)}), **kw) -> TxnMeta:
    if state == S.EMPTY:
        parts = frozenset()
    return TxnMeta("tx", 100, epoch, 60_000, state, parts, 1_000, 2_000, **kw)


def init(m, timeout=60_000, pid=-1, epoch=-1, new=200):
    return st.init_producer_id(m, "tx", timeout, MAX, pid, epoch, new, NOW)


# ---------------------------------------------------------------- InitProducerId

def test_init_unknown_id_gets_a_new_producer_at_epoch_0():
    d = init(None)
    assert d.error == E.NONE and d.then is None
    assert (d.write.producer_id, d.write.producer_epoch, d.write.state) == (200, 0, S.EMPTY)
    assert d.write.last_update_ms == NOW


@pytest.mark.parametrize("timeout", [0, -1, MAX + 1])
def test_init_invalid_timeout(timeout):
    assert init(None, timeout).error == E.INVALID_TRANSACTION_TIMEOUT
    assert init(meta(S.EMPTY), timeout).write is None


@pytest.mark.parametrize("state", [S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT])
def test_init_bumps_the_epoch_when_ended(state):
    d = init(meta(state))
    assert d.error == E.NONE
    w = d.write
    assert (w.producer_id, w.producer_epoch, w.state, w.partitions) == (100, 4, S.EMPTY, frozenset())


@pytest.mark.parametrize("state", [S.PREPARE_COMMIT, S.PREPARE_ABORT, S.PREPARE_EPOCH_FENCE])
def test_init_while_completing_is_concurrent(state):
    d = init(meta(state))
    assert (d.error, d.write) == (E.CONCURRENT_TRANSACTIONS, None)


def test_init_with_an_ongoing_transaction_fences_and_aborts_it():
    d = init(meta(S.ONGOING))
    assert d.error == E.CONCURRENT_TRANSACTIONS and d.then == MARKERS
    w = d.write
    assert (w.state, w.producer_id, w.producer_epoch, w.partitions) == (S.PREPARE_ABORT, 100, 4, frozenset({("t", 0)}))


def test_init_dead_id_is_a_new_one():
    d = init(meta(S.DEAD))
    assert (d.write.producer_id, d.write.producer_epoch) == (200, 0)


def test_init_epoch_overflow_gives_a_new_producer_id():
    d = init(meta(S.COMPLETE_COMMIT, epoch=32766))
    assert (d.write.producer_id, d.write.producer_epoch, d.write.previous_producer_id) == (200, 0, -1)
    d = init(meta(S.COMPLETE_COMMIT, epoch=32766), pid=100, epoch=32766)
    assert (d.write.producer_id, d.write.producer_epoch, d.write.previous_producer_id) == (200, 0, 100)


def test_init_with_expected_epoch_kip360():
    m = meta(S.COMPLETE_COMMIT)
    d = init(m, pid=100, epoch=3)
    assert (d.write.producer_epoch, d.write.last_producer_epoch) == (4, 3)
    # a retry of that bump (the answer was lost): the same epoch, no second bump
    again = init(d.write, pid=100, epoch=3)
    assert (again.error, again.write.producer_epoch) == (E.NONE, 4)
    assert init(d.write, pid=100, epoch=2).error == E.PRODUCER_FENCED  # an older instance
    assert init(m, pid=555, epoch=3).error == E.PRODUCER_FENCED  # another producer id


# ---------------------------------------------------------------- AddPartitionsToTxn

def test_add_partitions_starts_the_transaction():
    d = st.add_partitions(meta(S.EMPTY), 100, 3, [("t", 0), ("t", 1)], NOW)
    assert d.error == E.NONE
    assert (d.write.state, d.write.partitions, d.write.start_ms) == (S.ONGOING, frozenset({("t", 0), ("t", 1)}), NOW)


@pytest.mark.parametrize("state", [S.COMPLETE_COMMIT, S.COMPLETE_ABORT])
def test_add_partitions_after_an_ended_transaction(state):
    d = st.add_partitions(meta(state, parts=frozenset()), 100, 3, [("u", 2)], NOW)
    assert (d.write.state, d.write.partitions, d.write.start_ms) == (S.ONGOING, frozenset({("u", 2)}), NOW)


def test_add_partitions_while_ongoing():
    m = meta(S.ONGOING)
    assert st.add_partitions(m, 100, 3, [("t", 0)], NOW).write is None  # already in: nothing written
    d = st.add_partitions(m, 100, 3, [("t", 5)], NOW)
    assert d.write.partitions == frozenset({("t", 0), ("t", 5)}) and d.write.start_ms == 1_000


@pytest.mark.parametrize("state", [S.PREPARE_COMMIT, S.PREPARE_ABORT, S.PREPARE_EPOCH_FENCE])
def test_add_partitions_while_completing(state):
    assert st.add_partitions(meta(state), 100, 3, [("t", 1)], NOW).error == E.CONCURRENT_TRANSACTIONS


@pytest.mark.parametrize("state", list(TxnState))
def test_add_partitions_checks_the_producer(state):
    m = meta(state)
    if state == S.DEAD:
        assert st.add_partitions(m, 100, 3, [("t", 1)], NOW).error == E.INVALID_PRODUCER_ID_MAPPING
        return
    assert st.add_partitions(m, 101, 3, [("t", 1)], NOW).error == E.INVALID_PRODUCER_ID_MAPPING
    assert st.add_partitions(m, 100, 2, [("t", 1)], NOW).error == E.PRODUCER_FENCED
    assert st.add_partitions(None, 100, 3, [("t", 1)], NOW).error == E.INVALID_PRODUCER_ID_MAPPING


def test_verify_only():
    m = meta(S.ONGOING)
    d = st.verify_partitions(m, 100, 3, [("t", 0), ("t", 1)])
    assert d.write is None and d.partition_errors == {("t", 0): E.NONE, ("t", 1): E.INVALID_TXN_STATE}
    d = st.verify_partitions(meta(S.COMPLETE_COMMIT), 100, 3, [("t", 0)])
    assert d.partition_errors == {("t", 0): E.INVALID_TXN_STATE}
    assert st.verify_partitions(m, 100, 2, [("t", 0)]).error == E.PRODUCER_FENCED
    assert st.verify_partitions(meta(S.PREPARE_COMMIT), 100, 3, [("t", 0)]).error == E.CONCURRENT_TRANSACTIONS


# ---------------------------------------------------------------- EndTxn

@pytest.mark.parametrize("commit,target", [(True, S.PREPARE_COMMIT), (False, S.PREPARE_ABORT)])
def test_end_ongoing(commit, target):
    d = st.end_txn(meta(S.ONGOING), 100, 3, commit, NOW)
    assert (d.error, d.write.state, d.then) == (E.NONE, target, MARKERS)
    done = st.complete(d.write, NOW + 1)
    assert done.state == (S.COMPLETE_COMMIT if commit else S.COMPLETE_ABORT) and done.partitions == frozenset()


END_TABLE = {
    # state: (commit's answer, abort's answer)
    S.EMPTY: (E.INVALID_TXN_STATE, E.INVALID_TXN_STATE),
    S.PREPARE_COMMIT: (E.CONCURRENT_TRANSACTIONS, E.INVALID_TXN_STATE),
    S.PREPARE_ABORT: (E.INVALID_TXN_STATE, E.CONCURRENT_TRANSACTIONS),
    S.COMPLETE_COMMIT: (E.NONE, E.INVALID_TXN_STATE),
    S.COMPLETE_ABORT: (E.INVALID_TXN_STATE, E.NONE),
    S.PREPARE_EPOCH_FENCE: (E.INVALID_TXN_STATE, E.INVALID_TXN_STATE),
}


@pytest.mark.parametrize("state", list(END_TABLE))
@pytest.mark.parametrize("commit", [True, False])
def test_end_in_other_states(state, commit):
    d = st.end_txn(meta(state), 100, 3, commit, NOW)
    assert d.write is None
    assert d.error == END_TABLE[state][0 if commit else 1]


def test_end_checks_the_producer():
    assert st.end_txn(meta(S.ONGOING), 100, 2, True, NOW).error == E.PRODUCER_FENCED
    assert st.end_txn(meta(S.ONGOING), 7, 3, True, NOW).error == E.INVALID_PRODUCER_ID_MAPPING
    assert st.end_txn(None, 100, 3, True, NOW).error == E.INVALID_PRODUCER_ID_MAPPING
    assert st.end_txn(meta(S.DEAD), 100, 3, True, NOW).error == E.INVALID_PRODUCER_ID_MAPPING


# ---------------------------------------------------------------- timeouts, expiry

def test_timeout_abort_bumps_the_epoch():
    m = meta(S.ONGOING)  # started at 1000, timeout 60000
    assert st.timed_out(m, 61_000).write is None
    d = st.timed_out(m, 61_001)
    assert (d.write.state, d.write.producer_epoch, d.then) == (S.PREPARE_ABORT, 4, MARKERS)
    # the zombie's commit is fenced afterwards
    assert st.end_txn(d.write, 100, 3, True, NOW).error == E.PRODUCER_FENCED
    for s in (S.EMPTY, S.PREPARE_COMMIT, S.COMPLETE_ABORT):
        assert st.timed_out(meta(s), 10**9).write is None


def test_expiry():
    for s in TxnState:
        m = replace(meta(s), last_update_ms=0)
        assert st.expired(m, 1000, 1000) == (s in (S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT))
        assert not st.expired(m, 999, 1000)
