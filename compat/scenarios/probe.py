"""A wire-level look at what a producer really wrote: the codec of every stored record batch.

Clients may fall back to no compression without telling the application (librdkafka does when the
broker's ApiVersions ranges do not switch a codec on; kafka-python does for a batch that does not
shrink), so a compression round trip proves nothing unless the batches are checked.  This module sends
plain Fetch v4 requests (non-flexible, request header v1) over a socket and reads the attributes of each
RecordBatch v2 header; it decodes no records.  It is a probe, not a client: the scenarios' producers
and consumers are the real clients.
"""

from __future__ import annotations

import socket
import struct
from collections import Counter

from compat.scenarios.base import STEP_TIMEOUT, Deadline, ScenarioFailed

CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
_FETCH, _FETCH_V = 1, 4


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ScenarioFailed("probe: broker closed the connection during a Fetch v4 response")
        buf += chunk
    return bytes(buf)


def _fetch(sock: socket.socket, corr: int, topic: str, offsets: dict[int, int]) -> dict[int, tuple[int, bytes]]:
    parts = b"".join(struct.pack(">iqi", p, o, 1 << 20) for p, o in sorted(offsets.items()))
    body = (struct.pack(">iiiib", -1, 100, 1, 8 << 20, 0) + struct.pack(">i", 1) + _string(topic)
            + struct.pack(">i", len(offsets)) + parts)
    header = struct.pack(">hhi", _FETCH, _FETCH_V, corr) + _string("compat-probe")
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    size, = struct.unpack(">i", _recv_exact(sock, 4))
    resp = _recv_exact(sock, size)
    got_corr, _throttle, n_topics = struct.unpack_from(">iii", resp, 0)
    if got_corr != corr:
        raise ScenarioFailed(f"probe: Fetch v4 response correlation id {got_corr}, expected {corr}")
    pos, out = 12, {}
    for _ in range(n_topics):
        tlen, = struct.unpack_from(">h", resp, pos)
        pos += 2 + tlen
        n_parts, = struct.unpack_from(">i", resp, pos)
        pos += 4
        for _ in range(n_parts):
            p, err, hw, _lso, n_aborted = struct.unpack_from(">ihqqi", resp, pos)
            pos += 26 + max(n_aborted, 0) * 16
            rlen, = struct.unpack_from(">i", resp, pos)
            pos += 4
            records = resp[pos:pos + max(rlen, 0)]
            pos += max(rlen, 0)
            if err:
                raise ScenarioFailed(f"probe: Fetch v4 {topic}[{p}] error code {err}")
            out[p] = (hw, records)
    return out


def batch_codecs(bootstrap: str, topic: str, partitions: int, timeout: float = STEP_TIMEOUT) -> Counter[str]:
    """How many stored batches of ``topic`` use each codec, over all partitions, up to the high watermark."""
    host, _, port = bootstrap.rpartition(":")
    deadline = Deadline(timeout)
    codecs: Counter[str] = Counter()
    offsets = dict.fromkeys(range(partitions), 0)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        corr = 0
        while offsets:
            if deadline.expired():
                raise ScenarioFailed(f"probe: fetching {topic} did not finish; still at {offsets}")
            corr += 1
            for p, (hw, records) in _fetch(sock, corr, topic, offsets).items():
                pos, nxt = 0, offsets[p]
                while pos + 61 <= len(records):
                    base, blen = struct.unpack_from(">qi", records, pos)
                    if pos + 12 + blen > len(records):
                        break  # a partial batch at the end of the response
                    magic = records[pos + 16]
                    attrs, last_delta = struct.unpack_from(">hi", records, pos + 21)
                    if magic != 2:
                        raise ScenarioFailed(f"probe: {topic}[{p}] batch at {base} has magic {magic}")
                    if not attrs & 0x20:  # control batches are not the producer's
                        codecs[CODEC_NAMES.get(attrs & 7, f"codec{attrs & 7}")] += 1
                    nxt = base + last_delta + 1
                    pos += 12 + blen
                if nxt >= hw:
                    del offsets[p]
                elif nxt == offsets[p]:
                    raise ScenarioFailed(f"probe: Fetch v4 {topic}[{p}] at {nxt} below high watermark {hw} "
                                         f"returned no complete batch")
                else:
                    offsets[p] = nxt
    return codecs


def check_compressed(bootstrap: str, topic: str, partitions: int, codec: str, producer: str) -> str:
    """Fail unless the producer's batches use ``codec`` (a batch that did not shrink may stay plain)."""
    codecs = batch_codecs(bootstrap, topic, partitions)
    foreign = {c: n for c, n in codecs.items() if c not in (codec, "none")}
    if not codecs.get(codec) or foreign:
        raise ScenarioFailed(f"{codec}: {producer} wrote {dict(codecs)} batches, expected {codec} "
                             f"(the client fell back to another codec or none)")
    return f"{codecs[codec]}/{sum(codecs.values())} {codec} batches"
