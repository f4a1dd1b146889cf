"""wire.compression: round trips, the formats other clients write, and errors on bad input."""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import cramjam
import lz4.frame
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from wire.compression import (
    GZIP,
    LZ4,
    NONE,
    SNAPPY,
    XERIAL_MAGIC,
    ZSTD,
    DecompressionError,
    UnsupportedCompressionError,
    compress,
    decompress,
)

CODECS = [NONE, GZIP, SNAPPY, LZ4, ZSTD]
COMPRESSED = [GZIP, SNAPPY, LZ4, ZSTD]


def sample(size: int) -> bytes:
    """Partly compressible data: random words repeated."""
    words = [os.urandom(8) for _ in range(64)]
    out = bytearray()
    i = 0
    while len(out) < size:
        out += words[(i * 7919) % 64]
        i += 1
    return bytes(out[:size])


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("size", [0, 1, 100, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 64 * 1024 + 5, 1 << 20])
def test_round_trip(codec: int, size: int) -> None:
    data = sample(size)
    packed = compress(codec, data)
    for src in (packed, bytearray(packed), memoryview(packed)):
        assert decompress(codec, src) == data


@pytest.mark.parametrize("codec", CODECS)
def test_accepts_any_buffer_for_compress(codec: int) -> None:
    data = sample(5000)
    assert decompress(codec, compress(codec, memoryview(data))) == data
    assert decompress(codec, compress(codec, bytearray(data))) == data


@pytest.mark.parametrize("codec", [5, 6, 7, -1])
def test_unknown_codec(codec: int) -> None:
    with pytest.raises(UnsupportedCompressionError):
        compress(codec, b"x")
    with pytest.raises(UnsupportedCompressionError):
        decompress(codec, b"x")
    assert issubclass(UnsupportedCompressionError, ValueError)


@given(codec=st.sampled_from(CODECS), data=st.binary(max_size=5000))
@settings(max_examples=200, deadline=None)
def test_round_trip_property(codec: int, data: bytes) -> None:
    assert decompress(codec, compress(codec, data)) == data


@given(codec=st.sampled_from(COMPRESSED), junk=st.binary(max_size=300))
@settings(max_examples=400, deadline=None)
def test_garbage_only_raises_decompression_error(codec: int, junk: bytes) -> None:
    try:
        decompress(codec, junk)
    except DecompressionError:
        pass


