"""DeleteRecords (key 21), v0-2.

Behaviour: moves each partition's log start offset (the low watermark) up to the given
offset, -1 meaning the high watermark; the new start is synced to disk before the answer
(off the event loop).  Reads below it then get OFFSET_OUT_OF_RANGE and ListOffsets
earliest returns it; segments wholly below it are deleted at the next retention check.
An offset that would move it back is accepted and changes nothing (the current low
watermark is returned).  Unknown partition → UNKNOWN_TOPIC_OR_PARTITION; an offset below
0 (other than -1) or above the high watermark → OFFSET_OUT_OF_RANGE; a topic whose
cleanup.policy lacks "delete" → POLICY_VIOLATION, as Kafka does.
Version notes: v1 same as v0 · v2 flexible.
Not implemented: — (timeout_ms is moot with one broker).
"""

from __future__ import annotations

import asyncio

from kbroker.context import RequestContext
from kbroker.registry import handler
from storage.errors import LogClosedError, OffsetOutOfRange
from wire.errors import ErrorCode
from wire.messages.delete_records import DeleteRecordsRequest, DeleteRecordsResponse
from wire.messages.delete_records import _DeleteRecordsResponse_DeleteRecordsPartitionResult as PartResult
from wire.messages.delete_records import _DeleteRecordsResponse_DeleteRecordsTopicResult as TopicResult

HIGH_WATERMARK = -1


async def _partition(ctx: RequestContext, topic: str, index: int, offset: int) -> PartResult:
    part = ctx.topics.partition(topic, index)
    if part is None:
        return PartResult(partition_index=index, low_watermark=-1, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if "delete" not in part.config.cleanup_policy:
        return PartResult(partition_index=index, low_watermark=-1, error_code=ErrorCode.POLICY_VIOLATION)
    if offset == HIGH_WATERMARK:
        offset = part.high_watermark
    try:
        low = await asyncio.get_running_loop().run_in_executor(None, part.log.advance_log_start, offset)
    except OffsetOutOfRange:
        return PartResult(partition_index=index, low_watermark=-1, error_code=ErrorCode.OFFSET_OUT_OF_RANGE)
    except LogClosedError:
        return PartResult(partition_index=index, low_watermark=-1, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    except OSError:
        return PartResult(partition_index=index, low_watermark=-1, error_code=ErrorCode.KAFKA_STORAGE_ERROR)
    return PartResult(partition_index=index, low_watermark=low, error_code=ErrorCode.NONE)


@handler(DeleteRecordsRequest, versions=(0, 2))
async def delete_records(ctx: RequestContext, req: DeleteRecordsRequest) -> DeleteRecordsResponse:
    topics = []
    for t in req.topics or []:
        parts = [await _partition(ctx, t.name, p.partition_index, p.offset) for p in t.partitions or []]
        topics.append(TopicResult(name=t.name, partitions=parts))
    return DeleteRecordsResponse(throttle_time_ms=0, topics=topics)
