"""``kbroker topics create|list|describe|alter|delete`` (Kafka's kafka-topics habits)."""

from __future__ import annotations

import argparse
from typing import Any

from kbroker import admin
from kbroker.commands.common import UsageError, add_common, emit_json, key_values, names, table


def register(sub: Any) -> None:
    tp = sub.add_parser("topics", help="create, list, describe, alter or delete topics")
    tsub = tp.add_subparsers(dest="topics_cmd", required=True)

    c = tsub.add_parser("create", help="create a topic")
    c.add_argument("topic_arg", nargs="?", metavar="TOPIC")
    c.add_argument("--topic", help="the topic's name")
    c.add_argument("--partitions", type=int, help="partition count (default: the broker's num.partitions)")
    c.add_argument("--replication-factor", type=int,
                   help="replicas per partition (default: the broker's default.replication.factor)")
    c.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="a topic config (repeatable)")
    c.add_argument("--if-not-exists", action="store_true", help="succeed when the topic already exists")
    c.set_defaults(handler=create)

    ls = tsub.add_parser("list", help="list the topics")
    ls.add_argument("--exclude-internal", action="store_true", help="leave out internal topics")
    ls.set_defaults(handler=list_)

    d = tsub.add_parser("describe", help="partitions with leader, replicas, ISR, offsets and size")
    d.add_argument("topic_arg", nargs="?", metavar="TOPIC")
    d.add_argument("--topic", help="the topic (default: every topic)")
    d.set_defaults(handler=describe)

    a = tsub.add_parser("alter", help="add partitions and/or change configs")
    a.add_argument("topic_arg", nargs="?", metavar="TOPIC")
    a.add_argument("--topic", help="the topic")
    a.add_argument("--partitions", type=int, help="the new (larger) partition count")
    a.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="set a config (repeatable)")
    a.add_argument("--delete-config", action="append", default=[], metavar="KEY",
                   help="remove a config override (repeatable)")
    a.set_defaults(handler=alter)

    r = tsub.add_parser("delete", help="delete a topic")
    r.add_argument("topic_arg", nargs="?", metavar="TOPIC")
    r.add_argument("--topic", help="the topic")
    r.add_argument("--if-exists", action="store_true", help="succeed when the topic does not exist")
    r.set_defaults(handler=delete)

    for p in (c, ls, d, a, r):
        add_common(p)
        p.set_defaults(cmd_name="topics")


def topic_of(args: argparse.Namespace, required: bool = True) -> str | None:
    name = args.topic or args.topic_arg
    if required and not name:
        raise UsageError("give the topic: --topic NAME")
    return name


def create(args: argparse.Namespace, s: admin.Session) -> int:
    name = topic_of(args)
    assert name is not None
    try:
        t = admin.create_topic(s, name, args.partitions, args.replication_factor, key_values(args.config, "--config"))
    except admin.InvalidRequest as e:
        if args.if_not_exists and "TOPIC_ALREADY_EXISTS" in str(e):
            t = admin.TopicSummary(name, -1, -1)
        else:
            raise
    if args.output == "json":
        emit_json({"topic": t.name, "partitions": t.partitions, "replication_factor": t.replication_factor})
    else:
        print(f"Created topic {name}.")
    return 0


def list_(args: argparse.Namespace, s: admin.Session) -> int:
    topics = admin.list_topics(s, include_internal=not args.exclude_internal)
    if args.output == "json":
        emit_json([{"topic": t.name, "partitions": t.partitions, "replication_factor": t.replication_factor,
                    "internal": t.internal} for t in topics])
    else:
        for t in topics:
            print(t.name)
    return 0


def topic_json(t: admin.TopicInfo) -> dict[str, Any]:
    return {"topic": t.name, "topic_id": t.topic_id, "internal": t.internal, "partition_count": len(t.partitions),
            "replication_factor": t.replication_factor, "configs": t.configs, "size": t.size,
            "partitions": [{"partition": p.partition, "leader": p.leader, "replicas": list(p.replicas),
                            "isr": list(p.isr), "earliest": p.earliest, "latest": p.latest, "size": p.size,
                            "error": p.error} for p in t.partitions]}


def describe(args: argparse.Namespace, s: admin.Session) -> int:
    name = topic_of(args, required=False)
    topics = admin.describe_topics(s, None if name is None else [name])
    if args.output == "json":
        emit_json([topic_json(t) for t in topics] if name is None else topic_json(topics[0]))
        return 0
    for i, t in enumerate(topics):
        if i:
            print()
        cfg = ",".join(f"{k}={v}" for k, v in sorted(t.configs.items()))
        print(f"Topic: {t.name}\tTopicId: {t.topic_id or '-'}\tPartitionCount: {len(t.partitions)}\t"
              f"ReplicationFactor: {t.replication_factor}\tConfigs: {cfg}")
        rows: list[list[object]] = [["PARTITION", "LEADER", "REPLICAS", "ISR", "EARLIEST", "LATEST", "MESSAGES",
                                     "SIZE"]]
        for p in t.partitions:
            rows.append([p.partition, p.leader, p.replicas, p.isr, p.earliest, p.latest, p.messages,
                         p.size if p.error is None else p.error])
        table(rows)
    return 0


def alter(args: argparse.Namespace, s: admin.Session) -> int:
    name = topic_of(args)
    assert name is not None
    configs = key_values(args.config, "--config")
    deleted = names(args.delete_config)
    if args.partitions is None and not configs and not deleted:
        raise UsageError("nothing to alter: give --partitions and/or --config/--delete-config")
    if args.partitions is not None:
        admin.add_partitions(s, name, args.partitions)
    if configs or deleted:
        admin.alter_configs(s, "topics", name, set_configs=configs, delete_configs=deleted)
    if args.output == "json":
        emit_json({"topic": name, "partitions": args.partitions, "set": configs, "deleted": deleted})
    else:
        print(f"Altered topic {name}.")
    return 0


def delete(args: argparse.Namespace, s: admin.Session) -> int:
    name = topic_of(args)
    assert name is not None
    try:
        admin.delete_topic(s, name)
    except admin.NotFound:
        if not args.if_exists:
            raise
    if args.output == "json":
        emit_json({"topic": name, "deleted": True})
    else:
        print(f"Deleted topic {name}.")
    return 0
