"""Command line: ``kbroker serve [PROPERTIES_FILE] [--override KEY=VALUE ...]`` runs the broker; the
client commands for any Kafka-compatible broker (``topics``, ``produce``, ``consume``, ``groups``,
``configs``, ``cluster``) are registered from ``kbroker.commands``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from kbroker import commands
from kbroker.config import BrokerConfig, ConfigError, StartupError

if TYPE_CHECKING:
    from kbroker.broker import Broker
    from kbroker.web.listener import HttpListener

log = logging.getLogger("kbroker")


async def serve(config: BrokerConfig, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Run the broker until SIGTERM/SIGINT or until ``stop`` is set (an embedder's way to end it,
    e.g. kbroker.testing's broker thread, where signals cannot be used)."""
    from kbroker.broker import Broker
    from kbroker.server import bind_ephemeral, start_server

    lst = config.listener
    sock = None
    if lst.port == 0:  # an OS-chosen port: bound before the broker is built, so that it advertises the real one
        sock = bind_ephemeral(lst.host)
        config.resolve_port(sock.getsockname()[1])
    try:
        broker = Broker(config)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    server = await start_server(broker.services, broker.connections, lst.host, lst.port, sock=sock)
    http = await _start_http(config, broker)
    broker.start_background()
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    port = server.sockets[0].getsockname()[1]
    adv = broker.identity.advertised
    log.info("kbroker ready on %s:%d (advertised %s:%d, node %d, data %s)", lst.host, port, adv.host,
             adv.port if adv.port else port, broker.identity.node_id, broker.data_dir)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await broker.controlled_shutdown()
        server.close()
        if http is not None:
            await http.stop()
        await broker.stop()
        try:
            await asyncio.wait_for(server.wait_closed(), 2)
        except TimeoutError:
            pass
        log.info("stopped cleanly")


async def _start_http(config: BrokerConfig, broker: Broker) -> HttpListener | None:
    """The HTTP listener of ``http.listeners``: ``/metrics`` and the web console at ``/`` (kbroker.console,
    a client of this broker's own Kafka listener); None when unset (aiohttp is loaded only then)."""
    lst = config.http_listener
    if lst is None:
        return None
    from kbroker import console
    from kbroker.web.listener import start_http

    kafka = config.listener  # the console is a client of this broker's own Kafka listener
    host = "127.0.0.1" if kafka.host in ("", "0.0.0.0", "::") else kafka.host
    return await start_http(lst.host, lst.port, broker.metrics_registry(),
                            setups=[console.setup(bootstrap=f"{host}:{kafka.port}",
                                                  totals=broker.metrics.traffic.totals)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="kbroker", description="A Kafka-protocol broker in Python.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve", help="run the broker")
    sp.add_argument("properties", nargs="?", help="Kafka-style .properties file")
    sp.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="set a config key (repeatable)")
    sp.add_argument("--log-level", default="INFO")
    commands.register(sub)
    args = ap.parse_args(argv)
    if args.cmd != "serve":
        from kbroker.commands.common import run

        return run(args, args.handler, args.cmd_name)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        config = BrokerConfig.load(args.properties, args.override)
        config.listener  # validate early  # noqa: B018
        config.http_listener  # noqa: B018
    except (ConfigError, OSError) as e:
        print(f"kbroker: {e}", file=sys.stderr)
        return 2
    try:
        import uvloop  # type: ignore[import-not-found]  # optional
    except ImportError:
        uvloop = None
    if uvloop is not None:
        uvloop.install()
    try:
        asyncio.run(serve(config))
    except (ConfigError, StartupError) as e:  # found while starting (the cluster's data, ZooKeeper)
        print(f"kbroker: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
