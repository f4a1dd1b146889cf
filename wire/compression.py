"""Record-batch compression codecs (the codec number is attributes bits 0-2 of a v2 batch).

    0 none     data as is
    1 gzip     RFC 1952 gzip (Java's GZIPOutputStream); several concatenated members are accepted
    2 snappy   the Java client and librdkafka write snappy-java's "xerial" framing::

                   magic    8 bytes  82 53 4E 41 50 50 59 00  ("\\x82SNAPPY\\0")
                   version  i32 BE   1
                   compat   i32 BE   1
                   blocks   repeated [length i32 BE][raw snappy block of that many bytes]

               Some clients (older Go/Ruby/Python ones) send one plain raw snappy block instead; a
               payload that does not start with the magic is decoded as raw snappy. We write xerial
               with 32 KiB input blocks, snappy-java's default, so every consumer can read it.
    3 lz4      the LZ4 frame format. Kafka's Java reader decompresses each block on its own, so we
               write independent 64 KiB blocks without content size or checksums (as Java does).
    4 zstd     zstd frames. The Java client streams (no content size in the frame header), so
               decompression falls back to a streaming decoder when the size is unknown.

Errors: an unknown codec raises UnsupportedCompressionError; undecodable or truncated input raises
DecompressionError (both ValueError); output beyond ``limit`` raises DecompressionLimitError (a
DecompressionError).

Bounded decompression (compression bombs): ``decompress(codec, data, limit=n)`` never holds more
than ``n`` bytes of output plus one codec step. Every codec is decoded incrementally: gzip through
zlib.decompressobj with max_length, lz4 through LZ4FrameDecompressor with max_length, zstd through a
decompressobj fed a few hundred input bytes at a time (a zstd block expands at most 128 KiB, so each
step is bounded), snappy by reading each block's declared length (xerial, or the one raw block) and
refusing the payload before anything is allocated when the sum passes the limit. So a tiny forged
payload that claims gigabytes costs at most ``limit`` bytes and is refused as soon as it passes it. ``decompress`` accepts any buffer (bytes, bytearray,
memoryview) and returns a bytes-like object to be read, not kept mutable: bytes, except for snappy,
which is decompressed straight into a preallocated bytearray to spare a copy.

Compressor/decompressor contexts are cached per thread (zstd contexts are not thread-safe), so
decompression may run in worker threads. No I/O.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import cramjam
    import lz4.frame
    import zstandard
else:  # loaded on first use: a broker whose clients do not compress never needs them (wire.lazy_import)
    import lz4  # small; its codec module, lz4.frame, is the one loaded lazily

    from wire.lazy_import import lazy_module

    cramjam = lazy_module("cramjam")
    lazy_module("lz4.frame")  # sets lz4.frame
    zstandard = lazy_module("zstandard")

__all__ = [
    "NONE",
    "GZIP",
    "SNAPPY",
    "LZ4",
    "ZSTD",
    "CODEC_NAMES",
    "UnsupportedCompressionError",
    "DecompressionError",
    "DecompressionLimitError",
    "compress",
    "decompress",
    "decompress_chunks",
    "XERIAL_MAGIC",
]

NONE = 0
GZIP = 1
SNAPPY = 2
LZ4 = 3
ZSTD = 4
CODEC_NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}

XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = struct.Struct(">8sii")  # magic, version, compatible version
_XERIAL_VERSION = 1
_XERIAL_COMPAT = 1
_XERIAL_BLOCK = 32 * 1024
_I32 = struct.Struct(">i")
# A raw snappy element expands at most 64 bytes out of 3 (a 2-byte-offset copy), so a block claiming
# more than 22x its size is forged; refusing it spares allocating whatever the forged length asks.
_SNAPPY_MAX_RATIO = 22

_GZIP_LEVEL = 6  # java.util.zip.Deflater's default
_ZSTD_LEVEL = 3  # Kafka's default compression.zstd.level
# Frames declaring more than this are decoded by the streaming path, which allocates as it goes
# instead of trusting the header (a tiny forged frame could otherwise ask for any amount of memory).
_ZSTD_ONE_SHOT_LIMIT = 1 << 26


class UnsupportedCompressionError(ValueError):
    """A codec number other than 0-4."""


class DecompressionError(ValueError):
    """Compressed data that the codec cannot decode (corrupt, truncated or of the wrong format)."""


class DecompressionLimitError(DecompressionError):
    """The data decompresses to more than the caller's limit (decoding stopped there)."""


