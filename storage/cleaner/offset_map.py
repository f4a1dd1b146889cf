"""The offset map: key -> offset of its latest record, over the dirty section of a log.

Rules:

- Whole segments at a time, oldest first, until the map holds ``dedupe_buffer_size // 24`` keys
  (Kafka's 24 bytes per entry: a 16-byte key hash and an 8-byte offset); the rest of the dirty section
  waits for the next pass. The end of the mapped range is the new first dirty offset. A map always
  takes at least one segment, however small the budget.
- Committed transactional records are mapped like any other (Kafka's way); the batches of aborted
  transactions are not (``txn.TxnWalk`` over the aborted transactions that overlap the mapped
  segments, fed every batch in offset order), so an aborted value never shadows a committed one.
  Control batches, batches of no records and keyless records are not mapped.
- Keys are the record's key bytes themselves (a dict), not hashes: no two keys can collide.
"""

from __future__ import annotations

from wire.records import BatchHeader, CorruptRecordError, read_varint

from ..segment import Segment
from .common import Pass, read_batches, records_of
from .txn import TxnWalk

__all__ = ["BYTES_PER_MAP_ENTRY", "build_map", "capacity"]

BYTES_PER_MAP_ENTRY = 24


def capacity(dedupe_buffer_size: int) -> int:
    """How many keys a map of ``dedupe_buffer_size`` bytes holds (at least one)."""
    return max(1, dedupe_buffer_size // BYTES_PER_MAP_ENTRY)


def build_map(work: Pass, dirty: list[Segment], nexts: dict[int, int], end: int) -> int:
    """Map the dirty segments' keys into ``work.map``; returns the offset where the mapped range ends
    (``end`` if no segment is mapped). ``nexts`` maps ``id(segment)`` to the offset just past it."""
    limit = capacity(work.config.dedupe_buffer_size)
    chunk = work.config.io_buffer_size
    offset_map = work.map
    txns = TxnWalk(work.log.aborted_transactions(dirty[0].base_offset, nexts[id(dirty[-1])]) if dirty else ())
    for segment in dirty:
        if offset_map and len(offset_map) >= limit:
            return segment.base_offset
        for buf, pos, header in read_batches(segment, chunk):
            if header.record_count > 0:
                if not (header.is_control or header.is_transactional):
                    map_batch(records_of(buf, pos, header), header, offset_map)
                elif header.is_control:
                    txns.on_marker(buf, pos, header)
                elif not txns.on_batch(header):
                    map_batch(records_of(buf, pos, header), header, offset_map)
            if pos == 0:
                work.check(len(buf))
        end = nexts[id(segment)]
    return end


def map_batch(data: bytes, header: BatchHeader, offset_map: dict[bytes, int]) -> None:
    """Put the keys of the records ``data`` of the batch ``header`` into ``offset_map``."""
    # The varints are decoded inline for their one-byte form (a function call per field doubles the
    # cost of this loop, which runs once per record of the dirty section).
    base, p = header.base_offset, 0
    varint = read_varint
    for _ in range(header.record_count):
        b = data[p]
        if b < 0x80:
            length, q = (b >> 1) ^ -(b & 1), p + 1
        elif data[p + 1] < 0x80:  # records of 64 B to 8 KiB (a length is never negative)
            length, q = ((b & 0x7F) | (data[p + 1] << 7)) >> 1, p + 2
        else:
            length, q = varint(data, p)
        p = q + length
        q += 1  # attributes
        if data[q] < 0x80:  # timestampDelta
            q += 1
        else:
            q = varint(data, q)[1]
        b = data[q]
        if b < 0x80:
            delta, q = (b >> 1) ^ -(b & 1), q + 1
        else:
            delta, q = varint(data, q)
        b = data[q]
        if b < 0x80:
            key_len, q = (b >> 1) ^ -(b & 1), q + 1
        else:
            key_len, q = varint(data, q)
        if key_len >= 0:
            offset_map[data[q : q + key_len]] = base + delta
    if p != len(data):
        raise CorruptRecordError(f"batch at offset {base}: records do not fill the batch")
