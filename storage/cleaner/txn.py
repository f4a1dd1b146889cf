"""Transactions in a cleaning pass (Kafka's ``CleanedTransactionMetadata``): which data batches belong
to aborted transactions, and which transaction markers (control batches) still guard something.

A ``TxnWalk`` is fed the batches of a log in offset order, with the aborted transactions
(``storage.txn_index.AbortedTxn``) that overlap the range walked. Rules, Kafka's:

- an aborted transaction becomes "open" for its producer once the walk reaches its first offset; a
  transactional data batch of a producer with an open aborted transaction is aborted (``on_batch``
  True) until that producer's ABORT marker closes it. Any other transactional batch is committed
  (the cleanable range never reaches the first unstable offset, so no transaction in it is ongoing);
- a marker is discardable (``on_marker`` True) when the walk met no data of its transaction since the
  producer's previous marker: an ABORT whose aborted batches all are gone, a COMMIT with no
  committed batch seen, and a control batch that holds no record (a marker already removed);
- an ABORT marker kept because its transaction still had data in this walk keeps its index entry:
  the entry is appended to ``kept`` (the list of the output segment being written, swapped by the
  caller at each output), so the cleaned segment's ``.txnindex`` carries it. An ABORT marker whose
  transaction has no data left loses its entry (its marker goes at the delete horizon).

One difference from Kafka, deliberate: a batch that holds no record (kbroker keeps emptied batches
so that every offset stays covered) is not data of its transaction. Kafka deletes such batches, so
a marker goes the same number of passes after its transaction's last record in both.

Not done here: deciding what to write (``rewrite`` does, with the delete horizon).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from wire.records import BatchHeader, control_type

from ..txn_index import AbortedTxn

__all__ = ["TxnWalk"]


class TxnWalk:
    __slots__ = ("_pending", "_aborted", "_committed", "kept")

    def __init__(self, aborted: Iterable[AbortedTxn]) -> None:
        seen: set[tuple[int, int]] = set()
        pending: list[tuple[int, int, AbortedTxn]] = []
        for txn in aborted:
            key = (txn.producer_id, txn.first_offset)
            if key not in seen:  # the same transaction may be reported for several segments
                seen.add(key)
                pending.append((txn.first_offset, txn.last_offset, txn))
        heapq.heapify(pending)
        self._pending = pending  # by first offset, not yet reached
        self._aborted: dict[int, list] = {}  # producer id -> [AbortedTxn, data seen]
        self._committed: set[int] = set()  # producers with committed data since their last marker
        self.kept: list[AbortedTxn] = []

    def _reach(self, offset: int) -> None:
        pending = self._pending
        while pending and pending[0][0] <= offset:
            txn = heapq.heappop(pending)[2]
            self._aborted.setdefault(txn.producer_id, [txn, False])

    def on_batch(self, header: BatchHeader) -> bool:
        """A transactional data batch: True if it belongs to an aborted transaction."""
        self._reach(header.last_offset)
        pid = header.producer_id
        state = self._aborted.get(pid)
        if state is not None:
            if header.record_count > 0:
                state[1] = True
            return True
        if header.record_count > 0:
            self._committed.add(pid)
        return False

    def on_marker(self, buf: bytes, pos: int, header: BatchHeader) -> bool:
        """A control batch at ``pos`` of ``buf``: True if nothing is left for it to guard."""
        self._reach(header.last_offset)
        if header.record_count <= 0:
            return True
        pid = header.producer_id
        if control_type(buf, pos).commit:
            if pid in self._committed:
                self._committed.discard(pid)
                return False
            return True
        state = self._aborted.pop(pid, None)
        if state is not None and state[1]:
            self.kept.append(state[0])
            return False
        return True
