"""AlterConfigs (key 33), v0-2.

Behaviour: the legacy, non-incremental form: each resource's given configs become its whole
set of overrides (anything not named goes back to its default).  Topics: every value checked
with Kafka's rules (bad value or unknown name → INVALID_CONFIG), persisted, and applied at
once to the topic's logs (segment settings from the next append; retention and cleaning at
their next pass).  Broker "<node id>" sets per-broker dynamic configs, broker "" the cluster
default; only configs Kafka lets change at runtime (the topic defaults' log.* synonyms and
log.cleaner.*), else INVALID_REQUEST, as Kafka answers for broker resources; persisted in
the data directory (in a cluster: in ZooKeeper, ``/config/brokers/<id>`` or ``<default>``, applied by
the brokers they concern; a bad value there is INVALID_CONFIG, as Kafka's ZooKeeper mode answers).
validate_only checks without changing anything.  A resource named
twice → INVALID_REQUEST for both; duplicate keys or null values → INVALID_REQUEST.
Version notes: v1 same as v0 · v2 flexible.
Groups (type 32): Kafka 4.1.1's group configs, validated against the broker's group.* bounds
(INVALID_CONFIG), persisted (kbroker.group_config).
Broker loggers (type 8) → INVALID_REQUEST (only IncrementalAlterConfigs changes them, as in Kafka).
Not implemented: alter-config policies (create.topic.policy / alter.config.policy).
"""

from __future__ import annotations

from collections import Counter

from kbroker import config_changes, logger_config
from kbroker.config_changes import ConfigChangeError, Op
from kbroker.context import RequestContext
from kbroker.logger_config import LoggerConfigError
from kbroker.registry import handler
from storage.errors import StorageError
from wire.errors import ErrorCode
from wire.messages.alter_configs import AlterConfigsRequest, AlterConfigsResponse

TOPIC, BROKER, BROKER_LOGGER, GROUP = 2, 4, 8, 32


async def alter_resource(ctx: RequestContext, rtype: int, name: str, ops: list[Op], replace: bool,
                         validate_only: bool) -> tuple[int, str | None]:
    """Apply (or with ``validate_only`` just check) one resource's changes: (error code, message).
    A topic's configs in a cluster are written to ZooKeeper (/config/topics/<t>), from where every
    broker applies them."""
    try:
        if rtype == TOPIC and ctx.cluster is not None:
            cluster = ctx.cluster
            if not cluster.has_topic(name):
                return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist"
            current = cluster.metadata.configs.get(name, {})
            new, _ = config_changes.plan_topic_change(ctx.config, current, ops, replace)
            if not validate_only:
                await cluster.set_topic_config(name, new)
            return ErrorCode.NONE, None
        if rtype == TOPIC:
            meta = ctx.topics.get(name)
            new, resolved = config_changes.plan_topic_change(ctx.config, meta.configs if meta else {}, ops, replace)
            if meta is None:
                return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist"
            if not validate_only:
                ctx.topics.alter(name, new, resolved)
            return ErrorCode.NONE, None
        if rtype == BROKER:
            if name:
                try:
                    node = int(name)
                except ValueError:
                    return ErrorCode.INVALID_REQUEST, f"Node id must be an integer, but it is: {name}"
                if node != ctx.node_id:
                    return ErrorCode.INVALID_REQUEST, f"Unexpected broker id, expected {ctx.node_id}, but received {name}"
            if ctx.cluster is not None:
                return await _alter_cluster_broker(ctx, name, ops, replace, validate_only)
            dynamic = ctx.services.dynamic_configs
            new = config_changes.plan_broker_change(dynamic.current(not name), ops, replace, ctx.config)
            if not validate_only:
                dynamic.replace(not name, new)
            return ErrorCode.NONE, None
        if rtype == GROUP:
            if not name:
                return ErrorCode.INVALID_REQUEST, "Group name must not be empty"
            store = ctx.services.group_configs
            new = store.plan(ctx.config, name, ops, replace)
            if not validate_only:
                store.set(name, new)
            return ErrorCode.NONE, None
        if rtype == BROKER_LOGGER:
            if replace:
                return ErrorCode.INVALID_REQUEST, ("AlterConfigs does not support the BROKER_LOGGER resource type; "
                                                   "use IncrementalAlterConfigs")
            if not name:
                return ErrorCode.INVALID_REQUEST, "Broker id must not be empty"
            if name != str(ctx.node_id):
                return ErrorCode.INVALID_REQUEST, f"Unexpected broker id, expected {ctx.node_id} but received {name}"
            config_changes.check_request_shape(ops)
            logger_config.apply(ops, validate_only)
            return ErrorCode.NONE, None
        return ErrorCode.INVALID_REQUEST, f"Unknown resource type {rtype}"
    except (ConfigChangeError, LoggerConfigError) as e:
        return e.code, e.message
    except (OSError, StorageError) as e:
        return ErrorCode.KAFKA_STORAGE_ERROR if isinstance(e, OSError) else ErrorCode.INVALID_CONFIG, str(e)


async def _alter_cluster_broker(ctx: RequestContext, name: str, ops: list[Op], replace: bool,
                                validate_only: bool) -> tuple[int, str | None]:
    """A broker resource in a cluster, as Kafka's ZooKeeper mode (ZkAdminManager) does it: the new
    dynamic configs go to ``/config/brokers/<id>`` (or ``<default>``), from where the brokers they
    concern apply them; a config that fails validation is INVALID_CONFIG ("Invalid config value for
    resource ..."), where KRaft answers INVALID_REQUEST."""
    assert ctx.cluster is not None
    from kbroker.cluster.broker_configs import DEFAULT

    config_changes.check_request_shape(ops)
    entity = name or DEFAULT
    current = ctx.cluster.broker_configs.current(entity)
    try:
        new = config_changes.plan_broker_change(current, ops, replace, ctx.config)
    except ConfigChangeError as e:
        return ErrorCode.INVALID_CONFIG, f"Invalid config value for resource ConfigResource(type=BROKER, name='{name}'): {e.message}"
    if not validate_only:
        await ctx.cluster.set_broker_config(entity, new)
    return ErrorCode.NONE, None


def duplicates(resources: list) -> set[tuple[int, str]]:
    counts = Counter((r.resource_type, r.resource_name) for r in resources)
    return {k for k, n in counts.items() if n > 1}


@handler(AlterConfigsRequest, versions=(0, 2))
async def alter_configs(ctx: RequestContext, req: AlterConfigsRequest) -> AlterConfigsResponse:
    resources = req.resources or []
    dup = duplicates(resources)
    out = []
    code: int
    msg: str | None
    for r in resources:
        if (r.resource_type, r.resource_name) in dup:
            code, msg = ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."
        else:
            ops: list[Op] = [(c.name, config_changes.SET, c.value) for c in r.configs or []]
            code, msg = await alter_resource(ctx, r.resource_type, r.resource_name, ops, True, req.validate_only)
        out.append(AlterConfigsResponse.AlterConfigsResourceResponse(
            error_code=code, error_message=msg, resource_type=r.resource_type, resource_name=r.resource_name))
    return AlterConfigsResponse(throttle_time_ms=0, responses=out)
