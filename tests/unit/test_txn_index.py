"""The ``.txnindex`` file on its own: Kafka's 34-byte entries, lazy creation, torn tails, truncation,
collect, renames."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from storage.txn_index import ENTRY_SIZE, AbortedTxn, TransactionIndex


def test_entry_layout_is_kafkas(tmp_path: Path) -> None:
    index = TransactionIndex(tmp_path / "00000000000000000000.txnindex")
    assert not index.exists and not index.path.exists(), "created only by the first abort"
    assert index.entries() == []
    assert index.append(AbortedTxn(7, 10, 20, 15)) is True  # created
    assert index.append(AbortedTxn(-2, 21, 2**62, 2**62 + 1)) is False
    data = index.path.read_bytes()
    assert ENTRY_SIZE == 34 and len(data) == 68
    assert struct.unpack(">hqqqq", data[:34]) == (0, 7, 10, 20, 15)
    assert struct.unpack(">hqqqq", data[34:]) == (0, -2, 21, 2**62, 2**62 + 1)
    reopened = TransactionIndex(index.path)
    assert reopened.exists and reopened.entries() == [AbortedTxn(7, 10, 20, 15), AbortedTxn(-2, 21, 2**62, 2**62 + 1)]


def test_last_offsets_must_increase(tmp_path: Path) -> None:
    index = TransactionIndex(tmp_path / "x.txnindex")
    index.append(AbortedTxn(1, 0, 5, 6))
    with pytest.raises(ValueError):
        index.append(AbortedTxn(2, 1, 5, 6))
    assert len(index) == 1 and index.path.stat().st_size == 34


@pytest.mark.parametrize("cut", range(1, ENTRY_SIZE))
def test_torn_tail_is_cut_on_open(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "x.txnindex"
    index = TransactionIndex(path)
    index.append(AbortedTxn(1, 0, 5, 6))
    index.append(AbortedTxn(2, 3, 9, 10))
    with open(path, "r+b") as f:
        f.truncate(2 * ENTRY_SIZE - cut)
    reopened = TransactionIndex(path)
    assert reopened.entries() == [AbortedTxn(1, 0, 5, 6)]
    assert path.stat().st_size == ENTRY_SIZE
    reopened.append(AbortedTxn(3, 7, 12, 13))  # appends continue on a whole-entry boundary
    assert TransactionIndex(path).entries() == [AbortedTxn(1, 0, 5, 6), AbortedTxn(3, 7, 12, 13)]


def test_unknown_version_ends_the_index(tmp_path: Path) -> None:
    path = tmp_path / "x.txnindex"
    path.write_bytes(struct.pack(">hqqqq", 0, 1, 0, 5, 6) + struct.pack(">hqqqq", 1, 2, 6, 9, 10))
    assert TransactionIndex(path).entries() == [AbortedTxn(1, 0, 5, 6)]
    assert path.stat().st_size == ENTRY_SIZE


def test_truncate_and_collect(tmp_path: Path) -> None:
    index = TransactionIndex(tmp_path / "x.txnindex")
    entries = [AbortedTxn(1, 0, 5, 3), AbortedTxn(2, 3, 8, 9), AbortedTxn(3, 9, 12, 13)]
    for t in entries:
        index.append(t)
    assert index.collect(0, 100) == entries
    assert index.collect(6, 9) == entries[1:2]
    assert index.collect(6, 10) == entries[1:]
    assert index.collect(13, 100) == []
    assert index.collect(0, 0) == []
    assert index.completes(9) and not index.completes(14)
    index.truncate_to(9)  # last_offset >= 9 goes
    assert index.entries() == entries[:2] and index.path.stat().st_size == 68
    index.truncate_to(8)
    assert TransactionIndex(index.path).entries() == entries[:1]
    index.truncate_to(0)
    assert index.entries() == [] and index.path.stat().st_size == 0


def test_rename_and_delete(tmp_path: Path) -> None:
    index = TransactionIndex(tmp_path / "a.txnindex")
    index.rename_to(tmp_path / "a.txnindex.deleted")  # no file: only the path changes
    assert index.path.name == "a.txnindex.deleted" and list(tmp_path.iterdir()) == []
    index.append(AbortedTxn(1, 0, 1, 2))
    index.rename_to(tmp_path / "b.txnindex")
    assert [p.name for p in tmp_path.iterdir()] == ["b.txnindex"]
    assert index.entries() == [AbortedTxn(1, 0, 1, 2)]
    index.flush()
    index.delete()
    assert list(tmp_path.iterdir()) == [] and not index.exists


def test_create_replaces_a_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txnindex"
    TransactionIndex(path).append(AbortedTxn(1, 0, 1, 2))
    fresh = TransactionIndex(path, create=True)
    assert not path.exists() and fresh.entries() == []
