"""ListConfigResources (key 74), v0-1.

Behaviour: the config resources a client may describe.  v0 (KIP-714's ListClientMetricsResources
renamed) lists client-metrics resources only, and kbroker has none, so the list is empty.  v1 takes
``resource_types``; empty means every type kbroker serves: topics (2, every topic), this broker
(4) and its loggers (8, resource name = the broker id), client metrics (16, none) and groups (32,
every group that exists or has configs).  A type outside these → UNSUPPORTED_VERSION, as Kafka
answers.  Resources are listed type by type in Kafka's order (groups, client metrics, broker
loggers, brokers, topics), names sorted.
Version notes: v1 resource_types and resource_type in each listed resource.
"""

from __future__ import annotations

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.list_config_resources import ListConfigResourcesRequest, ListConfigResourcesResponse
from wire.messages.list_config_resources import _ListConfigResourcesResponse_ConfigResource as Resource

TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP = 2, 4, 8, 16, 32
SUPPORTED = (TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP)


@handler(ListConfigResourcesRequest, versions=(0, 1))
async def list_config_resources(ctx: RequestContext, req: ListConfigResourcesRequest
                                ) -> ListConfigResourcesResponse:
    types = [CLIENT_METRICS] if ctx.api_version == 0 else list(req.resource_types or SUPPORTED)
    bad = set(types) - set(SUPPORTED)
    if bad:
        return ListConfigResourcesResponse(throttle_time_ms=0, error_code=ErrorCode.UNSUPPORTED_VERSION,
                                           config_resources=[])
    out: list[Resource] = []
    for t in (GROUP, CLIENT_METRICS, BROKER_LOGGER, BROKER, TOPIC):  # the order Kafka 4.1.1 answers in
        if t not in types:
            continue
        if t == TOPIC:
            names = sorted(m.name for m in ctx.topics.all())
        elif t in (BROKER, BROKER_LOGGER):
            names = [str(ctx.node_id)]
        elif t == GROUP:
            names = sorted(set(ctx.groups.groups) | set(ctx.services.group_configs.groups))
        else:
            names = []
        out += [Resource(resource_name=n, resource_type=t) for n in names]
    return ListConfigResourcesResponse(throttle_time_ms=0, error_code=0, config_resources=out)
