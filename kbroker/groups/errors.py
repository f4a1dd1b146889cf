"""How a failed write to ``__consumer_offsets`` is answered: Kafka's mapping of a log append's error
to the group coordinator's (OffsetCommit, JoinGroup / SyncGroup, TxnOffsetCommit)."""

from __future__ import annotations

from wire.errors import ErrorCode

E = ErrorCode


def commit_error(code: int) -> int:
    """The OffsetCommit (and offset or group deletion) error for a failed write to
    ``__consumer_offsets``, as Kafka's group metadata manager maps a log append's error."""
    if code in (E.UNKNOWN_TOPIC_OR_PARTITION, E.NOT_ENOUGH_REPLICAS, E.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                E.REQUEST_TIMED_OUT):
        return E.COORDINATOR_NOT_AVAILABLE
    if code in (E.NOT_LEADER_OR_FOLLOWER, E.KAFKA_STORAGE_ERROR):
        return E.NOT_COORDINATOR
    if code in (E.MESSAGE_TOO_LARGE, E.RECORD_LIST_TOO_LARGE, E.INVALID_FETCH_SIZE):
        return E.INVALID_COMMIT_OFFSET_SIZE
    return code


def group_store_error(code: int) -> int:
    """The JoinGroup / SyncGroup error for a failed write of a group's metadata (Kafka's mapping:
    as for commits, except that a timeout asks the members to rebalance and an oversized record
    is an unknown server error)."""
    if code == E.REQUEST_TIMED_OUT:
        return E.REBALANCE_IN_PROGRESS
    if code in (E.MESSAGE_TOO_LARGE, E.RECORD_LIST_TOO_LARGE, E.INVALID_FETCH_SIZE):
        return E.UNKNOWN_SERVER_ERROR
    return commit_error(code)
