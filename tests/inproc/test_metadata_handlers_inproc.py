"""Cluster, topic and partition handlers called in process (tests/support/inproc.py): ApiVersions,
Metadata, DescribeCluster, CreatePartitions, DeleteRecords, OffsetForLeaderEpoch and AlterConfigs on
the broker resource, checked on the response fields a Kafka client reads."""

from __future__ import annotations

import uuid
from pathlib import Path

from kbroker import registry
from kbroker.apis.alter_configs import alter_configs
from kbroker.apis.api_versions import api_versions
from kbroker.apis.create_partitions import create_partitions
from kbroker.apis.delete_records import delete_records
from kbroker.apis.describe_cluster import describe_cluster
from kbroker.apis.list_offsets import list_offsets
from kbroker.apis.metadata import CLUSTER_OPERATIONS, NOT_PROVIDED, metadata
from kbroker.apis.offset_for_leader_epoch import offset_for_leader_epoch
from kbroker.broker import Broker
from tests.support.inproc import create, ctx, fetch_all, produce_one, record_values, run
from wire.errors import ErrorCode
from wire.messages.alter_configs import AlterConfigsRequest
from wire.messages.api_versions import ApiVersionsRequest
from wire.messages.create_partitions import CreatePartitionsRequest
from wire.messages.create_partitions import _CreatePartitionsRequest_CreatePartitionsTopic as GrowTopic
from wire.messages.delete_records import DeleteRecordsRequest
from wire.messages.describe_cluster import DescribeClusterRequest
from wire.messages.list_offsets import ListOffsetsRequest
from wire.messages.metadata import MetadataRequest, MetadataResponse
from wire.messages.offset_for_leader_epoch import OffsetForLeaderEpochRequest
from wire.primitives import ZERO_UUID

NODE = 7
ADVERTISED = ("kb.example", 19092)
IDENTITY = {"node.id": str(NODE), "advertised.listeners": f"PLAINTEXT://{ADVERTISED[0]}:{ADVERTISED[1]}"}
BROKER_RESOURCE = 4
EARLIEST = -2


def topics_request(*names: str, auto: bool = True) -> MetadataRequest:
    return MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=n) for n in names],
                           allow_auto_topic_creation=auto)


def by_id_request(*ids: uuid.UUID) -> MetadataRequest:
    return MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=None, topic_id=i) for i in ids])


def rows(resp: MetadataResponse) -> list[tuple]:  # type: ignore[type-arg]
    """(name, error, [(partition, leader, epoch, replicas, isr)]) per topic, as a client reads them."""
    return [(t.name, t.error_code, [(p.partition_index, p.leader_id, p.leader_epoch, p.replica_nodes, p.isr_nodes)
                                    for p in t.partitions]) for t in resp.topics]


async def records(b: Broker, topic: str, partition: int, *counts: int) -> None:
    """One batch per count, each of that many records."""
    for n in counts:
        out = await produce_one(b, topic, partition, [(b"k", b"v%d" % i, None, 1000 + i) for i in range(n)])
        assert out is not None and out.responses[0].partition_responses[0].error_code == ErrorCode.NONE


# ---------------------------------------------------------------- ApiVersions


