"""Bad input over raw sockets, answered as Kafka answers it: a bad frame size (negative, over
socket.request.max.bytes), an unknown API key, an unsupported version (ApiVersions excepted: it is
answered with v0) and an undecodable body close the connection; a frame cut short by a disconnect is
dropped; a bad batch in a Produce (corrupt CRC, too large, unknown codec, legacy format...) gets its
error code.

Each test keeps a well-behaved neighbour connection open to the same broker and checks
it works before and after the bad input: one bad connection never disturbs another.
"""

from __future__ import annotations

import struct

import pytest

from tests.support.rawclient import RawClient, decode_response
from wire.errors import ErrorCode
from wire.headers import encode_request_header
from wire.messages.api_versions import ApiVersionsResponse
from wire.messages.metadata import MetadataRequest, MetadataResponse
from wire.messages.produce import ProduceRequest
from wire.primitives import Writer, write_string
from wire.records import build_batch

NEIGHBOUR_TOPIC = "neighbour"
LATEST = -1


class Neighbour:
    """A well-behaved raw connection: ApiVersions plus one acks=all produce per check,
    whose offset must follow the previous one."""

    def __init__(self, bootstrap: str) -> None:
        self.client = RawClient.connect(bootstrap)
        self.last_offset: int | None = None
        self.checks = 0
        resp = self.client.create_topic_if_absent(NEIGHBOUR_TOPIC)
        assert resp in (ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS)

    def check(self) -> None:
        av = self.client.api_versions(3)
        assert av.error_code == 0
        self.checks += 1
        r = self.client.produce(NEIGHBOUR_TOPIC, 0, build_batch([(b"n", b"%d" % self.checks, None, None)]))
        assert r.error_code == 0
        if self.last_offset is not None:
            assert r.base_offset == self.last_offset + 1
        self.last_offset = r.base_offset

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def neighbour(shared_broker):
    n = Neighbour(shared_broker.bootstrap)
    n.check()
    yield n
    n.check()
    # ...and a brand-new connection is served too
    with RawClient.connect(shared_broker.bootstrap) as fresh:
        assert fresh.api_versions(3).error_code == 0
    assert shared_broker.proc is not None and shared_broker.proc.poll() is None, "broker died"
    n.close()
    assert_no_traceback(shared_broker)


def assert_no_traceback(broker) -> None:
    """Bad input is answered or the connection closed, never an exception in a handler."""
    text = broker.log_path.read_text(errors="replace")
    assert "Traceback" not in text and "unexpected error" not in text, text[-3000:]


@pytest.fixture
def raw(shared_broker, neighbour):
    with RawClient.connect(shared_broker.bootstrap, timeout=10) as c:
        yield c


def frame_with_header(
    api_key: int, version: int, corr: int, body: bytes = b"", client_id: str = "bad"
) -> bytes:
    out = Writer()
    out += struct.pack(">hhi", api_key, version, corr)
    write_string(out, client_id)
    out += body
    return struct.pack(">i", len(out)) + bytes(out)


def log_end(client: RawClient, topic: str, partition: int = 0) -> int:
    r = client.list_offset(topic, partition, LATEST)
    assert r.error_code == 0
    return r.offset


def one_record(value: bytes = b"value", key: bytes | None = b"key") -> bytes:
    return build_batch([(key, value, None, None)])


# ---------------------------------------------------------------- framing


def test_negative_frame_size_closes(raw):
    raw.send_raw(struct.pack(">i", -1))
    assert raw.wait_closed(5)


def test_frame_over_default_max_closes(raw):
    raw.send_raw(struct.pack(">i", 100 * 1024 * 1024 + 1))
    assert raw.wait_closed(5)


def test_frame_over_configured_max_closes(broker_factory):
    b = broker_factory({"socket.request.max.bytes": "1048576"})
    n = Neighbour(b.bootstrap)
    n.check()
    with RawClient.connect(b.bootstrap) as c:
        c.send_raw(struct.pack(">i", 2 * 1024 * 1024) + b"\0" * 64)
        assert c.wait_closed(5)
    n.check()
    # a request just under the limit is still served: the limit is the configured one
    with RawClient.connect(b.bootstrap) as c:
        c.create_topic_if_absent("big")
        r = c.produce("big", 0, build_batch([(b"k", b"x" * 900_000, None, None)]))
        assert r.error_code == 0 and r.base_offset == 0
    n.check()
    n.close()
    assert_no_traceback(b)


