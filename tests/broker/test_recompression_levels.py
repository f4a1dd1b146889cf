"""Recompression uses the topic's compression.<codec>.level (kbroker.log_validator): gzip level 1 and
9 store different sizes for compressible data, and the default levels are Kafka's."""

from __future__ import annotations

import random

from kbroker import log_validator
from kbroker.log_validator import DEFAULT_LEVELS
from kbroker.topic_config import CODECS
from wire import records


def recompress(data, compression_type: str, level: int | None = None):  # type: ignore[no-untyped-def]
    """The bytes the broker stores for ``data`` on a topic with ``compression.type=compression_type``."""
    batches = list(records.iter_batches(data))
    return log_validator.recompress(data, batches, CODECS[compression_type], level)[0]


def _batch() -> bytes:
    rng = random.Random(7)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"kafka", b"broker", b"record", b"batch"]
    values = [b" ".join(rng.choice(words) for _ in range(400)) for _ in range(50)]
    return records.build_batch([(b"k%d" % i, v, None, 1_700_000_000_000) for i, v in enumerate(values)])


def test_gzip_levels_give_different_sizes_and_the_same_records():
    src = bytearray(_batch())
    fast = recompress(src, "gzip", level=1)
    best = recompress(src, "gzip", level=9)
    assert len(best) < len(fast) < len(src)
    want = [(r.key, r.value) for r in records.decode_batch(src)[1]]
    for out in (fast, best):
        h, got = records.decode_batch(out)
        assert h.compression == 1 and [(r.key, r.value) for r in got] == want
        assert records.validate_batches(out)


def test_default_levels_are_kafkas():
    src = bytearray(_batch())
    assert DEFAULT_LEVELS == {1: 6, 3: 9, 4: 3}
    assert recompress(src, "zstd") == recompress(src, "zstd", level=3)
    assert recompress(src, "gzip") == recompress(src, "gzip", level=6)


def test_broker_recompresses_at_the_topics_gzip_level(shared_broker):
    from tests.support.rawclient import RawClient

    batch = _batch()
    sizes = {}
    with RawClient.connect(shared_broker.bootstrap) as c:
        for level in ("1", "9", "-1"):
            topic = f"gzip-level-{level}"
            c.create_topic(topic, configs={"compression.type": "gzip", "compression.gzip.level": level})
            r = c.produce(topic, 0, batch)
            assert r.error_code == 0, r
            stored = bytes(c.fetch(topic, 0, 0).records)
            h, got = records.decode_batch(stored)
            assert h.compression == 1 and len(got) == 50
            sizes[level] = len(stored)
    assert sizes["9"] < sizes["1"], sizes
    assert sizes["-1"] == len(recompress(bytearray(batch), "gzip", level=6)), sizes
