"""Handlers called in process, without a socket: a RequestContext over the services of a broker
built in this process (kbroker.broker), the generated request objects in, the response objects out
(the broker and the context come from tests/support/inproc.py)."""

from __future__ import annotations

from pathlib import Path

from kbroker.apis.delete_topics import delete_topics
from kbroker.apis.describe_configs import describe_configs
from kbroker.apis.incremental_alter_configs import incremental_alter_configs
from kbroker.apis.list_offsets import list_offsets
from kbroker.broker import Broker
from tests.support.inproc import create, ctx, fetch_all, produce_one, run, slice_bytes
from wire.errors import ErrorCode
from wire.messages.delete_topics import DeleteTopicsRequest
from wire.messages.describe_configs import DescribeConfigsRequest
from wire.messages.incremental_alter_configs import IncrementalAlterConfigsRequest
from wire.messages.list_offsets import ListOffsetsRequest
from wire.records import iter_batches, iter_records

TOPIC = 2
DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG = 1, 5


def test_create_produce_fetch_list_offsets_in_process(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        resp = await create(b, "orders", 2)
        [t] = resp.topics
        assert t.error_code == 0 and t.num_partitions == 2
        again = await create(b, "orders", 2)
        assert again.topics[0].error_code == ErrorCode.TOPIC_ALREADY_EXISTS

        out = await produce_one(b, "orders", 1, [(b"k1", b"v1", None, 1000), (b"k2", b"v2", None, 1001)])
        [pr] = out.responses[0].partition_responses
        assert pr.error_code == 0 and pr.base_offset == 0
        out = await produce_one(b, "orders", 1, [(b"k3", b"v3", None, 1002)])
        assert out.responses[0].partition_responses[0].base_offset == 2
        missing = await produce_one(b, "orders", 7, [(None, b"x", None, 1)])
        assert missing.responses[0].partition_responses[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION

        got = await fetch_all(b, "orders", 1)
        [pd] = got.responses[0].partitions
        assert pd.error_code == 0 and pd.high_watermark == 3 and pd.log_start_offset == 0
        data = slice_bytes(pd.records)
        values = [r.value for pos, _ in iter_batches(data) for r in iter_records(data, pos)]
        assert values == [b"v1", b"v2", b"v3"]

        lo = await list_offsets(ctx(b, 7), ListOffsetsRequest(replica_id=-1, topics=[ListOffsetsRequest.ListOffsetsTopic(
            name="orders", partitions=[ListOffsetsRequest.ListOffsetsPartition(partition_index=1, timestamp=-1),
                                       ListOffsetsRequest.ListOffsetsPartition(partition_index=0, timestamp=-2)])]))
        offsets = {p.partition_index: p.offset for p in lo.topics[0].partitions}
        assert offsets == {1: 3, 0: 0}

        gone = await delete_topics(ctx(b, 5), DeleteTopicsRequest(topic_names=["orders"], timeout_ms=1000))
        assert gone.responses[0].error_code == 0
        assert b.topics.partition("orders", 1) is None
        after = await fetch_all(b, "orders", 1)
        assert after.responses[0].partitions[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION

    run(tmp_path, body)


def test_compacted_topic_refuses_keyless_records_in_process(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "state", 1, {"cleanup.policy": "compact"})).topics[0].error_code == 0
        out = await produce_one(b, "state", 0, [(b"k", b"v", None, 1), (None, b"nokey", None, 2)])
        [pr] = out.responses[0].partition_responses
        assert pr.error_code == ErrorCode.INVALID_RECORD
        assert [e.batch_index for e in pr.record_errors] == [1]
        assert b.topics.partition("state", 0).high_watermark == 0  # type: ignore[union-attr]

    run(tmp_path, body)


def test_configs_are_resolved_once_and_described_with_their_sources(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        resp = await create(b, "cfg", 1, {"retention.ms": "60000"})
        by_name = {c.name: c for c in resp.topics[0].configs}
        assert by_name["retention.ms"].value == "60000" and by_name["retention.ms"].config_source == DYNAMIC_TOPIC_CONFIG
        assert by_name["segment.bytes"].value == "4096" and by_name["segment.bytes"].config_source == 4  # the file
        before = b.topics.config("cfg")
        assert before is not None and before.retention.retention_ms == 60000 and before.log.segment_bytes == 4096

        op = IncrementalAlterConfigsRequest.AlterableConfig(name="cleanup.policy", config_operation=0, value="compact")
        alter = await incremental_alter_configs(ctx(b, 1), IncrementalAlterConfigsRequest(resources=[
            IncrementalAlterConfigsRequest.AlterConfigsResource(resource_type=TOPIC, resource_name="cfg", configs=[op])]))
        assert alter.responses[0].error_code == 0
        after = b.topics.config("cfg")
        assert after is not before and after is not None and after.compact and not before.compact
        assert b.topics.partition("cfg", 0).config is after  # type: ignore[union-attr]

        desc = await describe_configs(ctx(b, 4), DescribeConfigsRequest(include_synonyms=True, resources=[
            DescribeConfigsRequest.DescribeConfigsResource(resource_type=TOPIC, resource_name="cfg",
                                                           configuration_keys=["cleanup.policy", "retention.ms"])]))
        entries = {e.name: e for e in desc.results[0].configs}
        assert entries["cleanup.policy"].value == "compact"
        assert entries["cleanup.policy"].config_source == DYNAMIC_TOPIC_CONFIG
        assert entries["retention.ms"].value == "60000"

    run(tmp_path, body, **{"log.segment.bytes": "4096"})
