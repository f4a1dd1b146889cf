"""``kbroker cluster``: the cluster id, the controller and the brokers."""

from __future__ import annotations

import argparse
from typing import Any

from kbroker import admin
from kbroker.commands.common import add_common, emit_json, table


def register(sub: Any) -> None:
    p = sub.add_parser("cluster", help="cluster id, controller and brokers")
    add_common(p)
    p.set_defaults(handler=run, cmd_name="cluster")


def run(args: argparse.Namespace, s: admin.Session) -> int:
    c = admin.cluster_info(s)
    if args.output == "json":
        emit_json({"cluster_id": c.cluster_id, "controller": c.controller_id,
                   "brokers": [{"node_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack}
                               for b in c.brokers]})
        return 0
    print(f"Cluster ID: {c.cluster_id or '-'}")
    print(f"Controller: {c.controller_id if c.controller_id is not None else '-'}")
    print()
    table([["BROKER", "HOST", "PORT", "RACK"]]
          + [[f"{b.node_id}{' (controller)' if b.node_id == c.controller_id else ''}", b.host, b.port, b.rack]
             for b in c.brokers])
    return 0
