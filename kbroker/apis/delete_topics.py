"""DeleteTopics (key 20), v1-6.

Behaviour: removes the topic's metadata and log directories; fetches waiting on it
are woken.  In a cluster the topic is marked for deletion in ZooKeeper (/admin/delete_topics) and
the controller and every broker do the rest.  v6 may name topics by id.
Version notes: v4 flexible · v5 error messages · v6 topic ids.
Not implemented: —
"""

import uuid

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.delete_topics import DeleteTopicsRequest, DeleteTopicsResponse
from wire.messages.delete_topics import _DeleteTopicsResponse_DeletableTopicResult as Result


async def _delete_in_cluster(ctx: RequestContext, name: str | None, topic_id: uuid.UUID | None,
                             timeout_ms: int) -> Result:
    """Marked in /admin/delete_topics; the controller removes it from ZooKeeper and every broker its
    data. The answer waits (up to timeout_ms) until this broker sees the topic gone, else
    REQUEST_TIMED_OUT (the deletion still happens), as Kafka answers."""
    cluster = ctx.cluster
    assert cluster is not None
    if name is None:
        name = cluster.topic_ids().get(topic_id) if topic_id is not None else None
        if name is None:
            return Result(name=None, topic_id=topic_id or uuid.UUID(int=0), error_code=ErrorCode.UNKNOWN_TOPIC_ID)
    a = cluster.metadata.assignments.get(name)
    if a is None:
        return Result(name=name, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                      error_message="This server does not host this topic-partition.")
    if not ctx.config.delete_topic_enable:
        return Result(name=name, topic_id=a.topic_id, error_code=ErrorCode.TOPIC_DELETION_DISABLED)
    gone = await cluster.delete_topic(name, timeout_ms)
    return Result(name=name, topic_id=a.topic_id, error_code=0 if gone else ErrorCode.REQUEST_TIMED_OUT)


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
    if ctx.cluster is not None:
        asked = [(t.name, t.topic_id) for t in req.topics] if ctx.api_version >= 6 else \
            [(n, None) for n in req.topic_names]
        results = [await _delete_in_cluster(ctx, n, tid, req.timeout_ms) for n, tid in asked]
    elif ctx.api_version >= 6:
        results = [_delete(ctx, t.name, t.topic_id) for t in req.topics]
    else:
        results = [_delete(ctx, n, None) for n in req.topic_names]
    return DeleteTopicsResponse(throttle_time_ms=0, responses=results)
