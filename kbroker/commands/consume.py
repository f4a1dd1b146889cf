"""``kbroker consume [TOPIC]``: read a topic, like kcat -C and Kafka's console consumer.

Start: ``--from-beginning`` (= ``--offset earliest``), ``--offset N|-N|earliest|latest`` (-N: N before
the end), ``--from-time`` (ms or an ISO datetime, UTC when it has no zone), or with ``--group`` the
group's committed offsets. Without any of these (and for a group's partitions with no committed offset)
the read starts at the beginning, or at the end with ``--follow``. Stop: at the end the partitions had when the read began, after ``--max-messages``, or never
with ``--follow`` (Ctrl-C).

Output: by default each value followed by a newline; ``--format`` takes kcat's placeholders: %t topic,
%p partition, %o offset, %k key, %s value, %K/%S key/value length (-1 for null), %T timestamp (ms),
%h headers (k=v,...), %% a percent, and \\n \\t \\r \\\\. ``--output json`` prints one object per
record: topic, partition, offset, timestamp, key, value, headers (a list of {key, value}). A key, value
or header value is null, a string when its bytes are valid UTF-8, or else {"base64": "..."}: every byte
string survives the trip (``kbroker produce --input json`` reads the same shape back).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, BinaryIO

from kbroker import admin
from kbroker.commands.common import Progress, UsageError, add_common, parse_time


def register(sub: Any) -> None:
    p = sub.add_parser("consume", help="read messages from a topic", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("topic_arg", nargs="?", metavar="TOPIC")
    p.add_argument("--topic", help="the topic")
    p.add_argument("--from-beginning", action="store_true", help="start at the earliest offset")
    p.add_argument("--offset", metavar="N|-N|earliest|latest", help="where to start in each partition")
    p.add_argument("--from-time", metavar="TIME", help="start at the first record at or after TIME (ms or ISO)")
    p.add_argument("--partition", type=int, action="append", help="only this partition (repeatable)")
    p.add_argument("--group", help="read as this group: start at its committed offsets, commit at the end")
    p.add_argument("--max-messages", type=int, metavar="N", help="stop after N messages")
    p.add_argument("--follow", "-f", action="store_true", help="keep waiting for new messages")
    p.add_argument("--format", metavar="FMT", help="kcat-style format string (see above)")
    p.add_argument("--pretty", action="store_true", help="indented JSON (with --output json)")
    add_common(p)
    p.set_defaults(handler=run, cmd_name="consume")


_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\"}
_TOKEN = re.compile(r"%[tpokKsSTh%]|\\[ntr\\]")


def render(fmt: str, m: admin.Message) -> bytes:
    """The record through a kcat-style format string."""
    out = bytearray()
    pos = 0
    for t in _TOKEN.finditer(fmt):
        out += fmt[pos:t.start()].encode()
        pos = t.end()
        tok = t.group()
        if tok[0] == "\\":
            out += _ESCAPES[tok[1]]
            continue
        c = tok[1]
        if c == "t":
            out += m.topic.encode()
        elif c == "p":
            out += str(m.partition).encode()
        elif c == "o":
            out += str(m.offset).encode()
        elif c == "k":
            out += m.key or b""
        elif c == "s":
            out += m.value or b""
        elif c == "K":
            out += str(-1 if m.key is None else len(m.key)).encode()
        elif c == "S":
            out += str(-1 if m.value is None else len(m.value)).encode()
        elif c == "T":
            out += str(m.timestamp).encode()
        elif c == "h":
            out += b",".join(h.key.encode() + (b"" if h.value is None else b"=" + h.value) for h in m.headers)
        else:
            out += b"%"
    out += fmt[pos:].encode()
    return bytes(out)


def start_of(args: argparse.Namespace) -> tuple[int | str | None, int | None]:
    """(offset, timestamp) for ``admin.iter_messages``."""
    chosen = [x for x in (args.from_beginning, args.offset is not None, args.from_time is not None) if x]
    if len(chosen) > 1:
        raise UsageError("give only one of --from-beginning, --offset, --from-time")
    if args.from_time is not None:
        return None, parse_time(args.from_time)
    if args.from_beginning:
        return "earliest", None
    if args.offset is not None:
        if args.offset in ("earliest", "latest", "beginning", "end"):
            return {"beginning": "earliest", "end": "latest"}.get(args.offset, args.offset), None
        try:
            return int(args.offset), None
        except ValueError:
            raise UsageError(f"--offset {args.offset!r} is not N, -N, earliest or latest") from None
    if args.group:
        return "committed", None
    return ("latest" if args.follow else "earliest"), None


def run(args: argparse.Namespace, s: admin.Session) -> int:
    topic = args.topic or args.topic_arg
    if not topic:
        raise UsageError("give the topic: kbroker consume TOPIC (or --topic)")
    offset, timestamp = start_of(args)
    out: BinaryIO = sys.stdout.buffer
    fmt = args.format
    progress = Progress(f"consume {topic}")
    try:
        for m in admin.iter_messages(s, topic, partitions=args.partition, offset=offset, timestamp=timestamp,
                                     limit=args.max_messages, follow=args.follow, group=args.group,
                                     reset="latest" if args.follow else "earliest",
                                     on_progress=progress.update):
            if args.output == "json":
                line = json.dumps(m.to_json(), indent=2 if args.pretty else None)
                out.write(line.encode() + b"\n")
            else:
                out.write(render(fmt, m) if fmt is not None else (m.value or b"") + b"\n")
            if args.follow:
                out.flush()
    finally:
        progress.done()
        out.flush()
    return 0
