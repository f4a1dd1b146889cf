"""Group state on disk: the records of ``__consumer_offsets`` (layouts in
``kbroker.groups.codec``), written through the partition logs and read back by the coordinator.

- The topic is created on first use, as Kafka does, with ``offsets.topic.num.partitions``
  partitions (50), ``cleanup.policy=compact`` and ``offsets.topic.segment.bytes``; once it
  exists its partition count is the one on disk.  How it is created is the caller's choice
  (``create``): locally on a single broker, through the cluster's topic creation otherwise.
- A group's records all go to partition ``partition_for(group)``; each write is one batch
  appended with ``PartitionLog.append`` (the bytes are in the OS page cache when it returns)
  to a partition this broker leads (``NotLeader`` otherwise); the coordinator answers only
  after that — and, where the partition replicates, after ``Written.replicated`` — so killing
  the broker loses no acknowledged commit.  With a flush policy on the topic the caller also
  waits for the fsync.
- Transactional offsets (TxnOffsetCommit): written as one transactional batch of the producer
  (its id and epoch, the transactional bit) and pending until the producer's marker on the
  same partition; the marker's type decides (COMMIT: they become the committed offsets, ABORT:
  dropped).  The batch's base sequence continues the producer's last one on the partition (0 in a
  new epoch) where Kafka writes -1 (no sequence): the log checks sequences of every producer batch
  and has no "coordinator origin" that skips the check; nothing reads the sequence of these batches.
- Loading replays a partition (``read_partition``; a single broker: all of them, ``read_all``)
  from its log start: the last record of a key wins and a null value deletes it, which is
  exactly what compaction would leave.  The offset records of a transactional batch are held per
  producer until its control batch (COMMIT applies them, ABORT drops them); those still open at
  the log end become the groups' pending transactional offsets.  Records that do not decode (a
  client may have produced junk into the topic) are skipped with a warning.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from kbroker.config import BrokerConfig
from kbroker.groups import codec
from kbroker.groups.codec import GroupKey, GroupValue, MemberRecord, OffsetKey, OffsetValue
from kbroker.groups.group import Group
from kbroker.groups.model import GroupConfig, GroupState, Member
from kbroker.topics import TopicService
from kbroker.waiters import AppendWaiters
from storage.log import PartitionLog
from wire.errors import ErrorCode
from wire.records import CorruptRecordError, build_batch, control_type, iter_batches, iter_records

log = logging.getLogger("kbroker.groups")

_LOAD_CHUNK = 5 << 20  # offsets.load.buffer.size


class Entry(NamedTuple):
    """One item of a replay: a record (``key``, ``value``), from a transactional batch of
    ``producer_id`` when that is >= 0; or, with ``marker`` set, that producer's COMMIT (True) or
    ABORT (False) control batch (no key or value)."""

    key: bytes | None
    value: bytes | None
    producer_id: int = -1
    marker: bool | None = None


class NotLeader(Exception):
    """This broker does not (or no longer) lead the partition a write is for."""


@dataclass(frozen=True, slots=True)
class Written:
    """One batch appended to the local log of a ``__consumer_offsets`` partition."""

    plog: PartitionLog
    partition: Any  # kbroker.partition.Partition (typed loosely: replication adds wait_replicated)
    end_offset: int  # the log end offset right after the batch

    @property
    def waits(self) -> bool:
        """Whether the partition can tell when the batch is replicated (a replicated cluster)."""
        return callable(getattr(self.partition, "wait_replicated", None))

    async def replicated(self, timeout_ms: int) -> int:
        """The error code once the batch is committed (on the ISR), as acks=-1 waits: 0 when it is;
        on a partition without replication the local append is the commit."""
        wait = getattr(self.partition, "wait_replicated", None)
        if wait is None:
            return ErrorCode.NONE
        return int(await wait(self.end_offset, timeout_ms))


class OffsetsTopic:
    """``create`` makes the topic exist (the single broker creates it locally; a cluster hands in its
    own topic creation, with ``offsets.topic.replication.factor``).  ``create_on_write``: whether a
    write creates the topic first (single broker); in a cluster a write goes only to a partition this
    broker leads, so the topic exists already."""

    def __init__(self, config: BrokerConfig, topics: TopicService, waiters: AppendWaiters,
                 create: Callable[[], None] | None = None, create_on_write: bool = True) -> None:
        self._num_partitions = config.get_int("offsets.topic.num.partitions")
        self._segment_bytes = config.get_int("offsets.topic.segment.bytes")
        self._topics = topics
        self._waiters = waiters
        self._create = create or self.create_locally
        self._create_on_write = create_on_write
        self.topic = codec.OFFSETS_TOPIC

    def exists(self) -> bool:
        return self._topics.get(self.topic) is not None

    def ensure(self) -> None:
        if not self.exists():
            self._create()

    def configs(self) -> dict[str, str]:
        """The topic configs ``__consumer_offsets`` is created with."""
        return {"cleanup.policy": "compact", "segment.bytes": str(self._segment_bytes),
                "compression.type": "producer"}

    @property
    def num_partitions(self) -> int:
        """``offsets.topic.num.partitions``: the partition count it is created with."""
        return self._num_partitions

    def create_locally(self) -> None:
        if self.exists():
            return
        self._topics.create(self.topic, self._num_partitions, self.configs())
        log.info("created %s", self.topic)

    @property
    def partitions(self) -> int:
        meta = self._topics.get(self.topic)
        return meta.partitions if meta is not None else self._num_partitions

    def _log(self, p: int) -> PartitionLog | None:
        part = self._topics.partition(self.topic, p)
        return part.log if part is not None else None

    def partition_for(self, group_id: str) -> int:
        return codec.partition_for(group_id, self.partitions)

    def leader(self, group_id: str) -> Any:
        """The ``Partition`` of the group's partition when this broker leads it, else None."""
        part = self._topics.partition(self.topic, self.partition_for(group_id))
        return part if part is not None and getattr(part, "is_leader", True) is not False else None

    def append(self, group_id: str, items: list[tuple[bytes, bytes | None]], now: int,
               producer: tuple[int, int] | None = None) -> Written:
        """Writes one batch of (key, value-or-tombstone) records to the group's partition; raises
        NotLeader when this broker does not lead it, OSError/StorageError when the log fails.
        ``producer``: (id, epoch) of a transactional batch (TxnOffsetCommit); the log checks the
        epoch (storage.producer_state.InvalidProducerEpoch)."""
        if self._create_on_write:
            self.ensure()
        p = self.partition_for(group_id)
        part = self._topics.partition(self.topic, p)
        if part is None:
            if not self._create_on_write:
                raise NotLeader(f"{self.topic}-{p} is not on this broker")
            raise OSError(f"{self.topic}-{p} is not open")
        if getattr(part, "is_leader", True) is False:
            raise NotLeader(f"this broker does not lead {self.topic}-{p}")
        plog = part.log
        records = [(k, v, None, now) for k, v in items]
        if producer is None:
            batch = build_batch(records)
        else:
            pid, epoch = producer
            entry = plog.producer_state.get(pid)
            seq = entry.last_seq + 1 if entry is not None and entry.epoch == epoch and entry.last_seq >= 0 else 0
            batch = build_batch(records, producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                transactional=True)
        plog.append(bytearray(batch), now)
        self._waiters.notify(self.topic, p)
        return Written(plog, part, plog.log_end_offset)

    def read_partition(self, p: int) -> Iterator[Entry]:
        """Every record (and transaction marker) of one partition, in log order (nothing if it is not here)."""
        plog = self._log(p) if self.exists() else None
        if plog is not None:
            try:
                yield from self._read_partition(plog)
            except CorruptRecordError as e:  # recovery keeps logs whole; this is a last resort
                log.error("%s-%d: stopped reading at a damaged batch: %s", self.topic, p, e)

    def read_all(self) -> Iterator[Entry]:
        """Every record (and transaction marker), partition by partition, in log order."""
        if not self.exists():
            return
        for p in range(self.partitions):
            plog = self._log(p)
            if plog is not None:
                try:
                    yield from self._read_partition(plog)
                except CorruptRecordError as e:  # recovery keeps logs whole; this is a last resort
                    log.error("%s-%d: stopped reading at a damaged batch: %s", self.topic, p, e)

    def _read_partition(self, plog: PartitionLog) -> Iterator[Entry]:
        offset = plog.log_start_offset
        while offset < plog.log_end_offset:
            data = plog.read_bytes(offset, _LOAD_CHUNK)
            start = offset
            for pos, header in iter_batches(data):
                offset = header.next_offset
                txn_pid = header.producer_id if header.is_transactional else -1
                if header.is_control:
                    try:
                        marker = control_type(data, pos)
                    except CorruptRecordError as e:
                        log.warning("%s: skipping the control batch at offset %d: %s", plog.directory.name,
                                    header.base_offset, e)
                        continue
                    if txn_pid >= 0:
                        yield Entry(None, None, txn_pid, marker.commit)
                    continue
                try:
                    for rec in iter_records(data, pos):
                        if rec.key is not None:
                            yield Entry(rec.key, rec.value, txn_pid)
                except CorruptRecordError as e:
                    log.warning("%s: skipping the batch at offset %d: %s", plog.directory.name, header.base_offset, e)
            if offset <= start:
                break


