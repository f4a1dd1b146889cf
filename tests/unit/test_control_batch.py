"""Transaction markers as Kafka lays them out: a control, transactional batch of the producer with one
record, key (version int16 0, type int16: 0 abort, 1 commit), value (version int16 0, coordinator epoch int32)."""

import struct

import pytest

from wire.records import (
    ABORT_MARKER,
    COMMIT_MARKER,
    BatchHeader,
    ControlMarker,
    CorruptRecordError,
    build_batch,
    build_control_batch,
    control_type,
    crc_ok,
    decode_batch,
)


@pytest.mark.parametrize("commit", [True, False])
def test_marker_layout(commit: bool) -> None:
    data = build_control_batch(4711, 3, commit, 9, 1_700_000_000_000, partition_leader_epoch=2)
    h = BatchHeader(data)
    assert (h.is_control, h.is_transactional, h.producer_id, h.producer_epoch, h.base_sequence) == (True, True, 4711, 3, -1)
    assert (h.record_count, h.partition_leader_epoch, h.compression) == (1, 2, 0)
    assert crc_ok(data, 0, h)
    _, [rec] = decode_batch(data)
    assert rec.key == struct.pack(">hh", 0, COMMIT_MARKER if commit else ABORT_MARKER)
    assert rec.value == struct.pack(">hi", 0, 9)
    assert control_type(data) == ControlMarker(commit, 9)


def test_not_a_marker() -> None:
    with pytest.raises(CorruptRecordError):
        control_type(build_batch([(b"k", b"v", None, 1)]))
    bad_type = build_batch([(struct.pack(">hh", 0, 7), struct.pack(">hi", 0, 1), None, 1)], control=True,
                           transactional=True, producer_id=1, producer_epoch=0)
    with pytest.raises(CorruptRecordError):
        control_type(bad_type)
    short_key = build_batch([(b"\x00", None, None, 1)], control=True, transactional=True, producer_id=1,
                            producer_epoch=0)
    with pytest.raises(CorruptRecordError):
        control_type(short_key)
