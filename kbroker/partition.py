"""One topic-partition on this broker: its log, leader epoch, high watermark and in-sync replicas,
produce validation and append, and the bounds of a fetch.

On a single broker this broker leads every partition and is its only in-sync replica, so the high
watermark is the log end offset (every appended record is committed).  The last stable offset is
the high watermark capped by the log's first unstable offset (the first offset of the oldest
transaction still open on the partition): read_committed consumers read below it.  Replication plugs in here: a follower's fetch position moves the high
watermark, the ISR shrinks and grows, and the leader epoch changes on election.

``append`` runs Kafka's ``LogValidator`` (``kbroker.log_validator``) on the produced batch with the
topic's resolved config, decoding off the event loop when it must look inside compressed records
(two worker threads at most, so two compression bombs cannot hold more than twice the bound), then
hands the bytes and their already-parsed headers to the log.  Idempotent batches are checked by the
log against the producer's last five (``storage.producer_state``): a duplicate is answered with its
original offset, a gap or a new epoch not starting at 0 is OUT_OF_ORDER_SEQUENCE_NUMBER, a stale
epoch INVALID_PRODUCER_EPOCH.  Appends wake the fetches parked on the partition.

Transactions: ``write_marker`` appends a commit or abort marker (``PartitionLog.append_control``)
and waits for the high watermark to cover it, like an acks=all produce.  KIP-890 part 1
(Kafka's VerificationGuard): before a transactional batch of a producer that has no ongoing
transaction here is appended, the produce handler asks the transaction coordinator whether the
partition is in the producer's transaction; ``start_verification`` hands out a guard (the same one
while the check is outstanding, so retries share it) and ``append`` accepts such a batch only with the
guard still current.  Any transactional batch or marker of the producer clears the guard, so a marker
written while the check was under way makes the append fail INVALID_TXN_STATE (a retry verifies
again).  Guards live in memory only: a restart loses them, which only makes a producer verify again.

Replication (a cluster, ``zookeeper.connect``): the partition holds its role (leader, follower, or
neither while it has no leader), the leader id and epoch, the replica set and the ISR with the
version of the state znode they came from, and the high watermark.  As leader it records each
follower's log end offset from its fetches, moves the high watermark to the ISR's minimum (only
forward), completes the acks=all produces waiting for it, and proposes ISR changes (a follower
caught up joins; one not caught up for ``replica.lag.time.max.ms`` leaves) through the injected
``isr_writer`` — a conditional write of the state znode, so a newer decision (a new leader, another
ISR change) always wins.  As follower it appends what the leader sends with the leader's offsets
and epochs, and its high watermark is the leader's, capped by its own log end.  On a single broker
none of this runs: the partition is its own ISR and the high watermark is the log end offset.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kbroker import log_validator as lv
from kbroker.clock import now_ms
from kbroker.log_validator import ProduceError, TimestampOutOfRange
from kbroker.topic_config import TopicConfig
from kbroker.waiters import AppendWaiters
from storage.errors import StorageError
from storage.log import FileSlice, PartitionLog
from storage.producer_state import (
    CoordinatorFenced,
    InvalidProducerEpoch,
    InvalidTxnState,
    OutOfOrderSequence,
)
from wire.errors import ErrorCode

# Decoding of compressed batches (compacted key checks, recompression, timestamp errors), off the loop.
_DECODER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="produce-decode")
log = logging.getLogger("kbroker.partition")

LEADER, FOLLOWER, NO_ROLE = "leader", "follower", "none"
# (partition, proposed ISR) -> the state znode's new version, or None when the write lost (a newer
# state exists: the metadata watch brings it)
IsrWriter = Callable[["Partition", tuple[int, ...]], Awaitable[int | None]]


class FollowerState:
    """What a leader knows of one follower (Kafka's Replica): its log end offset and when it was last
    caught up."""

    __slots__ = ("leo", "caught_up_ms", "last_fetch_leader_leo", "last_fetch_ms")

    def __init__(self, now: int) -> None:
        self.leo = -1
        self.caught_up_ms = now
        self.last_fetch_leader_leo = -1
        self.last_fetch_ms = now


@dataclass(frozen=True, slots=True)
class Appended:
    base_offset: int
    log_append_time_ms: int  # -1 for CreateTime topics
    log_start_offset: int
    end_offset: int = -1  # the offset after the batch's last record (what acks=all waits for)
    duplicate: bool = False  # a retry of a batch already in the log (nothing appended)


class VerificationGuard:
    """The token of one KIP-890 verification of a producer on a partition (compared by identity)."""

    __slots__ = ("producer_id",)

    def __init__(self, producer_id: int) -> None:
        self.producer_id = producer_id


class TopicState:
    """What the partitions of one topic share: its resolved config, replaced on alter."""

    __slots__ = ("name", "config")

    def __init__(self, name: str, config: TopicConfig) -> None:
        self.name = name
        self.config = config


class Partition:
    def __init__(self, topic: TopicState, index: int, log: PartitionLog, node_id: int,
                 waiters: AppendWaiters, replicated: bool = False, high_watermark: int = 0) -> None:
        self._topic = topic
        self.index = index
        self.log = log
        self.node_id = node_id
        self._waiters = waiters
        # replication state (cluster mode only; see the module docstring)
        self.replicated = replicated
        self.role = NO_ROLE if replicated else LEADER
        self._leader = -1
        self._epoch = -1
        self._replicas: tuple[int, ...] = (node_id,)
        self._isr: tuple[int, ...] = (node_id,)
        self.state_version = -1
        self.controller_epoch = 0
        self._hw = min(high_watermark, log.log_end_offset)
        self._followers: dict[int, FollowerState] = {}
        self._acks: list[tuple[int, asyncio.Future[int]]] = []  # (offset the HW must reach, answer)
        self._isr_inflight = False
        self.isr_writer: IsrWriter | None = None
        # replicas a reassignment is removing: the leader does not take them (back) into the ISR
        self.isr_excluded: frozenset[int] = frozenset()
        self._guards: dict[int, VerificationGuard] = {}  # producer id -> its outstanding verification

    def __repr__(self) -> str:
        return f"Partition({self.topic}-{self.index})"

    # -- state --------------------------------------------------------------------------------------

    @property
    def topic(self) -> str:
        return self._topic.name

    @property
    def config(self) -> TopicConfig:
        return self._topic.config

    @property
    def leader_id(self) -> int:
        return self._leader if self.replicated else self.node_id

    @property
    def leader_epoch(self) -> int:
        return self._epoch if self.replicated else self.log.leader_epoch

    @property
    def replicas(self) -> tuple[int, ...]:
        return self._replicas

    @property
    def isr(self) -> tuple[int, ...]:
        return self._isr

    @property
    def is_leader(self) -> bool:
        return self.role == LEADER

    @property
    def high_watermark(self) -> int:
        return self._hw if self.replicated else self.log.log_end_offset

    @property
    def last_stable_offset(self) -> int:
        """The high watermark, capped by the first offset of the oldest open transaction."""
        hw = self.high_watermark
        first_unstable = self.log.first_unstable_offset
        return hw if first_unstable is None else min(hw, first_unstable)

    @property
    def high_watermark_behind_epoch(self) -> bool:
        """A leader whose high watermark is still below the offset its epoch began at: just elected,
        it does not know yet how far the old leader had committed (it learns when its followers
        fetch), so a consumer must not be told a `latest` offset from it (Kafka, KIP-207)."""
        return self.replicated and self.role == LEADER and self._hw < self.epoch_start_offset

    @property
    def log_start_offset(self) -> int:
        return self.log.log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.log.log_end_offset

    # -- produce ------------------------------------------------------------------------------------

    # -- transactions -------------------------------------------------------------------------------

    def has_ongoing_txn(self, producer_id: int) -> bool:
        entry = self.log.producer_state.get(producer_id)
        if entry is None:
            return False
        first = entry.current_txn_first_offset
        return first is not None and first >= 0

    def start_verification(self, producer_id: int) -> VerificationGuard | None:
        """None when the producer has a transaction ongoing here (nothing to verify), else the guard
        the append must present (the outstanding one if a verification is under way)."""
        if self.has_ongoing_txn(producer_id):
            return None
        guard = self._guards.get(producer_id)
        if guard is None:
            guard = self._guards[producer_id] = VerificationGuard(producer_id)
        return guard

    def verified(self, producer_id: int, guard: VerificationGuard) -> bool:
        """Whether ``guard`` is still the producer's current verification (no marker, no
        transactional batch since it was handed out)."""
        return self._guards.get(producer_id) is guard

    async def write_marker(self, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int,
                           timeout_ms: int) -> int:
        """Append a COMMIT (``commit``) or ABORT marker of the producer and wait until it is committed
        (acks=all). 0, or NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
        INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, KAFKA_STORAGE_ERROR, REQUEST_TIMED_OUT."""
        if self.replicated:
            if self.role != LEADER:
                return ErrorCode.NOT_LEADER_OR_FOLLOWER
            if len(self._isr) < self.config.min_insync_replicas:
                return ErrorCode.NOT_ENOUGH_REPLICAS
        if self.log.closed:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        try:
            info = self.log.append_control(producer_id, producer_epoch, commit, coordinator_epoch, now_ms())
        except InvalidProducerEpoch as e:
            log.info("%s-%d: marker of producer %d refused: %s", self.topic, self.index, producer_id, e)
            return ErrorCode.INVALID_PRODUCER_EPOCH
        except CoordinatorFenced as e:
            log.info("%s-%d: marker of producer %d refused: %s", self.topic, self.index, producer_id, e)
            return ErrorCode.TRANSACTION_COORDINATOR_FENCED
        except (OSError, StorageError) as e:
            log.error("%s-%d: marker of producer %d not written: %s", self.topic, self.index, producer_id, e)
            return ErrorCode.KAFKA_STORAGE_ERROR
        self._guards.pop(producer_id, None)
        if self.replicated:
            self._advance_hw()
        self._waiters.notify(self.topic, self.index)  # the log end and the last stable offset moved
        return await self.wait_replicated(info.last_offset + 1, timeout_ms)

    def _check_verification(self, batches: lv.Batches, guard: VerificationGuard | None, verify: bool) -> None:
        """KIP-890: a transactional batch starting a transaction here needs the current guard."""
        for _, h in batches:
            if not h.is_transactional or h.producer_id < 0:
                continue
            if verify and not self.has_ongoing_txn(h.producer_id) and (
                    guard is None or self._guards.get(h.producer_id) is not guard):
                raise ProduceError(ErrorCode.INVALID_TXN_STATE,
                                   f"producer {h.producer_id} has no verified transaction on {self.topic}-{self.index}")

    async def append(self, data: memoryview, api_version: int, acks: int = 1,
                     guard: VerificationGuard | None = None, verify: bool = False) -> Appended:
        """Validate and append one produced record batch. Raises ProduceError with the Kafka error.
        In a cluster only the leader appends, and acks=all needs ``min.insync.replicas`` in-sync
        replicas (NOT_ENOUGH_REPLICAS, nothing appended); waiting for them is ``wait_replicated``.
        ``verify``: a transactional batch that would start a transaction needs ``guard`` to be the
        producer's current verification (``start_verification``), else INVALID_TXN_STATE."""
        config = self.config
        epoch = self._epoch
        if self.replicated:
            if self.role != LEADER:
                raise ProduceError(ErrorCode.NOT_LEADER_OR_FOLLOWER)
            if acks == -1 and len(self._isr) < config.min_insync_replicas:
                raise ProduceError(ErrorCode.NOT_ENOUGH_REPLICAS,
                                   f"the ISR {list(self._isr)} is smaller than min.insync.replicas "
                                   f"{config.min_insync_replicas}")
        now = now_ms()
        try:
            batches = lv.check_batches(data, config, api_version, now)
        except TimestampOutOfRange as e:
            args = (data, e.batches, e.low, e.high, lv.decompressed_limit(config.max_message_bytes))
            if any(h.compression for _, h in e.batches):
                errors = await asyncio.get_running_loop().run_in_executor(_DECODER, lv.timestamp_errors, *args)
            else:
                errors = lv.timestamp_errors(*args)
            raise ProduceError(ErrorCode.INVALID_TIMESTAMP, e.message, errors) from None
        if config.log_append_time:
            lv.stamp_append_time(data, batches, now)
        stored: memoryview | bytearray = data
        if lv.needs_inspection(config, batches):
            tp = f"{self.topic}-{self.index}"
            if any(h.compression for _, h in batches):  # decompression: off the event loop
                stored, batches = await asyncio.get_running_loop().run_in_executor(
                    _DECODER, lv.inspect, data, batches, tp, config)
            else:
                stored, batches = lv.inspect(data, batches, tp, config)
            if self.log.closed:  # the topic was deleted while decoding
                raise ProduceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        if self.replicated and (self.role != LEADER or self._epoch != epoch):
            raise ProduceError(ErrorCode.NOT_LEADER_OR_FOLLOWER)  # leadership moved while decoding
        self._check_verification(batches, guard, verify)  # after any await: a marker may have come meanwhile
        now = now_ms()
        try:
            info = self.log.append(stored, now, batches)
        except OutOfOrderSequence as e:
            raise ProduceError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, str(e)) from None
        except InvalidProducerEpoch as e:
            raise ProduceError(ErrorCode.INVALID_PRODUCER_EPOCH, str(e)) from None
        except InvalidTxnState as e:
            raise ProduceError(ErrorCode.INVALID_TXN_STATE, str(e)) from None
        except (OSError, StorageError) as e:
            raise ProduceError(ErrorCode.KAFKA_STORAGE_ERROR, str(e)) from None
        for _, h in batches:
            if h.is_transactional and h.producer_id >= 0:
                self._guards.pop(h.producer_id, None)  # the transaction has its first offset here now
        if info.duplicate is not None:  # a retry of a batch already written: its original offset
            return Appended(info.base_offset, info.duplicate.timestamp if config.log_append_time else -1,
                            info.log_start_offset, info.last_offset + 1, duplicate=True)
        if self.replicated:
            self._advance_hw()  # a leader alone in its ISR commits at once
        self._waiters.notify(self.topic, self.index)  # the log end (single broker: the HW) moved
        return Appended(info.base_offset, now if config.log_append_time else -1, info.log_start_offset,
                        info.last_offset + 1)

    async def wait_replicated(self, end_offset: int, timeout_ms: int) -> int:
        """acks=all: wait until the high watermark reaches ``end_offset`` (the offset after the last
        appended record). 0, or NOT_ENOUGH_REPLICAS_AFTER_APPEND (the ISR fell below
        min.insync.replicas), NOT_LEADER_OR_FOLLOWER (leadership moved), REQUEST_TIMED_OUT."""
        if not self.replicated:
            return 0
        if self.role != LEADER:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        if self._hw >= end_offset:
            return self._committed_answer()
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        entry = (end_offset, fut)
        self._acks.append(entry)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), max(timeout_ms, 0) / 1000)
        except TimeoutError:
            return ErrorCode.REQUEST_TIMED_OUT
        finally:
            try:
                self._acks.remove(entry)
            except ValueError:
                pass

    def _committed_answer(self) -> int:
        if len(self._isr) < self.config.min_insync_replicas:
            return ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
        return 0

    def _complete_acks(self) -> None:
        if not self._acks:
            return
        hw = self._hw
        answer = self._committed_answer()
        for end, fut in self._acks:
            if end <= hw and not fut.done():
                fut.set_result(answer)

    def _fail_acks(self, code: int) -> None:
        for _, fut in self._acks:
            if not fut.done():
                fut.set_result(code)

    # -- replication: roles -------------------------------------------------------------------------

    def _set_state(self, leader: int, epoch: int, isr: tuple[int, ...], replicas: tuple[int, ...],
                   version: int, controller_epoch: int) -> None:
        self._leader, self._epoch, self._isr, self._replicas = leader, epoch, isr, replicas
        self.state_version, self.controller_epoch = version, controller_epoch

    def become_leader(self, epoch: int, isr: tuple[int, ...], replicas: tuple[int, ...], version: int,
                      controller_epoch: int, now: int) -> None:
        """This broker leads from ``epoch``: new epoch entry at the log end, every follower's
        position unknown (caught up as of now, as Kafka starts them)."""
        was_leader = self.role == LEADER and self._epoch == epoch
        self._set_state(self.node_id, epoch, isr, replicas, version, controller_epoch)
        if was_leader:
            self._advance_hw()
            return
        self.role = LEADER
        if epoch > self.log.leader_epoch:
            self.log.leader_epochs.assign(epoch, self.log.log_end_offset)
        self._followers = {r: FollowerState(now) for r in replicas if r != self.node_id}
        self._hw = min(self._hw, self.log.log_end_offset)
        log.info("%s-%d: leader at epoch %d, ISR %s, log end %d, HW %d", self.topic, self.index, epoch,
                 list(isr), self.log.log_end_offset, self._hw)
        self._advance_hw()

    def become_follower(self, leader: int, epoch: int, isr: tuple[int, ...], replicas: tuple[int, ...],
                        version: int, controller_epoch: int) -> bool:
        """Follow ``leader`` (-1: no leader for now). True when the leader or epoch changed (the
        replica fetcher then truncates and fetches from the new leader)."""
        changed = self.role != FOLLOWER or leader != self._leader or epoch != self._epoch
        self._set_state(leader, epoch, isr, replicas, version, controller_epoch)
        if changed:
            self.role = FOLLOWER if leader >= 0 else NO_ROLE
            self._followers = {}
            self._fail_acks(ErrorCode.NOT_LEADER_OR_FOLLOWER)
            self._waiters.notify(self.topic, self.index)
            log.info("%s-%d: follower of %d at epoch %d, log end %d, HW %d", self.topic, self.index, leader,
                     epoch, self.log.log_end_offset, self._hw)
        return changed

    def resign(self) -> None:
        """The broker's ZooKeeper session expired: stop leading at once, whatever the state znode
        still says (another leader may exist already).  Produce answers NOT_LEADER_OR_FOLLOWER, the
        parked acks=all requests complete with it (never NONE), followers' fetches are refused, no
        ISR change is proposed; ``state_version`` -1 lets the next state (read in the new session)
        apply even at the version held."""
        if self.role != LEADER:
            return
        self.role = NO_ROLE
        self._leader = -1
        self._followers = {}
        self.state_version = -1
        self._fail_acks(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        self._waiters.notify(self.topic, self.index)
        log.info("%s-%d: leadership at epoch %d given up (ZooKeeper session expired), log end %d, HW %d",
                 self.topic, self.index, self._epoch, self.log.log_end_offset, self._hw)

    def update_isr(self, isr: tuple[int, ...], version: int, controller_epoch: int) -> None:
        """Same leader and epoch, a new ISR (this leader's own change, or the controller's)."""
        self._isr, self.state_version, self.controller_epoch = isr, version, controller_epoch
        if self.role == LEADER:
            self._advance_hw()
            self._complete_acks()

    def update_replicas(self, replicas: tuple[int, ...], now: int) -> None:
        """The assignment changed under the same leader epoch (a reassignment): a leader tracks the
        new followers (caught up as of now, as at election) and forgets the removed ones that are
        not in the ISR."""
        if replicas == self._replicas:
            return
        self._replicas = replicas
        if self.role != LEADER:
            return
        for r in replicas:
            if r != self.node_id and r not in self._followers:
                self._followers[r] = FollowerState(now)
        for r in [r for r in self._followers if r not in replicas and r not in self._isr]:
            del self._followers[r]

    # -- replication: the leader's side -------------------------------------------------------------

    def _advance_hw(self) -> None:
        leo = self.log.log_end_offset
        new = leo
        for r in self._isr:
            if r == self.node_id:
                continue
            f = self._followers.get(r)
            new = min(new, f.leo if f is not None else -1)
        if new > self._hw:
            self._hw = new
            self._complete_acks()
            self._waiters.notify(self.topic, self.index)

    def follower_fetched(self, replica_id: int, fetch_offset: int, now: int) -> int:
        """A follower asked for ``fetch_offset``: its log end offset. 0, or the error to answer it."""
        if self.role != LEADER:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        f = self._followers.get(replica_id)
        if f is None:
            if replica_id not in self._replicas:
                return ErrorCode.NOT_LEADER_OR_FOLLOWER
            f = self._followers[replica_id] = FollowerState(now)
        leo = self.log.log_end_offset
        if fetch_offset >= leo:
            f.caught_up_ms = now
        elif fetch_offset >= f.last_fetch_leader_leo >= 0:
            f.caught_up_ms = max(f.caught_up_ms, f.last_fetch_ms)
        f.leo = min(fetch_offset, leo)
        f.last_fetch_leader_leo = leo
        f.last_fetch_ms = now
        if (replica_id not in self._isr and replica_id not in self.isr_excluded and f.leo >= self._hw
                and f.leo >= self.epoch_start_offset):
            self._propose_isr(tuple(r for r in self._replicas if r in self._isr or r == replica_id))
        self._advance_hw()
        return 0

    @property
    def epoch_start_offset(self) -> int:
        """Where this leader's epoch started in the log (the log end when it was elected)."""
        entries = self.log.leader_epochs.entries
        return entries[-1][1] if entries else 0

    def lagging(self, now: int, max_lag_ms: int) -> tuple[int, ...]:
        """ISR followers not caught up for longer than ``max_lag_ms``."""
        if self.role != LEADER:
            return ()
        out = []
        for r in self._isr:
            if r == self.node_id:
                continue
            f = self._followers.get(r)
            if f is None or now - f.caught_up_ms > max_lag_ms:
                out.append(r)
        return tuple(out)

    def shrink_isr(self, now: int, max_lag_ms: int) -> None:
        out = self.lagging(now, max_lag_ms)
        if out:
            log.info("%s-%d: followers %s out of sync for more than %d ms", self.topic, self.index, list(out),
                     max_lag_ms)
            self._propose_isr(tuple(r for r in self._isr if r not in out))

    def _propose_isr(self, isr: tuple[int, ...]) -> None:
        writer = self.isr_writer
        if writer is None or self._isr_inflight or isr == self._isr or self.node_id not in isr:
            return
        self._isr_inflight = True
        epoch = self._epoch

        async def write() -> None:
            try:
                version = await writer(self, isr)
            except Exception:
                log.exception("%s-%d: ISR change to %s failed", self.topic, self.index, list(isr))
                version = None
            finally:
                self._isr_inflight = False
            if version is not None and self.role == LEADER and self._epoch == epoch and version > self.state_version:
                log.info("%s-%d: ISR %s -> %s", self.topic, self.index, list(self._isr), list(isr))
                self.update_isr(isr, version, self.controller_epoch)

        asyncio.get_running_loop().create_task(write())

    # -- replication: the follower's side -----------------------------------------------------------

    def append_from_leader(self, data: memoryview, leader_hw: int, leader_log_start: int) -> int:
        """Records fetched from the leader, with its offsets and epochs. The new log end offset."""
        if len(data):
            self.log.append_as_follower(data, now_ms())
        leo = self.log.log_end_offset
        if leader_log_start > self.log.log_start_offset and leader_log_start <= leo:
            self.log.advance_log_start(leader_log_start)
        hw = min(leader_hw, leo)
        if hw > self._hw:
            self._hw = hw
        self._waiters.notify(self.topic, self.index)
        return leo

    def truncate_to(self, offset: int) -> None:
        if offset < self.log.log_end_offset:
            log.info("%s-%d: truncating from %d to %d", self.topic, self.index, self.log.log_end_offset, offset)
        # called at the log end too: an empty epoch at the log end goes (storage.log.truncate_to)
        self.log.truncate_to(offset, now_ms(), self.config.file_delete_delay_ms)
        self._hw = min(self._hw, self.log.log_end_offset)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        log.info("%s-%d: log emptied, restarting at %d", self.topic, self.index, offset)
        self.log.truncate_fully_and_start_at(offset, now_ms(), self.config.file_delete_delay_ms)
        self._hw = offset

    def needs_flush(self) -> bool:
        """flush.messages / flush.ms say the log must be synced before the produce answers."""
        return self.log.needs_flush(now_ms())

    # -- fetch --------------------------------------------------------------------------------------

    def epoch_error(self, requested: int) -> int:
        """A fetcher's current leader epoch against the partition's (-1: not checked)."""
        current = self.leader_epoch
        if requested < 0 or requested == current:
            return 0
        return ErrorCode.FENCED_LEADER_EPOCH if requested < current else ErrorCode.UNKNOWN_LEADER_EPOCH

    def diverging_epoch(self, last_fetched_epoch: int, fetch_offset: int) -> tuple[int, int] | None:
        """(epoch, end offset) when the fetcher's last fetched epoch ends before its fetch offset
        here (a truncated log), else None."""
        if last_fetched_epoch < 0:
            return None
        epoch, end = self.log.leader_epochs.end_offset_for(last_fetched_epoch, self.log.log_end_offset)
        if epoch < last_fetched_epoch or end < fetch_offset:
            return epoch, end
        return None

    def read(self, fetch_offset: int, max_bytes: int, high_watermark: int) -> FileSlice | None:
        """Whole batches from the one holding ``fetch_offset``, below ``high_watermark`` (the value
        the fetch reports; read committed and uncommitted alike, the last stable offset being the
        high watermark). OffsetOutOfRange outside [log start, log end]."""
        return self.log.read(fetch_offset, max_bytes, high_watermark)