# Output produced per codec step: bounds what one call to a streaming decoder may allocate.
_STEP = 1 << 20
# zstd input fed per step: a zstd block (3-byte header) expands to at most 128 KiB, so 256 input
# bytes produce at most ~11 MiB.
_ZSTD_STEP_IN = 256

_local = threading.local()


def _zstd_compressor(level: int) -> zstandard.ZstdCompressor:
    cache = getattr(_local, "zstd_c", None)
    if cache is None:
        cache = _local.zstd_c = {}
    cctx = cache.get(level)
    if cctx is None:
        cctx = cache[level] = zstandard.ZstdCompressor(level=level)
    return cctx


def _zstd_decompressor() -> zstandard.ZstdDecompressor:
    dctx = getattr(_local, "zstd_d", None)
    if dctx is None:
        dctx = _local.zstd_d = zstandard.ZstdDecompressor()
    return dctx


def compress(codec: int, data, level: int | None = None) -> bytes:
    """Compress ``data`` (any buffer) with ``codec``; ``level`` overrides the codec's default."""
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        return zlib.compress(data, _GZIP_LEVEL if level is None else level, wbits=31)
    if codec == SNAPPY:
        return _xerial_compress(data)
    if codec == LZ4:
        return lz4.frame.compress(
            data,
            compression_level=0 if level is None else level,
            block_size=lz4.frame.BLOCKSIZE_MAX64KB,
            block_linked=False,
            content_checksum=False,
            block_checksum=False,
            store_size=False,
        )
    if codec == ZSTD:
        return _zstd_compressor(_ZSTD_LEVEL if level is None else level).compress(data)
    raise UnsupportedCompressionError(f"unknown compression codec {codec}")


def decompress(codec: int, data, limit: int | None = None) -> bytes | bytearray:
    """Decompress ``data`` (any buffer) written with ``codec``; with ``limit``, output beyond
    ``limit`` bytes raises DecompressionLimitError without ever holding much more than that."""
    if codec == NONE:
        if limit is not None and len(data) > limit:
            raise DecompressionLimitError(f"{len(data)} bytes exceed the limit of {limit}")
        return bytes(data)
    try:
        if limit is not None:
            return _bounded(codec, data, limit)
        if codec == GZIP:
            return _gzip_decompress(data)
        if codec == SNAPPY:
            return _snappy_decompress(data)
        if codec == LZ4:
            return _lz4_decompress(data)
        if codec == ZSTD:
            return _zstd_decompress(data)
    except DecompressionError:
        raise
    except (zlib.error, cramjam.DecompressionError, RuntimeError, zstandard.ZstdError) as exc:
        raise DecompressionError(f"{CODEC_NAMES[codec]}: {exc}") from exc
    raise UnsupportedCompressionError(f"unknown compression codec {codec}")


# -- gzip ---------------------------------------------------------------------------------------


def _gzip_decompress(data) -> bytes:
    d = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    out = d.decompress(data)
    if not d.eof:
        raise DecompressionError("gzip: truncated stream")
    if not d.unused_data:
        return out
    parts = [out]
    rest = d.unused_data
    while rest:
        d = zlib.decompressobj(wbits=47)
        parts.append(d.decompress(rest))
        if not d.eof:
            raise DecompressionError("gzip: truncated member")
        rest = d.unused_data
    return b"".join(parts)


# -- snappy -------------------------------------------------------------------------------------


