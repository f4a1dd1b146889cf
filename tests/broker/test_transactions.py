"""The transaction coordinator of a single broker, end to end (issue 13): raw protocol answers, then
kafka-python and confluent-kafka transactional producers — commit, abort, a zombie fenced by a new
incarnation, the coordinator's timeout abort — read back with read_committed consumers, and the
transactions' state surviving a restart."""

from __future__ import annotations

import time

import pytest

from tests.support.rawclient import RawClient
from tests.support.txn import committed_values
from tests.support.waiting import wait_for
from wire.errors import ErrorCode as E
from wire.messages.add_partitions_to_txn import AddPartitionsToTxnRequest
from wire.messages.describe_transactions import DescribeTransactionsRequest
from wire.messages.end_txn import EndTxnRequest
from wire.messages.find_coordinator import FindCoordinatorRequest
from wire.messages.init_producer_id import InitProducerIdRequest
from wire.messages.list_transactions import ListTransactionsRequest
from wire.records import build_batch

confluent_kafka = pytest.importorskip("confluent_kafka")
kafka = pytest.importorskip("kafka")

FAST = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200",
        "transaction.state.log.num.partitions": "5", "offsets.topic.num.partitions": "3",
        "group.initial.rebalance.delay.ms": "0"}


@pytest.fixture
def tbroker(broker_factory):
    return broker_factory(FAST)


def init(c: RawClient, tid: str, version: int = 4, timeout_ms: int = 60_000, pid: int = -1, epoch: int = -1):
    for _ in range(200):
        r = c.request(InitProducerIdRequest(transactional_id=tid, transaction_timeout_ms=timeout_ms,
                                            producer_id=pid, producer_epoch=epoch), version)
        if r.error_code != E.CONCURRENT_TRANSACTIONS:
            return r.error_code, r.producer_id, r.producer_epoch
        time.sleep(0.05)
    raise AssertionError("CONCURRENT_TRANSACTIONS did not end")


def add(c: RawClient, tid: str, pid: int, epoch: int, tps: list[tuple[str, int]], version: int = 3):
    A = AddPartitionsToTxnRequest
    topics: dict[str, list[int]] = {}
    for t, p in tps:
        topics.setdefault(t, []).append(p)
    r = c.request(A(v3_and_below_transactional_id=tid, v3_and_below_producer_id=pid, v3_and_below_producer_epoch=epoch,
                    v3_and_below_topics=[A.AddPartitionsToTxnTopic(name=t, partitions=ps) for t, ps in topics.items()]),
                  version)
    return {(t.name, p.partition_index): p.partition_error_code for t in r.results_by_topic_v3_and_below
            for p in t.results_by_partition}


def end(c: RawClient, tid: str, pid: int, epoch: int, commit: bool, version: int = 3) -> int:
    return c.request(EndTxnRequest(transactional_id=tid, producer_id=pid, producer_epoch=epoch, committed=commit),
                     version).error_code


def describe(c: RawClient, tid: str):
    [s] = c.request(DescribeTransactionsRequest(transactional_ids=[tid]), 0).transaction_states
    return s


def txn_batch(pid: int, epoch: int, seq: int, values: list[bytes]) -> bytes:
    now = int(time.time() * 1000)
    return build_batch([(b"k", v, None, now) for v in values], producer_id=pid, producer_epoch=epoch,
                       base_sequence=seq, transactional=True)


