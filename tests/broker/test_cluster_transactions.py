"""Transactions on the replicated cluster (issue 13): three kbroker processes and a real ZooKeeper.

- A confluent-kafka transactional producer commits and aborts transactions over partitions led
  by every broker: the coordinator sends markers to the remote leaders (WriteTxnMarkers), and a
  read_committed consumer sees exactly the committed records.
- The broker coordinating the transactional id (the leader of its ``__transaction_state``
  partition, RF 3) is killed: another broker loads the partition and coordinates the id; a new
  producer with the same id goes on from the state written there."""

from __future__ import annotations

from typing import Any

from tests.support.rawclient import RawClient
from tests.support.txn import committed_values
from tests.support.zookeeper import require_zookeeper
from wire.messages.describe_transactions import DescribeTransactionsRequest
from wire.messages.find_coordinator import FindCoordinatorRequest

FAST = {"zookeeper.session.timeout.ms": "6000", "replica.lag.time.max.ms": "3000",
        "offsets.topic.num.partitions": "3", "transaction.state.log.num.partitions": "3",
        "group.initial.rebalance.delay.ms": "0", "replica.fetch.wait.max.ms": "200"}


def txn_coordinator(cluster: Any, tid: str) -> int:
    for b in cluster.brokers.values():
        if b.proc is None or b.proc.poll() is not None:
            continue
        try:
            with RawClient.connect(b.bootstrap) as raw:
                r = raw.request(FindCoordinatorRequest(key=tid, key_type=1), 3)
        except OSError:
            continue
        return r.node_id if r.error_code == 0 else -1
    return -1


def describe(cluster: Any, node: int, tid: str) -> Any:
    with RawClient.connect(cluster.brokers[node].bootstrap) as raw:
        [s] = raw.request(DescribeTransactionsRequest(transactional_ids=[tid]), 0).transaction_states
    return s


def test_transactions_across_the_cluster_and_a_coordinator_kill(tmp_path) -> None:
    require_zookeeper()
    from confluent_kafka import Producer

    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path, brokers=3, overrides=FAST) as cluster:
        cluster.create_topic("ctx", 3, 3, {"min.insync.replicas": "2"})
        cluster.wait_isr_full("ctx")
        conf = {"bootstrap.servers": cluster.bootstrap, "transactional.id": "cluster-tx"}
        p = Producer(conf)
        p.init_transactions(90)
        p.begin_transaction()
        for i in range(6):
            p.produce("ctx", value=f"c{i}".encode(), partition=i % 3)
        p.commit_transaction(60)
        p.begin_transaction()
        for i in range(3):
            p.produce("ctx", value=f"a{i}".encode(), partition=i % 3)
        p.abort_transaction(60)
        p.begin_transaction()
        for i in range(6, 9):
            p.produce("ctx", value=f"c{i}".encode(), partition=i % 3)
        p.commit_transaction(60)
        old = txn_coordinator(cluster, "cluster-tx")
        assert old in cluster.brokers
        before = describe(cluster, old, "cluster-tx")
        assert before.transaction_state in ("PrepareCommit", "CompleteCommit"), before
        # A group's read-back needs __consumer_offsets, created (RF 3, offsets.topic.replication.factor)
        # only while 3 brokers are alive, as Kafka does: read once before the kill, so it exists.
        assert sorted(committed_values(cluster.bootstrap, "ctx", 9, "ctx-before")) == sorted(
            f"c{i}".encode() for i in range(9))
        cluster.wait_isr_full("__transaction_state")
        cluster.wait_isr_full("__consumer_offsets")
        cluster.kill(old)
        cluster.wait(lambda: txn_coordinator(cluster, "cluster-tx") not in (old, -1), 60, "a new coordinator")
        new = txn_coordinator(cluster, "cluster-tx")
        again = Producer(conf)
        again.init_transactions(90)
        after = describe(cluster, new, "cluster-tx")
        assert (after.producer_id, after.producer_epoch) == (before.producer_id, before.producer_epoch + 1)
        again.begin_transaction()
        again.produce("ctx", value=b"c9", partition=0)
        again.commit_transaction(60)
        got = committed_values(cluster.bootstrap, "ctx", 10, "ctx-g")
        assert sorted(got) == sorted(f"c{i}".encode() for i in range(10))
        cluster.restart(old)
