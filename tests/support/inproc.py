"""Handlers called in process (tests/inproc/): a broker built in the test's own event loop, the
request context a connection would hand its handlers, and the few requests most tests start with.

Rules: the broker lives under the test's ``tmp_path`` (no fixed paths, no sockets, so tests may run
in parallel workers); it is always stopped, even when the test body fails; what a test checks is the
response object a handler returns, the fields a Kafka client would read."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import kbroker.apis  # noqa: F401  (registers every handler, as the server does)
from kbroker.apis.create_topics import create_topics
from kbroker.apis.fetch import fetch
from kbroker.apis.produce import produce
from kbroker.broker import Broker
from kbroker.config import BrokerConfig
from kbroker.context import RequestContext
from wire.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse
from wire.messages.fetch import FetchRequest, FetchResponse
from wire.messages.produce import ProduceRequest, ProduceResponse
from wire.records import build_batch, iter_batches, iter_records

T = TypeVar("T")

HANG_GUARD_S = 30
"""A test body that has not finished by then is stuck (it fails instead of holding the run)."""


def run(tmp_path: Path, body: Callable[[Broker], Awaitable[T]], **props: str) -> T:
    """``body(broker)`` with a broker whose background work runs, then a clean stop.
    ``props`` are broker configs (pass dotted names as ``**{"log.retention.ms": "1000"}``)."""
    async def main() -> T:
        b = Broker(BrokerConfig({"log.dirs": str(tmp_path / "data"), **props}))
        b.start_background()
        try:
            return await asyncio.wait_for(body(b), HANG_GUARD_S)
        finally:
            await b.stop()
    return asyncio.run(main())


def ctx(b: Broker, version: int, client_id: str = "inproc", peer: str = "test") -> RequestContext:
    """The context a connection gives a handler for one request at ``version`` (``peer``: "ip:port")."""
    return RequestContext(b.services, api_version=version, correlation_id=1, client_id=client_id, peer=peer)


def create(b: Broker, name: str, partitions: int,
           configs: dict[str, str] | None = None) -> Coroutine[Any, Any, CreateTopicsResponse]:
    """CreateTopics v7 for one topic."""
    topic = CreateTopicsRequest.CreatableTopic(
        name=name, num_partitions=partitions, replication_factor=1,
        configs=[CreateTopicsRequest.CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()])
    return create_topics(ctx(b, 7), CreateTopicsRequest(topics=[topic]))


def produce_one(b: Broker, topic: str, partition: int, records: list[Any], version: int = 9,
                acks: int = -1) -> Coroutine[Any, Any, ProduceResponse | None]:
    """Produce one batch of ``records`` ((key, value, headers, timestamp) tuples) to one partition."""
    data = memoryview(bytearray(build_batch(records)))
    req = ProduceRequest(acks=acks, timeout_ms=1000, topic_data=[ProduceRequest.TopicProduceData(
        name=topic, partition_data=[ProduceRequest.PartitionProduceData(index=partition, records=data)])])
    return produce(ctx(b, version), req)


def fetch_all(b: Broker, topic: str, partition: int, offset: int = 0, max_wait_ms: int = 0,
              min_bytes: int = 0) -> Coroutine[Any, Any, FetchResponse]:
    """Fetch v12 of one partition from ``offset`` (by default answered at once, whatever there is)."""
    req = FetchRequest(max_wait_ms=max_wait_ms, min_bytes=min_bytes, topics=[FetchRequest.FetchTopic(
        topic=topic, partitions=[FetchRequest.FetchPartition(partition=partition, fetch_offset=offset,
                                                             partition_max_bytes=1 << 20)])])
    return fetch(ctx(b, 12), req)


def slice_bytes(sl: Any) -> bytes:
    """The bytes of a fetch response's file slice (what the connection would send)."""
    with sl.use() as fd:
        return os.pread(fd, sl.length, sl.position)


def record_values(sl: Any) -> list[bytes | None]:
    """The values of every record in a fetch response's file slice, in order."""
    data = slice_bytes(sl)
    return [r.value for pos, _ in iter_batches(data) for r in iter_records(data, pos)]
