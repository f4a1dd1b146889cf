"""Leader epochs a single broker can honestly state: epoch 0 for every partition, from its creation,
persisted in leader-epoch-checkpoint, the same in Metadata, ListOffsets, Fetch (stamped into every
stored batch) and OffsetForLeaderEpoch, across restarts. Raw protocol at every version; the Java
clients use all of this in tests/foreign/test_java_clients.py."""

from __future__ import annotations

from tests.support.rawclient import RawClient
from wire.messages.describe_cluster import DescribeClusterRequest
from wire.messages.metadata import MetadataRequest
from wire.messages.offset_for_leader_epoch import OffsetForLeaderEpochRequest
from wire.records import build_batch, iter_batches

UNKNOWN_EPOCH, UNKNOWN_TOPIC, UNSUPPORTED_VERSION = 75, 3, 35


def ofle(c: RawClient, version: int, topic: str, parts: list[tuple[int, int, int]]) -> list:
    R = OffsetForLeaderEpochRequest
    req = R(replica_id=-1, topics=[R.OffsetForLeaderTopic(topic=topic, partitions=[
        R.OffsetForLeaderPartition(partition=p, current_leader_epoch=cur, leader_epoch=epoch)
        for p, cur, epoch in parts])])
    resp = c.request(req, version)
    return [(r.partition, r.error_code, r.leader_epoch, r.end_offset) for r in resp.topics[0].partitions]


def test_epochs_everywhere(broker_factory) -> None:
    b = broker_factory()
    with RawClient.connect(b.bootstrap) as c:
        c.create_topic("ep", 2)
        for i in range(3):
            c.produce("ep", 0, build_batch([(b"k", b"v%d" % i, None, 1000 + i)] * 2, partition_leader_epoch=-1))
        for v in range(7, 13):
            md = c.request(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="ep")]), v)
            assert [p.leader_epoch for p in md.topics[0].partitions] == [0, 0], v
        data = c.fetch("ep", 0, 0).records
        assert [h.partition_leader_epoch for _, h in iter_batches(data)] == [0, 0, 0]
        for v in (2, 3, 4):
            assert ofle(c, v, "ep", [(0, -1, 0), (1, 0, 0), (0, 0, 1), (0, 0, -1)]) == [
                (0, 0, 0, 6), (1, 0, 0, 0), (0, 0, -1, -1), (0, 0, -1, -1)], v
            assert ofle(c, v, "ep", [(0, 1, 0), (1, -1, 0)])[0][1] == UNKNOWN_EPOCH
            assert ofle(c, v, "nope", [(0, -1, 0)])[0][1] == UNKNOWN_TOPIC
            assert ofle(c, v, "ep", [(7, -1, 0)])[0][1] == UNKNOWN_TOPIC
        for v in range(4, 11):  # Kafka 4.1.1: ListOffsets v1-10
            latest = c.list_offset("ep", 0, -1, version=v)
            earliest = c.list_offset("ep", 0, -2, version=v)
            assert (latest.offset, latest.leader_epoch, earliest.offset, earliest.leader_epoch) == (6, 0, 0, 0)
            by_time = c.list_offset("ep", 0, 1001, version=v)
            assert (by_time.offset, by_time.timestamp, by_time.leader_epoch) == (2, 1001, 0)
        for v, ts, want in ((8, -4, 0), (9, -5, -1)):
            assert c.list_offset("ep", 0, ts, version=v).offset == want
            assert c.list_offset("ep", 0, ts, version=v - 1).error_code == UNSUPPORTED_VERSION
        for v in (0, 1, 2):
            dc = c.request(DescribeClusterRequest(endpoint_type=1, include_fenced_brokers=True), v)
            assert dc.error_code == 0 and [x.broker_id for x in dc.brokers] == [1]
        assert c.request(DescribeClusterRequest(endpoint_type=2), 1).error_code == 114  # MISMATCHED
    checkpoint = b.data_dir / "ep-0" / "leader-epoch-checkpoint"
    assert checkpoint.read_text() == "0\n1\n0 0\n"
    b.kill()
    b.start()
    with RawClient.connect(b.bootstrap) as c:
        assert ofle(c, 4, "ep", [(0, 0, 0)]) == [(0, 0, 0, 6)]
        c.produce("ep", 0, build_batch([(b"k", b"after", None, 5000)]))
        data = c.fetch("ep", 0, 6).records
        assert [h.partition_leader_epoch for _, h in iter_batches(data)] == [0]