def test_find_coordinator_answers_this_broker(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        for v in range(0, 4):
            r = c.request(FindCoordinatorRequest(key="tx", key_type=1), v)
            assert (r.error_code, r.port) == (E.NONE, tbroker.port), r
        for v in range(4, 7):
            [co] = c.request(FindCoordinatorRequest(key_type=1, coordinator_keys=["tx", "ty"]), v).coordinators[:1]
            assert (co.key, co.error_code, co.port) == ("tx", E.NONE, tbroker.port)


def test_raw_transaction_lifecycle(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("raw", 2)
        assert init(c, "t1", timeout_ms=900_001)[0] == E.INVALID_TRANSACTION_TIMEOUT
        err, pid, epoch = init(c, "t1")
        assert (err, epoch) == (E.NONE, 0)
        assert init(c, "t1")[1:] == (pid, 1)  # a second init bumps the epoch, same id
        epoch = 1
        assert end(c, "t1", pid, epoch, True) == E.INVALID_TXN_STATE  # nothing ongoing
        assert add(c, "t1", pid, epoch, [("raw", 0), ("nope", 0)]) == {("raw", 0): E.OPERATION_NOT_ATTEMPTED,
                                                                       ("nope", 0): E.UNKNOWN_TOPIC_OR_PARTITION}
        assert add(c, "t1", pid, epoch - 1, [("raw", 0)]) == {("raw", 0): E.PRODUCER_FENCED}
        assert add(c, "t1", pid, epoch - 1, [("raw", 0)], version=1) == {("raw", 0): E.INVALID_PRODUCER_EPOCH}
        assert add(c, "t1", pid + 1000, epoch, [("raw", 0)]) == {("raw", 0): E.INVALID_PRODUCER_ID_MAPPING}
        assert add(c, "t1", pid, epoch, [("raw", 0), ("raw", 1)]) == {("raw", 0): E.NONE, ("raw", 1): E.NONE}
        s = describe(c, "t1")
        assert (s.error_code, s.transaction_state, s.producer_id, s.producer_epoch) == (0, "Ongoing", pid, epoch)
        assert [(t.topic, sorted(t.partitions)) for t in s.topics] == [("raw", [0, 1])]
        req = RawClient.produce_request("raw", 0, txn_batch(pid, epoch, 0, [b"a", b"b"]))
        req.transactional_id = "t1"
        assert c.request(req, 9).responses[0].partition_responses[0].error_code == E.NONE
        lst = c.request(ListTransactionsRequest(state_filters=["Ongoing", "Bogus"]), 1)
        assert lst.unknown_state_filters == ["Bogus"]
        assert [(t.transactional_id, t.transaction_state) for t in lst.transaction_states] == [("t1", "Ongoing")]
        assert end(c, "t1", pid, epoch, True) == E.NONE
        wait_for(lambda: describe(c, "t1").transaction_state == "CompleteCommit", what="CompleteCommit")
        assert end(c, "t1", pid, epoch, True) == E.NONE  # a retry of the completed commit
        assert end(c, "t1", pid, epoch, False) == E.INVALID_TXN_STATE
        assert describe(c, "t1").topics == []
        assert describe(c, "unknown").error_code == E.TRANSACTIONAL_ID_NOT_FOUND
        lst = c.request(ListTransactionsRequest(producer_id_filters=[pid]), 0)
        assert [(t.transactional_id, t.transaction_state) for t in lst.transaction_states] == [("t1", "CompleteCommit")]


def test_new_incarnation_aborts_the_ongoing_transaction(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("inc", 1)
        _, pid, epoch = init(c, "t2")
        assert add(c, "t2", pid, epoch, [("inc", 0)]) == {("inc", 0): E.NONE}
        r = c.request(InitProducerIdRequest(transactional_id="t2", transaction_timeout_ms=60_000), 4)
        assert r.error_code == E.CONCURRENT_TRANSACTIONS  # the old one's transaction is being aborted
        err, pid2, epoch2 = init(c, "t2")
        assert (err, pid2, epoch2) == (E.NONE, pid, epoch + 2)  # fenced at epoch+1, then bumped again
        assert end(c, "t2", pid, epoch, True) == E.PRODUCER_FENCED
        assert end(c, "t2", pid, epoch, True, version=1) == E.INVALID_PRODUCER_EPOCH
        s = describe(c, "t2")
        assert (s.transaction_state, s.producer_epoch) == ("Empty", epoch + 2)


def test_state_survives_a_restart(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("rs", 1)
        _, pid, epoch = init(c, "t3")
        add(c, "t3", pid, epoch, [("rs", 0)])
        assert end(c, "t3", pid, epoch, False) == E.NONE
        wait_for(lambda: describe(c, "t3").transaction_state == "CompleteAbort", what="CompleteAbort")
    tbroker.kill()
    tbroker.start()
    with RawClient.connect(tbroker.bootstrap) as c:
        s = wait_for(lambda: (lambda s: s if s.error_code == 0 else None)(describe(c, "t3")), what="loaded")
        assert (s.transaction_state, s.producer_id, s.producer_epoch) == ("CompleteAbort", pid, epoch)
        assert init(c, "t3")[1:] == (pid, epoch + 1)


# ---------------------------------------------------------------- real clients

def test_confluent_kafka_commit_and_abort(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("ck", 2)
    p = confluent_kafka.Producer({"bootstrap.servers": tbroker.bootstrap, "transactional.id": "ck-tx"})
    p.init_transactions(60)
    p.begin_transaction()
    for i in range(5):
        p.produce("ck", value=f"c{i}".encode(), partition=i % 2)
    p.commit_transaction(60)
    p.begin_transaction()
    for i in range(3):
        p.produce("ck", value=f"a{i}".encode(), partition=i % 2)
    p.abort_transaction(60)
    p.begin_transaction()
    p.produce("ck", value=b"c5", partition=0)
    p.commit_transaction(60)
    assert sorted(committed_values(tbroker.bootstrap, "ck", 6, "ck-g")) == [f"c{i}".encode() for i in range(6)]


def test_kafka_python_commit_and_abort(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("kp", 1)
    p = kafka.KafkaProducer(bootstrap_servers=tbroker.bootstrap, transactional_id="kp-tx", max_block_ms=60_000)
    try:
        p.init_transactions()
        p.begin_transaction()
        for i in range(4):
            p.send("kp", f"c{i}".encode())
        p.commit_transaction()
        p.begin_transaction()
        p.send("kp", b"aborted")
        p.abort_transaction()
        p.begin_transaction()
        p.send("kp", b"c4")
        p.commit_transaction()
    finally:
        p.close(timeout=10)
    assert committed_values(tbroker.bootstrap, "kp", 5, "kp-g") == [f"c{i}".encode() for i in range(5)]


def test_zombie_is_fenced(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("zb", 1)
    conf = {"bootstrap.servers": tbroker.bootstrap, "transactional.id": "zb-tx"}
    zombie = confluent_kafka.Producer(conf)
    zombie.init_transactions(60)
    zombie.begin_transaction()
    zombie.produce("zb", value=b"zombie", partition=0)
    zombie.flush(30)
    fresh = confluent_kafka.Producer(conf)
    fresh.init_transactions(60)  # aborts the zombie's transaction, fences its epoch
    fresh.begin_transaction()
    fresh.produce("zb", value=b"fresh", partition=0)
    fresh.commit_transaction(60)
    with pytest.raises(confluent_kafka.KafkaException) as info:
        zombie.commit_transaction(30)
    err = info.value.args[0]
    assert err.fatal(), err
    assert err.code() in (confluent_kafka.KafkaError._FENCED, confluent_kafka.KafkaError.PRODUCER_FENCED,
                          confluent_kafka.KafkaError.INVALID_PRODUCER_EPOCH), err
    assert committed_values(tbroker.bootstrap, "zb", 1, "zb-g") == [b"fresh"]


def test_timed_out_transaction_is_aborted(tbroker) -> None:
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("to", 1)
        p = confluent_kafka.Producer({"bootstrap.servers": tbroker.bootstrap, "transactional.id": "to-tx",
                                      "transaction.timeout.ms": 2000})
        p.init_transactions(60)
        before = describe(c, "to-tx")
        p.begin_transaction()
        p.produce("to", value=b"late", partition=0)
        p.flush(30)
        s = wait_for(lambda: (lambda s: s if s.transaction_state == "CompleteAbort" else None)(describe(c, "to-tx")),
                     what="the coordinator's timeout abort")
        assert s.producer_epoch == before.producer_epoch + 1  # the producer is fenced
        with pytest.raises(confluent_kafka.KafkaException):
            p.commit_transaction(30)
        good = confluent_kafka.Producer({"bootstrap.servers": tbroker.bootstrap, "transactional.id": "to-tx2"})
        good.init_transactions(60)
        good.begin_transaction()
        good.produce("to", value=b"ok", partition=0)
        good.commit_transaction(60)
    assert committed_values(tbroker.bootstrap, "to", 1, "to-g") == [b"ok"]


def test_offsets_committed_with_the_transaction(tbroker) -> None:
    """AddOffsetsToTxn + TxnOffsetCommit (consume-transform-produce): the group's offsets become
    committed with the transaction's commit marker on its __consumer_offsets partition, and an
    aborted transaction's offsets never do."""
    with RawClient.connect(tbroker.bootstrap) as c:
        c.create_topic("src", 1)
        c.create_topic("dst", 1)
    src = confluent_kafka.Producer({"bootstrap.servers": tbroker.bootstrap})
    for i in range(4):
        src.produce("src", value=f"s{i}".encode(), partition=0)
    assert src.flush(30) == 0
    cons = confluent_kafka.Consumer({"bootstrap.servers": tbroker.bootstrap, "group.id": "ctp",
                                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                     "isolation.level": "read_committed"})
    cons.subscribe(["src"])
    p = confluent_kafka.Producer({"bootstrap.servers": tbroker.bootstrap, "transactional.id": "ctp-tx"})
    p.init_transactions(60)
    try:
        msgs: list = []

        def two_read() -> bool:
            m = cons.poll(0.5)
            if m is not None and m.error() is None:
                msgs.append(m)
            return len(msgs) >= 2

        wait_for(two_read, interval=0, what="two source records")
        tp = confluent_kafka.TopicPartition("src", 0, msgs[1].offset() + 1)
        p.begin_transaction()
        p.produce("dst", value=b"out", partition=0)
        p.send_offsets_to_transaction([tp], cons.consumer_group_metadata(), 30)
        p.abort_transaction(60)
        assert cons.committed([confluent_kafka.TopicPartition("src", 0)], 30)[0].offset < 0  # aborted: none
        p.begin_transaction()
        p.produce("dst", value=b"out", partition=0)
        p.send_offsets_to_transaction([tp], cons.consumer_group_metadata(), 30)
        p.commit_transaction(60)

        def committed() -> int:
            return cons.committed([confluent_kafka.TopicPartition("src", 0)], 30)[0].offset

        assert wait_for(lambda: committed() == msgs[1].offset() + 1, what="the transaction's offset committed")
    finally:
        cons.close()