def _xerial_compress(data) -> bytes:
    with memoryview(data) as mv:
        parts: list = [_XERIAL_HEADER.pack(XERIAL_MAGIC, _XERIAL_VERSION, _XERIAL_COMPAT)]
        for start in range(0, len(mv), _XERIAL_BLOCK):
            block = cramjam.snappy.compress_raw(mv[start : start + _XERIAL_BLOCK])
            parts.append(_I32.pack(len(block)))
            parts.append(block)
        return b"".join(parts)


def _snappy_decompress(data) -> bytearray:
    with memoryview(data) as mv:
        if len(mv) >= _XERIAL_HEADER.size and mv[:8] == XERIAL_MAGIC:
            return _xerial_decompress(mv)
        out = bytearray(_snappy_raw_len(mv))
        cramjam.snappy.decompress_raw_into(mv, out)
        return out


def _snappy_raw_len(block: memoryview) -> int:
    size = cramjam.snappy.decompress_raw_len(block)
    if size > _SNAPPY_MAX_RATIO * len(block):
        raise DecompressionError(f"snappy: block of {len(block)} bytes claims {size} bytes decompressed")
    return size


def _xerial_decompress(mv: memoryview) -> bytearray:
    # Two passes: find the blocks and their decompressed sizes, then decompress each one straight
    # into its place in a single output buffer.
    blocks = _xerial_blocks(mv)
    total = sum(size for _, size in blocks)
    out = bytearray(total)
    with memoryview(out) as dst:
        at = 0
        for block, size in blocks:
            cramjam.snappy.decompress_raw_into(block, dst[at : at + size])
            at += size
    return out


def _xerial_blocks(mv: memoryview) -> list[tuple[memoryview, int]]:
    """The xerial blocks of ``mv`` with each one's declared (and plausible) decompressed size."""
    n = len(mv)
    pos = _XERIAL_HEADER.size
    blocks: list[tuple[memoryview, int]] = []
    while pos < n:
        if n - pos < 4:
            raise DecompressionError("snappy: truncated xerial block length")
        length = _I32.unpack_from(mv, pos)[0]
        pos += 4
        if length < 0 or length > n - pos:
            raise DecompressionError(f"snappy: xerial block of {length} bytes at {pos - 4} overruns data")
        block = mv[pos : pos + length]
        size = _snappy_raw_len(block)
        blocks.append((block, size))
        pos += length
    return blocks


# -- lz4 ----------------------------------------------------------------------------------------


def _lz4_decompress(data) -> bytes:
    out, used = lz4.frame.decompress(data, return_bytes_read=True)
    n = len(data)
    if used >= n:
        return out
    parts = [out]
    with memoryview(data) as mv:
        while used < n:
            part, more = lz4.frame.decompress(mv[used:], return_bytes_read=True)
            parts.append(part)
            used += more
    return b"".join(parts)


# -- zstd ---------------------------------------------------------------------------------------


def _zstd_decompress(data) -> bytes:
    dctx = _zstd_decompressor()
    size = zstandard.frame_content_size(data)
    if 0 <= size <= _ZSTD_ONE_SHOT_LIMIT:
        try:
            return dctx.decompress(data, allow_extra_data=False)
        except zstandard.ZstdError:
            pass  # more than one frame, most likely: take the general path below
    # Frames without a content size (Java's ZstdOutputStream), several frames, or a huge claim.
    parts = []
    rest = data
    while len(rest):
        dobj = dctx.decompressobj()
        parts.append(dobj.decompress(rest))
        if not dobj.eof:
            raise DecompressionError("zstd: truncated frame")
        rest = dobj.unused_data
    return parts[0] if len(parts) == 1 else b"".join(parts)


# -- bounded (streaming) decompression ----------------------------------------------------------


