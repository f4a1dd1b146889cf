"""DeleteTopics (key 20), v1-6.

Behaviour: removes the topic's metadata and log directories; fetches waiting on it
are woken.  v6 may name topics by id.
Version notes: v4 flexible · v5 error messages · v6 topic ids.
Not implemented: —
"""

import uuid

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.delete_topics import DeleteTopicsRequest, DeleteTopicsResponse
from wire.messages.delete_topics import _DeleteTopicsResponse_DeletableTopicResult as Result


def _delete(ctx: RequestContext, name: str | None, topic_id: uuid.UUID | None) -> Result:
    if name is None:
        match = [t for t in ctx.topics.all() if t.topic_id == topic_id]
        if not match:
            return Result(name=None, topic_id=topic_id or uuid.UUID(int=0), error_code=ErrorCode.UNKNOWN_TOPIC_ID)
        name = match[0].name
    meta = ctx.topics.get(name)
    if meta is None:
        return Result(name=name, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                      error_message="This server does not host this topic-partition.")
    if not ctx.config.delete_topic_enable:
        return Result(name=name, topic_id=meta.topic_id, error_code=ErrorCode.TOPIC_DELETION_DISABLED)
    ctx.topics.delete(name)
    return Result(name=name, topic_id=meta.topic_id, error_code=0)


@handler(DeleteTopicsRequest, versions=(1, 6))
async def delete_topics(ctx: RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse:
    if ctx.api_version >= 6:
        results = [_delete(ctx, t.name, t.topic_id) for t in req.topics]
    else:
        results = [_delete(ctx, n, None) for n in req.topic_names]
    return DeleteTopicsResponse(throttle_time_ms=0, responses=results)
