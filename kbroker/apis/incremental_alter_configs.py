"""IncrementalAlterConfigs (key 44), v0-1.

Behaviour: per resource, operations on single configs: SET (0), DELETE (1: back to the
default), APPEND (2) and SUBTRACT (3) on LIST configs (cleanup.policy; starting from the
current override or Kafka's default; on any other config → INVALID_CONFIG).  The result is
checked as a whole (bad value, unknown topic config, min.compaction.lag.ms above
max.compaction.lag.ms → INVALID_CONFIG), persisted and applied at once, like AlterConfigs
(see alter_configs for topics vs broker resources and their errors).  validate_only checks
without changing anything.
Version notes: v1 flexible.
Broker loggers (type 8, name = this broker's id): SET a level (TRACE DEBUG INFO WARN ERROR FATAL
OFF) on root or any kbroker/storage/wire logger, DELETE back to the root's level
(kbroker.logger_config; Kafka's errors for unknown loggers, bad levels, APPEND/SUBTRACT).
"""

from __future__ import annotations

from kbroker.apis.alter_configs import alter_resource, duplicates
from kbroker.config_changes import Op
from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.incremental_alter_configs import (
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)

Resp = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse


@handler(IncrementalAlterConfigsRequest, versions=(0, 1))
async def incremental_alter_configs(ctx: RequestContext, req: IncrementalAlterConfigsRequest
                                    ) -> IncrementalAlterConfigsResponse:
    resources = req.resources or []
    dup = duplicates(resources)
    out = []
    code: int
    msg: str | None
    for r in resources:
        if (r.resource_type, r.resource_name) in dup:
            code, msg = ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."
        else:
            ops: list[Op] = [(c.name, c.config_operation, c.value) for c in r.configs or []]
            code, msg = await alter_resource(ctx, r.resource_type, r.resource_name, ops, False, req.validate_only)
        out.append(Resp(error_code=code, error_message=msg, resource_type=r.resource_type,
                        resource_name=r.resource_name))
    return IncrementalAlterConfigsResponse(throttle_time_ms=0, responses=out)
