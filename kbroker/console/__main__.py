"""The console on its own aiohttp server, against any Kafka-compatible cluster:

    python -m kbroker.console --bootstrap-server 127.0.0.1:9092 --http 127.0.0.1:8080

Port 0 takes a free port; the address it listens on is printed as ``console ready on http://H:P/``
(tests read that line). Ctrl-C or SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiohttp import web

from kbroker.console import add_routes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m kbroker.console",
                                description="kbroker's web console, served on its own against any Kafka cluster.")
    p.add_argument("--bootstrap-server", default="127.0.0.1:9092", metavar="HOST:PORT",
                   help="the cluster to show (default 127.0.0.1:9092)")
    p.add_argument("--http", default="127.0.0.1:8080", metavar="HOST:PORT",
                   help="where the console listens (default 127.0.0.1:8080; port 0 picks a free one)")
    return p.parse_args(argv)


async def serve(bootstrap: str, host: str, port: int) -> None:
    app = web.Application()
    add_routes(app, bootstrap=bootstrap)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0] if runner.addresses else (host, port)
    print(f"console ready on http://{bound[0]}:{bound[1]}/ (cluster {bootstrap})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host, sep, port = args.http.rpartition(":")
    if not sep or not port.isdigit():
        print(f"--http {args.http!r} is not HOST:PORT", file=sys.stderr)
        return 2
    asyncio.run(serve(args.bootstrap_server, host or "127.0.0.1", int(port)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