def test_api_versions_advertises_exactly_the_registry(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        want = registry.supported_versions()
        for v in range(0, 5):
            req = ApiVersionsRequest(client_software_name="inproc-test", client_software_version="1.0")
            resp = await api_versions(ctx(b, v), req)
            assert resp.error_code == ErrorCode.NONE, v
            assert [(k.api_key, k.min_version, k.max_version) for k in resp.api_keys] == want, v
        keys = {k: (lo, hi) for k, lo, hi in want}
        assert keys[0] == (0, 13) and keys[1] == (4, 18) and keys[3] == (0, 13) and keys[18] == (0, 4)
        bad = await api_versions(ctx(b, 3), ApiVersionsRequest(client_software_name="-bad name",
                                                               client_software_version="1.0"))
        assert bad.error_code == ErrorCode.INVALID_REQUEST

    run(tmp_path, body)


# ---------------------------------------------------------------- Metadata


def test_metadata_auto_creates_with_leader_this_node_and_epoch_zero(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        first = await metadata(ctx(b, 12), topics_request("auto"))
        [t] = first.topics
        assert (t.name, t.error_code) == ("auto", ErrorCode.LEADER_NOT_AVAILABLE)
        created = b.topics.get("auto")
        assert created is not None and created.partitions == 3
        assert t.topic_id == created.topic_id != ZERO_UUID

        again = await metadata(ctx(b, 12), topics_request("auto"))
        assert rows(again) == [("auto", 0, [(p, NODE, 0, [NODE], [NODE]) for p in range(3)])]
        assert again.topics[0].topic_id == created.topic_id and again.topics[0].is_internal is False
        assert [p.leader_epoch for p in again.topics[0].partitions] == [
            b.topics.partition("auto", p).leader_epoch for p in range(3)]  # type: ignore[union-attr]
        assert [(x.node_id, x.host, x.port) for x in again.brokers] == [(NODE, *ADVERTISED)]
        assert again.controller_id == NODE and again.cluster_id == b.identity.cluster_id
        assert again.cluster_authorized_operations == NOT_PROVIDED

        v0 = await metadata(ctx(b, 0), topics_request("old"))  # v0-3 always auto-create
        assert v0.topics[0].error_code == ErrorCode.LEADER_NOT_AVAILABLE and b.topics.get("old") is not None

    run(tmp_path, body, **IDENTITY, **{"num.partitions": "3"})


def test_metadata_unknown_topics_when_creation_is_not_allowed(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        resp = await metadata(ctx(b, 12), topics_request("nope", auto=False))
        assert rows(resp) == [("nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, [])]
        assert b.topics.get("nope") is None
        bad = await metadata(ctx(b, 12), topics_request("bad name!"))
        assert rows(bad) == [("bad name!", ErrorCode.INVALID_TOPIC_EXCEPTION, [])]
        assert b.topics.get("bad name!") is None

    run(tmp_path, body)


def test_metadata_without_auto_creation_on_the_broker(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        for v in (0, 3, 4, 12, 13):
            resp = await metadata(ctx(b, v), topics_request("nope"))
            assert rows(resp) == [("nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, [])], v
        assert b.topics.get("nope") is None
        assert resp.error_code == ErrorCode.NONE  # v13's top-level error

    run(tmp_path, body, **{"auto.create.topics.enable": "false"})


def test_metadata_topic_ids_and_all_or_no_topics(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "a", 2)).topics[0].error_code == 0
        assert (await create(b, "b", 1)).topics[0].error_code == 0
        ids = {m.name: m.topic_id for m in b.topics.all()}
        assert len(set(ids.values())) == 2 and ZERO_UUID not in ids.values()

        stranger = uuid.uuid4()
        resp = await metadata(ctx(b, 12), by_id_request(ids["b"], stranger))
        assert [(t.name, t.topic_id, t.error_code) for t in resp.topics] == [
            ("b", ids["b"], 0), (None, stranger, ErrorCode.UNKNOWN_TOPIC_ID)]
        # v12+: a non-zero id wins over the name (the Java Admin sends "" with it)
        named = await metadata(ctx(b, 12), MetadataRequest(topics=[
            MetadataRequest.MetadataRequestTopic(name="", topic_id=ids["a"])]))
        assert rows(named) == [("a", 0, [(0, 1, 0, [1], [1]), (1, 1, 0, [1], [1])])]

        every = await metadata(ctx(b, 12), MetadataRequest(topics=None))
        assert sorted((t.name, t.topic_id) for t in every.topics) == sorted(ids.items())
        assert (await metadata(ctx(b, 1), MetadataRequest(topics=[]))).topics == []
        assert sorted(t.name for t in (await metadata(ctx(b, 0), MetadataRequest(topics=[]))).topics) == ["a", "b"]

    run(tmp_path, body)


# ---------------------------------------------------------------- DescribeCluster


def test_describe_cluster_is_this_broker(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        for v in (0, 1, 2):
            req = DescribeClusterRequest(endpoint_type=1, include_cluster_authorized_operations=True)
            resp = await describe_cluster(ctx(b, v), req)
            assert resp.error_code == ErrorCode.NONE, v
            assert [(x.broker_id, x.host, x.port, x.is_fenced) for x in resp.brokers] == [(NODE, *ADVERTISED, False)]
            assert resp.controller_id == NODE and resp.cluster_id == b.identity.cluster_id
            assert resp.cluster_authorized_operations == CLUSTER_OPERATIONS
        plain = await describe_cluster(ctx(b, 2), DescribeClusterRequest(endpoint_type=1))
        assert plain.cluster_authorized_operations == NOT_PROVIDED
        controller = await describe_cluster(ctx(b, 1), DescribeClusterRequest(endpoint_type=2))
        assert controller.error_code == ErrorCode.MISMATCHED_ENDPOINT_TYPE and controller.brokers == []
        other = await describe_cluster(ctx(b, 1), DescribeClusterRequest(endpoint_type=9))
        assert other.error_code == ErrorCode.UNSUPPORTED_ENDPOINT_TYPE

    run(tmp_path, body, **IDENTITY)


# ---------------------------------------------------------------- CreatePartitions


def grow(name: str, count: int, assignments: list[list[int]] | None = None) -> GrowTopic:
    R = CreatePartitionsRequest
    return R.CreatePartitionsTopic(name=name, count=count, assignments=None if assignments is None else [
        R.CreatePartitionsAssignment(broker_ids=ids) for ids in assignments])


def test_create_partitions_adds_empty_partitions(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "grow", 1)).topics[0].error_code == 0
        await records(b, "grow", 0, 2)
        checked = await create_partitions(ctx(b, 3), CreatePartitionsRequest(
            topics=[grow("grow", 5)], timeout_ms=1000, validate_only=True))
        assert [(r.name, r.error_code) for r in checked.results] == [("grow", 0)]
        assert b.topics.get("grow").partitions == 1  # type: ignore[union-attr]

        resp = await create_partitions(ctx(b, 3), CreatePartitionsRequest(topics=[
            grow("grow", 3), grow("nope", 2), grow("grow", 2)], timeout_ms=1000))
        assert [(r.name, r.error_code) for r in resp.results] == [
            ("grow", 0), ("nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), ("grow", ErrorCode.INVALID_PARTITIONS)]
        md = await metadata(ctx(b, 12), topics_request("grow"))
        assert [p.partition_index for p in md.topics[0].partitions] == [0, 1, 2]
        out = await produce_one(b, "grow", 2, [(None, b"new", None, 1)])
        assert out is not None and out.responses[0].partition_responses[0].base_offset == 0
        assert b.topics.partition("grow", 0).high_watermark == 2  # type: ignore[union-attr]

        elsewhere = await create_partitions(ctx(b, 3), CreatePartitionsRequest(
            topics=[grow("grow", 4, [[2]])], timeout_ms=1000))
        assert elsewhere.results[0].error_code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        here = await create_partitions(ctx(b, 3), CreatePartitionsRequest(
            topics=[grow("grow", 4, [[1]])], timeout_ms=1000))
        assert here.results[0].error_code == 0 and b.topics.get("grow").partitions == 4  # type: ignore[union-attr]

    run(tmp_path, body)


# ---------------------------------------------------------------- DeleteRecords


def delete_to(topic: str, *offsets: tuple[int, int]) -> DeleteRecordsRequest:
    R = DeleteRecordsRequest
    return R(topics=[R.DeleteRecordsTopic(name=topic, partitions=[
        R.DeleteRecordsPartition(partition_index=p, offset=o) for p, o in offsets])], timeout_ms=1000)


async def low_watermarks(b: Broker, req: DeleteRecordsRequest) -> list[tuple[int, int, int]]:
    resp = await delete_records(ctx(b, 2), req)
    return [(p.partition_index, p.error_code, p.low_watermark) for t in resp.topics for p in t.partitions]


async def earliest(b: Broker, topic: str, partition: int) -> int:
    R = ListOffsetsRequest
    resp = await list_offsets(ctx(b, 7), R(replica_id=-1, topics=[R.ListOffsetsTopic(
        name=topic, partitions=[R.ListOffsetsPartition(partition_index=partition, timestamp=EARLIEST)])]))
    return resp.topics[0].partitions[0].offset  # type: ignore[no-any-return]


def test_delete_records_moves_the_low_watermark(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "dr", 2)).topics[0].error_code == 0
        await records(b, "dr", 0, 3, 2)
        assert await low_watermarks(b, delete_to("dr", (0, 3))) == [(0, 0, 3)]
        assert await earliest(b, "dr", 0) == 3
        below = await fetch_all(b, "dr", 0, offset=0)
        assert below.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        kept = (await fetch_all(b, "dr", 0, offset=3)).responses[0].partitions[0]
        assert (kept.error_code, kept.log_start_offset, kept.high_watermark) == (0, 3, 5)
        assert record_values(kept.records) == [b"v0", b"v1"]

        assert await low_watermarks(b, delete_to("dr", (0, 1))) == [(0, 0, 3)]  # never moves back
        assert await low_watermarks(b, delete_to("dr", (0, 6), (1, 0), (9, 0))) == [
            (0, ErrorCode.OFFSET_OUT_OF_RANGE, -1), (1, 0, 0), (9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1)]
        assert await low_watermarks(b, delete_to("dr", (0, -1))) == [(0, 0, 5)]  # -1: the high watermark
        assert await earliest(b, "dr", 0) == 5
        assert b.topics.partition("dr", 0).log_start_offset == 5  # type: ignore[union-attr]
        assert await low_watermarks(b, delete_to("nope", (0, 0))) == [(0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1)]

    run(tmp_path, body)


def test_delete_records_on_a_compact_only_topic_is_a_policy_violation(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "compact", 1, {"cleanup.policy": "compact"})).topics[0].error_code == 0
        assert (await create(b, "both", 1, {"cleanup.policy": "compact,delete"})).topics[0].error_code == 0
        for name in ("compact", "both"):
            await records(b, name, 0, 2)
        assert await low_watermarks(b, delete_to("compact", (0, 1))) == [(0, ErrorCode.POLICY_VIOLATION, -1)]
        assert await earliest(b, "compact", 0) == 0
        assert await low_watermarks(b, delete_to("both", (0, 1))) == [(0, 0, 1)]

    run(tmp_path, body)


# ---------------------------------------------------------------- OffsetForLeaderEpoch


def test_offset_for_leader_epoch(tmp_path: Path) -> None:
    R = OffsetForLeaderEpochRequest

    async def ask(b: Broker, v: int, topic: str, parts: list[tuple[int, int, int]]) -> list[tuple[int, int, int, int]]:
        req = R(replica_id=-1, topics=[R.OffsetForLeaderTopic(topic=topic, partitions=[
            R.OffsetForLeaderPartition(partition=p, current_leader_epoch=cur, leader_epoch=epoch)
            for p, cur, epoch in parts])])
        resp = await offset_for_leader_epoch(ctx(b, v), req)
        return [(r.partition, r.error_code, r.leader_epoch, r.end_offset) for r in resp.topics[0].partitions]

    async def body(b: Broker) -> None:
        assert (await create(b, "ep", 2)).topics[0].error_code == 0
        await records(b, "ep", 0, 2, 2, 2)
        for v in (2, 3, 4):
            # epoch 0 ends at the log end offset; epoch 1 (newer than any) and -1 are UNDEFINED
            assert await ask(b, v, "ep", [(0, -1, 0), (1, 0, 0), (0, 0, 1), (0, 0, -1)]) == [
                (0, 0, 0, 6), (1, 0, 0, 0), (0, 0, -1, -1), (0, 0, -1, -1)], v
            assert (await ask(b, v, "ep", [(0, 1, 0)]))[0][1] == ErrorCode.UNKNOWN_LEADER_EPOCH
            assert (await ask(b, v, "nope", [(0, -1, 0)]))[0][1] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            assert (await ask(b, v, "ep", [(7, -1, 0)]))[0][1] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION

    run(tmp_path, body)


# ---------------------------------------------------------------- AlterConfigs (broker)


def test_alter_configs_on_the_broker_moves_the_topics_resolved_retention(tmp_path: Path) -> None:
    R = AlterConfigsRequest

    def on_broker(name: str, **configs: str) -> AlterConfigsRequest:
        return R(resources=[R.AlterConfigsResource(resource_type=BROKER_RESOURCE, resource_name=name, configs=[
            R.AlterableConfig(name=k.replace("_", "."), value=v) for k, v in configs.items()])])

    async def body(b: Broker) -> None:
        assert (await create(b, "follows", 1)).topics[0].error_code == 0
        assert (await create(b, "own", 1, {"retention.ms": "5000"})).topics[0].error_code == 0
        default = b.topics.config("follows").retention.retention_ms  # type: ignore[union-attr]
        assert default != 1234

        for name in (str(NODE), ""):  # this broker, then the cluster-wide default
            resp = await alter_configs(ctx(b, 1), on_broker(name, log_retention_ms="1234"))
            assert [(r.error_code, r.resource_name) for r in resp.responses] == [(0, name)]
            assert b.topics.config("follows").retention.retention_ms == 1234  # type: ignore[union-attr]
            assert b.topics.partition("follows", 0).config.retention.retention_ms == 1234  # type: ignore[union-attr]
            assert b.topics.config("own").retention.retention_ms == 5000  # type: ignore[union-attr]
            cleared = await alter_configs(ctx(b, 1), on_broker(name))  # the whole set: none left
            assert cleared.responses[0].error_code == 0
            assert b.topics.config("follows").retention.retention_ms == default  # type: ignore[union-attr]

        checked = await alter_configs(ctx(b, 1), R(validate_only=True, resources=on_broker(
            str(NODE), log_retention_ms="99").resources))
        assert checked.responses[0].error_code == 0
        assert b.topics.config("follows").retention.retention_ms == default  # type: ignore[union-attr]
        other = await alter_configs(ctx(b, 1), on_broker("99", log_retention_ms="1234"))
        assert other.responses[0].error_code == ErrorCode.INVALID_REQUEST
        assert b.topics.config("follows").retention.retention_ms == default  # type: ignore[union-attr]

    run(tmp_path, body, **IDENTITY)