def decompress_chunks(codec: int, data, limit: int) -> Iterator[bytes | bytearray | memoryview]:
    """Decompress ``data`` incrementally: yields the output in pieces of at most a few MiB (one
    snappy block, one codec step), raising DecompressionLimitError as soon as the total passes
    ``limit`` and DecompressionError for undecodable or truncated input."""
    if codec == NONE:
        if len(data) > limit:
            raise DecompressionLimitError(f"{len(data)} bytes exceed the limit of {limit}")
        yield memoryview(data)
        return
    pieces: Iterator[bytes | bytearray]
    if codec == SNAPPY:
        pieces = _snappy_chunks(data, limit)
    elif codec == GZIP:
        pieces = _gzip_chunks(data)
    elif codec == LZ4:
        pieces = _lz4_chunks(data)
    elif codec == ZSTD:
        pieces = _zstd_chunks(data)
    else:
        raise UnsupportedCompressionError(f"unknown compression codec {codec}")
    total = 0
    try:
        for piece in pieces:
            total += len(piece)
            if total > limit:
                raise DecompressionLimitError(
                    f"{CODEC_NAMES[codec]}: data decompresses to more than the limit of {limit} bytes")
            yield piece
    except DecompressionError:
        raise
    except (zlib.error, cramjam.DecompressionError, RuntimeError, zstandard.ZstdError) as exc:
        raise DecompressionError(f"{CODEC_NAMES[codec]}: {exc}") from exc


def _bounded(codec: int, data, limit: int) -> bytes | bytearray:
    if codec == SNAPPY:  # sizes are declared up front: one allocation, refused before it if too big
        with memoryview(data) as mv:
            if len(mv) >= _XERIAL_HEADER.size and mv[:8] == XERIAL_MAGIC:
                total = sum(size for _, size in _xerial_blocks(mv))
            else:
                total = _snappy_raw_len(mv)
            if total > limit:
                raise DecompressionLimitError(
                    f"snappy: blocks declare {total} bytes decompressed, more than the limit of {limit}")
        return _snappy_decompress(data)
    out = bytearray()
    for piece in decompress_chunks(codec, data, limit):
        out += piece
    return out


def _snappy_chunks(data, limit: int) -> Iterator[bytearray]:
    mv = memoryview(data)
    if len(mv) >= _XERIAL_HEADER.size and mv[:8] == XERIAL_MAGIC:
        blocks = _xerial_blocks(mv)
    else:
        blocks = [(mv, _snappy_raw_len(mv))]
    total = 0
    for block, size in blocks:  # each block's declared size is checked before it is decoded
        total += size
        if total > limit:
            raise DecompressionLimitError(
                f"snappy: blocks declare more than the limit of {limit} bytes decompressed")
        out = bytearray(size)
        cramjam.snappy.decompress_raw_into(block, out)
        yield out


def _gzip_chunks(data) -> Iterator[bytes]:
    rest: bytes | memoryview = memoryview(data)
    while len(rest):
        d = zlib.decompressobj(wbits=47)
        tail = rest
        while True:
            chunk = d.decompress(tail, _STEP)
            if chunk:
                yield chunk
            if d.eof:
                rest = d.unused_data
                break
            tail = d.unconsumed_tail
            if not chunk and not tail:
                raise DecompressionError("gzip: truncated stream")


def _lz4_chunks(data) -> Iterator[bytes]:
    rest: bytes | memoryview = memoryview(data)
    while len(rest):
        d = lz4.frame.LZ4FrameDecompressor()
        chunk = d.decompress(rest, _STEP)
        if chunk:
            yield chunk
        while not d.eof:
            if d.needs_input:
                raise DecompressionError("lz4: truncated frame")
            chunk = d.decompress(b"", _STEP)
            if chunk:
                yield chunk
        rest = d.unused_data or b""


def _zstd_chunks(data) -> Iterator[bytes]:
    dctx = _zstd_decompressor()
    mv = memoryview(data)
    pos = 0
    n = len(mv)
    while pos < n:
        dobj = dctx.decompressobj()
        while pos < n and not dobj.eof:
            step = mv[pos : pos + _ZSTD_STEP_IN]
            pos += len(step)
            chunk = dobj.decompress(step)
            if chunk:
                yield chunk
        if not dobj.eof:
            raise DecompressionError("zstd: truncated frame")
        pos -= len(dobj.unused_data)  # the next frame starts inside the last step
