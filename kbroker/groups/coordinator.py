"""The group coordinator: the thin async shell around the group state machines.

It owns what the state machine may not touch: the clock (wall-clock ms, as Kafka's),
one ``loop.call_later`` timer per group at ``Group.next_deadline()``, the futures of
parked JoinGroup / SyncGroup requests, and ``__consumer_offsets`` (see
``kbroker.groups.store``).  After every call into a group it applies the returned
Effects in order — write the group's record, then answer the parked requests — and
re-arms the group's timer.

Which groups it coordinates: a group's records all go to partition ``partition_for(group)``
of ``__consumer_offsets`` and the coordinator of the group is the broker that leads that
partition.

- Single broker (``cluster=False``, the default): this broker leads every partition; every
  partition is loaded synchronously when the broker starts, before the listener accepts
  connections, so COORDINATOR_LOAD_IN_PROGRESS is never answered.
- Cluster (``cluster=True``): nothing is loaded at start.  The replica manager calls
  ``on_become_leader(p)`` when this broker becomes the leader of partition p (its groups and
  offsets are replayed from its log and their timers armed; while that runs the partition's
  groups answer COORDINATOR_LOAD_IN_PROGRESS) and ``on_resign(p)`` when it stops leading it
  (its groups leave memory; parked JoinGroup / SyncGroup requests answer NOT_COORDINATOR).
  A request for a group of a partition this broker does not lead answers NOT_COORDINATOR.

Writes are answered once committed, as Kafka's coordinator appends with acks=-1: after the
local append the coordinator waits for ``Partition.wait_replicated`` when the partition has it
(replication), with ``offsets.commit.timeout.ms``; Kafka's error mapping turns the partition's
error into the coordinator's (``commit_error``, ``group_store_error``).

Transactional offsets (TxnOffsetCommit, pending until the producer's marker) are
``kbroker.groups.txn_offsets``'s, mixed in.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from kbroker.background import cancel_and_wait
from kbroker.clock import now_ms
from kbroker.config import BrokerConfig
from kbroker.flusher import Flusher
from kbroker.groups.codec import OffsetValue
from kbroker.groups.consumer_protocol import CONSUMER, decode_subscription
from kbroker.groups.errors import commit_error, group_store_error
from kbroker.groups.group import Group
from kbroker.groups.model import Effects, GroupConfig, GroupState, JoinResult, SyncResult, join_error
from kbroker.groups.store import NotLeader, OffsetsTopic, Written, group_record, load_groups, offset_records
from kbroker.groups.txn_offsets import TxnOffsetsMixin
from kbroker.topics import TopicService
from kbroker.waiters import AppendWaiters
from storage.errors import StorageError
from wire.errors import ErrorCode

log = logging.getLogger("kbroker.groups")
E = ErrorCode
TopicPartition = tuple[str, int]


COMMIT_TIMEOUT_MS = 5000  # Kafka's offsets.commit.timeout.ms default




def _config_int(c: BrokerConfig, key: str, default: int) -> int:
    try:
        return c.get_int(key)
    except (KeyError, ValueError, TypeError):
        return default


def group_config(c: BrokerConfig) -> GroupConfig:
    return GroupConfig(
        initial_rebalance_delay_ms=c.get_int("group.initial.rebalance.delay.ms"),
        min_session_timeout_ms=c.get_int("group.min.session.timeout.ms"),
        max_session_timeout_ms=c.get_int("group.max.session.timeout.ms"),
        max_size=c.get_int("group.max.size"))


class GroupCoordinator(TxnOffsetsMixin):
    """``cluster``: ownership of the partitions of ``__consumer_offsets`` comes only from
    ``on_become_leader`` / ``on_resign`` (else this broker owns them all and loads them now).
    ``create_offsets_topic``: what ``topic.ensure()`` calls when the topic does not exist
    (default: create it locally, the single broker's way)."""

    def __init__(self, config: BrokerConfig, topics: TopicService, waiters: AppendWaiters,
                 flusher: Flusher, *, cluster: bool = False,
                 create_offsets_topic: Callable[[], None] | None = None) -> None:
        self.config = group_config(config)
        self._offsets_check_interval_ms = config.get_int("offsets.retention.check.interval.ms")
        self._offsets_retention_ms = config.get_int("offsets.retention.minutes") * 60_000
        self._commit_timeout_ms = _config_int(config, "offsets.commit.timeout.ms", COMMIT_TIMEOUT_MS)
        self._flusher = flusher
        self.cluster = cluster
        self.topic = OffsetsTopic(config, topics, waiters, create=create_offsets_topic, create_on_write=not cluster)
        self._owned: set[int] = set()  # cluster: the partitions this broker leads and has loaded
        self._loading: dict[int, int] = {}  # cluster: the partitions being loaded -> their load's token
        self._load_seq = 0
        self._joins: dict[tuple[str, str], asyncio.Future[JoinResult]] = {}
        self._syncs: dict[tuple[str, str], asyncio.Future[SyncResult]] = {}
        self._timers: dict[str, tuple[int, asyncio.TimerHandle]] = {}
        self._cleanup_task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[int]] = set()  # answers waiting for a write's replication
        self._running = False
        if cluster:
            self.groups: dict[str, Group] = {}
        else:
            self.groups = load_groups(self.topic.read_all(), self.config, now_ms())
            if self.groups:
                log.info("loaded %d groups from %s", len(self.groups), self.topic.topic)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._running = True
        for g in self.groups.values():
            self._arm(g)
        self._cleanup_task = asyncio.get_running_loop().create_task(self._cleanup_loop())

    async def stop(self) -> None:
        self._running = False
        await cancel_and_wait(self._cleanup_task)
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._answer_parked(lambda key: True, E.COORDINATOR_NOT_AVAILABLE)

    def _answer_parked(self, which: Callable[[tuple[str, str]], bool], error: int) -> None:
        for waiters, answer in ((self._joins, None), (self._syncs, SyncResult(error))):
            for key in [k for k in waiters if which(k)]:
                fut = waiters.pop(key)
                if not fut.done():
                    fut.set_result(answer or join_error(error, key[1]))  # type: ignore[arg-type]

    # ------------------------------------------------------------ ownership (cluster)
    def partition_of(self, group_id: str) -> int:
        return self.topic.partition_for(group_id)

    def status(self, group_id: str) -> int:
        """NONE when this broker coordinates the group now; else NOT_COORDINATOR or
        COORDINATOR_LOAD_IN_PROGRESS (its partition is being loaded)."""
        if not self.cluster:
            return E.NONE
        p = self.partition_of(group_id)
        if p in self._loading:
            return E.COORDINATOR_LOAD_IN_PROGRESS
        return E.NONE if p in self._owned else E.NOT_COORDINATOR

    def owns(self, group_id: str) -> bool:
        return self.status(group_id) == E.NONE

    @property
    def loading(self) -> bool:
        return bool(self._loading)

    @property
    def owned_partitions(self) -> frozenset[int]:
        """Cluster: the partitions loaded and led here; single broker: all of them."""
        return frozenset(self._owned) if self.cluster else frozenset(range(self.topic.partitions))

    def on_become_leader(self, partition: int) -> None:
        """This broker now leads ``partition`` of ``__consumer_offsets``: replay its log and take
        over its groups, synchronously.  The steps are apart (``begin_load`` / ``read_partition`` /
        ``complete_load``) so that the read, the only slow one, can run in a worker thread:
        ``load_partition`` does that.  A single broker owns every partition already: nothing to do."""
        if not self.cluster:
            return
        token = self.begin_load(partition)
        try:
            groups = self.read_partition(partition)
        except BaseException:
            self._abandon_load(partition, token)
            raise
        self.complete_load(partition, groups, token)

    async def load_partition(self, partition: int) -> None:
        """``on_become_leader`` with the log read in a worker thread (``PartitionLog.read_bytes`` is
        safe on any thread); meanwhile the partition's groups answer COORDINATOR_LOAD_IN_PROGRESS.
        A resignation, or a newer leadership, during the read wins over this load."""
        if not self.cluster:
            return
        token = self.begin_load(partition)
        try:
            groups = await asyncio.get_running_loop().run_in_executor(None, self.read_partition, partition)
        except BaseException:
            self._abandon_load(partition, token)
            raise
        self.complete_load(partition, groups, token)

    def begin_load(self, partition: int) -> int:
        """From now until ``complete_load`` with the token returned, the partition's groups answer
        COORDINATOR_LOAD_IN_PROGRESS."""
        if not self.cluster:
            return 0
        self._drop_partition(partition, E.NOT_COORDINATOR)  # anything left from an earlier leadership
        self._owned.discard(partition)
        self._load_seq += 1
        self._loading[partition] = self._load_seq
        return self._load_seq

    def read_partition(self, partition: int) -> dict[str, Group]:
        """The groups of one partition, replayed from its log (touches no coordinator state)."""
        groups = load_groups(self.topic.read_partition(partition), self.config, now_ms())
        # Records a client produced into the wrong partition do not make us coordinate that group.
        return {gid: g for gid, g in groups.items() if self.partition_of(gid) == partition}

    def complete_load(self, partition: int, groups: dict[str, Group], token: int) -> None:
        """Takes over the groups read, unless the load is stale (resigned, or loaded again since)."""
        if not self.cluster or self._loading.get(partition) != token:
            return
        del self._loading[partition]
        self._owned.add(partition)
        for gid, g in groups.items():
            self.groups[gid] = g
            if self._running:
                self._arm(g)
        log.info("%s-%d: coordinating %d group(s)", self.topic.topic, partition, len(groups))

    def _abandon_load(self, partition: int, token: int) -> None:
        if self._loading.get(partition) == token:
            del self._loading[partition]

    def on_resign(self, partition: int) -> None:
        """This broker no longer leads ``partition``: its groups leave memory, their timers stop and
        their parked JoinGroup / SyncGroup requests answer NOT_COORDINATOR."""
        if not self.cluster:
            return
        self._loading.pop(partition, None)
        self._owned.discard(partition)
        n = self._drop_partition(partition, E.NOT_COORDINATOR)
        log.info("%s-%d: no longer coordinating (%d group(s) unloaded)", self.topic.topic, partition, n)

    def _drop_partition(self, partition: int, error: int) -> int:
        gone = {gid for gid in self.groups if self.partition_of(gid) == partition}
        for gid in gone:
            del self.groups[gid]
            timer = self._timers.pop(gid, None)
            if timer is not None:
                timer[1].cancel()
        self._answer_parked(lambda key: key[0] in gone or self.partition_of(key[0]) == partition, error)
        return len(gone)

    # ------------------------------------------------------------ writes
    def _write(self, group_id: str, items: list[tuple[bytes, bytes | None]], now: int) -> Written | int:
        """Appends locally: the Written batch, or the (unmapped) error of the append."""
        try:
            return self.topic.append(group_id, items, now)
        except NotLeader as e:
            log.warning("group %s: %s", group_id, e)
            return E.NOT_LEADER_OR_FOLLOWER
        except (OSError, StorageError) as e:
            log.error("group %s: could not write to %s: %s", group_id, self.topic.topic, e)
            return E.KAFKA_STORAGE_ERROR if self.cluster else E.UNKNOWN_TOPIC_OR_PARTITION

    async def _committed(self, written: Written | int) -> int:
        """The (unmapped) error once the write is committed: 0, or why not."""
        if isinstance(written, int):
            return written
        return await written.replicated(self._commit_timeout_ms)

    # ------------------------------------------------------------ plumbing
    def _get_or_create(self, group_id: str) -> Group:
        g = self.groups.get(group_id)
        if g is None:
            g = self.groups[group_id] = Group(group_id, self.config, now_ms())
        return g

    def _arm(self, g: Group) -> None:
        """(Re)arms the group's timer at its next deadline."""
        deadline = g.next_deadline() if self.groups.get(g.group_id) is g else None
        current = self._timers.get(g.group_id)
        if current is not None:
            if current[0] == deadline:
                return
            current[1].cancel()
            del self._timers[g.group_id]
        if deadline is not None:
            delay = max(deadline - now_ms(), 0) / 1000 + 0.001
            handle = asyncio.get_running_loop().call_later(delay, self._fire, g.group_id)
            self._timers[g.group_id] = (deadline, handle)

    def _fire(self, group_id: str) -> None:
        self._timers.pop(group_id, None)
        g = self.groups.get(group_id)
        if g is not None:
            before = set(g.members)
            fx = g.tick(now_ms())
            for mid in before - set(g.members):
                log.info("group %s: member %s removed (session or rebalance timeout)", group_id, mid)
            self._apply(g, fx)

    def _apply(self, g: Group, fx: Effects) -> asyncio.Task[int] | None:
        """Writes the group's record when asked to, then delivers the answers.  When the write
        must be replicated first, the answers wait for it in a task (returned: it ends with the
        mapped error of the write, 0 when committed)."""
        if fx.persist:
            written = self._write(g.group_id, [group_record(g)], now_ms())
            if isinstance(written, int):
                self._persist_failed(g, fx, group_store_error(written))
            elif written.waits:
                task = asyncio.get_running_loop().create_task(
                    self._deliver_when_committed(g, fx, written, g.generation_id))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
                self._arm(g)
                return task
        self._deliver(g, fx)
        return None

    def _persist_failed(self, g: Group, fx: Effects, error: int) -> None:
        fx.fail_syncs(error)
        more = g.persist_failed(now_ms())
        fx.joins += more.joins
        fx.syncs += more.syncs

    async def _deliver_when_committed(self, g: Group, fx: Effects, written: Written, generation: int) -> int:
        error = await written.replicated(self._commit_timeout_ms)
        if self.groups.get(g.group_id) is not g:  # unloaded (its parked requests were answered) or deleted
            return group_store_error(error) if error else E.NONE
        if error:
            mapped = group_store_error(error)
            log.warning("group %s: its metadata was not replicated (error %d)", g.group_id, error)
            if g.generation_id == generation:
                self._persist_failed(g, fx, mapped)
            else:
                fx.fail_syncs(mapped)
            self._deliver(g, fx)
            return mapped
        self._deliver(g, fx)
        return E.NONE

    def _deliver(self, g: Group, fx: Effects) -> None:
        if any(jr.error == E.NONE for _, jr in fx.joins):
            log.info("group %s: generation %d with %d member(s), protocol %s, leader %s", g.group_id,
                     g.generation_id, len(g.members), g.protocol_name, g.leader_id)
        for mid, jr in fx.joins:
            jfut = self._joins.pop((g.group_id, mid), None)
            if jfut is not None and not jfut.done():
                jfut.set_result(jr)
        for mid, sr in fx.syncs:
            sfut = self._syncs.pop((g.group_id, mid), None)
            if sfut is not None and not sfut.done():
                sfut.set_result(sr)
        self._arm(g)

    def _park(self, waiters: dict, group_id: str, member_id: str) -> asyncio.Future:
        key = (group_id, member_id)
        old = waiters.get(key)
        if old is not None and not old.done():  # the same member asked again: the older ask is stale
            stale = join_error(E.REBALANCE_IN_PROGRESS, member_id) if waiters is self._joins \
                else SyncResult(E.REBALANCE_IN_PROGRESS)
            old.set_result(stale)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        waiters[key] = fut
        return fut

    @staticmethod
    async def _wait(waiters: dict, key: tuple[str, str], fut: asyncio.Future):  # type: ignore[no-untyped-def]
        try:
            return await fut
        finally:
            if waiters.get(key) is fut:
                del waiters[key]

    # ------------------------------------------------------------ membership
    async def join_group(self, group_id: str, *, member_id: str, group_instance_id: str | None,
                         protocol_type: str, protocols: list[tuple[str, bytes]], session_timeout_ms: int,
                         rebalance_timeout_ms: int, client_id: str, client_host: str,
                         require_known_member_id: bool) -> JoinResult:
        status = self.status(group_id)
        if status:
            return join_error(status, member_id)
        g = self._get_or_create(group_id) if not member_id else self.groups.get(group_id)
        if g is None:
            return join_error(E.UNKNOWN_MEMBER_ID, member_id)
        before, generation = g.state, g.generation_id
        known = member_id in g.members
        out = g.join(now_ms(), member_id=member_id, group_instance_id=group_instance_id,
                     protocol_type=protocol_type, protocols=protocols, session_timeout_ms=session_timeout_ms,
                     rebalance_timeout_ms=rebalance_timeout_ms, client_id=client_id, client_host=client_host,
                     require_known_member_id=require_known_member_id,
                     new_member_id=f"{client_id}-{uuid.uuid4()}")
        if before != GroupState.PREPARING_REBALANCE and (
                g.state == GroupState.PREPARING_REBALANCE or g.generation_id != generation):
            log.info("group %s: rebalancing from state %s (JoinGroup of %s member %s)", group_id,
                     before.value, "known" if known else "new", out.parked)
        fut = self._park(self._joins, group_id, out.parked) if out.parked is not None else None
        stored = self._apply(g, out.effects)
        if fut is None:
            assert out.reply is not None
            if stored is not None:  # the reply is valid once the group's new metadata is committed
                try:
                    error = await stored
                except asyncio.CancelledError:  # the coordinator stopped
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    error = E.COORDINATOR_NOT_AVAILABLE
                if error:
                    return join_error(error, out.reply.member_id)
            return out.reply
        return await self._wait(self._joins, (group_id, out.parked or ""), fut)  # type: ignore[no-any-return]

    async def sync_group(self, group_id: str, *, member_id: str, group_instance_id: str | None,
                         generation_id: int, protocol_type: str | None, protocol_name: str | None,
                         assignments: dict[str, bytes]) -> SyncResult:
        status = self.status(group_id)
        if status:
            # Loading: the rebalance in progress is lost, the member must join again (Kafka's answer).
            return SyncResult(E.REBALANCE_IN_PROGRESS if status == E.COORDINATOR_LOAD_IN_PROGRESS else status)
        g = self.groups.get(group_id)
        if g is None:
            return SyncResult(E.UNKNOWN_MEMBER_ID)
        out = g.sync(now_ms(), member_id=member_id, group_instance_id=group_instance_id,
                     generation_id=generation_id, protocol_type=protocol_type, protocol_name=protocol_name,
                     assignments=assignments)
        fut = self._park(self._syncs, group_id, out.parked) if out.parked is not None else None
        self._apply(g, out.effects)
        if fut is None:
            assert out.reply is not None
            return out.reply
        return await self._wait(self._syncs, (group_id, out.parked or ""), fut)  # type: ignore[no-any-return]

    def heartbeat(self, group_id: str, member_id: str, group_instance_id: str | None, generation_id: int) -> int:
        status = self.status(group_id)
        if status:  # while loading Kafka answers a heartbeat blindly with no error
            return E.NONE if status == E.COORDINATOR_LOAD_IN_PROGRESS else status
        g = self.groups.get(group_id)
        if g is None:
            return E.UNKNOWN_MEMBER_ID
        error = g.heartbeat(now_ms(), member_id=member_id, group_instance_id=group_instance_id,
                            generation_id=generation_id)
        self._arm(g)
        return error

    def leave_group(self, group_id: str, members: list[tuple[str, str | None]]) -> tuple[int, list[int]]:
        """(group-level error, one error per leaving member)."""
        status = self.status(group_id)
        if status:
            return status, [status] * len(members)
        g = self.groups.get(group_id)
        if g is None:
            return E.UNKNOWN_MEMBER_ID, [E.UNKNOWN_MEMBER_ID] * len(members)
        if g.state == GroupState.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE, [E.COORDINATOR_NOT_AVAILABLE] * len(members)
        errors, fx = g.leave(now_ms(), members)
        self._apply(g, fx)
        return E.NONE, errors

    # ------------------------------------------------------------ offsets
    async def commit_offsets(self, group_id: str, member_id: str, group_instance_id: str | None,
                             generation_id: int, offsets: dict[TopicPartition, OffsetValue]) -> int:
        """Stores the offsets, or says why not (one error for the whole request)."""
        status = self.status(group_id)
        if status:
            return status
        g = self.groups.get(group_id)
        if g is None:
            if generation_id >= 0:
                return E.ILLEGAL_GENERATION
            g = self._get_or_create(group_id)
        now = now_ms()
        error = g.commit_error(now, member_id, group_instance_id, generation_id)
        self._arm(g)
        if error or not offsets:
            return error
        written = self._write(group_id, offset_records(group_id, dict(offsets)), now)
        error = await self._committed(written)
        if error:
            log.warning("group %s: offsets not committed (error %d)", group_id, error)
            return commit_error(error)
        assert isinstance(written, Written)
        if self.groups.get(group_id) is g:  # not unloaded or deleted meanwhile
            g.offsets.update(offsets)
        if written.plog.needs_flush(now):
            await self._flusher.flush_soon()
        return E.NONE

    def committed(self, group_id: str) -> dict[TopicPartition, OffsetValue]:
        g = self.groups.get(group_id)
        return {} if g is None or g.state == GroupState.DEAD else g.offsets

    def fetch_offsets(self, group_id: str) -> tuple[int, dict[TopicPartition, OffsetValue]]:
        """(error, the group's committed offsets): NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS
        with nothing when this broker does not coordinate the group now."""
        status = self.status(group_id)
        return (status, {}) if status else (E.NONE, self.committed(group_id))

    def delete_offsets(self, group_id: str, tps: list[TopicPartition]) -> tuple[int, dict[TopicPartition, int]]:
        """Answered once written locally (see ``delete_offsets_acked`` for the committed answer)."""
        top, errors, _ = self._delete_offsets(group_id, tps)
        return top, errors

    async def delete_offsets_acked(self, group_id: str,
                                   tps: list[TopicPartition]) -> tuple[int, dict[TopicPartition, int]]:
        """``delete_offsets``, answered once the tombstones are committed."""
        top, errors, written = self._delete_offsets(group_id, tps)
        if written is not None:
            error = await self._committed(written)
            if error:
                return commit_error(error), {}
        return top, errors

    def _delete_offsets(self, group_id: str, tps: list[TopicPartition]
                        ) -> tuple[int, dict[TopicPartition, int], Written | None]:
        status = self.status(group_id)
        if status:
            return status, {}, None
        g = self.groups.get(group_id)
        if g is None or g.state == GroupState.DEAD:
            return E.GROUP_ID_NOT_FOUND, {}, None
        subscribed: set[str] = set()
        if g.state != GroupState.EMPTY:
            topics = subscribed_topics(g)
            if topics is None:
                return E.NON_EMPTY_GROUP, {}, None
            subscribed = topics
        errors: dict[TopicPartition, int] = {
            tp: E.GROUP_SUBSCRIBED_TO_TOPIC if tp[0] in subscribed else E.NONE for tp in tps}
        doomed = {tp: None for tp, err in errors.items() if not err and tp in g.offsets}
        written = None
        if doomed:
            w = self._write(group_id, offset_records(group_id, doomed), now_ms())  # type: ignore[arg-type]
            if isinstance(w, int):
                return commit_error(w), {}, None
            written = w
            for tp in doomed:
                del g.offsets[tp]
        return E.NONE, errors, written

    # ------------------------------------------------------------ administration
    def group(self, group_id: str) -> Group | None:
        return self.groups.get(group_id)

    def listing(self) -> tuple[int, list[Group]]:
        """ListGroups: (error, the groups this broker coordinates, live ones, by id).  While a
        partition loads the answer is COORDINATOR_LOAD_IN_PROGRESS with no groups (the admin
        client retries it), as Kafka answers."""
        if self._loading:
            return E.COORDINATOR_LOAD_IN_PROGRESS, []
        return E.NONE, sorted((g for g in self.groups.values() if g.state != GroupState.DEAD),
                              key=lambda g: g.group_id)

    def delete_group(self, group_id: str) -> int:
        """Answered once written locally (see ``delete_group_acked`` for the committed answer)."""
        out = self._delete_group(group_id)
        return out if isinstance(out, int) else E.NONE

    async def delete_group_acked(self, group_id: str) -> int:
        """``delete_group``, answered once the tombstones are committed."""
        out = self._delete_group(group_id)
        if isinstance(out, int):
            return out
        error = await self._committed(out)
        return commit_error(error) if error else E.NONE

    def _delete_group(self, group_id: str) -> Written | int:
        status = self.status(group_id)
        if status:
            return status
        g = self.groups.get(group_id)
        if g is None or g.state == GroupState.DEAD:
            return E.GROUP_ID_NOT_FOUND
        if g.state != GroupState.EMPTY:
            return E.NON_EMPTY_GROUP
        return self._drop(g)

    def _drop(self, g: Group) -> Written | int:
        """Tombstones for the group's offsets and metadata; the group is gone (or the error)."""
        items = offset_records(g.group_id, dict.fromkeys(g.offsets))  # type: ignore[arg-type]
        g.mark_dead(now_ms())
        items.append(group_record(g))
        written = self._write(g.group_id, items, now_ms())
        if isinstance(written, int):
            return commit_error(written)
        del self.groups[g.group_id]
        self._arm(g)
        return written

    async def _cleanup_loop(self) -> None:
        """Kafka's offset expiry: every offsets.retention.check.interval.ms, the offsets of a
        group that has been Empty for offsets.retention.minutes expire (for a group that never
        had members, each offset counts from its own commit); then Empty groups with nothing
        left are deleted."""
        interval = self._offsets_check_interval_ms / 1000
        retention = self._offsets_retention_ms
        while True:
            await asyncio.sleep(interval)
            self.expire(now_ms(), retention)

    def expire(self, now: int, retention_ms: int) -> None:
        for g in list(self.groups.values()):
            if g.state != GroupState.EMPTY:
                continue
            if g.protocol_type:
                old = list(g.offsets) if now >= g.state_timestamp + retention_ms else []
            else:
                old = [tp for tp, v in g.offsets.items() if now >= v.commit_timestamp + retention_ms]
            old = [tp for tp in old if not g.has_pending_txn_offset(tp)]  # not while a transaction may replace it
            if old and (len(old) < len(g.offsets) or g.pending_txn_offsets):
                if isinstance(self._write(g.group_id, offset_records(g.group_id, dict.fromkeys(old)), now), int):  # type: ignore[arg-type]
                    continue
                for tp in old:
                    del g.offsets[tp]
            elif old or g.is_removable():
                self._drop(g)


def subscribed_topics(g: Group) -> set[str] | None:
    """The topics the members of a consumer group subscribe to; None if unknown."""
    if g.protocol_type != CONSUMER:
        return None
    topics: set[str] = set()
    for m in g.members.values():
        names = decode_subscription(m.metadata(g.protocol_name) or (m.protocols[0][1] if m.protocols else b""))
        if names is None:
            return None
        topics.update(names)
    return topics
