"""DescribeConfigs (key 32), v1-4.

Behaviour: topic (type 2) and broker (type 4) resources.  A topic config's value is
its override (source DYNAMIC_TOPIC_CONFIG), else its broker synonym set on this broker
by AlterConfigs (DYNAMIC_BROKER_CONFIG), on the cluster default (DYNAMIC_DEFAULT_BROKER_CONFIG)
or in the properties file (STATIC_BROKER_CONFIG), else Kafka's default (DEFAULT_CONFIG);
synonyms list that chain when asked for (retention.ms: log.retention.ms, .minutes, .hours;
segment.ms: log.roll.ms, .hours).  Broker "<node id>" lists every broker config with the same
layering, read-only unless AlterConfigs may change it; broker "" (the cluster default) lists
the dynamic cluster-default configs only, as Kafka does.
Version notes: v1 synonyms, config_source · v3 config type and documentation · v4 flexible.
Groups (type 32): Kafka 4.1.1's group configs (kbroker.group_config), a group's own value with source
GROUP_CONFIG, else the broker's group.* config, else Kafka's default; any group name (it need not exist).
Broker loggers (type 8, resource name = this broker's id): kbroker's Python loggers with their
levels in Kafka's names (kbroker.logger_config), source DYNAMIC_BROKER_LOGGER_CONFIG.
"""

from kbroker import config_changes, group_config, logger_config
from kbroker.config import BROKER_DEFAULTS
from kbroker.context import RequestContext
from kbroker.registry import handler
from kbroker.topic_config import DEFAULT, DYNAMIC_DEFAULT, TYPE_IDS, TopicConfig, layers
from wire.errors import ErrorCode
from wire.messages.describe_configs import (
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    _DescribeConfigsRequest_DescribeConfigsResource,
)
from wire.messages.describe_configs import _DescribeConfigsResponse_DescribeConfigsResourceResult as Entry
from wire.messages.describe_configs import _DescribeConfigsResponse_DescribeConfigsResult as Result
from wire.messages.describe_configs import _DescribeConfigsResponse_DescribeConfigsSynonym as Synonym

TOPIC, BROKER, BROKER_LOGGER, GROUP = 2, 4, 8, 32
DYNAMIC_BROKER_LOGGER, DYNAMIC_GROUP = 6, 8
TYPES = TYPE_IDS


def _synonyms(chain: list) -> list[Synonym]:
    return [Synonym(name=c.name, value=c.value, source=c.source) for c in chain]


def _topic_entries(config: TopicConfig, keys: list[str] | None, synonyms: bool) -> list[Entry]:
    """The resolved topic config's entries (values, sources and synonym chains: kbroker.topic_config)."""
    return [Entry(name=e.name, value=e.value, read_only=False, config_source=e.source, is_sensitive=False,
                  synonyms=_synonyms(list(e.synonyms)) if synonyms else [], config_type=TYPES[e.type],
                  documentation=None)
            for e in config.entries.values() if keys is None or e.name in keys]


def _broker_entries(ctx: RequestContext, keys: list[str] | None, synonyms: bool, cluster_default: bool
                    ) -> list[Entry]:
    cfg = ctx.config
    out = []
    table = dict(BROKER_DEFAULTS)
    for name, d in config_changes.DYNAMIC_BROKER_CONFIGS.items():
        table.setdefault(name, (d.default or None, d.type, "Dynamic broker config (accepted; see README)."))
    extra = {n for n in [*cfg.dynamic, *cfg.dynamic_default] if n not in table}  # unknown or listener-prefixed
    for name in sorted(extra):
        table[name] = (None, "PASSWORD" if config_changes.is_sensitive(name) else "STRING", "")
    for name, (default, typ, doc) in table.items():
        if keys is not None and name not in keys:
            continue
        if cluster_default:
            if name not in cfg.dynamic_default:
                continue
            chain = [Synonym(name=name, value=cfg.dynamic_default[name], source=DYNAMIC_DEFAULT)]
        else:
            chain = _synonyms(layers(cfg, name)) + ([] if name in extra else
                                                    [Synonym(name=name, value=default, source=DEFAULT)])
            if not chain:
                continue
        sensitive = config_changes.is_sensitive(name)
        if sensitive:
            chain = [Synonym(name=c.name, value=None, source=c.source) for c in chain]
        top = chain[0]
        out.append(Entry(name=name, value=top.value, read_only=name not in config_changes.DYNAMIC_BROKER_CONFIGS and name not in extra,
                         config_source=top.source, is_sensitive=sensitive,
                         synonyms=chain if synonyms else [], config_type=TYPES.get(typ, 2),
                         documentation=doc if ctx.api_version >= 3 else None))
    return out


