"""ElectLeaders (key 43), v0-2.

Behaviour: answered by the active controller of a cluster (kafka-leader-election and the Java
Admin's electLeaders send it there); election type PREFERRED (0) moves leadership to the first
replica of the assignment where it is alive, in sync and not shutting down; UNCLEAN (1) elects a
leader for a partition without an alive one — an in-sync replica if one is alive, else an
out-of-sync one, whatever unclean.leader.election.enable says.  Per partition, as Kafka's ZooKeeper
controller: NONE (elected; answered once this broker's metadata shows the new leader),
ELECTION_NOT_NEEDED (the preferred replica leads / an alive leader exists),
PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION,
NOT_CONTROLLER (this broker is not the active controller; the top-level error stays NONE, as
Kafka's ZooKeeper-mode broker answers), REQUEST_TIMED_OUT (not seen within timeout_ms).
``topic_partitions`` null means every partition, and then partitions that needed no election are
left out of the answer.  An election type other than 0 and 1 is Kafka's failed request:
UNKNOWN_SERVER_ERROR at the top level (v1+) and for every partition named.  A single node (no
``zookeeper.connect``) leads every partition it has: ELECTION_NOT_NEEDED.
Version notes: v1 election_type, top-level error_code · v2 flexible.
Not implemented: authorization (CLUSTER_AUTHORIZATION_FAILED: kbroker has no authorizer).
"""

from __future__ import annotations

from kbroker.context import RequestContext
from kbroker.registry import handler
from wire.errors import ErrorCode
from wire.messages.elect_leaders import ElectLeadersRequest, ElectLeadersResponse
from wire.messages.elect_leaders import _ElectLeadersResponse_PartitionResult as PartitionResult

PREFERRED, UNCLEAN = 0, 1
_STRATEGY = {PREFERRED: "PreferredReplicaPartitionLeaderElectionStrategy",
             UNCLEAN: "OfflinePartitionLeaderElectionStrategy(true)"}


def _message(code: ErrorCode, tp: tuple[str, int], election_type: int) -> str | None:
    if code == ErrorCode.ELECTION_NOT_NEEDED:
        return "Leader election not needed for topic partition."
    if code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        return "The partition does not exist."
    if code in (ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE):
        return f"Failed to elect leader for partition {tp[0]}-{tp[1]} under strategy {_STRATEGY[election_type]}"
    if code == ErrorCode.REQUEST_TIMED_OUT:
        return "The request timed out."
    return None


def _response(results: dict[tuple[str, int], tuple[int, str | None]], error_code: int = 0) -> ElectLeadersResponse:
    by_topic: dict[str, list[PartitionResult]] = {}
    for (topic, p), (code, msg) in results.items():
        by_topic.setdefault(topic, []).append(
            PartitionResult(partition_id=p, error_code=code, error_message=msg))
    return ElectLeadersResponse(
        throttle_time_ms=0, error_code=error_code,
        replica_election_results=[ElectLeadersResponse.ReplicaElectionResult(topic=t, partition_result=ps)
                                  for t, ps in by_topic.items()])


@handler(ElectLeadersRequest, versions=(0, 2))
async def elect_leaders(ctx: RequestContext, req: ElectLeadersRequest) -> ElectLeadersResponse:
    election_type = req.election_type if ctx.api_version >= 1 else PREFERRED
    named: list[tuple[str, int]] | None = None
    if req.topic_partitions is not None:
        named = list(dict.fromkeys((t.topic, p) for t in req.topic_partitions for p in t.partitions))
    if election_type not in (PREFERRED, UNCLEAN):
        msg = f"Value {election_type} must be one of [PREFERRED, UNCLEAN]"
        return _response({tp: (ErrorCode.UNKNOWN_SERVER_ERROR, msg) for tp in named or []},
                         ErrorCode.UNKNOWN_SERVER_ERROR)
    cluster = ctx.cluster
    codes: dict[tuple[str, int], ErrorCode]
    if cluster is None:
        known = {(m.name, p) for m in ctx.topics.all() for p in range(m.partitions)}
        wanted = sorted(known) if named is None else named
        codes = {tp: ErrorCode.ELECTION_NOT_NEEDED if tp in known else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                 for tp in wanted}
    else:
        if named is None:
            wanted = [(t, p.index) for t in sorted(cluster.metadata.topic_names()) for p in cluster.partitions(t)]
        else:
            wanted = named
        codes = await cluster.elect_leaders(election_type, wanted, req.timeout_ms)
    if named is None:
        codes = {tp: c for tp, c in codes.items() if c != ErrorCode.ELECTION_NOT_NEEDED}
    return _response({tp: (int(c), _message(c, tp, election_type)) for tp, c in codes.items()})
