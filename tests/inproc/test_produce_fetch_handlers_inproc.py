"""Produce and Fetch called in process (tests/support/inproc.py), for what needs no socket: acks=0
(no answer; an error closes the connection: kbroker.registry.CloseConnection), v13's topic ids, and a
long-poll fetch woken by a produce."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from kbroker.apis.produce import produce
from kbroker.broker import Broker
from kbroker.registry import CloseConnection
from tests.support.inproc import create, ctx, fetch_all, produce_one, record_values, run
from wire.errors import ErrorCode
from wire.messages.produce import ProduceRequest
from wire.records import build_batch

LONG_POLL_MS = 600_000
"""Far beyond run()'s hang guard: a parked fetch can only return by being woken."""


def by_id(topic_id: uuid.UUID, partition: int, value: bytes) -> ProduceRequest:
    data = memoryview(bytearray(build_batch([(None, value, None, 1)])))
    return ProduceRequest(acks=-1, timeout_ms=1000, topic_data=[ProduceRequest.TopicProduceData(
        name="", topic_id=topic_id, partition_data=[ProduceRequest.PartitionProduceData(index=partition, records=data)])])


def test_acks_0_gets_no_answer_and_an_error_closes_the_connection(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "quiet", 1)).topics[0].error_code == 0
        assert await produce_one(b, "quiet", 0, [(None, b"fire", None, 1)], acks=0) is None
        assert b.topics.partition("quiet", 0).high_watermark == 1  # type: ignore[union-attr]
        with pytest.raises(CloseConnection):
            await produce_one(b, "quiet", 3, [(None, b"lost", None, 1)], acks=0)
        with pytest.raises(CloseConnection):
            await produce_one(b, "nope", 0, [(None, b"lost", None, 1)], acks=0)
        assert b.topics.get("nope") is None
        with pytest.raises(CloseConnection):  # v0-2: message format v2 needs v3+
            await produce_one(b, "quiet", 0, [(None, b"old", None, 1)], version=2)
        assert b.topics.partition("quiet", 0).high_watermark == 1  # type: ignore[union-attr]
        got = await fetch_all(b, "quiet", 0)
        assert record_values(got.responses[0].partitions[0].records) == [b"fire"]

    run(tmp_path, body)


def test_produce_v13_addresses_topics_by_id(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "ids", 2)).topics[0].error_code == 0
        tid = b.topics.get("ids").topic_id  # type: ignore[union-attr]
        ok = await produce(ctx(b, 13), by_id(tid, 1, b"by-id"))
        [t] = ok.responses
        assert t.topic_id == tid
        assert [(p.index, p.error_code, p.base_offset) for p in t.partition_responses] == [(1, 0, 0)]
        got = await fetch_all(b, "ids", 1)
        assert record_values(got.responses[0].partitions[0].records) == [b"by-id"]

        stranger = uuid.uuid4()
        bad = await produce(ctx(b, 13), by_id(stranger, 0, b"lost"))
        [t] = bad.responses
        assert t.topic_id == stranger
        assert [(p.index, p.error_code, p.base_offset) for p in t.partition_responses] == [
            (0, ErrorCode.UNKNOWN_TOPIC_ID, -1)]
        assert b.topics.partition("ids", 0).high_watermark == 0  # type: ignore[union-attr]

    run(tmp_path, body)


def test_a_long_poll_fetch_is_woken_by_a_produce(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "poll", 2)).topics[0].error_code == 0
        parked = asyncio.create_task(fetch_all(b, "poll", 0, max_wait_ms=LONG_POLL_MS, min_bytes=1))
        for _ in range(3):
            await asyncio.sleep(0)
        assert not parked.done()

        other = await produce_one(b, "poll", 1, [(None, b"elsewhere", None, 1)])
        assert other is not None and other.responses[0].partition_responses[0].error_code == 0
        for _ in range(3):
            await asyncio.sleep(0)
        assert not parked.done()  # an append to another partition does not wake it

        out = await produce_one(b, "poll", 0, [(b"k", b"wake", None, 2)])
        assert out is not None and out.responses[0].partition_responses[0].error_code == 0
        resp = await parked  # returns long before its max wait, or run() fails it
        [pd] = resp.responses[0].partitions
        assert (pd.error_code, pd.high_watermark) == (0, 1)
        assert record_values(pd.records) == [b"wake"]

    run(tmp_path, body)
