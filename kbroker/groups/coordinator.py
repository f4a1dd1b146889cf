"""The group coordinator: the thin async shell around the group state machines.

It owns what the state machine may not touch: the clock (wall-clock ms, as Kafka's),
one ``loop.call_later`` timer per group at ``Group.next_deadline()``, the futures of
parked JoinGroup / SyncGroup requests, and ``__consumer_offsets`` (see
``kbroker.groups.store``).  After every call into a group it applies the returned
Effects in order — write the group's record, then answer the parked requests — and
re-arms the group's timer.

This broker coordinates every group (there is one broker); a group's records still go
to its own partition of ``__consumer_offsets``, as Kafka's would.  Everything is loaded
synchronously when the broker starts, before the listener accepts connections, so
COORDINATOR_LOAD_IN_PROGRESS is never needed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from kbroker.background import cancel_and_wait
from kbroker.clock import now_ms
from kbroker.config import BrokerConfig
from kbroker.flusher import Flusher
from kbroker.groups.codec import OffsetValue
from kbroker.groups.consumer_protocol import CONSUMER, decode_subscription
from kbroker.groups.group import Group
from kbroker.groups.model import Effects, GroupConfig, GroupState, JoinResult, SyncResult, join_error
from kbroker.groups.store import OffsetsTopic, group_record, load_groups, offset_records
from kbroker.topics import TopicService
from kbroker.waiters import AppendWaiters
from storage.errors import StorageError
from wire.errors import ErrorCode

log = logging.getLogger("kbroker.groups")
E = ErrorCode
TopicPartition = tuple[str, int]


def group_config(c: BrokerConfig) -> GroupConfig:
    return GroupConfig(
        initial_rebalance_delay_ms=c.get_int("group.initial.rebalance.delay.ms"),
        min_session_timeout_ms=c.get_int("group.min.session.timeout.ms"),
        max_session_timeout_ms=c.get_int("group.max.session.timeout.ms"),
        max_size=c.get_int("group.max.size"))


class GroupCoordinator:
    def __init__(self, config: BrokerConfig, topics: TopicService, waiters: AppendWaiters,
                 flusher: Flusher) -> None:
        self.config = group_config(config)
        self._offsets_check_interval_ms = config.get_int("offsets.retention.check.interval.ms")
        self._offsets_retention_ms = config.get_int("offsets.retention.minutes") * 60_000
        self._flusher = flusher
        self.topic = OffsetsTopic(config, topics, waiters)
        self.groups: dict[str, Group] = load_groups(self.topic.read_all(), self.config, now_ms())
        self._joins: dict[tuple[str, str], asyncio.Future[JoinResult]] = {}
        self._syncs: dict[tuple[str, str], asyncio.Future[SyncResult]] = {}
        self._timers: dict[str, tuple[int, asyncio.TimerHandle]] = {}
        self._cleanup_task: asyncio.Task[None] | None = None
        if self.groups:
            log.info("loaded %d groups from %s", len(self.groups), self.topic.topic)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        for g in self.groups.values():
            self._arm(g)
        self._cleanup_task = asyncio.get_running_loop().create_task(self._cleanup_loop())

    async def stop(self) -> None:
        await cancel_and_wait(self._cleanup_task)
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for waiters, answer in ((self._joins, join_error(E.COORDINATOR_NOT_AVAILABLE)),
                                (self._syncs, SyncResult(E.COORDINATOR_NOT_AVAILABLE))):
            for fut in waiters.values():
                if not fut.done():
                    fut.set_result(answer)  # type: ignore[arg-type]
            waiters.clear()

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

    def _apply(self, g: Group, fx: Effects) -> None:
        if fx.persist:
            try:
                self.topic.append(g.group_id, [group_record(g)], now_ms())
            except (OSError, StorageError) as e:
                log.error("group %s: could not store its metadata: %s", g.group_id, e)
                fx.fail_syncs()
                more = g.persist_failed(now_ms())
                fx.joins += more.joins
                fx.syncs += more.syncs
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
        self._apply(g, out.effects)
        if fut is None:
            assert out.reply is not None
            return out.reply
        return await self._wait(self._joins, (group_id, out.parked or ""), fut)  # type: ignore[no-any-return]

    async def sync_group(self, group_id: str, *, member_id: str, group_instance_id: str | None,
                         generation_id: int, protocol_type: str | None, protocol_name: str | None,
                         assignments: dict[str, bytes]) -> SyncResult:
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
        g = self.groups.get(group_id)
        if g is None:
            return E.UNKNOWN_MEMBER_ID
        error = g.heartbeat(now_ms(), member_id=member_id, group_instance_id=group_instance_id,
                            generation_id=generation_id)
        self._arm(g)
        return error

    def leave_group(self, group_id: str, members: list[tuple[str, str | None]]) -> tuple[int, list[int]]:
        """(group-level error, one error per leaving member)."""
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
        try:
            plog = self.topic.append(group_id, offset_records(group_id, dict(offsets)), now)
        except (OSError, StorageError) as e:
            log.error("group %s: could not store offsets: %s", group_id, e)
            return E.COORDINATOR_NOT_AVAILABLE
        g.offsets.update(offsets)
        if plog.needs_flush(now):
            await self._flusher.flush_soon()
        return E.NONE

    def committed(self, group_id: str) -> dict[TopicPartition, OffsetValue]:
        g = self.groups.get(group_id)
        return {} if g is None or g.state == GroupState.DEAD else g.offsets

    def delete_offsets(self, group_id: str, tps: list[TopicPartition]) -> tuple[int, dict[TopicPartition, int]]:
        g = self.groups.get(group_id)
        if g is None or g.state == GroupState.DEAD:
            return E.GROUP_ID_NOT_FOUND, {}
        subscribed: set[str] = set()
        if g.state != GroupState.EMPTY:
            topics = subscribed_topics(g)
            if topics is None:
                return E.NON_EMPTY_GROUP, {}
            subscribed = topics
        errors: dict[TopicPartition, int] = {
            tp: E.GROUP_SUBSCRIBED_TO_TOPIC if tp[0] in subscribed else E.NONE for tp in tps}
        doomed = {tp: None for tp, err in errors.items() if not err and tp in g.offsets}
        if doomed:
            try:
                self.topic.append(group_id, offset_records(group_id, doomed), now_ms())  # type: ignore[arg-type]
            except (OSError, StorageError) as e:
                log.error("group %s: could not delete offsets: %s", group_id, e)
                return E.COORDINATOR_NOT_AVAILABLE, {}
            for tp in doomed:
                del g.offsets[tp]
        return E.NONE, errors

    # ------------------------------------------------------------ administration
    def group(self, group_id: str) -> Group | None:
        return self.groups.get(group_id)

    def delete_group(self, group_id: str) -> int:
        g = self.groups.get(group_id)
        if g is None or g.state == GroupState.DEAD:
            return E.GROUP_ID_NOT_FOUND
        if g.state != GroupState.EMPTY:
            return E.NON_EMPTY_GROUP
        return self._drop(g)

    def _drop(self, g: Group) -> int:
        """Tombstones for the group's offsets and metadata; the group is gone."""
        items = offset_records(g.group_id, dict.fromkeys(g.offsets))  # type: ignore[arg-type]
        g.mark_dead(now_ms())
        items.append(group_record(g))
        try:
            self.topic.append(g.group_id, items, now_ms())
        except (OSError, StorageError) as e:
            log.error("group %s: could not delete it: %s", g.group_id, e)
            return E.COORDINATOR_NOT_AVAILABLE
        del self.groups[g.group_id]
        self._arm(g)
        return E.NONE

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
            if old and len(old) < len(g.offsets):
                try:
                    self.topic.append(g.group_id, offset_records(g.group_id, dict.fromkeys(old)), now)  # type: ignore[arg-type]
                except (OSError, StorageError) as e:
                    log.error("group %s: could not expire offsets: %s", g.group_id, e)
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
