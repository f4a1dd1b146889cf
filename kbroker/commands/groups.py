"""``kbroker groups list|describe|reset-offsets|delete`` (Kafka's kafka-consumer-groups habits:
``reset-offsets`` shows its plan and changes nothing without ``--execute``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from kbroker import admin
from kbroker.commands.common import Progress, UsageError, add_common, emit_json, parse_time, table


def register(sub: Any) -> None:
    gp = sub.add_parser("groups", help="list, describe, reset the offsets of, or delete consumer groups")
    gsub = gp.add_subparsers(dest="groups_cmd", required=True)
    ls = gsub.add_parser("list", help="list the groups")
    ls.add_argument("--state", action="append", default=[], help="only groups in this state (repeatable)")
    ls.set_defaults(handler=list_)

    d = gsub.add_parser("describe", help="state, members, assignments, committed offsets and lag")
    d.add_argument("group_arg", nargs="?", metavar="GROUP")
    d.add_argument("--group", help="the group")
    d.set_defaults(handler=describe)

    r = gsub.add_parser("reset-offsets", help="move a group's committed offsets (dry run unless --execute)")
    r.add_argument("group_arg", nargs="?", metavar="GROUP")
    r.add_argument("--group", help="the group")
    r.add_argument("--topic", action="append", default=[], metavar="TOPIC[:P,P...]",
                   help="a topic, or some of its partitions (repeatable)")
    r.add_argument("--all-topics", action="store_true", help="every topic the group has offsets for")
    how = r.add_mutually_exclusive_group(required=True)
    how.add_argument("--to-earliest", action="store_true")
    how.add_argument("--to-latest", action="store_true")
    how.add_argument("--to-datetime", metavar="TIME", help="ms or ISO datetime (UTC when no zone)")
    how.add_argument("--shift-by", type=int, metavar="N", help="move by N (negative: back)")
    how.add_argument("--to-offset", type=int, metavar="N")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--execute", action="store_true", help="apply the plan")
    mode.add_argument("--dry-run", action="store_true", help="only show the plan (the default)")
    r.set_defaults(handler=reset)

    x = gsub.add_parser("delete", help="delete an empty group")
    x.add_argument("group_arg", nargs="?", metavar="GROUP")
    x.add_argument("--group", help="the group")
    x.set_defaults(handler=delete)
    for p in (ls, d, r, x):
        add_common(p)
        p.set_defaults(cmd_name="groups")


def group_of(args: argparse.Namespace) -> str:
    name = args.group or args.group_arg
    if not name:
        raise UsageError("give the group: --group NAME")
    return str(name)


def list_(args: argparse.Namespace, s: admin.Session) -> int:
    groups = admin.list_groups(s, args.state)
    if args.output == "json":
        emit_json([{"group": g.group_id, "protocol_type": g.protocol_type, "state": g.state} for g in groups])
    elif groups:
        table([["GROUP", "PROTOCOL-TYPE", "STATE"]] + [[g.group_id, g.protocol_type or "-", g.state] for g in groups])
    else:
        print("no groups")
    return 0


def print_description(info: admin.GroupInfo, out: TextIO) -> None:
    proto = f"{info.protocol_type or '-'}/{info.protocol or '-'}"
    print(f"Group {info.group_id}: state {info.state}, protocol {proto}, {len(info.members)} member(s)", file=out)
    if info.members:
        print(file=out)
        rows: list[list[object]] = [["MEMBER-ID", "INSTANCE-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"]]
        for m in info.members:
            a = m.assignment
            shown = "-" if a is None else " ".join(
                f"{t}:{','.join(map(str, ps))}" for t, ps in sorted(a.items())) or "(none)"
            rows.append([m.member_id, m.instance_id, m.client_id, m.host, shown])
        table(rows, out)
    if info.offsets:
        print(file=out)
        rows = [["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID"]]
        for o in info.offsets:
            rows.append([o.topic, o.partition, o.committed, o.log_end, o.lag, o.member_id])
        table(rows, out)


def describe(args: argparse.Namespace, s: admin.Session) -> int:
    info = admin.describe_group(s, group_of(args))
    if args.output == "json":
        emit_json({**info.to_dict(), "total_lag": info.total_lag})
    else:
        print_description(info, sys.stdout)
    return 0


def topics_of(args: argparse.Namespace) -> dict[str, list[int] | None] | None:
    if args.all_topics and args.topic:
        raise UsageError("give --topic or --all-topics, not both")
    if not args.all_topics and not args.topic:
        raise UsageError("give --topic TOPIC[:P,...] (repeatable) or --all-topics")
    if args.all_topics:
        return None
    out: dict[str, list[int] | None] = {}
    for item in args.topic:
        name, sep, parts = item.partition(":")
        try:
            out[name] = [int(p) for p in parts.split(",") if p] if sep else None
        except ValueError:
            raise UsageError(f"--topic {item!r} is not TOPIC or TOPIC:P,P...") from None
    return out


def reset(args: argparse.Namespace, s: admin.Session) -> int:
    group = group_of(args)
    topics = topics_of(args)
    value: int | None = None
    if args.to_earliest:
        strategy = "earliest"
    elif args.to_latest:
        strategy = "latest"
    elif args.to_datetime is not None:
        strategy, value = "datetime", parse_time(args.to_datetime)
    elif args.shift_by is not None:
        strategy, value = "shift", args.shift_by
    else:
        strategy, value = "offset", args.to_offset
    progress = Progress(f"reset {group}")
    progress.update(0)
    try:
        plan = admin.plan_reset(s, group, strategy, value, topics)
        progress.update(0, len(plan))
        result = admin.apply_reset(s, group, plan) if args.execute else plan
        progress.update(len(plan), len(plan))
    finally:
        progress.done()
    if args.output == "json":
        emit_json([{"group": group, "topic": c.topic, "partition": c.partition, "current": c.current,
                    "new": c.target, "error": c.error} for c in result])
    else:
        table([["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"]
               + (["ERROR"] if any(c.error for c in result) else [])]
              + [[group, c.topic, c.partition, c.current, c.target] + ([c.error] if any(x.error for x in result)
                                                                       else []) for c in result])
        if not result:
            print(f"group {group} has no offsets to reset", file=sys.stderr)
        elif not args.execute:
            print("(dry run: nothing changed; add --execute to apply)", file=sys.stderr)
    return 1 if any(c.error for c in result) else 0


def delete(args: argparse.Namespace, s: admin.Session) -> int:
    group = group_of(args)
    admin.delete_group(s, group)
    if args.output == "json":
        emit_json({"group": group, "deleted": True})
    else:
        print(f"Deleted group {group}.")
    return 0