# ---------------------------------------------------------------- group <-> records

def offset_records(group_id: str, offsets: dict[tuple[str, int], OffsetValue | None]) -> list[tuple[bytes, bytes | None]]:
    return [(codec.encode_offset_key(group_id, t, p), None if v is None else codec.encode_offset_value(v))
            for (t, p), v in offsets.items()]


def group_record(g: Group) -> tuple[bytes, bytes | None]:
    key = codec.encode_group_key(g.group_id)
    if g.state == GroupState.DEAD:
        return key, None
    members = tuple(
        MemberRecord(m.member_id, m.group_instance_id, m.client_id, m.client_host, m.rebalance_timeout_ms,
                     m.session_timeout_ms, m.metadata(g.protocol_name), m.assignment)
        for m in g.members.values())
    value = GroupValue(g.protocol_type or "", g.generation_id, g.protocol_name, g.leader_id,
                       g.state_timestamp, members)
    return key, codec.encode_group_value(value)


def load_groups(records: Iterator[Entry] | Iterator[tuple[bytes, bytes | None]], config: GroupConfig,
                now: int) -> dict[str, Group]:
    """Replays the records: the last one of each key wins, a null value deletes; transactional
    offsets wait for their producer's marker (those without one stay pending in their group)."""
    metas: dict[str, GroupValue | None] = {}
    offsets: dict[str, dict[tuple[str, int], OffsetValue]] = {}
    # producer id -> group -> its transactional offsets not yet ended by a marker
    open_txns: dict[int, dict[str, dict[tuple[str, int], OffsetValue]]] = {}
    for item in records:
        key_bytes, value, pid, marker = item if isinstance(item, Entry) else Entry(item[0], item[1])
        if marker is not None:
            ended = open_txns.pop(pid, {})
            if marker:
                for gid, group_offsets in ended.items():
                    offsets.setdefault(gid, {}).update(group_offsets)
            continue
        if key_bytes is None:
            continue
        try:
            key = codec.decode_key(key_bytes)
            if isinstance(key, OffsetKey) and pid >= 0:
                if value is not None:
                    open_txns.setdefault(pid, {}).setdefault(key.group, {})[key.topic, key.partition] = \
                        codec.decode_offset_value(value)
            elif isinstance(key, OffsetKey):
                group_offsets = offsets.setdefault(key.group, {})
                if value is None:
                    group_offsets.pop((key.topic, key.partition), None)
                else:
                    group_offsets[key.topic, key.partition] = codec.decode_offset_value(value)
            elif isinstance(key, GroupKey):
                metas[key.group] = None if value is None else codec.decode_group_value(value)
        except (ValueError, IndexError, struct.error) as e:
            log.warning("skipping an unreadable %s record: %s", codec.OFFSETS_TOPIC, e)
    pending: dict[str, dict[int, dict[tuple[str, int], OffsetValue]]] = {}
    for pid, by_group in open_txns.items():
        for gid, group_offsets in by_group.items():
            pending.setdefault(gid, {})[pid] = group_offsets
    groups: dict[str, Group] = {}
    for gid in set(metas) | set(offsets) | set(pending):
        meta = metas.get(gid)
        g = Group(gid, config, now)
        if meta is not None:
            _restore(g, meta, now)
        g.offsets = offsets.get(gid, {})
        g.pending_txn_offsets = pending.get(gid, {})
        if g.members or g.offsets or g.pending_txn_offsets or meta is not None:
            groups[gid] = g
    return groups


def _restore(g: Group, v: GroupValue, now: int) -> None:
    g.generation_id = v.generation
    g.protocol_type = v.protocol_type or None
    if v.current_state_timestamp >= 0:
        g.state_timestamp = v.current_state_timestamp
    if not v.members or v.protocol is None:
        return
    g.protocol_name = v.protocol
    for r in v.members:
        g.members[r.member_id] = Member(
            r.member_id, r.group_instance_id, r.client_id, r.client_host, r.rebalance_timeout,
            r.session_timeout, v.protocol_type, [(v.protocol, r.subscription)], r.assignment,
            heartbeat_deadline=now + r.session_timeout)
        if r.group_instance_id is not None:
            g.static_members[r.group_instance_id] = r.member_id
    g.leader_id = v.leader if v.leader in g.members else next(iter(g.members))
    g.state = GroupState.STABLE
