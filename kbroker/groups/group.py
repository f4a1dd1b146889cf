"""One classic consumer group as a state machine with no I/O: every call takes the time
(``now``, ms) and returns what to answer now or later (``Effects``); timers are a single
``next_deadline()`` that the shell turns into a callback to ``tick(now)``.

States (Kafka's classic protocol)::

    Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
      ▲                 ▲      │ nobody left                          │ leader's SyncGroup
      │                 │      ▼                                      ▼
      └──── last member leaves / expires ◀── Empty            Stable ─┘
    any member join with new metadata, leave or expiry in CompletingRebalance/Stable
    → PreparingRebalance;  DeleteGroups on Empty → Dead (the group is then dropped).

Timers: an Empty group's first rebalance waits ``group.initial.rebalance.delay.ms``,
extended by the same delay while new members keep arriving (never beyond the rebalance
timeout); otherwise a rebalance completes when every member has rejoined or after the
group's rebalance timeout (the largest of its members'), dropping those that did not
rejoin.  A member's session expires ``session.timeout.ms`` after its last heartbeat
(members parked in JoinGroup are kept alive; brand-new ones get five minutes); members
that do not send SyncGroup within the rebalance timeout after a join are dropped.
Members given an id by MEMBER_ID_REQUIRED that never come back expire after their
session timeout.
"""

from __future__ import annotations

from kbroker.groups.group_base import GroupBase
from kbroker.groups.model import (
    NEW_MEMBER_JOIN_TIMEOUT_MS,
    Effects,
    GroupState,
    JoinOutcome,
    JoinResult,
    Member,
    SyncOutcome,
    join_error,
    sync_error,
)
from wire.errors import ErrorCode

E = ErrorCode
S = GroupState


