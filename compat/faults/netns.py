"""The campaign's private network: one network namespace per server and one for the clients, each
with a veth pair to a bridge in a hub namespace, addresses of ``SUBNET`` only inside those
namespaces (the root namespace gets nothing), and nftables cuts inside a server's namespace.

All names start with ``PREFIX``; ``teardown()`` kills every process left in them (SIGCONT first, so
a paused one dies too) and deletes them, and runs at the start as well, for what a crashed earlier
run left behind. The names are fixed: ``exclusive()`` makes the runs on one machine (the campaign,
tests/foreign/test_netns_fencing.py) take turns. ``inside(ns)`` puts the calling thread in a
namespace, so a test in the root namespace can be a client of the servers. Needs root, ``ip``
(iproute2) and ``nft``."""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PREFIX = "kbf-"
SUBNET = "10.213.0"
HUB = PREFIX + "hub"
CLIENT = PREFIX + "client"
TABLE = "kbfault"
LOCK = "/run/lock/kbroker-kbf-netns.lock"


def unavailable() -> str | None:
    """None when the network can be built here, else why not."""
    if os.geteuid() != 0:
        return "the fault campaign needs root (network namespaces, nftables)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/install-deps.sh installs iproute2 and nftables)"
    probe = PREFIX + "probe"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"ip netns add fails here: {r.stderr.strip()}"
    try:
        r = subprocess.run(["ip", "netns", "exec", probe, "nft", "list", "ruleset"], capture_output=True, text=True)
        if r.returncode != 0:
            return f"nft does not work in a network namespace: {r.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def exec_prefix(ns: str) -> list[str]:
    """Runs a command in namespace ``ns`` (``ip netns exec`` execs it: the pid stays the command's)."""
    return ["ip", "netns", "exec", ns]


@dataclass(frozen=True)
class Node:
    ns: str
    ip: str


class Network:
    """ZooKeeper nodes zk1..zkN at .1.., brokers b1..bN at .11.., the clients at .100."""

    def __init__(self, brokers: int = 3, zookeepers: int = 3) -> None:
        self.zk = [Node(f"{PREFIX}zk{i}", f"{SUBNET}.{i}") for i in range(1, zookeepers + 1)]
        self.brokers = {i: Node(f"{PREFIX}b{i}", f"{SUBNET}.{10 + i}") for i in range(1, brokers + 1)}
        self.client = Node(CLIENT, f"{SUBNET}.100")

    def nodes(self) -> list[Node]:
        return [*self.zk, *self.brokers.values(), self.client]

    def setup(self) -> None:
        teardown()
        run("ip", "netns", "add", HUB)
        run("ip", "-n", HUB, "link", "set", "lo", "up")
        run("ip", "-n", HUB, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", HUB, "link", "set", "br0", "up")
        for node in self.nodes():
            short = node.ns[len(PREFIX):]
            run("ip", "netns", "add", node.ns)
            run("ip", "-n", node.ns, "link", "set", "lo", "up")
            run("ip", "-n", HUB, "link", "add", f"v-{short}", "type", "veth", "peer", "name", "eth0",
                "netns", node.ns)
            run("ip", "-n", HUB, "link", "set", f"v-{short}", "master", "br0", "up")
            run("ip", "-n", node.ns, "addr", "add", f"{node.ip}/24", "dev", "eth0")
            run("ip", "-n", node.ns, "link", "set", "eth0", "up")
        # nftables: one table per server namespace, empty until a cut
        for node in [*self.zk, *self.brokers.values()]:
            nft(node.ns, f"add table inet {TABLE}")
            nft(node.ns, f"add chain inet {TABLE} input {{ type filter hook input priority 0 ; policy accept ; }}")
            nft(node.ns, f"add chain inet {TABLE} output {{ type filter hook output priority 0 ; policy accept ; }}")

    # -- cuts --------------------------------------------------------------------------------------

    def cut(self, ns: str, peers: list[str]) -> None:
        """Drops every packet between namespace ``ns`` and the addresses ``peers`` (both ways, at
        ``ns``'s end)."""
        addrs = ", ".join(peers)
        nft(ns, f"add rule inet {TABLE} input ip saddr {{ {addrs} }} drop")
        nft(ns, f"add rule inet {TABLE} output ip daddr {{ {addrs} }} drop")

    def isolate(self, ns: str) -> None:
        """Drops every packet in and out of namespace ``ns``'s link to the hub (its loopback stays)."""
        nft(ns, f'add rule inet {TABLE} input iifname "eth0" drop')
        nft(ns, f'add rule inet {TABLE} output oifname "eth0" drop')

    def heal(self, ns: str) -> None:
        nft(ns, f"flush chain inet {TABLE} input")
        nft(ns, f"flush chain inet {TABLE} output")


def nft(ns: str, rule: str) -> None:
    run("ip", "netns", "exec", ns, "nft", rule)


@contextmanager
def exclusive(timeout: float) -> Iterator[None]:
    """The namespaces' names are fixed, so one user at a time on the machine: an exclusive lock
    (``LOCK``, released when the holder exits, however it exits) around building, using and
    tearing down the network. ``TimeoutError`` when another run still holds it after ``timeout``
    seconds; the teardown at the start of ``Network.setup`` then only ever removes leftovers of a
    run that has died."""
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another run has held the {PREFIX}* network namespaces ({LOCK}) "
                                       f"for more than {timeout:g}s") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


_CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def inside(ns: str) -> Iterator[None]:
    """The calling thread in network namespace ``ns`` meanwhile, then back in its own: the sockets
    it opens there, and the threads and processes it starts there, stay in ``ns`` (how a test in the
    root namespace drives the namespaced cluster as a client, without an address of its own)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def ours() -> list[str]:
    r = run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.split() and line.split()[0].startswith(PREFIX)]


def kill_in(ns: str) -> None:
    r = run("ip", "netns", "pids", ns, check=False)
    me = {os.getpid(), os.getppid()}
    for sig in (signal.SIGCONT, signal.SIGKILL):
        for pid in r.stdout.split():
            if int(pid) in me:
                continue
            try:
                os.kill(int(pid), sig)
            except ProcessLookupError:
                pass


def teardown() -> list[str]:
    """Kills the processes in every namespace of ours and deletes them; returns their names."""
    names = ours()
    for ns in names:
        if ns != CLIENT:
            kill_in(ns)
    for ns in names:
        if ns == CLIENT:
            kill_in(ns)
    deadline = time.monotonic() + 10
    for ns in names:
        while run("ip", "netns", "pids", ns, check=False).stdout.split() and time.monotonic() < deadline:
            time.sleep(0.1)
        run("ip", "netns", "del", ns, check=False)
    return names
