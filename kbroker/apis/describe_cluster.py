"""DescribeCluster (key 60), v0-1.

Behaviour: this broker is the whole cluster and its controller.
Version notes: v1 endpoint type (brokers only).
Not implemented: controller endpoints (endpoint_type 2 → UNSUPPORTED_ENDPOINT_TYPE).
"""

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.describe_cluster import DescribeClusterRequest, DescribeClusterResponse


@handler(DescribeClusterRequest, versions=(0, 1))
async def describe_cluster(ctx: RequestContext, req: DescribeClusterRequest) -> DescribeClusterResponse:
    b = ctx.broker
    if ctx.api_version >= 1 and req.endpoint_type != 1:
        return DescribeClusterResponse(error_code=ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
                                       error_message="only broker endpoints are served",
                                       endpoint_type=req.endpoint_type, cluster_id=b.cluster_id)
    adv = b.advertised
    return DescribeClusterResponse(
        throttle_time_ms=0, error_code=0, error_message=None, endpoint_type=1, cluster_id=b.cluster_id,
        controller_id=b.node_id,
        brokers=[DescribeClusterResponse.DescribeClusterBroker(broker_id=b.node_id, host=adv.host, port=adv.port)])
