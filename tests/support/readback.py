"""Read a whole topic back over the raw protocol and check it holds each numbered record exactly once
(values are the decimal numbers 0..n-1), for the idempotence tests of every client."""

from __future__ import annotations

from collections import Counter

from rawclient import RawClient

from wire.records import decode_batch, iter_batches


def read_values(bootstrap: str, topic: str, partitions: int) -> list[bytes]:
    """Every record value of every partition, from the log start to the high watermark."""
    with RawClient.connect(bootstrap) as c:
        out: list[bytes] = []
        for p in range(partitions):
            end = c.list_offset(topic, p, -1).offset
            offset = c.list_offset(topic, p, -2).offset
            while offset < end:
                data = c.fetch(topic, p, offset, max_bytes=4 << 20).records
                for pos, h in iter_batches(data):
                    out += [r.value for r in decode_batch(data, pos)[1]]
                    offset = h.next_offset
        return out


def duplicates_and_missing(values: list[bytes], wanted: set[int]) -> tuple[list[int], list[int]]:
    counts = Counter(int(v) for v in values)
    return sorted(v for v, k in counts.items() if k > 1), sorted(wanted - set(counts))


def assert_exactly_once(values: list[bytes], n: int) -> None:
    dups, missing = duplicates_and_missing(values, set(range(n)))
    assert not dups and not missing, (f"{len(dups)} duplicated (e.g. {dups[:5]}), "
                                      f"{len(missing)} missing (e.g. {missing[:5]})")