class Group(GroupBase):
    """The transitions of the classic protocol (see the module docstring)."""

    # ------------------------------------------------------------ JoinGroup
    def join(self, now: int, *, member_id: str, group_instance_id: str | None, protocol_type: str,
             protocols: list[tuple[str, bytes]], session_timeout_ms: int, rebalance_timeout_ms: int,
             client_id: str, client_host: str, require_known_member_id: bool,
             new_member_id: str) -> JoinOutcome:
        fx = Effects()
        if not self.config.min_session_timeout_ms <= session_timeout_ms <= self.config.max_session_timeout_ms:
            return JoinOutcome(join_error(E.INVALID_SESSION_TIMEOUT, member_id), None, fx)
        if self.state == S.DEAD:
            return JoinOutcome(join_error(E.COORDINATOR_NOT_AVAILABLE, member_id), None, fx)
        if not self.supports(protocol_type, protocols):
            return JoinOutcome(join_error(E.INCONSISTENT_GROUP_PROTOCOL, member_id), None, fx)
        if member_id not in self.members and len(self.members) >= self.config.max_size:
            return JoinOutcome(join_error(E.GROUP_MAX_SIZE_REACHED, member_id), None, fx)
        args = (group_instance_id, client_id, client_host, rebalance_timeout_ms, session_timeout_ms,
                protocol_type, protocols)
        if not member_id:
            if group_instance_id is not None and group_instance_id in self.static_members:
                return self._replace_static_member(now, new_member_id, group_instance_id, protocols,
                                                   rebalance_timeout_ms, session_timeout_ms, fx)
            if group_instance_id is None and require_known_member_id:
                self.pending_members[new_member_id] = now + session_timeout_ms
                return JoinOutcome(join_error(E.MEMBER_ID_REQUIRED, new_member_id), None, fx)
            return self._add_member(now, new_member_id, *args, fx=fx)
        if member_id in self.pending_members:
            del self.pending_members[member_id]
            return self._add_member(now, member_id, *args, fx=fx)
        if self.is_fenced(member_id, group_instance_id):
            return JoinOutcome(join_error(E.FENCED_INSTANCE_ID, member_id), None, fx)
        member = self.members.get(member_id)
        if member is None or self.state == S.EMPTY:
            return JoinOutcome(join_error(E.UNKNOWN_MEMBER_ID, member_id), None, fx)
        unchanged = member.same_protocols(protocols)
        if unchanged and (self.state == S.COMPLETING_REBALANCE
                          or self.state == S.STABLE and member_id != self.leader_id):
            member.heartbeat_deadline = now + member.session_timeout_ms
            return JoinOutcome(self._join_result(member), None, fx)
        self._update_member(member, protocols, rebalance_timeout_ms, session_timeout_ms)
        self._rebalance(now, fx)
        return JoinOutcome(None, member_id, fx)

    def _add_member(self, now: int, member_id: str, instance_id: str | None, client_id: str,
                    client_host: str, rebalance_timeout_ms: int, session_timeout_ms: int,
                    protocol_type: str, protocols: list[tuple[str, bytes]], *, fx: Effects) -> JoinOutcome:
        m = Member(member_id, instance_id, client_id, client_host, rebalance_timeout_ms,
                   session_timeout_ms, protocol_type, list(protocols), awaiting_join=True, is_new=True,
                   heartbeat_deadline=now + NEW_MEMBER_JOIN_TIMEOUT_MS)
        if not self.members:
            self.protocol_type = protocol_type
        self.members[member_id] = m
        if self.leader_id is None:
            self.leader_id = member_id
        if instance_id is not None:
            self.static_members[instance_id] = member_id
        if self.state == S.PREPARING_REBALANCE:
            self.new_member_added = True
        self._rebalance(now, fx)
        return JoinOutcome(None, member_id, fx)

    def _update_member(self, m: Member, protocols: list[tuple[str, bytes]], rebalance_timeout_ms: int,
                       session_timeout_ms: int) -> None:
        m.protocols = list(protocols)
        m.rebalance_timeout_ms = rebalance_timeout_ms
        m.session_timeout_ms = session_timeout_ms
        m.awaiting_join = True

    def _replace_static_member(self, now: int, new_id: str, instance_id: str,
                               protocols: list[tuple[str, bytes]], rebalance_timeout_ms: int,
                               session_timeout_ms: int, fx: Effects) -> JoinOutcome:
        """A static member came back (new member id, same instance id): it takes over the old
        member's place; in a Stable group with unchanged protocols nobody else rebalances."""
        old_id = self.static_members[instance_id]
        old = self.members.pop(old_id)
        if old.awaiting_join:
            fx.joins.append((old_id, join_error(E.FENCED_INSTANCE_ID, old_id)))
        if old.awaiting_sync:
            fx.syncs.append((old_id, sync_error(E.FENCED_INSTANCE_ID)))
        old_leader = self.leader_id
        old.member_id = new_id
        old.awaiting_join = old.awaiting_sync = False
        self.members[new_id] = old
        self.static_members[instance_id] = new_id
        if self.leader_id == old_id:
            self.leader_id = new_id
        if old_id in self.pending_sync:
            self.pending_sync.discard(old_id)
            self.pending_sync.add(new_id)
        self._update_member(old, protocols, rebalance_timeout_ms, session_timeout_ms)
        old.heartbeat_deadline = now + session_timeout_ms
        if self.state == S.STABLE:
            if self.select_protocol() == self.protocol_name:
                old.awaiting_join = False
                fx.persist = True
                # The old leader id is returned so that nobody believes it must assign again.
                return JoinOutcome(JoinResult(E.NONE, new_id, self.generation_id, self.protocol_type,
                                              self.protocol_name, old_leader or ""), None, fx)
        self._rebalance(now, fx)
        return JoinOutcome(None, new_id, fx)

    # ------------------------------------------------------------ rebalancing
    def _rebalance(self, now: int, fx: Effects) -> None:
        """Start a rebalance if the state allows one, else see whether the current one is done."""
        if self.state in (S.EMPTY, S.STABLE, S.COMPLETING_REBALANCE):
            self._prepare_rebalance(now, fx)
        self._try_complete_join(now, fx)

    def _prepare_rebalance(self, now: int, fx: Effects) -> None:
        if self.state == S.COMPLETING_REBALANCE:
            self._reset_assignments(fx, E.REBALANCE_IN_PROGRESS)
        self.pending_sync.clear()
        self.sync_deadline = None
        timeout = self.rebalance_timeout()
        delay = self.config.initial_rebalance_delay_ms
        self.new_member_added = False
        if self.state == S.EMPTY and delay > 0:
            first = min(delay, timeout)
            self.join_deadline = now + first
            self.initial_delay_left = max(timeout - first, 0)
        else:
            self.join_deadline = now + timeout
            self.initial_delay_left = None
        self._transition(S.PREPARING_REBALANCE, now)

    def _reset_assignments(self, fx: Effects, error: int) -> None:
        for m in self.members.values():
            m.assignment = b""
            if m.awaiting_sync:
                m.awaiting_sync = False
                fx.syncs.append((m.member_id, sync_error(error)))

    def _try_complete_join(self, now: int, fx: Effects) -> None:
        if self.state != S.PREPARING_REBALANCE or self.initial_delay_left is not None:
            return
        if self.pending_members or not all(m.awaiting_join for m in self.members.values()):
            return
        self._complete_join(now, fx)

    def _complete_join(self, now: int, fx: Effects) -> None:
        for m in [m for m in self.members.values() if not m.awaiting_join]:
            self._remove(m)
        self.join_deadline = None
        self.initial_delay_left = None
        self.generation_id += 1
        if not self.members:
            self.protocol_name = None
            self.leader_id = None
            self._transition(S.EMPTY, now)
            fx.persist = True
            return
        self.protocol_name = self.select_protocol()
        if self.leader_id not in self.members:
            self.leader_id = next(iter(self.members))
        self._transition(S.COMPLETING_REBALANCE, now)
        for m in self.members.values():
            m.awaiting_join = False
            m.is_new = False
            m.heartbeat_deadline = now + m.session_timeout_ms
            fx.joins.append((m.member_id, self._join_result(m)))
        self.pending_sync = set(self.members)
        self.sync_deadline = now + self.rebalance_timeout()

    def _remove_and_rebalance(self, now: int, m: Member, fx: Effects) -> None:
        if m.awaiting_join:
            fx.joins.append((m.member_id, join_error(E.UNKNOWN_MEMBER_ID, m.member_id)))
        if m.awaiting_sync:
            fx.syncs.append((m.member_id, sync_error(E.UNKNOWN_MEMBER_ID)))
        m.awaiting_join = m.awaiting_sync = False
        self._remove(m)
        if self.state in (S.STABLE, S.COMPLETING_REBALANCE):
            self._prepare_rebalance(now, fx)
        self._try_complete_join(now, fx)

    # ------------------------------------------------------------ SyncGroup
    def sync(self, now: int, *, member_id: str, group_instance_id: str | None, generation_id: int,
             protocol_type: str | None, protocol_name: str | None,
             assignments: dict[str, bytes]) -> SyncOutcome:
        fx = Effects()
        error = self._member_error(member_id, group_instance_id, generation_id)
        if not error and (protocol_type is not None and protocol_type != self.protocol_type
                          or protocol_name is not None and protocol_name != self.protocol_name):
            error = E.INCONSISTENT_GROUP_PROTOCOL
        if not error and self.state == S.PREPARING_REBALANCE:
            error = E.REBALANCE_IN_PROGRESS
        if error:
            return SyncOutcome(sync_error(error), None, fx)
        m = self.members[member_id]
        m.heartbeat_deadline = now + m.session_timeout_ms
        self.pending_sync.discard(member_id)
        if not self.pending_sync:
            self.sync_deadline = None
        if self.state == S.STABLE:
            return SyncOutcome(self._sync_result(m), None, fx)
        m.awaiting_sync = True  # CompletingRebalance: wait for the leader's assignment
        if member_id == self.leader_id:
            for other in self.members.values():
                other.assignment = assignments.get(other.member_id, b"")
            self._transition(S.STABLE, now)
            fx.persist = True
            for other in self.members.values():
                if other.awaiting_sync:
                    other.awaiting_sync = False
                    other.heartbeat_deadline = now + other.session_timeout_ms
                    fx.syncs.append((other.member_id, self._sync_result(other)))
        return SyncOutcome(None, member_id, fx)

    def persist_failed(self, now: int) -> Effects:
        """Storing the leader's assignment failed: forget it and rebalance."""
        fx = Effects()
        if self.state == S.STABLE:
            for m in self.members.values():
                m.assignment = b""
            self._prepare_rebalance(now, fx)
        return fx

    # ------------------------------------------------------------ Heartbeat, LeaveGroup
    def heartbeat(self, now: int, *, member_id: str, group_instance_id: str | None, generation_id: int) -> int:
        error = self._member_error(member_id, group_instance_id, generation_id)
        if error:
            return error
        m = self.members[member_id]
        m.heartbeat_deadline = now + m.session_timeout_ms
        return E.REBALANCE_IN_PROGRESS if self.state == S.PREPARING_REBALANCE else E.NONE

    def leave(self, now: int, members: list[tuple[str, str | None]]) -> tuple[list[int], Effects]:
        """Each (member id, group instance id) leaves; a static member may be named by its
        instance id alone (member id "")."""
        fx = Effects()
        errors: list[int] = []
        for member_id, instance_id in members:
            errors.append(self._leave_one(now, member_id, instance_id, fx))
        return errors, fx

    def _leave_one(self, now: int, member_id: str, instance_id: str | None, fx: Effects) -> int:
        if self.state == S.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE
        if instance_id is not None:
            known = self.static_members.get(instance_id)
            if known is None:
                return E.UNKNOWN_MEMBER_ID
            if member_id and known != member_id:
                return E.FENCED_INSTANCE_ID
            member_id = known
        elif member_id in self.pending_members:
            del self.pending_members[member_id]
            self._try_complete_join(now, fx)
            return E.NONE
        m = self.members.get(member_id)
        if m is None:
            return E.UNKNOWN_MEMBER_ID
        self._remove_and_rebalance(now, m, fx)
        return E.NONE

    # ------------------------------------------------------------ timers
    def tick(self, now: int) -> Effects:
        fx = Effects()
        for mid, deadline in list(self.pending_members.items()):
            if now >= deadline:
                del self.pending_members[mid]
        for m in list(self.members.values()):
            if self._expires(m) and now >= m.heartbeat_deadline and m.member_id in self.members:
                self._remove_and_rebalance(now, m, fx)
        if self.state == S.PREPARING_REBALANCE and self.join_deadline is not None and now >= self.join_deadline:
            left = self.initial_delay_left
            if left and self.new_member_added:
                step = min(self.config.initial_rebalance_delay_ms, left)
                self.initial_delay_left = left - step
                self.new_member_added = False
                self.join_deadline = now + step
            else:
                self._complete_join(now, fx)
        self._try_complete_join(now, fx)
        if self.sync_deadline is not None and now >= self.sync_deadline:
            self.sync_deadline = None
            for mid in sorted(self.pending_sync):
                if mid in self.members:
                    self._remove_and_rebalance(now, self.members[mid], fx)
            self.pending_sync.clear()
        return fx
