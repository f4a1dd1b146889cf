"""aiokafka scenarios.

aiokafka 0.14 speaks only non-flexible versions (ApiVersions v0, Produce <= 7, Fetch <= 11,
Metadata <= 5) and always writes record format v2.  Its producer defaults to acks=1 without
idempotence; the scenarios ask for acks=all and keep the rest.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from compat.scenarios.common import (
    STEP_TIMEOUT,
    Deadline,
    Got,
    Rec,
    ScenarioFailed,
    check_offsets,
    compression_scenario,
    norm_headers,
    other_python_readers,
    roundtrip_scenario,
)

CLIENT = "aiokafka"
_TS_TYPES = {0: "create", 1: "log_append"}
T = TypeVar("T")


def version() -> str:
    return aiokafka.__version__


def _run(coro: Coroutine[Any, Any, T], timeout: float, what: str) -> T:
    async def bounded() -> T:
        try:
            return await asyncio.wait_for(coro, timeout)
        except TimeoutError:
            raise ScenarioFailed(f"{what} timed out after {timeout:.0f}s") from None
    return asyncio.run(bounded())


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    async def go() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-aiokafka-admin")
        await admin.start()
        try:
            resp = await admin.create_topics([NewTopic(topic, partitions, 1)], timeout_ms=30_000)
        finally:
            await admin.close()
        for t, code, *rest in resp.topic_errors:
            if code != 0:
                raise ScenarioFailed(f"CreateTopics {t}: error {code} {rest[0] if rest else ''}")
    _run(go(), STEP_TIMEOUT, "create_topics")


def produce(bootstrap: str, topic: str, records: Sequence[Rec], compression: str | None = None,
            timeout: float = STEP_TIMEOUT) -> list[tuple[int, int]]:
    """Send every record (acks=all); return the acknowledged positions."""
    async def go() -> list[tuple[int, int]]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=compression,
                                    client_id="compat-aiokafka-producer")
        await producer.start()
        try:
            futures = [await producer.send(topic, key=r.key, value=r.value, headers=list(r.headers),
                                           timestamp_ms=r.timestamp) for r in records]
            out = []
            for i, md in enumerate(await asyncio.gather(*futures, return_exceptions=True)):
                if isinstance(md, BaseException):
                    raise ScenarioFailed(f"record #{i} not acknowledged: {type(md).__name__}: {md}")
                out.append((md.partition, md.offset))
            return out
        finally:
            await producer.stop()
    return _run(go(), timeout, "produce")


def consume(bootstrap: str, topic: str, partitions: int, ends: dict[int, int] | None,
            timeout: float = STEP_TIMEOUT) -> list[Got]:
    """assign() every partition, seek to the beginning, read up to ``ends`` (no group, no commits).

    The latest offsets must equal ``ends``; with ``ends`` None they are read up to instead."""
    async def go(ends: dict[int, int] | None) -> list[Got]:
        deadline = Deadline(timeout)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                    client_id="compat-aiokafka-consumer")
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)  # also makes the client track the topic's metadata
            found = consumer.partitions_for_topic(topic)
            while not found and not deadline.expired():
                await asyncio.sleep(0.05)
                found = consumer.partitions_for_topic(topic)
            if found != set(range(partitions)):
                raise ScenarioFailed(f"metadata lists partitions {sorted(found or [])}, "
                                     f"expected 0..{partitions - 1}")
            await consumer.seek_to_beginning(*tps)
            check_offsets("earliest", {tp.partition: o for tp, o in (await consumer.beginning_offsets(tps)).items()},
                          dict.fromkeys(range(partitions), 0))
            latest = {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
            ends = check_offsets("latest", latest, ends)
            got: list[Got] = []
            position = dict.fromkeys(range(partitions), 0)
            while any(position[p] < ends[p] for p in ends):
                if deadline.expired():
                    raise ScenarioFailed(f"timed out after {timeout:.0f}s: read up to {position}, want {ends}")
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, recs in batch.items():
                    for m in recs:
                        got.append(Got(tp.partition, m.offset, m.key, m.value, norm_headers(m.headers),
                                       m.timestamp, _TS_TYPES.get(m.timestamp_type, "none")))
                        position[tp.partition] = max(position[tp.partition], m.offset + 1)
            return got
        finally:
            await consumer.stop()
    return _run(go(ends), timeout + 15, "consume")


def roundtrip(bootstrap: str) -> str:
    return roundtrip_scenario(sys.modules[__name__], bootstrap)


def compression(bootstrap: str) -> str:
    return compression_scenario(bootstrap, sys.modules[__name__], other_python_readers(CLIENT))


SCENARIOS = {"roundtrip": roundtrip, "compression": compression}
