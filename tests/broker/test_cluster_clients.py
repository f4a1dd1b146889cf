"""kafka-python and aiokafka on the replicated cluster (compat.cluster.launcher: ZooKeeper and three
kbroker processes), through SIGKILLs of partition leaders (tests/support/failover.py has the
scenarios and their checks):

- an idempotent producer (acks=all) sends 3,000 records while the leader of each partition in turn is
  killed, comes back, and takes its leadership back; the client's own consumer then reads every
  acknowledged record back at its offset, exactly once, in produce order;
- a group member of the client reads a third of 2,100 records, the leader of partition 0 is killed
  while it waits, and the member must read the next third from the new leader and, once the killed
  broker is back and leading again, the last third from it.

Two raw-protocol tests pin down what those results rest on: a retried idempotent batch is not
written twice by the leader elected after a kill, and fetches carrying the leader epoch of before the
kill are fenced (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER, as Kafka).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from compat.scenarios.common import topic_name
from tests.broker.test_cluster import FAST
from tests.support.failover import (
    PARTITIONS,
    TOPIC_CONFIG,
    AioKafkaProducer,
    KafkaPythonProducer,
    consume_through_leader_kill,
    end_offsets,
    produce_confluent,
    produce_through_leader_kill,
    read_aiokafka,
    read_kafka_python,
    rounds_summary,
    verify,
)
from tests.support.waiting import wait_for
from tests.support.zookeeper import require_zookeeper
from wire.errors import ErrorCode

CLIENTS = ["kafka-python", "aiokafka"]
PRODUCERS = {"kafka-python": KafkaPythonProducer, "aiokafka": AioKafkaProducer}
READERS = {"kafka-python": read_kafka_python, "aiokafka": read_aiokafka}

KILLED = (0, 1, 2)
"""the partitions whose leaders the producer scenario kills, in turn (each broker once)"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path_factory.mktemp("cluster"), brokers=3, overrides=FAST) as c:
        yield c


@pytest.fixture
def topic(cluster, request) -> str:
    for b in cluster.brokers:  # a test that failed may have left one down
        if not cluster.is_running(b):
            cluster.restart(b)
    name = topic_name(request.node.callspec.params["client"], "failover")
    cluster.create_topic(name, PARTITIONS, 3, TOPIC_CONFIG)
    cluster.wait_isr_full(name)
    return name


@pytest.mark.timeout(600)
@pytest.mark.parametrize("client", CLIENTS)
def test_idempotent_producer_through_a_leader_kill(cluster, topic, client) -> None:
    n = 3000
    producer = PRODUCERS[client](cluster.bootstrap, topic)
    try:
        run = produce_through_leader_kill(cluster, topic, producer, n, partitions=KILLED)
    finally:
        producer.close()
    read = READERS[client](cluster.bootstrap, topic, end_offsets(cluster, topic))
    print(f"{verify(run['acked'], read, n)}; {rounds_summary(run)}")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("client", CLIENTS)
def test_group_consumer_through_a_leader_kill(cluster, topic, client) -> None:
    print(consume_through_leader_kill(cluster, topic, client, 2100))


def test_a_retried_batch_is_not_written_twice_by_the_new_leader(cluster) -> None:
    """What the exactly-once results above rest on, made deterministic: an idempotent batch acknowledged
    by a leader (so on every ISR member) and retried, as a producer whose answer was lost would, to the
    leader elected after that leader's SIGKILL comes back with its original offset and is not written
    again; the next sequence follows it."""
    import time

    from tests.support.rawclient import RawClient
    from wire.messages.init_producer_id import InitProducerIdRequest
    from wire.records import build_batch

    topic = topic_name("raw", "retry")
    cluster.create_topic(topic, 1, 3, TOPIC_CONFIG)
    cluster.wait_isr_full(topic)
    leader = cluster.leaders(topic)[0]
    with RawClient.connect(cluster.brokers[leader].bootstrap) as raw:
        ids = raw.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000,
                                                producer_id=-1, producer_epoch=-1), 4)
        assert ids.error_code == 0

        def batch(seq: int, values: list[bytes]) -> bytes:
            return build_batch([(None, v, None, int(time.time() * 1000)) for v in values],
                               producer_id=ids.producer_id, producer_epoch=ids.producer_epoch, base_sequence=seq)

        first = raw.produce(topic, 0, batch(0, [b"a", b"b"]), acks=-1)
        second = raw.produce(topic, 0, batch(2, [b"c"]), acks=-1)
    assert (first.error_code, first.base_offset, second.error_code, second.base_offset) == (0, 0, 0, 2)
    cluster.kill(leader)
    cluster.wait_leader_moved(topic, {0}, leader)
    new_leader = cluster.leaders(topic)[0]
    with RawClient.connect(cluster.brokers[new_leader].bootstrap) as raw:
        again = raw.produce(topic, 0, batch(2, [b"c"]), acks=-1)
        assert (again.error_code, again.base_offset) == (0, 2), "the retry of the last batch"
        older = raw.produce(topic, 0, batch(0, [b"a", b"b"]), acks=-1)
        assert (older.error_code, older.base_offset) == (0, 0), "the retry of an earlier batch"
        nxt = raw.produce(topic, 0, batch(3, [b"d"]), acks=-1)
        assert (nxt.error_code, nxt.base_offset) == (0, 3)
        gap = raw.produce(topic, 0, batch(9, [b"x"]), acks=-1)
        assert gap.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    read = read_kafka_python(cluster.bootstrap, topic, {0: 4})
    assert [r.value for r in read] == [b"a", b"b", b"c", b"d"]
    cluster.restart(leader)
    cluster.wait_isr_full(topic, timeout=90)


