"""What a classic group *is*, with no I/O: its fields, its members, and the questions the
state machine in ``kbroker.groups.group`` asks about them (protocol choice, fencing,
deadlines, offset-commit checks).  ``Group`` adds the transitions."""

from __future__ import annotations

from collections import Counter

from kbroker.groups.codec import OffsetValue
from kbroker.groups.model import GroupConfig, GroupState, JoinResult, Member, SyncResult
from wire.errors import ErrorCode

E = ErrorCode
S = GroupState


class GroupBase:
    def __init__(self, group_id: str, config: GroupConfig, now: int = 0) -> None:
        self.group_id = group_id
        self.config = config
        self.state = S.EMPTY
        self.state_timestamp = now
        self.generation_id = 0
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.leader_id: str | None = None
        self.members: dict[str, Member] = {}
        self.static_members: dict[str, str] = {}  # group.instance.id -> member id
        self.pending_members: dict[str, int] = {}  # id handed out by MEMBER_ID_REQUIRED -> deadline
        self.pending_sync: set[str] = set()
        self.join_deadline: int | None = None
        self.sync_deadline: int | None = None
        self.initial_delay_left: int | None = None  # not None while in the initial delay
        self.new_member_added = False
        self.offsets: dict[tuple[str, int], OffsetValue] = {}
        # TxnOffsetCommit: producer id -> the offsets it wrote in its open transaction, applied at its
        # COMMIT marker on the group's partition of __consumer_offsets, dropped at ABORT
        self.pending_txn_offsets: dict[int, dict[tuple[str, int], OffsetValue]] = {}

    # ------------------------------------------------------------ queries
    def _transition(self, state: GroupState, now: int) -> None:
        self.state = state
        self.state_timestamp = now

    def rebalance_timeout(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def is_fenced(self, member_id: str, instance_id: str | None) -> bool:
        if instance_id is None:
            return False
        known = self.static_members.get(instance_id)
        return known is not None and known != member_id

    def candidate_protocols(self) -> set[str]:
        sets = [set(m.protocol_names()) for m in self.members.values()]
        return set.intersection(*sets) if sets else set()

    def supports(self, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        names = {n for n, _ in protocols}
        if not self.members:
            return bool(protocol_type) and bool(names)
        return protocol_type == self.protocol_type and bool(names & self.candidate_protocols())

    def select_protocol(self) -> str:
        candidates = self.candidate_protocols()
        votes: Counter[str] = Counter()
        for m in self.members.values():
            votes[next(n for n in m.protocol_names() if n in candidates)] += 1
        first = next(iter(self.members.values())).protocol_names()
        return max(sorted(candidates, key=first.index), key=lambda n: votes[n])

    def next_deadline(self) -> int | None:
        times = list(self.pending_members.values())
        times += [m.heartbeat_deadline for m in self.members.values() if self._expires(m)]
        times += [t for t in (self.join_deadline, self.sync_deadline) if t is not None]
        return min(times, default=None)

    @staticmethod
    def _expires(m: Member) -> bool:
        return m.is_new or not (m.awaiting_join or m.awaiting_sync)

    def _join_result(self, member: Member) -> JoinResult:
        leader = member.member_id == self.leader_id
        members = tuple((m.member_id, m.group_instance_id, m.metadata(self.protocol_name))
                        for m in self.members.values()) if leader else ()
        return JoinResult(E.NONE, member.member_id, self.generation_id, self.protocol_type,
                          self.protocol_name, self.leader_id or "", members)

    def _sync_result(self, m: Member) -> SyncResult:
        return SyncResult(E.NONE, self.protocol_type, self.protocol_name, m.assignment)

    def _member_error(self, member_id: str, instance_id: str | None, generation_id: int) -> int:
        if self.state == S.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE
        if self.is_fenced(member_id, instance_id):
            return E.FENCED_INSTANCE_ID
        if member_id not in self.members or self.state == S.EMPTY:
            return E.UNKNOWN_MEMBER_ID
        if generation_id != self.generation_id:
            return E.ILLEGAL_GENERATION
        return E.NONE

    def _remove(self, m: Member) -> None:
        del self.members[m.member_id]
        if m.group_instance_id is not None and self.static_members.get(m.group_instance_id) == m.member_id:
            del self.static_members[m.group_instance_id]
        self.pending_sync.discard(m.member_id)
        if self.leader_id == m.member_id:
            self.leader_id = next(iter(self.members), None)

    # ------------------------------------------------------------ offsets
    def commit_error(self, now: int, member_id: str, instance_id: str | None, generation_id: int) -> int:
        """Whether an OffsetCommit from this member may be stored. Generation -1 on an
        Empty group is a standalone commit (the group is used for offsets only)."""
        if self.state == S.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE
        if self.is_fenced(member_id, instance_id):
            return E.FENCED_INSTANCE_ID
        if generation_id < 0 and self.state == S.EMPTY:
            return E.NONE
        if member_id not in self.members:
            return E.UNKNOWN_MEMBER_ID
        if generation_id != self.generation_id:
            return E.ILLEGAL_GENERATION
        if self.state == S.COMPLETING_REBALANCE:
            return E.REBALANCE_IN_PROGRESS
        m = self.members[member_id]
        m.heartbeat_deadline = now + m.session_timeout_ms
        return E.NONE

    def txn_commit_error(self, member_id: str, instance_id: str | None, generation_id: int) -> int:
        """Whether a TxnOffsetCommit may be stored (Kafka's validateOffsetCommit, transactional): the
        member and generation are checked when the request names either (v3+); the group's state
        (rebalancing) is not enforced, and a request naming neither is accepted."""
        if self.state == S.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and self.state == S.EMPTY:
            return E.NONE
        if generation_id >= 0 or member_id or instance_id is not None:
            if self.is_fenced(member_id, instance_id):
                return E.FENCED_INSTANCE_ID
            if member_id not in self.members:
                return E.UNKNOWN_MEMBER_ID
            if generation_id != self.generation_id:
                return E.ILLEGAL_GENERATION
        return E.NONE

    def has_pending_txn_offset(self, tp: tuple[str, int]) -> bool:
        return any(tp in offsets for offsets in self.pending_txn_offsets.values())

    def complete_txn(self, producer_id: int, commit: bool) -> bool:
        """The producer's marker: its pending offsets become committed (``commit``) or are dropped.
        Whether it had any."""
        pending = self.pending_txn_offsets.pop(producer_id, None)
        if pending is None:
            return False
        if commit:
            self.offsets.update(pending)
        return True

    def mark_dead(self, now: int) -> None:
        self._transition(S.DEAD, now)
        self.offsets.clear()
        self.pending_txn_offsets.clear()

    def is_removable(self) -> bool:
        """Empty, with no offsets and nobody about to join: nothing left worth keeping."""
        return (self.state == S.EMPTY and not self.offsets and not self.pending_members
                and not self.pending_txn_offsets)
