"""A tiny raw-socket Kafka client for tests, built on ``wire``: frames are made and read by
``wire.codec`` (size prefix, request header v1/v2, the generated message classes).  It does exactly what it
is told (including sending garbage), so tests can check how the broker answers bad
input.  Every wait is bounded by a timeout; nothing here can hang a test.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from wire import codec
from wire.framing import FrameDecoder
from wire.messages import RESPONSES
from wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from wire.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse
from wire.messages.fetch import FetchRequest, FetchResponse
from wire.messages.list_offsets import ListOffsetsRequest, ListOffsetsResponse
from wire.messages.produce import ProduceRequest, ProduceResponse


class ConnectionClosed(Exception):
    pass


def encode_request(req: Any, version: int, correlation_id: int, client_id: str | None = "rawclient") -> bytes:
    """One whole frame: size, request header (v2 iff the version is flexible), body."""
    return codec.encode_request(req, version, correlation_id, client_id)


def decode_response(resp_cls: type, frame: bytes | bytearray, version: int) -> tuple[int, Any]:
    """(correlation_id, response) from a response frame without its size prefix."""
    return codec.decode_response(frame, resp_cls.API_KEY, version)  # type: ignore[attr-defined]


class RawClient:
    def __init__(self, host: str, port: int, timeout: float = 10.0, client_id: str | None = "rawclient"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.client_id = client_id
        self.decoder = FrameDecoder(max_size=2**31 - 1)
        self.frames: list[bytearray] = []
        self.next_corr = 1

    @classmethod
    def connect(cls, bootstrap: str, **kw: Any) -> RawClient:
        host, port = bootstrap.rsplit(":", 1)
        return cls(host, int(port), **kw)

    # ------------------------------------------------------------ bytes
    def send_raw(self, data: bytes | bytearray) -> None:
        self.sock.sendall(data)

    def recv_frame(self, timeout: float | None = None) -> bytearray:
        """The next response frame; ConnectionClosed on EOF, TimeoutError if none arrives."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no response frame")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                raise ConnectionClosed("broker closed the connection")
            self.frames.extend(self.decoder.feed(data))
        return self.frames.pop(0)

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True if the broker closes the connection within ``timeout`` without sending a
        frame first; False if it stays open (or sends something)."""
        try:
            self.recv_frame(timeout)
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False
        return False

    # ------------------------------------------------------------ requests
    def send(self, req: Any, version: int, correlation_id: int | None = None) -> int:
        corr = self.next_corr if correlation_id is None else correlation_id
        self.next_corr = max(self.next_corr, corr) + 1
        self.send_raw(encode_request(req, version, corr, self.client_id))
        return corr

    def receive(self, resp_cls: type, version: int, correlation_id: int, timeout: float | None = None) -> Any:
        corr, resp = decode_response(resp_cls, self.recv_frame(timeout), version)
        if corr != correlation_id:
            raise AssertionError(f"correlation id {corr}, expected {correlation_id}")
        return resp

    def request(self, req: Any, version: int, timeout: float | None = None) -> Any:
        corr = self.send(req, version)
        return self.receive(RESPONSES[req.API_KEY], version, corr, timeout)

    # ------------------------------------------------------------ conveniences
    def api_versions(self, version: int = 3) -> ApiVersionsResponse:
        req = ApiVersionsRequest(client_software_name="rawclient", client_software_version="0")
        return self.request(req, version)

    def create_topic(
        self, name: str, partitions: int = 1, configs: dict[str, str] | None = None, version: int = 5
    ) -> CreateTopicsResponse:
        C = CreateTopicsRequest
        topic = C.CreatableTopic(
            name=name,
            num_partitions=partitions,
            replication_factor=1,
            configs=[C.CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()],
        )
        resp = self.request(C(topics=[topic], timeout_ms=10000), version)
        err = resp.topics[0].error_code
        if err:
            raise AssertionError(f"CreateTopics {name}: error {err} {resp.topics[0].error_message}")
        return resp

    def create_topic_if_absent(
        self, name: str, partitions: int = 1, configs: dict[str, str] | None = None, version: int = 5
    ) -> int:
        """The CreateTopics error code (0, or 36 TOPIC_ALREADY_EXISTS)."""
        try:
            self.create_topic(name, partitions, configs, version)
        except AssertionError as e:
            if "error 36 " not in str(e):
                raise
            return 36
        return 0

    @staticmethod
    def produce_request(topic: str, partition: int, records: bytes | None, acks: int = -1) -> ProduceRequest:
        P = ProduceRequest
        return P(
            acks=acks,
            timeout_ms=10000,
            topic_data=[
                P.TopicProduceData(
                    name=topic, partition_data=[P.PartitionProduceData(index=partition, records=records)]
                )
            ],
        )

    def produce(
        self, topic: str, partition: int, records: bytes | None, acks: int = -1, version: int = 9
    ) -> ProduceResponse.PartitionProduceResponse:
        resp = self.request(self.produce_request(topic, partition, records, acks), version)
        return resp.responses[0].partition_responses[0]

    def produce_no_response(self, topic: str, partition: int, records: bytes | None, version: int = 9) -> int:
        """An acks=0 produce: sent, nothing is read back.  Returns its correlation id."""
        return self.send(self.produce_request(topic, partition, records, acks=0), version)

    def list_offset(
        self, topic: str, partition: int, timestamp: int, version: int = 7
    ) -> ListOffsetsResponse.ListOffsetsPartitionResponse:
        L = ListOffsetsRequest
        req = L(
            replica_id=-1,
            isolation_level=0,
            topics=[
                L.ListOffsetsTopic(
                    name=topic,
                    partitions=[L.ListOffsetsPartition(partition_index=partition, timestamp=timestamp)],
                )
            ],
        )
        resp = self.request(req, version)
        return resp.topics[0].partitions[0]

    def fetch(
        self, topic: str, partition: int, offset: int, max_bytes: int = 1 << 20, version: int = 12
    ) -> FetchResponse.PartitionData:
        F = FetchRequest
        req = F(
            replica_id=-1,
            max_wait_ms=0,
            min_bytes=0,
            max_bytes=max_bytes,
            isolation_level=0,
            session_id=0,
            session_epoch=-1,
            topics=[
                F.FetchTopic(
                    topic=topic,
                    partitions=[
                        F.FetchPartition(
                            partition=partition, fetch_offset=offset, partition_max_bytes=max_bytes
                        )
                    ],
                )
            ],
        )
        resp = self.request(req, version)
        return resp.responses[0].partitions[0]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