def test_half_frame_then_disconnect(shared_broker, neighbour):
    import confluent_kafka

    delivered: list[tuple[int, int]] = []

    def on_delivery(err, msg):
        assert err is None, err
        delivered.append((msg.partition(), msg.offset()))

    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic_if_absent("neighbour-ck")
    p = confluent_kafka.Producer(
        {"bootstrap.servers": shared_broker.bootstrap, "acks": "all", "message.timeout.ms": 20000}
    )
    p.produce("neighbour-ck", b"before", partition=0, on_delivery=on_delivery)
    assert p.flush(20) == 0
    for chunk in (
        struct.pack(">i", 100) + b"\0\x03\0\x09" + b"x" * 16,  # half a request
        b"\0\0",
    ):  # half a size prefix
        c = RawClient.connect(shared_broker.bootstrap)
        c.send_raw(chunk)
        c.close()
    neighbour.check()
    p.produce("neighbour-ck", b"after", partition=0, on_delivery=on_delivery)
    assert p.flush(20) == 0
    assert len(delivered) == 2
    assert delivered[1][1] == delivered[0][1] + 1


# ---------------------------------------------------------------- headers and versions


def test_unknown_api_key_closes(raw):
    raw.send_raw(frame_with_header(999, 0, 5))
    assert raw.wait_closed(5)


def test_unsupported_version_of_known_api_closes(raw):
    raw.send_raw(frame_with_header(MetadataRequest.API_KEY, 99, 5, b"\0" * 8))
    assert raw.wait_closed(5)


def test_api_versions_unknown_version_gets_v0_reply(raw):
    good = raw.api_versions(3)
    assert good.error_code == 0
    ranges = {k.api_key: (k.min_version, k.max_version) for k in good.api_keys}
    # the body of an ApiVersions request at an unknown version must not be parsed
    raw.send_raw(frame_with_header(18, 99, 4242, b"\xde\xad\xbe\xef\xff"))
    frame = raw.recv_frame(5)
    (corr,) = struct.unpack_from(">i", frame, 0)
    assert corr == 4242
    # header v0 (no tag byte), then exactly a v0 body: error_code, int32-length array
    resp, end = ApiVersionsResponse._decode(frame, 4, 0)
    assert end == len(frame)
    assert resp.error_code == ErrorCode.UNSUPPORTED_VERSION
    got = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
    assert got[18] == ranges[18]
    assert got[18][0] <= 3 <= got[18][1]
    # the client retries at a version both sides know, on the same connection
    again = raw.api_versions(3)
    assert again.error_code == 0
    assert {k.api_key: (k.min_version, k.max_version) for k in again.api_keys} == ranges


