"""``kbroker groups list`` and ``kbroker groups describe GROUP``: look at the consumer
groups of a running broker over the Kafka protocol (any Kafka-compatible broker will do).

A small blocking client built on ``wire``: ApiVersions picks each API's version (the
highest both sides know), FindCoordinator finds the group's broker, then ListGroups,
DescribeGroups, OffsetFetch and ListOffsets (latest) give state, members, assignments
(the consumer protocol's assignment decoded), committed offsets and lag.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any, TextIO

from kbroker.groups.consumer_protocol import CONSUMER, decode_assignment
from wire.codec import decode_response, encode_request
from wire.errors import ErrorCode
from wire.framing import FrameDecoder
from wire.messages.api_versions import ApiVersionsRequest
from wire.messages.describe_groups import DescribeGroupsRequest
from wire.messages.find_coordinator import FindCoordinatorRequest
from wire.messages.list_groups import ListGroupsRequest
from wire.messages.list_offsets import ListOffsetsRequest
from wire.messages.offset_fetch import OffsetFetchRequest

# The versions this tool speaks (it needs nothing newer).
WANTED = {ListGroupsRequest: 4, DescribeGroupsRequest: 5, OffsetFetchRequest: 7, ListOffsetsRequest: 5,
          FindCoordinatorRequest: 3}


class ToolError(Exception):
    pass


class Client:
    """One blocking connection; every wait is bounded by ``timeout``."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise ToolError(f"cannot connect to {host}:{port}: {e}") from None
        self.decoder = FrameDecoder(max_size=2**31 - 1)
        self.frames: list[bytearray] = []
        self.corr = 0
        resp = self._call(ApiVersionsRequest(), 0)
        self.versions = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys or []}

    @classmethod
    def connect(cls, address: str, timeout: float = 10.0) -> Client:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ToolError(f"bootstrap server {address!r} is not HOST:PORT")
        return cls(host, int(port), timeout)

    def close(self) -> None:
        self.sock.close()

    def version(self, req_cls: type) -> int:
        lo, hi = self.versions.get(req_cls.API_KEY, (0, -1))  # type: ignore[attr-defined]
        v = min(WANTED[req_cls], hi)
        if v < lo:
            raise ToolError(f"the broker does not support {req_cls.__name__[:-7]}")
        return v

    def request(self, req: Any) -> Any:
        return self._call(req, self.version(type(req)))

    def _call(self, req: Any, version: int) -> Any:
        self.corr += 1
        self.sock.sendall(encode_request(req, version, self.corr, "kbroker-groups"))
        while not self.frames:
            data = self.sock.recv(65536)
            if not data:
                raise ToolError("the broker closed the connection")
            self.frames.extend(self.decoder.feed(data))
        return decode_response(self.frames.pop(0), req.API_KEY, version)[1]


def _check(error: int, what: str) -> None:
    if error:
        raise ToolError(f"{what}: {ErrorCode(error).name}")


def coordinator(client: Client, group: str) -> Client:
    resp = client.request(FindCoordinatorRequest(key=group, key_type=0))
    _check(resp.error_code, f"FindCoordinator {group}")
    return Client(resp.host, resp.port)


def list_groups(client: Client, states: list[str]) -> list[tuple[str, str, str]]:
    resp = client.request(ListGroupsRequest(states_filter=states))
    _check(resp.error_code, "ListGroups")
    return sorted((g.group_id, g.protocol_type, g.group_state) for g in resp.groups or [])


