"""Compression bombs (issue 9 §4): a tiny produced batch that decompresses to gigabytes must be
refused with INVALID_RECORD once it passes the bound (kbroker.recompression.decompressed_limit,
64 MiB at the default max.message.bytes), the broker's peak memory (VmHWM, read from outside the
process) must stay below MEMORY_BOUND, and other clients' requests must be answered while the
bomb is being decoded (decoding runs off the event loop).

The bombs are built by hand: one record (a key, a 1 MiB all-zero value) compressed as a zstd frame
of a few dozen bytes, repeated; a v2 batch may carry several concatenated zstd frames.
"""

from __future__ import annotations

import struct
import threading

import crc32c
import pytest
import zstandard

from tests.support.rawclient import RawClient
from wire import records
from wire.errors import ErrorCode

MEMORY_BOUND = 300 << 20  # peak RSS of the broker process, bytes
VALUE = 1 << 20


def _record(key: bytes, value_len: int) -> bytes:
    body = bytearray([0])
    records.write_varint(body, 0)  # timestamp delta
    records.write_varint(body, 0)  # offset delta
    records.write_varint(body, len(key))
    body += key
    records.write_varint(body, value_len)
    body += bytes(value_len)
    records.write_varint(body, 0)  # no headers
    out = bytearray()
    records.write_varint(out, len(body))
    return bytes(out + body)


def bomb_batch(count: int) -> bytes:
    """A zstd batch of ``count`` (a multiple of 64) records with key b"k" and a 1 MiB zero value:
    frames of 64 records (~2.7 KB each), repeated."""
    assert count % 64 == 0
    frame = zstandard.ZstdCompressor(level=19).compress(_record(b"k", VALUE) * 64)
    payload = frame * (count // 64)
    template = records.build_batch([(b"k", b"v", None, 1_700_000_000_000)], compression=4)
    header = bytearray(template[: records.HEADER_SIZE])
    struct.pack_into(">i", header, 8, len(header) - 12 + len(payload))  # batchLength
    struct.pack_into(">i", header, 23, count - 1)  # lastOffsetDelta
    struct.pack_into(">i", header, 57, count)  # recordCount
    crc = crc32c.crc32c(bytes(header[21:]) + payload)
    struct.pack_into(">I", header, 17, crc)
    return bytes(header) + payload


def _vm(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(key)


def test_bombs_are_refused_with_bounded_memory_and_others_served(broker_factory):
    b = broker_factory()
    assert b.proc is not None
    pid = b.proc.pid
    small = bomb_batch(1024)  # ~46 KB, 1 GiB of records
    huge = bomb_batch(17 * 1024)  # ~730 KB (under message.max.bytes), 17 GiB of records
    assert len(small) < 48 << 10 and len(huge) < 1 << 20, (len(small), len(huge))
    with RawClient.connect(b.bootstrap) as admin:
        admin.create_topic("compacted", configs={"cleanup.policy": "compact"})
        admin.create_topic("regzip", configs={"compression.type": "gzip"})
        admin.create_topic("plain")
        admin.create_topic("other")

    answered = [0]
    stop = threading.Event()
    failures: list[str] = []

    def other_client() -> None:
        batch = records.build_batch([(b"k", b"v" * 100, None, None)])
        with RawClient.connect(b.bootstrap) as c:
            offset = 0
            while not stop.is_set():
                r = c.produce("other", 0, batch)
                if r.error_code:
                    failures.append(f"produce {r.error_code}")
                f = c.fetch("other", 0, offset)
                if f.error_code:
                    failures.append(f"fetch {f.error_code}")
                offset += 1
                answered[0] += 1

    t = threading.Thread(target=other_client, daemon=True)
    t.start()
    try:
        while answered[0] == 0:
            stop.wait(0.01)
        during = 0
        with RawClient.connect(b.bootstrap, timeout=120) as c:
            for topic, batch in [("compacted", small), ("regzip", small), ("compacted", huge), ("regzip", huge)]:
                before = answered[0]
                r = c.produce(topic, 0, batch)
                during += answered[0] - before
                assert r.error_code == ErrorCode.INVALID_RECORD, (topic, len(batch), r)
                assert "limit" in (r.error_message or ""), r
                assert _vm(pid, "VmHWM") < MEMORY_BOUND, _vm(pid, "VmHWM")
            # A topic that needs no look inside stores the batch as it is (the fast path).
            r = c.produce("plain", 0, small)
            assert r.error_code == 0, r
            assert c.fetch("compacted", 0, 0).high_watermark == 0
            assert c.fetch("regzip", 0, 0).high_watermark == 0
    finally:
        stop.set()
        t.join(30)
    assert not failures, failures
    print(f"answered meanwhile: {during}, broker VmHWM: {_vm(pid, 'VmHWM') >> 20} MiB")
    assert during > 0, "no other request was answered while the bombs were decoded"
    assert _vm(pid, "VmHWM") < MEMORY_BOUND
    assert "Traceback" not in b.log()


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_a_batch_just_under_the_bound_is_accepted_on_recompression(broker_factory, codec):
    """Not every big expansion is a bomb: 8 MiB of zeros in one batch recompress fine."""
    b = broker_factory()
    with RawClient.connect(b.bootstrap, timeout=60) as c:
        c.create_topic("t", configs={"compression.type": "zstd" if codec != 4 else "gzip"})
        batch = records.build_batch([(b"k", bytes(VALUE), None, None)] * 8, compression=codec)
        r = c.produce("t", 0, batch)
        assert r.error_code == 0, r
        got = records.decode_batch(c.fetch("t", 0, 0, max_bytes=16 << 20).records)[1]
        assert len(got) == 8 and got[0].value == bytes(VALUE)


@pytest.mark.parametrize("codec", [0, 1, 2, 3, 4])
def test_stream_records_matches_iter_records_and_stops_at_the_limit(codec):
    import random

    rng = random.Random(codec)
    recs = [(None if i % 5 == 0 else b"k%d" % i, bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000))),
             [("h", b"x"), ("n", None)] if i % 3 == 0 else None, 1_700_000_000_000 + i) for i in range(300)]
    batch = records.build_batch(recs, compression=codec)
    assert list(records.stream_records(batch)) == list(records.iter_records(batch))
    size = sum(len(r[1]) for r in recs)
    with pytest.raises(records.InvalidRecordError, match="limit"):
        list(records.stream_records(batch, 0, limit=size // 2))
    if codec:  # an uncompressed batch is bounded by max.message.bytes already
        with pytest.raises(records.InvalidRecordError, match="limit"):
            records.decode_batch(batch, 0, limit=size // 2)
    wrong = bytearray(batch)
    struct.pack_into(">i", wrong, 57, 299)  # one record fewer than the data holds
    with pytest.raises(records.CorruptRecordError):
        list(records.stream_records(wrong))
