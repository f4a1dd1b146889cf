"""Read a whole topic back over the raw protocol: every batch or record as stored (the compaction
tests), or the values, checked to hold each numbered record exactly once (values are the decimal
numbers 0..n-1; the idempotence tests of every client)."""

from __future__ import annotations

from collections import Counter

from tests.support.rawclient import RawClient
from wire.records import BatchHeader, decode_batch, iter_batches, iter_records


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


def raw_batches(bootstrap: str, topic: str, partition: int = 0) -> list[tuple[BatchHeader, list]]:
    """Every batch from the log start to the high watermark, read with raw fetches: (its header,
    its records at or above the position asked for)."""
    out = []
    with RawClient.connect(bootstrap) as raw:
        offset = raw.list_offset(topic, partition, -2).offset
        end = raw.list_offset(topic, partition, -1).offset
        while offset < end:
            part = raw.fetch(topic, partition, offset)
            assert part.error_code == 0, part.error_code
            data = bytes(part.records)
            assert data, f"no batch for offset {offset} below the high watermark {end}"
            for pos, header in iter_batches(data):
                out.append((header, [r for r in iter_records(data, pos) if r.offset >= offset]))
                offset = max(offset, header.next_offset)
    return out


def raw_records(bootstrap: str, topic: str, partition: int = 0) -> list:
    """Every record from the log start to the high watermark, read with raw fetches."""
    return [r for _, records in raw_batches(bootstrap, topic, partition) for r in records]