def describe_group(client: Client, group: str) -> dict[str, Any]:
    """Everything ``describe`` prints, as data."""
    coord = coordinator(client, group)
    try:
        d = coord.request(DescribeGroupsRequest(groups=[group])).groups[0]
        _check(d.error_code, f"DescribeGroups {group}")
        fetched = coord.request(OffsetFetchRequest(group_id=group, topics=None))
        _check(fetched.error_code, f"OffsetFetch {group}")
        committed = {(t.name, p.partition_index): p.committed_offset
                     for t in fetched.topics or [] for p in t.partitions or [] if p.committed_offset >= 0}
    finally:
        coord.close()
    members = []
    owner: dict[tuple[str, int], str] = {}
    for m in d.members or []:
        assigned = decode_assignment(m.member_assignment) if d.protocol_type == CONSUMER else None
        for t, parts in (assigned or {}).items():
            for p in parts:
                owner[t, p] = m.member_id
        members.append({"member_id": m.member_id, "instance_id": m.group_instance_id, "client_id": m.client_id,
                        "host": m.client_host, "assignment": assigned})
    tps = sorted(set(committed) | set(owner))
    ends = log_end_offsets(client, tps)
    offsets = [{"topic": t, "partition": p, "committed": committed.get((t, p)), "log_end": ends.get((t, p)),
                "lag": ends[t, p] - committed[t, p] if (t, p) in committed and (t, p) in ends else None,
                "member_id": owner.get((t, p))} for t, p in tps]
    return {"group": group, "state": d.group_state, "protocol_type": d.protocol_type,
            "protocol": d.protocol_data, "members": members, "offsets": offsets}


def log_end_offsets(client: Client, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    if not tps:
        return {}
    by_topic: dict[str, list[int]] = {}
    for t, p in tps:
        by_topic.setdefault(t, []).append(p)
    L = ListOffsetsRequest
    req = L(replica_id=-1, topics=[L.ListOffsetsTopic(name=t, partitions=[
        L.ListOffsetsPartition(partition_index=p, timestamp=-1) for p in ps]) for t, ps in by_topic.items()])
    resp = client.request(req)
    return {(t.name, p.partition_index): p.offset for t in resp.topics or [] for p in t.partitions or []
            if not p.error_code}


# ---------------------------------------------------------------- printing

def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)


def _fmt(v: object) -> str:
    return "-" if v is None else str(v)


def print_description(info: dict[str, Any], out: TextIO) -> None:
    proto = f"{info['protocol_type'] or '-'}/{info['protocol'] or '-'}"
    print(f"Group {info['group']}: state {info['state']}, protocol {proto}, "
          f"{len(info['members'])} member(s)", file=out)
    if info["members"]:
        print(file=out)
        rows = [["MEMBER-ID", "INSTANCE-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"]]
        for m in info["members"]:
            a = m["assignment"]
            shown = "-" if a is None else " ".join(
                f"{t}:{','.join(map(str, sorted(ps)))}" for t, ps in sorted(a.items())) or "(none)"
            rows.append([m["member_id"], _fmt(m["instance_id"]), m["client_id"], m["host"], shown])
        _table(rows, out)
    if info["offsets"]:
        print(file=out)
        rows = [["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID"]]
        for o in info["offsets"]:
            rows.append([o["topic"], str(o["partition"]), _fmt(o["committed"]), _fmt(o["log_end"]),
                         _fmt(o["lag"]), _fmt(o["member_id"])])
        _table(rows, out)


def add_parser(sub: Any) -> None:
    gp = sub.add_parser("groups", help="list or describe the consumer groups of a running broker")
    gsub = gp.add_subparsers(dest="groups_cmd", required=True)
    lp = gsub.add_parser("list", help="list the groups")
    lp.add_argument("--state", action="append", default=[], help="only groups in this state (repeatable)")
    dp = gsub.add_parser("describe", help="state, members, assignments, committed offsets and lag")
    dp.add_argument("group")
    for p in (lp, dp):
        p.add_argument("--bootstrap-server", default="127.0.0.1:9092", help="HOST:PORT (default %(default)s)")


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        client = Client.connect(args.bootstrap_server)
        try:
            if args.groups_cmd == "list":
                groups = list_groups(client, args.state)
                if groups:
                    _table([["GROUP", "PROTOCOL-TYPE", "STATE"]]
                           + [[g, t or "-", s] for g, t, s in groups], out)
                else:
                    print("no groups", file=out)
            else:
                print_description(describe_group(client, args.group), out)
        finally:
            client.close()
    except (ToolError, OSError) as e:
        print(f"kbroker groups: {e}", file=sys.stderr)
        return 1
    return 0