def _resource(ctx: RequestContext, r: _DescribeConfigsRequest_DescribeConfigsResource, synonyms: bool) -> Result:
    keys = r.configuration_keys
    node_id = ctx.node_id
    if r.resource_type == TOPIC:
        config = ctx.topics.config(r.resource_name)
        if config is None:
            return Result(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                          error_message=f"Topic {r.resource_name} does not exist", resource_type=TOPIC,
                          resource_name=r.resource_name)
        return Result(error_code=0, error_message=None, resource_type=TOPIC, resource_name=r.resource_name,
                      configs=_topic_entries(config, keys, synonyms))
    if r.resource_type == BROKER:
        if r.resource_name not in ("", str(node_id)):
            return Result(error_code=ErrorCode.INVALID_REQUEST,
                          error_message=f"Unexpected broker id, expected {node_id}", resource_type=BROKER,
                          resource_name=r.resource_name)
        return Result(error_code=0, error_message=None, resource_type=BROKER, resource_name=r.resource_name,
                      configs=_broker_entries(ctx, keys, synonyms, r.resource_name == ""))
    if r.resource_type == GROUP:
        if not r.resource_name:
            return Result(error_code=ErrorCode.INVALID_REQUEST, error_message="Group name must not be empty",
                          resource_type=GROUP, resource_name=r.resource_name)
        overrides = ctx.services.group_configs.get(r.resource_name)
        entries = []
        for d in group_config.GROUP_CONFIGS.values():
            if keys is not None and d.name not in keys:
                continue
            if d.name in overrides:  # Kafka lists only the group's own value then
                chain = [Synonym(name=d.name, value=overrides[d.name], source=DYNAMIC_GROUP)]
            else:
                chain = _synonyms(layers(ctx.config, d.synonym))
                chain.append(Synonym(name=d.synonym, value=d.default, source=DEFAULT))
            entries.append(Entry(name=d.name, value=chain[0].value, read_only=False,
                                 config_source=chain[0].source, is_sensitive=False,
                                 synonyms=chain if synonyms else [], config_type=TYPES[d.type],
                                 documentation=None))
        return Result(error_code=0, error_message=None, resource_type=GROUP, resource_name=r.resource_name,
                      configs=entries)
    if r.resource_type == BROKER_LOGGER:
        if not r.resource_name:
            return Result(error_code=ErrorCode.INVALID_REQUEST, error_message="Broker id must not be empty",
                          resource_type=BROKER_LOGGER, resource_name=r.resource_name)
        if r.resource_name != str(node_id):
            return Result(error_code=ErrorCode.INVALID_REQUEST,
                          error_message=f"Unexpected broker id, expected {node_id} but received {r.resource_name}",
                          resource_type=BROKER_LOGGER, resource_name=r.resource_name)
        entries = [Entry(name=name, value=level, read_only=False, config_source=DYNAMIC_BROKER_LOGGER,
                         is_sensitive=False, synonyms=[], config_type=TYPES["STRING"], documentation=None)
                   for name, level in logger_config.levels().items() if keys is None or name in keys]
        return Result(error_code=0, error_message=None, resource_type=BROKER_LOGGER, resource_name=r.resource_name,
                      configs=entries)
    return Result(error_code=ErrorCode.INVALID_REQUEST, error_message=f"unsupported resource type {r.resource_type}",
                  resource_type=r.resource_type, resource_name=r.resource_name)


@handler(DescribeConfigsRequest, versions=(1, 4))
async def describe_configs(ctx: RequestContext, req: DescribeConfigsRequest) -> DescribeConfigsResponse:
    return DescribeConfigsResponse(throttle_time_ms=0,
                                   results=[_resource(ctx, r, req.include_synonyms) for r in req.resources])