def _fetch_with_epoch(bootstrap: str, topic: str, epoch: int, version: int = 12):
    from tests.support.rawclient import RawClient
    from wire.messages.fetch import FetchRequest as F

    req = F(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=0, session_id=0,
            session_epoch=-1, topics=[F.FetchTopic(topic=topic, partitions=[F.FetchPartition(
                partition=0, current_leader_epoch=epoch, fetch_offset=0, partition_max_bytes=1 << 20)])])
    with RawClient.connect(bootstrap) as raw:
        return raw.request(req, version).responses[0].partitions[0]


def test_fetches_with_the_leader_epoch_of_before_a_kill_are_fenced(cluster) -> None:
    """What a consumer that sends its leader epoch (franz-go, librdkafka, Java) meets after a failover
    when its metadata is stale: the new leader answers FENCED_LEADER_EPOCH to the old epoch and
    UNKNOWN_LEADER_EPOCH to one it has not reached; a follower fences the old epoch too (as Kafka: the
    epoch is checked before the leadership) and answers NOT_LEADER_OR_FOLLOWER to the current one;
    the killed leader, once back, fences the old epoch."""
    topic = topic_name("raw", "epochs")
    cluster.create_topic(topic, 1, 3, TOPIC_CONFIG)
    cluster.wait_isr_full(topic)
    produce_confluent(cluster, topic, range(0, 30, 3))  # partition 0 of the plan
    old_leader = cluster.leaders(topic)[0]
    old_epoch = _leader_epoch(cluster, topic)
    assert _fetch_with_epoch(cluster.brokers[old_leader].bootstrap, topic, old_epoch).error_code == 0
    cluster.kill(old_leader)
    cluster.wait_leader_moved(topic, {0}, old_leader)
    new_leader = cluster.leaders(topic)[0]
    epoch = _leader_epoch(cluster, topic)
    assert epoch > old_epoch
    lead = cluster.brokers[new_leader].bootstrap
    # a new leader's high watermark is the one it knew as a follower (possibly short of the last acked
    # batch, as in Kafka) until the remaining in-sync follower has fetched from it
    got = wait_for(lambda: next((g for g in [_fetch_with_epoch(lead, topic, epoch)]
                                 if g.error_code != 0 or g.high_watermark >= 10), None),
                   timeout=30, what="the new leader's high watermark to reach 10")
    assert got.error_code == 0 and got.high_watermark == 10
    assert _fetch_with_epoch(lead, topic, old_epoch).error_code == ErrorCode.FENCED_LEADER_EPOCH
    assert _fetch_with_epoch(lead, topic, epoch + 1).error_code == ErrorCode.UNKNOWN_LEADER_EPOCH
    follower = cluster.brokers[next(b for b in cluster.brokers if b not in (old_leader, new_leader))].bootstrap
    assert _fetch_with_epoch(follower, topic, old_epoch).error_code == ErrorCode.FENCED_LEADER_EPOCH
    # v10: a consumer fetch without client metadata, which Kafka serves from the leader only (from v11
    # Kafka reads from a follower too, KIP-392, which kbroker does not implement: kbroker/apis/fetch.py)
    assert _fetch_with_epoch(follower, topic, epoch, 10).error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    cluster.restart(old_leader)
    cluster.wait_isr_full(topic, timeout=90)
    back = cluster.brokers[old_leader].bootstrap  # a follower, or the leader again at a newer epoch
    assert _fetch_with_epoch(back, topic, old_epoch).error_code == ErrorCode.FENCED_LEADER_EPOCH


def _leader_epoch(cluster, topic: str) -> int:
    from tests.support.rawclient import RawClient
    from wire.messages.metadata import MetadataRequest

    for b in cluster.brokers.values():
        if b.proc is not None and b.proc.poll() is None:
            with RawClient.connect(b.bootstrap) as raw:
                md = raw.request(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)],
                                                 allow_auto_topic_creation=False), 9)
            return md.topics[0].partitions[0].leader_epoch
    raise AssertionError("no broker running")
