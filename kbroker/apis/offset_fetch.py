"""OffsetFetch (key 9), v1-9.

Behaviour: the committed offset, leader epoch and metadata of each requested partition;
a partition with no commit (or an unknown group or topic) gets offset -1 and no error.
Null topics (v2+) means every partition the group has committed.  v8 asks for several
groups at once.  require_stable (v7+): a partition with transactional offsets pending (a
TxnOffsetCommit whose producer's marker has not been written yet) answers UNSTABLE_OFFSET_COMMIT with
offset -1, per partition (the top-level error stays 0 in v7), as Kafka's coordinator does; without
require_stable the committed offset is answered (the pending one is not visible).  Regular commits are
written before they are acknowledged, so they are never pending.
A group this broker does not coordinate (a cluster: another broker leads its partition of
``__consumer_offsets``) gets NOT_COORDINATOR, one being loaded COORDINATOR_LOAD_IN_PROGRESS: per
group from v8, at the top with no partitions v2-7, on every requested partition in v1.
Version notes: v2 null topics, top-level error · v3 throttle · v5 leader epoch ·
v6 flexible · v7 require_stable · v8 batched groups · v9 member_id/member_epoch (KIP-848:
validated only for consumer-protocol groups; every group here is classic, so they are ignored).
Not implemented: —
"""

from __future__ import annotations

from typing import Any

from kbroker.context import RequestContext
from kbroker.groups.codec import OffsetValue
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.offset_fetch import OffsetFetchRequest, OffsetFetchResponse

R = OffsetFetchResponse


def _partitions(committed: dict, topics: list | None) -> list[tuple[str, list]]:
    """[(topic, [(partition, offset value or None)])] for the requested or all topics."""
    if topics is None:
        by_topic: dict[str, list] = {}
        for (t, p), v in sorted(committed.items()):
            by_topic.setdefault(t, []).append((p, v))
        return list(by_topic.items())
    return [(t.name, [(p, committed.get((t.name, p))) for p in t.partition_indexes or []]) for t in topics]


def _part(cls: Any, p: int, v: OffsetValue | None, error: int = 0, unstable: bool = False) -> Any:
    if unstable:
        return cls(partition_index=p, committed_offset=-1, committed_leader_epoch=-1, metadata="",
                   error_code=ErrorCode.UNSTABLE_OFFSET_COMMIT)
    if v is None:
        return cls(partition_index=p, committed_offset=-1, committed_leader_epoch=-1, metadata="", error_code=error)
    return cls(partition_index=p, committed_offset=v.offset, committed_leader_epoch=v.leader_epoch,
               metadata=v.metadata, error_code=0)


@handler(OffsetFetchRequest, versions=(1, 9))
async def offset_fetch(ctx: RequestContext, req: OffsetFetchRequest) -> OffsetFetchResponse:
    if ctx.api_version >= 8:
        groups = []
        for g in req.groups or []:
            error, committed = ctx.groups.fetch_offsets(g.group_id)
            if error:  # NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS: the group's own error, no topics
                groups.append(R.OffsetFetchResponseGroup(group_id=g.group_id, error_code=error, topics=[]))
                continue
            gid = g.group_id
            groups.append(R.OffsetFetchResponseGroup(group_id=gid, error_code=0, topics=[
                R.OffsetFetchResponseTopics(name=t, partitions=[
                    _part(R.OffsetFetchResponsePartitions, p, v,
                          unstable=req.require_stable and ctx.groups.has_pending_txn_offsets(gid, (t, p)))
                    for p, v in parts])
                for t, parts in _partitions(committed, g.topics)]))
        return R(throttle_time_ms=0, groups=groups)
    error, committed = ctx.groups.fetch_offsets(req.group_id)
    requested = req.topics if ctx.api_version >= 2 else req.topics or []
    if error and ctx.api_version >= 2:  # the top-level error, no partitions (as Kafka answers)
        return R(throttle_time_ms=0, topics=[], error_code=error)
    # v1 has no top-level error: each requested partition carries it
    stable = ctx.api_version >= 7 and req.require_stable
    topics = [R.OffsetFetchResponseTopic(name=t, partitions=[
        _part(R.OffsetFetchResponsePartition, p, v, error,
              unstable=stable and ctx.groups.has_pending_txn_offsets(req.group_id, (t, p)))
        for p, v in parts])
              for t, parts in _partitions(committed, requested)]
    return R(throttle_time_ms=0, topics=topics, error_code=0)
