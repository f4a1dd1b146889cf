"""``kbroker produce [TOPIC]``: one message per stdin line (or ``--value``), like kcat -P and Kafka's
console producer.

Lines are bytes: everything but the line's ``\\n`` is sent as is (non-UTF-8 too). ``--key-separator
SEP`` splits each line at its first SEP into key and value (a line without SEP has a null key; a line
starting with SEP an empty key). ``--input json`` reads instead one JSON object per line in the shape
``kbroker consume --output json`` prints (key, value, headers, partition), so a topic can be copied
byte for byte. A header value cannot be null here (kafka-python's producer sends only byte strings;
a record read with a null header value is refused by ``--input json``). Arguments (``--value``, ``--key``, ``--header``) are taken as the bytes the shell passed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from kbroker import admin
from kbroker.commands.common import Progress, UsageError, add_common, emit_json


def register(sub: Any) -> None:
    p = sub.add_parser("produce", help="send messages to a topic (stdin lines or --value)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("topic_arg", nargs="?", metavar="TOPIC")
    p.add_argument("--topic", help="the topic")
    p.add_argument("--value", action="append", metavar="TEXT",
                   help="send this value instead of reading stdin (repeatable)")
    p.add_argument("--key", metavar="TEXT", help="the key of every message (with --value or stdin lines)")
    p.add_argument("--null-value", action="store_true", help="send one message with a null value (a tombstone)")
    p.add_argument("--key-separator", metavar="SEP", help="split each stdin line into KEY SEP VALUE")
    p.add_argument("--header", action="append", default=[], metavar="KEY=VALUE",
                   help="a header on every message (repeatable; KEY= for an empty value)")
    p.add_argument("--partition", type=int, help="the partition (default: by key, or spread)")
    p.add_argument("--compression", choices=admin.COMPRESSIONS, default="none", help="batch compression")
    p.add_argument("--acks", choices=("all", "-1", "0", "1"), default="all", help="acknowledgement level")
    p.add_argument("--input", choices=("lines", "json"), default="lines",
                   help="stdin holds lines (default) or JSON records as consume --output json prints")
    add_common(p)
    p.set_defaults(handler=run, cmd_name="produce")


def _arg_bytes(text: str) -> bytes:
    """The argument's bytes as the shell passed them (Python decoded argv with surrogateescape)."""
    return os.fsencode(text)


def headers_of(items: list[str]) -> tuple[tuple[str, bytes | None], ...]:
    out = []
    for item in items:
        k, sep, v = item.partition("=")
        if not k or not sep:
            raise UsageError(f"--header {item!r} is not KEY=VALUE")
        out.append((k, _arg_bytes(v)))
    return tuple(out)


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    for line in stream:
        yield line[:-1] if line.endswith(b"\n") else line


def from_lines(args: argparse.Namespace, stream: BinaryIO,
               headers: tuple[tuple[str, bytes | None], ...]) -> Iterator[admin.NewMessage]:
    sep = _arg_bytes(args.key_separator) if args.key_separator else None
    fixed_key = None if args.key is None else _arg_bytes(args.key)
    for line in read_lines(stream):
        key = fixed_key
        value = line
        if sep is not None:
            k, found, v = line.partition(sep)
            key, value = (k, v) if found else (None, line)
        yield admin.NewMessage(value, key, headers, args.partition)


def from_json(args: argparse.Namespace, stream: BinaryIO,
              headers: tuple[tuple[str, bytes | None], ...]) -> Iterator[admin.NewMessage]:
    for n, line in enumerate(read_lines(stream), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            got = tuple((h["key"], admin.decode_bytes(h.get("value"))) for h in rec.get("headers") or [])
            partition = args.partition if args.partition is not None else rec.get("partition")
            yield admin.NewMessage(admin.decode_bytes(rec.get("value")), admin.decode_bytes(rec.get("key")),
                                   got + headers, partition)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise UsageError(f"stdin line {n} is not a JSON record: {e}") from None


def run(args: argparse.Namespace, s: admin.Session) -> int:
    topic = args.topic or args.topic_arg
    if not topic:
        raise UsageError("give the topic: kbroker produce TOPIC (or --topic)")
    headers = headers_of(args.header)
    messages: Any
    if args.value is not None or args.null_value:
        key = None if args.key is None else _arg_bytes(args.key)
        values: list[bytes | None] = [_arg_bytes(v) for v in args.value or []]
        if args.null_value:
            values.append(None)
        messages = [admin.NewMessage(v, key, headers, args.partition) for v in values]
    elif args.input == "json":
        messages = from_json(args, sys.stdin.buffer, headers)
    else:
        messages = from_lines(args, sys.stdin.buffer, headers)
    progress = Progress(f"produce {topic}")
    try:
        results = admin.produce(s, topic, messages, acks=args.acks, compression=args.compression,
                                on_sent=lambda n: progress.update(n) if n % 1000 == 0 else None)
    finally:
        progress.done()
    if args.output == "json":
        for r in results:
            emit_json({"topic": r.topic, "partition": r.partition, "offset": r.offset, "timestamp": r.timestamp})
    else:
        parts = sorted({r.partition for r in results})
        print(f"Produced {len(results)} message(s) to {topic}"
              + (f" (partition{'s' if len(parts) > 1 else ''} {', '.join(map(str, parts))})" if parts else "") + ".",
              file=sys.stderr)
    return 0
