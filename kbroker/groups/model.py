"""Plain data of the group coordinator: states, members, settings, and what the state
machine hands back to its shell (answers for parked requests, whether to persist)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from wire.errors import ErrorCode

# A member that has just joined (it has no generation yet) is dropped if it does not
# complete its first join within this time (Kafka's new-member join timeout, KIP-394).
NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000


class GroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """Kafka's broker settings for classic groups (group.* names)."""

    initial_rebalance_delay_ms: int = 3000
    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1_800_000
    max_size: int = 2**31 - 1


@dataclass(slots=True)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    awaiting_join: bool = False
    awaiting_sync: bool = False
    is_new: bool = False
    heartbeat_deadline: int = 0

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def metadata(self, protocol: str | None) -> bytes:
        for name, meta in self.protocols:
            if name == protocol:
                return meta
        return b""

    def same_protocols(self, protocols: list[tuple[str, bytes]]) -> bool:
        return [(n, bytes(m)) for n, m in protocols] == [(n, bytes(m)) for n, m in self.protocols]


@dataclass(frozen=True, slots=True)
class JoinResult:
    error: int
    member_id: str
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str = ""
    members: tuple[tuple[str, str | None, bytes], ...] = ()  # (member id, instance id, metadata)


@dataclass(frozen=True, slots=True)
class SyncResult:
    error: int
    protocol_type: str | None = None
    protocol_name: str | None = None
    assignment: bytes = b""


def join_error(error: int, member_id: str = "") -> JoinResult:
    return JoinResult(error=error, member_id=member_id)


def sync_error(error: int) -> SyncResult:
    return SyncResult(error=error)


@dataclass(slots=True)
class Effects:
    """What the shell must do after a call into the state machine, in this order: write
    the group's metadata record (when ``persist``), then deliver the answers to the
    parked JoinGroup / SyncGroup requests of these member ids."""

    joins: list[tuple[str, JoinResult]] = field(default_factory=list)
    syncs: list[tuple[str, SyncResult]] = field(default_factory=list)
    persist: bool = False

    def fail_syncs(self, error: int = ErrorCode.COORDINATOR_NOT_AVAILABLE) -> None:
        self.syncs = [(m, sync_error(error)) for m, _ in self.syncs]


@dataclass(slots=True)
class JoinOutcome:
    """Either an immediate ``reply`` or ``parked`` = the member id whose answer will come
    later through Effects.joins (possibly in ``effects`` of this very call)."""

    reply: JoinResult | None
    parked: str | None
    effects: Effects


@dataclass(slots=True)
class SyncOutcome:
    reply: SyncResult | None
    parked: str | None
    effects: Effects