@pytest.mark.parametrize("codec", COMPRESSED)
def test_truncated_input_is_an_error(codec: int) -> None:
    packed = compress(codec, sample(100_000))
    for cut in (1, 5, len(packed) // 2, len(packed) - 1):
        with pytest.raises(DecompressionError):
            decompress(codec, packed[:cut])


# -- snappy ---------------------------------------------------------------------------------------


def test_snappy_writes_xerial_framing() -> None:
    data = sample(100_000)
    packed = compress(SNAPPY, data)
    magic, version, compat = struct.unpack_from(">8sii", packed)
    assert (magic, version, compat) == (XERIAL_MAGIC, 1, 1)
    # Walk the blocks by hand: each is [i32 length][raw snappy of at most 32 KiB of input].
    pos, pieces = 16, []
    while pos < len(packed):
        (length,) = struct.unpack_from(">i", packed, pos)
        piece = bytes(cramjam.snappy.decompress_raw(packed[pos + 4 : pos + 4 + length]))
        assert len(piece) <= 32 * 1024
        pieces.append(piece)
        pos += 4 + length
    assert pos == len(packed)
    assert b"".join(pieces) == data
    assert len(pieces) == 4


def test_snappy_decodes_hand_built_xerial_stream() -> None:
    data = sample(70_000)
    # Uneven block sizes, as a different writer might choose.
    cuts = [0, 1000, 40_000, 40_001, 70_000]
    stream = bytearray(XERIAL_MAGIC + struct.pack(">ii", 1, 1))
    for a, b in zip(cuts, cuts[1:], strict=False):
        block = bytes(cramjam.snappy.compress_raw(data[a:b]))
        stream += struct.pack(">i", len(block)) + block
    assert decompress(SNAPPY, bytes(stream)) == data
    assert decompress(SNAPPY, memoryview(stream)) == data


def test_snappy_decodes_kafka_python_xerial_encoder() -> None:
    codec = pytest.importorskip("kafka.codec")
    if not codec.has_snappy():
        pytest.skip("kafka-python has no snappy backend here")
    data = sample(200_000)
    assert decompress(SNAPPY, codec.snappy_encode(data, xerial_compatible=True)) == data
    assert decompress(SNAPPY, codec.snappy_encode(data, xerial_compatible=False)) == data


def test_snappy_xerial_header_only_is_empty() -> None:
    assert decompress(SNAPPY, XERIAL_MAGIC + struct.pack(">ii", 1, 1)) == b""


def test_snappy_decodes_plain_raw_snappy() -> None:
    data = sample(50_000)
    assert decompress(SNAPPY, bytes(cramjam.snappy.compress_raw(data))) == data


def test_snappy_xerial_block_overrun_is_an_error() -> None:
    block = bytes(cramjam.snappy.compress_raw(b"hello world"))
    stream = XERIAL_MAGIC + struct.pack(">ii", 1, 1) + struct.pack(">i", len(block) + 10) + block
    with pytest.raises(DecompressionError):
        decompress(SNAPPY, stream)
    with pytest.raises(DecompressionError):  # a dangling partial length
        decompress(SNAPPY, XERIAL_MAGIC + struct.pack(">ii", 1, 1) + b"\x00\x00")


def test_snappy_refuses_forged_huge_length() -> None:
    # A 5-byte varint claiming ~4 GiB followed by nothing: refused before allocating anything.
    with pytest.raises(DecompressionError):
        decompress(SNAPPY, b"\xff\xff\xff\xff\x0f")


# -- lz4 ------------------------------------------------------------------------------------------


def test_lz4_frame_flags_match_the_java_client() -> None:
    packed = compress(LZ4, sample(200_000))
    assert packed[:4] == b"\x04\x22\x4d\x18"  # LZ4 frame magic
    flg, bd = packed[4], packed[5]
    assert flg >> 6 == 1  # version 01
    assert flg & 0x20  # independent blocks: Kafka's reader decodes each block on its own
    assert not flg & 0x08  # no content size
    assert not flg & 0x10 and not flg & 0x04  # no block or content checksum
    assert (bd >> 4) & 7 == 4  # 64 KiB maximum block size


def test_lz4_decodes_other_writers_and_concatenated_frames() -> None:
    data = sample(150_000)
    linked = lz4.frame.compress(data, block_linked=True, content_checksum=True, store_size=True)
    assert decompress(LZ4, linked) == data
    assert decompress(LZ4, linked + compress(LZ4, data)) == data + data


# -- zstd -----------------------------------------------------------------------------------------


def test_zstd_without_content_size() -> None:
    data = sample(300_000)
    streamed = zstandard.ZstdCompressor(write_content_size=False).compress(data)
    assert zstandard.frame_content_size(streamed) == -1
    assert decompress(ZSTD, streamed) == data
    # What a streaming writer (Java's ZstdOutputStream) produces: flushed chunk by chunk.
    cobj = zstandard.ZstdCompressor().compressobj()
    chunks = [cobj.compress(data[i : i + 10_000]) for i in range(0, len(data), 10_000)]
    chunks.append(cobj.flush())
    assert decompress(ZSTD, b"".join(chunks)) == data


def test_zstd_concatenated_frames() -> None:
    a, b = sample(1000), sample(2000)
    sized = compress(ZSTD, a)
    unsized = zstandard.ZstdCompressor(write_content_size=False).compress(b)
    assert decompress(ZSTD, sized + unsized) == a + b
    assert decompress(ZSTD, unsized + sized) == b + a
    assert decompress(ZSTD, sized + sized) == a + a


# -- gzip -----------------------------------------------------------------------------------------


def test_gzip_writes_gzip_and_reads_stdlib_and_multi_member() -> None:
    data = sample(80_000)
    packed = compress(GZIP, data)
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == data
    assert decompress(GZIP, gzip.compress(data)) == data
    assert decompress(GZIP, gzip.compress(data) + packed) == data + data


def test_gzip_level() -> None:
    data = sample(80_000)
    assert decompress(GZIP, compress(GZIP, data, level=1)) == data
    assert zlib.decompress(compress(GZIP, data, level=9), 31) == data
