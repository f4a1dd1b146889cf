"""OffsetCommit (key 8), v2-9.

Behaviour: a member of the group commits with its generation and member id (checked:
UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS while the group waits for
its assignment, FENCED_INSTANCE_ID); generation -1 on an Empty or unknown group is a
standalone commit by a client that manages partitions itself.  Unknown topics or
partitions get UNKNOWN_TOPIC_OR_PARTITION and metadata longer than
offset.metadata.max.bytes OFFSET_METADATA_TOO_LARGE, per partition; the rest are written
to ``__consumer_offsets`` as one batch before the answer, so an acknowledged commit
survives a crash.  The metadata string and leader epoch are kept; null metadata is "".
In a cluster, a group this broker does not coordinate gets NOT_COORDINATOR, one being loaded
COORDINATOR_LOAD_IN_PROGRESS; the answer waits until the batch is committed (replicated to the
in-sync replicas, acks=-1), a failure mapped as Kafka does (not enough replicas or a timeout:
COORDINATOR_NOT_AVAILABLE; leadership lost: NOT_COORDINATOR).
Version notes: v2-4 retention_time_ms · v3 throttle · v6 leader epoch · v7 group.instance.id ·
v8 flexible · v9 KIP-848 (for a classic group, which is every group here, the same as v8:
generation_id_or_member_epoch is the generation), except that a generation for a group that
does not exist gets GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION, as Kafka 4.1 answers.
Not implemented: per-commit retention (retention_time_ms is ignored; offsets.retention.minutes
applies), v0-1 (below Kafka 4's floor).
"""

from collections.abc import Iterable
from typing import Any

from kbroker.clock import now_ms
from kbroker.context import RequestContext
from kbroker.groups.codec import OffsetValue
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.offset_commit import OffsetCommitRequest, OffsetCommitResponse
from wire.messages.offset_commit import _OffsetCommitResponse_OffsetCommitResponsePartition as PartResp
from wire.messages.offset_commit import _OffsetCommitResponse_OffsetCommitResponseTopic as TopicResp


def validate_offsets(ctx: RequestContext, topics: Iterable[Any]) -> tuple[dict[tuple[str, int], int],
                                                                     dict[tuple[str, int], OffsetValue]]:
    """The offsets of an OffsetCommit or TxnOffsetCommit request split into per-partition errors
    (UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE over ``offset.metadata.max.bytes``) and
    the valid ones, stamped now."""
    max_meta = ctx.config.offset_metadata_max_bytes
    now = now_ms()
    errors: dict[tuple[str, int], int] = {}
    valid: dict[tuple[str, int], OffsetValue] = {}
    for t in topics:
        meta = ctx.topics.get(t.name)
        for p in t.partitions or []:
            tp = (t.name, p.partition_index)
            metadata = p.committed_metadata or ""
            if meta is None or not 0 <= p.partition_index < meta.partitions:
                errors[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif len(metadata.encode()) > max_meta:
                errors[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                valid[tp] = OffsetValue(p.committed_offset, p.committed_leader_epoch, metadata, now)
    return errors, valid


@handler(OffsetCommitRequest, versions=(2, 9))
async def offset_commit(ctx: RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse:
    errors, valid = validate_offsets(ctx, req.topics or [])
    if valid:
        error = await ctx.groups.commit_offsets(req.group_id, req.member_id, req.group_instance_id,
                                              req.generation_id_or_member_epoch, valid)
        if error == ErrorCode.ILLEGAL_GENERATION and ctx.api_version >= 9 and ctx.groups.group(req.group_id) is None:
            error = ErrorCode.GROUP_ID_NOT_FOUND  # Kafka 4's answer from v9 to a generation for no group
        errors.update(dict.fromkeys(valid, error))
    return OffsetCommitResponse(throttle_time_ms=0, topics=[
        TopicResp(name=t.name, partitions=[PartResp(partition_index=p.partition_index,
                                                    error_code=errors[t.name, p.partition_index])
                                           for p in t.partitions or []])
        for t in req.topics or []])
