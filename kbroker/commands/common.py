"""What every client command shares: the ``--bootstrap-server``/``--output`` options, running a
command against a ``kbroker.admin`` session with readable errors and exit codes, tables, JSON and a
progress line that shows only on a terminal."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from kbroker.admin import AdminError, Session

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"

Handler = Callable[[argparse.Namespace, Session], int]


class UsageError(AdminError):
    """Arguments that parse but do not make sense together (exit 2, like argparse)."""


def add_common(p: argparse.ArgumentParser, output: bool = True) -> None:
    p.add_argument("--bootstrap-server", default=DEFAULT_BOOTSTRAP, metavar="HOST:PORT",
                   help="a broker of the cluster (default %(default)s)")
    p.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                   help="bound on each request (default %(default)s; connecting takes at most 5)")
    if output:
        p.add_argument("--output", "-o", choices=("table", "json"), default="table",
                       help="human table (default) or JSON")


def run(args: argparse.Namespace, handler: Handler, name: str) -> int:
    """Runs ``handler`` with a session; an ``AdminError`` prints ``kbroker NAME: message`` on stderr
    and returns 1 (2 for a usage error). The client library's own log lines are silenced: the
    command reports what failed."""
    logging.getLogger("kafka").setLevel(logging.CRITICAL + 1)
    try:
        with Session(args.bootstrap_server, request_timeout=args.timeout,
                     connect_timeout=min(5.0, args.timeout)) as s:
            return handler(args, s)
    except UsageError as e:
        print(f"kbroker {name}: {e}", file=sys.stderr)
        return 2
    except AdminError as e:
        print(f"kbroker {name}: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `kbroker consume ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        return 130


def table(rows: Sequence[Sequence[object]], out: TextIO | None = None) -> None:
    """Left-aligned columns, two spaces apart; the first row is the header."""
    out = out or sys.stdout
    cells = [[fmt(c) for c in r] for r in rows]
    if not cells:
        return
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)


def fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, list | tuple):
        return ",".join(map(str, v)) or "-"
    return str(v)


def emit_json(data: Any, pretty: bool = False, out: TextIO | None = None) -> None:
    print(json.dumps(data, indent=2 if pretty else None, sort_keys=False), file=out or sys.stdout)


def key_values(items: Sequence[str], what: str) -> dict[str, str]:
    """``k=v`` arguments (repeatable; a comma-separated ``k1=v1,k2=v2`` too when every piece has an
    ``=``, so a value such as ``compact,delete`` stays whole)."""
    out: dict[str, str] = {}
    for item in items:
        pieces = item.split(",")
        if len(pieces) > 1 and not all("=" in piece for piece in pieces):
            pieces = [item]
        for piece in pieces:
            k, sep, v = piece.partition("=")
            if not sep or not k:
                raise UsageError(f"{what} {piece!r} is not KEY=VALUE")
            out[k.strip()] = v
    return out


def names(items: Sequence[str]) -> list[str]:
    return [n.strip() for item in items for n in item.split(",") if n.strip()]


def parse_time(text: str) -> int:
    """Milliseconds since the epoch from ``1700000000000`` or an ISO datetime (UTC when it has no
    zone: the result does not depend on the machine's time zone)."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is neither milliseconds nor an ISO datetime") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


class Progress:
    """``label: n/total`` rewritten in place on stderr when stderr is a terminal; silent otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.active = self.stream.isatty()
        self.shown = False

    def update(self, done: int, total: int | None = None) -> None:
        if not self.active:
            return
        text = f"{self.label}: {done}" + (f"/{total}" if total is not None else "")
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
