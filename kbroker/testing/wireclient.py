"""The few admin requests an embedded test broker needs (Metadata, CreateTopics, DeleteTopics), sent
over one blocking socket with the project's own codec (``wire.codec``): no Kafka client library is
needed to set a broker up, and the same code asks any Kafka-compatible broker (the start-up benchmark
uses it on the reference Apache Kafka too).

Every call is bounded by ``timeout``: a broker that does not answer raises ``TimeoutError``, one that
closes the connection ``ConnectionError``.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from kbroker.testing.errors import TopicError
from wire import codec
from wire.errors import ErrorCode
from wire.framing import FrameDecoder
from wire.messages.metadata import MetadataRequest, MetadataResponse

METADATA_VERSION = 12  # answered by kbroker and by Apache Kafka 4.x (which dropped v0-3)
CREATE_TOPICS_VERSION = 7
DELETE_TOPICS_VERSION = 6


def request(host: str, port: int, body: Any, version: int, timeout: float = 10.0) -> Any:
    """Send one request on a new connection and return the decoded response."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(codec.encode_request(body, version, 1, "kbroker.testing"))
        decoder = FrameDecoder(max_size=2**31 - 1)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{host}:{port} did not answer within {timeout}s")
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"{host}:{port} closed the connection")
            frames = decoder.feed(data)
            if frames:
                return codec.decode_response(frames[0], body.API_KEY, version)[1]


def metadata(host: str, port: int, topics: list[str] | None = None, timeout: float = 10.0) -> MetadataResponse:
    """Metadata of ``topics`` (all topics when None), never creating any."""
    req = MetadataRequest(
        topics=None if topics is None else [MetadataRequest.MetadataRequestTopic(name=t) for t in topics],
        allow_auto_topic_creation=False)
    resp: MetadataResponse = request(host, port, req, METADATA_VERSION, timeout)
    return resp


def create_topic(host: str, port: int, name: str, partitions: int = 1, config: dict[str, str] | None = None,
                 replication_factor: int = 1, exist_ok: bool = False, timeout: float = 30.0) -> None:
    """CreateTopics for one topic; ``TopicError`` unless created (or already there with ``exist_ok``)."""
    # imported here, as DeleteTopics below: a broker that creates no topic never loads them
    from wire.messages.create_topics import CreateTopicsRequest

    topic = CreateTopicsRequest.CreatableTopic(
        name=name, num_partitions=partitions, replication_factor=replication_factor,
        configs=[CreateTopicsRequest.CreatableTopicConfig(name=k, value=str(v)) for k, v in (config or {}).items()])
    req = CreateTopicsRequest(topics=[topic], timeout_ms=int(timeout * 1000))
    resp = request(host, port, req, CREATE_TOPICS_VERSION, timeout)
    for result in resp.topics:
        if result.error_code == ErrorCode.TOPIC_ALREADY_EXISTS and exist_ok:
            continue
        if result.error_code != ErrorCode.NONE:
            raise TopicError(result.name, result.error_code, result.error_message)


def delete_topic(host: str, port: int, name: str, timeout: float = 30.0) -> None:
    """DeleteTopics for one topic; ``TopicError`` unless deleted."""
    from wire.messages.delete_topics import DeleteTopicsRequest

    req = DeleteTopicsRequest(topics=[DeleteTopicsRequest.DeleteTopicState(name=name)],  # v6 names topics here
                              timeout_ms=int(timeout * 1000))
    resp = request(host, port, req, DELETE_TOPICS_VERSION, timeout)
    for result in resp.responses:
        if result.error_code != ErrorCode.NONE:
            raise TopicError(result.name or name, result.error_code, result.error_message)
