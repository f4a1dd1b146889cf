"""DescribeCluster (key 60), v0-2.

Behaviour: this broker is the whole cluster and its controller; in a cluster (zookeeper.connect),
the live brokers registered in ZooKeeper and the controller (/controller). Nothing is fenced.
Version notes: v1 endpoint type: brokers (1) are served; a controller endpoint (2) gets
MISMATCHED_ENDPOINT_TYPE and any other value UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker answers ·
v2 include_fenced_brokers / is_fenced (KIP-1073; nothing is ever fenced).
Cluster authorized operations (include_cluster_authorized_operations): with no authorizer, every
operation Kafka supports on the cluster (metadata.CLUSTER_OPERATIONS); -2147483648 when not asked for.
"""

from kbroker.apis.metadata import CLUSTER_OPERATIONS, NOT_PROVIDED
from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.describe_cluster import DescribeClusterRequest, DescribeClusterResponse

BROKER, CONTROLLER = 1, 2


@handler(DescribeClusterRequest, versions=(0, 2))
async def describe_cluster(ctx: RequestContext, req: DescribeClusterRequest) -> DescribeClusterResponse:
    if ctx.api_version >= 1 and req.endpoint_type != BROKER:
        code = ErrorCode.MISMATCHED_ENDPOINT_TYPE if req.endpoint_type == CONTROLLER else ErrorCode.UNSUPPORTED_ENDPOINT_TYPE
        return DescribeClusterResponse(error_code=code,
                                       error_message=f"this is a broker endpoint, not type {req.endpoint_type}",
                                       endpoint_type=req.endpoint_type, cluster_id=ctx.identity.cluster_id)
    adv = ctx.identity.advertised
    Broker = DescribeClusterResponse.DescribeClusterBroker
    if ctx.cluster is not None:
        brokers = [Broker(broker_id=b.broker_id, host=b.host, port=b.port, rack=b.rack, is_fenced=False)
                   for b in ctx.cluster.brokers()]
        controller = ctx.cluster.controller_id
    else:
        brokers = [Broker(broker_id=ctx.node_id, host=adv.host, port=adv.port, is_fenced=False)]
        controller = ctx.node_id
    return DescribeClusterResponse(
        throttle_time_ms=0, error_code=0, error_message=None, endpoint_type=BROKER, cluster_id=ctx.identity.cluster_id,
        controller_id=controller,
        cluster_authorized_operations=CLUSTER_OPERATIONS if req.include_cluster_authorized_operations else NOT_PROVIDED,
        brokers=brokers)
