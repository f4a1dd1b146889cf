"""The transaction state machine, pure: no clock, no I/O, no asyncio (Kafka's TransactionMetadata
and the decisions of its TransactionCoordinator, ZooKeeper-mode / transaction.version 0 semantics).

Every event takes the current ``TxnMeta`` (or None: the transactional id is unknown) and returns a
``Decision``: either an error to answer at once (``error``, nothing written), or the metadata to
write to ``__transaction_state`` (``write``) — the shell writes it, and only once the write is
committed does it become the current metadata and is the request answered.  ``then`` says what the
shell does after the write: ``MARKERS`` (send the commit/abort markers, then ``complete``), or
nothing.

States (Kafka's ids): Empty 0, Ongoing 1, PrepareCommit 2, PrepareAbort 3, CompleteCommit 4,
CompleteAbort 5, Dead 6, PrepareEpochFence 7.  Fencing an ongoing transaction (InitProducerId of
a new incarnation, or the coordinator's timeout abort) goes straight from Ongoing to PrepareAbort
with the epoch bumped: Kafka passes through PrepareEpochFence only in memory, never in the log, and
here a transactional id's events are serialized by the shell, so that in-memory step is not needed.

Deliberately not done: transaction.version 2 (KIP-890 part 2: the epoch bump at every EndTxn,
implicit partition adds by Produce v12); keep_prepared_txn (KIP-939, two-phase commit).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

from wire.errors import ErrorCode

E = ErrorCode
TopicPartition = tuple[str, int]
MAX_EPOCH = 32767  # Short.MAX_VALUE
NO_EPOCH = -1


class TxnState(IntEnum):
    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7


NAMES = {TxnState.EMPTY: "Empty", TxnState.ONGOING: "Ongoing", TxnState.PREPARE_COMMIT: "PrepareCommit",
         TxnState.PREPARE_ABORT: "PrepareAbort", TxnState.COMPLETE_COMMIT: "CompleteCommit",
         TxnState.COMPLETE_ABORT: "CompleteAbort", TxnState.DEAD: "Dead",
         TxnState.PREPARE_EPOCH_FENCE: "PrepareEpochFence"}
BY_NAME = {v: k for k, v in NAMES.items()}
PREPARING = (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT, TxnState.PREPARE_EPOCH_FENCE)
ENDED = (TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT)

MARKERS = "markers"


@dataclass(frozen=True, slots=True)
class TxnMeta:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState
    partitions: frozenset[TopicPartition] = frozenset()
    start_ms: int = -1
    last_update_ms: int = -1
    last_producer_epoch: int = NO_EPOCH  # the epoch before the latest bump (a retried InitProducerId)
    previous_producer_id: int = -1  # the id before an epoch overflow gave a new one

    @property
    def epoch_exhausted(self) -> bool:
        return self.producer_epoch >= MAX_EPOCH - 1


@dataclass(frozen=True, slots=True)
class Decision:
    error: int = E.NONE
    write: TxnMeta | None = None  # the metadata to write (None: nothing)
    then: str | None = None  # MARKERS: send the markers of ``write`` and complete it
    partition_errors: dict[TopicPartition, int] = field(default_factory=dict)

    @staticmethod
    def fail(code: int) -> Decision:
        return Decision(error=code)


def _check_producer(meta: TxnMeta | None, producer_id: int, producer_epoch: int) -> int:
    if meta is None or meta.state == TxnState.DEAD or meta.producer_id != producer_id:
        return E.INVALID_PRODUCER_ID_MAPPING
    if meta.producer_epoch != producer_epoch:
        return E.PRODUCER_FENCED
    return E.NONE


def _fence_and_abort(meta: TxnMeta, now: int) -> TxnMeta:
    """Ongoing → PrepareAbort at a bumped epoch: the old producer is fenced and its records aborted."""
    epoch = meta.producer_epoch + 1 if meta.producer_epoch < MAX_EPOCH else meta.producer_epoch
    return replace(meta, state=TxnState.PREPARE_ABORT, producer_epoch=epoch, last_producer_epoch=NO_EPOCH,
                   last_update_ms=now)


def init_producer_id(meta: TxnMeta | None, transactional_id: str, timeout_ms: int, max_timeout_ms: int,
                     expected_pid: int, expected_epoch: int, new_producer_id: int, now: int) -> Decision:
    """InitProducerId with a transactional id.  ``new_producer_id``: an unused id, taken when a new
    one is needed (unknown id, or epoch exhausted).  ``expected_*`` -1: not given (before v3)."""
    if timeout_ms <= 0 or timeout_ms > max_timeout_ms:
        return Decision.fail(E.INVALID_TRANSACTION_TIMEOUT)
    if meta is None or meta.state == TxnState.DEAD:
        return Decision(write=TxnMeta(transactional_id, new_producer_id, 0, timeout_ms, TxnState.EMPTY,
                                      frozenset(), -1, now))
    given = expected_pid >= 0
    if given and not (meta.producer_epoch == NO_EPOCH or expected_pid == meta.producer_id
                      or (expected_pid == meta.previous_producer_id and expected_epoch >= MAX_EPOCH - 1)):
        return Decision.fail(E.PRODUCER_FENCED)
    if meta.state in PREPARING or meta.state == TxnState.DEAD:
        return Decision.fail(E.CONCURRENT_TRANSACTIONS)
    if meta.state == TxnState.ONGOING:
        # a new incarnation: fence the old one, abort its transaction; the client retries
        return Decision(error=E.CONCURRENT_TRANSACTIONS, write=_fence_and_abort(meta, now), then=MARKERS)
    base = replace(meta, timeout_ms=timeout_ms, state=TxnState.EMPTY, partitions=frozenset(), start_ms=-1,
                   last_update_ms=now)
    if meta.epoch_exhausted:
        return Decision(write=replace(base, producer_id=new_producer_id, producer_epoch=0,
                                      previous_producer_id=meta.producer_id if given else -1,
                                      last_producer_epoch=meta.producer_epoch if given else NO_EPOCH))
    if not given:
        return Decision(write=replace(base, producer_epoch=meta.producer_epoch + 1, last_producer_epoch=NO_EPOCH))
    if meta.producer_epoch == NO_EPOCH or expected_epoch == meta.producer_epoch:
        return Decision(write=replace(base, producer_epoch=meta.producer_epoch + 1,
                                      last_producer_epoch=meta.producer_epoch))
    if expected_epoch == meta.last_producer_epoch:  # a retry of the bump: the same answer
        return Decision(write=base)
    return Decision.fail(E.PRODUCER_FENCED)


def add_partitions(meta: TxnMeta | None, producer_id: int, producer_epoch: int,
                   partitions: list[TopicPartition], now: int) -> Decision:
    """AddPartitionsToTxn (and AddOffsetsToTxn, with the group's ``__consumer_offsets`` partition)."""
    code = _check_producer(meta, producer_id, producer_epoch)
    if code:
        return Decision.fail(code)
    assert meta is not None
    if meta.state in PREPARING:
        return Decision.fail(E.CONCURRENT_TRANSACTIONS)
    if meta.state == TxnState.ONGOING and set(partitions) <= meta.partitions:
        return Decision()  # nothing new: no write
    start = meta.start_ms if meta.state == TxnState.ONGOING else now
    return Decision(write=replace(meta, state=TxnState.ONGOING, partitions=meta.partitions | set(partitions),
                                  start_ms=start, last_update_ms=now))


def verify_partitions(meta: TxnMeta | None, producer_id: int, producer_epoch: int,
                      partitions: list[TopicPartition]) -> Decision:
    """AddPartitionsToTxn ``verify_only`` (KIP-890 part 1): are the partitions in the producer's
    ongoing transaction?  Per partition NONE or INVALID_TXN_STATE; never writes."""
    code = _check_producer(meta, producer_id, producer_epoch)
    if code:
        return Decision.fail(code)
    assert meta is not None
    if meta.state in PREPARING:
        return Decision.fail(E.CONCURRENT_TRANSACTIONS)
    ongoing = meta.state == TxnState.ONGOING
    return Decision(partition_errors={tp: E.NONE if ongoing and tp in meta.partitions else E.INVALID_TXN_STATE
                                      for tp in partitions})


def end_txn(meta: TxnMeta | None, producer_id: int, producer_epoch: int, commit: bool, now: int) -> Decision:
    """EndTxn from the client: Ongoing → PrepareCommit/PrepareAbort (then the markers); a retry of
    an ended transaction with the same result answers NONE."""
    code = _check_producer(meta, producer_id, producer_epoch)
    if code:
        return Decision.fail(code)
    assert meta is not None
    s = meta.state
    if s == TxnState.ONGOING:
        target = TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT
        return Decision(write=replace(meta, state=target, last_update_ms=now), then=MARKERS)
    same = {TxnState.COMPLETE_COMMIT: commit, TxnState.COMPLETE_ABORT: not commit}
    if s in same:
        return Decision() if same[s] else Decision.fail(E.INVALID_TXN_STATE)
    if s == TxnState.PREPARE_COMMIT:
        return Decision.fail(E.CONCURRENT_TRANSACTIONS if commit else E.INVALID_TXN_STATE)
    if s == TxnState.PREPARE_ABORT:
        return Decision.fail(E.CONCURRENT_TRANSACTIONS if not commit else E.INVALID_TXN_STATE)
    return Decision.fail(E.INVALID_TXN_STATE)  # Empty, Dead, PrepareEpochFence


def complete(meta: TxnMeta, now: int) -> TxnMeta:
    """Every marker is written: PrepareCommit → CompleteCommit, PrepareAbort → CompleteAbort."""
    target = TxnState.COMPLETE_COMMIT if meta.state == TxnState.PREPARE_COMMIT else TxnState.COMPLETE_ABORT
    return replace(meta, state=target, partitions=frozenset(), last_update_ms=now)


def timed_out(meta: TxnMeta, now: int) -> Decision:
    """The coordinator's timeout abort: an Ongoing transaction older than its timeout is aborted at a
    bumped epoch (the producer is fenced; its records are never visible)."""
    if meta.state != TxnState.ONGOING or meta.start_ms < 0 or now <= meta.start_ms + meta.timeout_ms:
        return Decision()
    return Decision(write=_fence_and_abort(meta, now), then=MARKERS)


def expired(meta: TxnMeta, now: int, expiration_ms: int) -> bool:
    """transactional.id.expiration.ms: an id with no transaction in progress, idle that long."""
    return meta.state in ENDED and meta.last_update_ms + expiration_ms <= now
