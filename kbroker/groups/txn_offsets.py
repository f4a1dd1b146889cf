"""Transactional offsets (TxnOffsetCommit, API 28) in the group coordinator: a mixin of
``kbroker.groups.coordinator.GroupCoordinator``.

- ``commit_txn_offsets``: Kafka's checks (``Group.txn_commit_error``: a generation for a group that does
  not exist is ILLEGAL_GENERATION, else a "simple" group is created; member and generation checked when
  the request names them); KIP-890 verification of the producer's transaction on the group's
  ``__consumer_offsets`` partition (the partition AddOffsetsToTxn added) through the transaction
  coordinator when the producer has no transaction open there; then one transactional batch of the
  producer on that partition (``OffsetsTopic.append``), answered once committed.  The offsets are pending
  in the group from the moment the batch is in the local log (the log's order is the order in which a
  marker can follow), removed again if the write does not commit.
- ``complete_txn``: the producer's marker was written on partition ``p``: its pending offsets of every
  group of that partition become committed (COMMIT) or are dropped (ABORT).  A later marker wins over
  an earlier commit of the same partition: the transactional offset replaces a regular commit made while
  it was pending (Kafka keeps whichever was appended later; not tracked here).
- ``has_pending_txn_offsets``: OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for them.

Errors are mapped as Kafka's coordinator runtime maps them (``txn_commit_write_error``).  Nothing is stored
here beyond the groups' ``pending_txn_offsets`` (rebuilt from the log on load: ``kbroker.groups.store``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kbroker.clock import now_ms
from kbroker.groups.codec import OFFSETS_TOPIC, OffsetValue
from kbroker.groups.errors import commit_error
from kbroker.groups.store import NotLeader, Written, offset_records
from storage.errors import StorageError
from storage.producer_state import InvalidProducerEpoch, InvalidTxnState, OutOfOrderSequence
from wire.errors import ErrorCode

if TYPE_CHECKING:
    from kbroker.txn.ports import TxnVerifier

log = logging.getLogger("kbroker.groups")
E = ErrorCode
TopicPartition = tuple[str, int]


def txn_commit_write_error(code: int) -> int:
    """TxnOffsetCommit's error for a failed verification or write (Kafka's
    CoordinatorOperationExceptionHelper): OffsetCommit's mapping, except that a network error means
    "loading" and an oversized record is an unknown server error."""
    if code == E.NETWORK_EXCEPTION:
        return E.COORDINATOR_LOAD_IN_PROGRESS
    if code in (E.MESSAGE_TOO_LARGE, E.RECORD_LIST_TOO_LARGE, E.INVALID_FETCH_SIZE):
        return E.UNKNOWN_SERVER_ERROR
    return commit_error(code)


class TxnOffsetsMixin:
    # provided by GroupCoordinator
    groups: dict[str, Any]
    topic: Any
    _flusher: Any
    _commit_timeout_ms: int

    if TYPE_CHECKING:
        def status(self, group_id: str) -> int: ...
        def partition_of(self, group_id: str) -> int: ...
        def _get_or_create(self, group_id: str) -> Any: ...
        def _arm(self, g: Any) -> None: ...

    async def commit_txn_offsets(self, group_id: str, transactional_id: str, producer_id: int, producer_epoch: int,
                                 member_id: str, group_instance_id: str | None, generation_id: int,
                                 offsets: dict[TopicPartition, OffsetValue],
                                 verifier: TxnVerifier | None = None) -> int:
        """Writes the producer's transactional offsets (pending until its marker), or says why not
        (one error for the whole request)."""
        status = self.status(group_id)
        if status:
            return status
        g: Any = self.groups.get(group_id)
        if g is None:
            if generation_id >= 0:
                return E.ILLEGAL_GENERATION
            g = self._get_or_create(group_id)
        error = g.txn_commit_error(member_id, group_instance_id, generation_id)
        if error or not offsets:
            return error
        part = self.topic.leader(group_id)
        guard = None
        if verifier is not None and part is not None:
            guard = part.start_verification(producer_id)
            if guard is not None:
                tp = (OFFSETS_TOPIC, self.partition_of(group_id))
                try:
                    codes = await verifier.verify(transactional_id, producer_id, producer_epoch, [tp])
                    code = int(codes.get(tp, E.INVALID_TXN_STATE))
                except Exception:
                    log.exception("group %s: verifying producer %d failed", group_id, producer_id)
                    code = E.COORDINATOR_NOT_AVAILABLE
                if code:
                    return txn_commit_write_error(code)
                if not part.verified(producer_id, guard):  # a marker came while verifying
                    return E.INVALID_TXN_STATE
            if self.groups.get(group_id) is not g:
                return E.NOT_COORDINATOR
        now = now_ms()
        written = self._write_txn(group_id, offset_records(group_id, dict(offsets)), now, producer_id, producer_epoch)
        if isinstance(written, int):
            return txn_commit_write_error(written)
        mine = dict(offsets)
        g.pending_txn_offsets.setdefault(producer_id, {}).update(mine)
        error = await written.replicated(self._commit_timeout_ms)
        if error:
            log.warning("group %s: transactional offsets of producer %d not committed (error %d)",
                        group_id, producer_id, error)
            pending = g.pending_txn_offsets.get(producer_id)
            if pending is not None:
                for tp, v in mine.items():
                    if pending.get(tp) is v:
                        del pending[tp]
                if not pending:
                    del g.pending_txn_offsets[producer_id]
            return txn_commit_write_error(error)
        if written.plog.needs_flush(now):
            await self._flusher.flush_soon()
        return E.NONE

    def _write_txn(self, group_id: str, items: list[tuple[bytes, bytes | None]], now: int, producer_id: int,
                   producer_epoch: int) -> Written | int:
        try:
            return self.topic.append(group_id, items, now, (producer_id, producer_epoch))  # type: ignore[no-any-return]
        except NotLeader:
            return E.NOT_LEADER_OR_FOLLOWER
        except InvalidProducerEpoch:
            return E.INVALID_PRODUCER_EPOCH
        except (InvalidTxnState, OutOfOrderSequence) as e:
            log.warning("group %s: transactional offsets of producer %d refused: %s", group_id, producer_id, e)
            return E.INVALID_TXN_STATE
        except (OSError, StorageError) as e:
            log.error("group %s: could not write to %s: %s", group_id, OFFSETS_TOPIC, e)
            return E.KAFKA_STORAGE_ERROR

    def complete_txn(self, producer_id: int, partition: int, commit: bool) -> None:
        """The producer's marker is on ``partition`` of __consumer_offsets: end its offsets there."""
        for g in list(self.groups.values()):
            if g.pending_txn_offsets and self.partition_of(g.group_id) == partition:
                if g.complete_txn(producer_id, commit):
                    log.debug("group %s: transactional offsets of producer %d %s", g.group_id, producer_id,
                              "committed" if commit else "aborted")
                    self._arm(g)

    def has_pending_txn_offsets(self, group_id: str, tp: TopicPartition) -> bool:
        g = self.groups.get(group_id)
        return g is not None and g.has_pending_txn_offset(tp)
