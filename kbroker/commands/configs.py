"""``kbroker configs describe|alter`` for topics and brokers (Kafka's kafka-configs habits:
``--entity-type``, ``--entity-name``, ``--add-config k=v[,k=v]``, ``--delete-config k[,k]``)."""

from __future__ import annotations

import argparse
from typing import Any

from kbroker import admin
from kbroker.commands.common import UsageError, add_common, emit_json, key_values, names, table


def register(sub: Any) -> None:
    cp = sub.add_parser("configs", help="describe or alter topic and broker configs")
    csub = cp.add_subparsers(dest="configs_cmd", required=True)
    d = csub.add_parser("describe", help="the overridden configs (--all: every config)")
    d.add_argument("--all", action="store_true", help="every config with its source, not only overrides")
    d.set_defaults(handler=describe)
    a = csub.add_parser("alter", help="set and/or delete config keys")
    a.add_argument("--add-config", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]")
    a.add_argument("--delete-config", action="append", default=[], metavar="KEY[,KEY]")
    a.set_defaults(handler=alter)
    for p in (d, a):
        p.add_argument("--entity-type", choices=admin.ENTITY_TYPES, required=True)
        p.add_argument("--entity-name", help="the topic, or the broker's node id (default: the first broker)")
        add_common(p)
        p.set_defaults(cmd_name="configs")


def entity(args: argparse.Namespace, s: admin.Session) -> str:
    if args.entity_name:
        return str(args.entity_name)
    if args.entity_type == "topics":
        raise UsageError("give the topic: --entity-name TOPIC")
    return admin.default_broker(s)


def describe(args: argparse.Namespace, s: admin.Session) -> int:
    name = entity(args, s)
    entries = admin.describe_configs(s, args.entity_type, name, all_configs=args.all)
    if args.output == "json":
        emit_json({"entity_type": args.entity_type, "entity_name": name,
                   "configs": [{"name": e.name, "value": e.value, "source": e.source, "read_only": e.read_only,
                                "sensitive": e.sensitive} for e in entries]})
        return 0
    kind = "topic" if args.entity_type == "topics" else "broker"
    print(f"Configs for {kind} {name}:" if entries else f"No config overrides for {kind} {name}.")
    if entries:
        table([["NAME", "VALUE", "SOURCE"]] + [[e.name, "(sensitive)" if e.sensitive else e.value, e.source]
                                              for e in entries])
    return 0


def alter(args: argparse.Namespace, s: admin.Session) -> int:
    name = entity(args, s)
    configs = key_values(args.add_config, "--add-config")
    deleted = names(args.delete_config)
    if not configs and not deleted:
        raise UsageError("nothing to alter: give --add-config and/or --delete-config")
    admin.alter_configs(s, args.entity_type, name, set_configs=configs, delete_configs=deleted)
    if args.output == "json":
        emit_json({"entity_type": args.entity_type, "entity_name": name, "set": configs, "deleted": deleted})
    else:
        kind = "topic" if args.entity_type == "topics" else "broker"
        print(f"Completed updating config for {kind} {name}.")
    return 0