def test_truncated_body_closes(raw):
    req = MetadataRequest(
        topics=[
            MetadataRequest.MetadataRequestTopic(name="some-topic-name"),
            MetadataRequest.MetadataRequestTopic(name="another-one"),
        ],
        allow_auto_topic_creation=False,
    )
    out = Writer()
    encode_request_header(out, 3, 9, 77, "bad", True)
    header_len = len(out)
    req._encode(out, 9)
    cut = bytes(out[: header_len + (len(out) - header_len) // 2])
    raw.send_raw(struct.pack(">i", len(cut)) + cut)
    assert raw.wait_closed(5)


# ---------------------------------------------------------------- Produce


@pytest.fixture(scope="module")
def topics(shared_broker):
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic("plain", 1)
        c.create_topic("small", 1, {"max.message.bytes": "1000"})
        c.create_topic("compacted", 1, {"cleanup.policy": "compact"})
        for t in ("plain", "small", "compacted"):
            assert c.produce(t, 0, one_record(b"first")).error_code == 0
    return ("plain", "small", "compacted")


def test_produce_corrupt_crc(raw, topics):
    before = log_end(raw, "plain")
    batch = bytearray(build_batch([(b"k", b"some value bytes", None, None)] * 3))
    batch[-2] ^= 0x40  # inside the CRC-covered area (bytes 21..end)
    r = raw.produce("plain", 0, bytes(batch), version=9)
    assert r.error_code == ErrorCode.CORRUPT_MESSAGE
    assert log_end(raw, "plain") == before
    # a good batch followed by the bad one: all or nothing
    r = raw.produce("plain", 0, one_record(b"good") + bytes(batch), version=9)
    assert r.error_code == ErrorCode.CORRUPT_MESSAGE
    assert log_end(raw, "plain") == before
    # the same batch unflipped is accepted at the unchanged log end
    batch[-2] ^= 0x40
    r = raw.produce("plain", 0, bytes(batch), version=7)
    assert r.error_code == 0 and r.base_offset == before


def test_produce_two_batches_for_one_partition(raw, topics):
    """Produce v3+ carries exactly one batch per partition: two → INVALID_RECORD, nothing appended."""
    before = log_end(raw, "plain")
    r = raw.produce("plain", 0, one_record(b"one") + one_record(b"two"), version=9)
    assert r.error_code == ErrorCode.INVALID_RECORD
    assert log_end(raw, "plain") == before
    r = raw.produce("plain", 0, one_record(b"one"), version=9)
    assert r.error_code == 0 and r.base_offset == before


def test_produce_over_max_message_bytes(raw, topics):
    before = log_end(raw, "small")
    r = raw.produce("small", 0, one_record(b"x" * 2000))
    assert r.error_code == ErrorCode.MESSAGE_TOO_LARGE
    assert log_end(raw, "small") == before
    r = raw.produce("small", 0, one_record(b"x" * 500))
    assert r.error_code == 0 and r.base_offset == before


def test_produce_unknown_codec(raw, topics):
    """Codec bits 5-7 name no codec: UNSUPPORTED_COMPRESSION_TYPE, nothing appended."""
    from wire.records import compute_crc

    before = log_end(raw, "plain")
    batch = bytearray(one_record(b"codec"))
    batch[22] = (batch[22] & ~0x07) | 0x07  # attributes low byte at offset 22
    struct.pack_into(">I", batch, 17, compute_crc(batch, 0, len(batch)))
    r = raw.produce("plain", 0, bytes(batch))
    assert r.error_code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    assert log_end(raw, "plain") == before


def test_produce_invalid_acks(raw, topics):
    before = log_end(raw, "plain")
    r = raw.produce("plain", 0, one_record(), acks=5)
    assert r.error_code == ErrorCode.INVALID_REQUIRED_ACKS
    assert log_end(raw, "plain") == before


def test_produce_unknown_topic(raw, topics):
    r = raw.produce("no-such-topic", 0, one_record())
    assert r.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    r = raw.produce("plain", 7, one_record())
    assert r.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_produce_keyless_to_compacted(raw, topics):
    before = log_end(raw, "compacted")
    batch = build_batch([(b"k1", b"a", None, None), (None, b"b", None, None)])
    r = raw.produce("compacted", 0, batch)
    assert r.error_code == ErrorCode.INVALID_RECORD
    assert log_end(raw, "compacted") == before
    # keyed records are fine
    r = raw.produce("compacted", 0, build_batch([(b"k1", b"a", None, None)]))
    assert r.error_code == 0 and r.base_offset == before


def test_produce_legacy_message_set(raw, topics):
    from kafka.record.legacy_records import LegacyRecordBatchBuilder

    before = log_end(raw, "plain")
    builder = LegacyRecordBatchBuilder(magic=1, compression_type=0, batch_size=1 << 20)
    builder.append(0, timestamp=1_700_000_000_000, key=b"k", value=b"legacy")
    builder.append(1, timestamp=1_700_000_000_001, key=b"k", value=b"legacy2")
    r = raw.produce("plain", 0, bytes(builder.build()), version=3)
    assert r.error_code == 87  # INVALID_RECORD: Kafka 4 accepts magic 2 only
    assert log_end(raw, "plain") == before  # the connection is still served


def test_produce_v2_closes(raw, topics):
    req = ProduceRequest(
        acks=-1,
        timeout_ms=5000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="plain",
                partition_data=[ProduceRequest.PartitionProduceData(index=0, records=one_record())],
            )
        ],
    )
    raw.send(req, 2)
    assert raw.wait_closed(5)


def test_acks0_bad_crc_closes_without_response(shared_broker, raw, topics):
    # a good acks=0 produce gets no response: the next response is the ApiVersions one
    before = log_end(raw, "plain")
    raw.produce_no_response("plain", 0, one_record(b"fire and forget"))
    assert raw.api_versions(3).error_code == 0
    assert log_end(raw, "plain") == before + 1
    batch = bytearray(one_record(b"corrupted"))
    batch[-3] ^= 0x01
    raw.produce_no_response("plain", 0, bytes(batch))
    assert raw.wait_closed(5)  # closed, and no frame came first
    with RawClient.connect(shared_broker.bootstrap) as c:
        assert log_end(c, "plain") == before + 1


# ---------------------------------------------------------------- Fetch


def test_fetch_beyond_log_end(raw, topics):
    end = log_end(raw, "plain")
    at_end = raw.fetch("plain", 0, end)
    assert at_end.error_code == 0 and at_end.high_watermark == end
    assert at_end.records is None or len(at_end.records) == 0
    beyond = raw.fetch("plain", 0, end + 1)
    assert beyond.error_code == ErrorCode.OFFSET_OUT_OF_RANGE
    beyond = raw.fetch("plain", 0, end + 1000, version=4)
    assert beyond.error_code == ErrorCode.OFFSET_OUT_OF_RANGE
    # the connection still answers
    assert raw.fetch("plain", 0, 0).error_code == 0


def test_acks0_then_request_correlation_lines_up(raw, topics):
    """Nothing is sent for an acks=0 produce, so the next frame answers the next request."""
    corr_before = raw.next_corr
    raw.produce_no_response("plain", 0, one_record(b"a"))
    corr = raw.send(MetadataRequest(topics=None), 1)
    got_corr, md = decode_response(MetadataResponse, raw.recv_frame(5), 1)
    assert got_corr == corr and corr > corr_before
    assert any(t.name == "plain" for t in md.topics)
