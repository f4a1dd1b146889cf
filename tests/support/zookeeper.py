"""A real Apache ZooKeeper, for the cluster tests, compat/cluster and compat/faults: one standalone
server on a free loopback port (``ZooKeeperProcess``), or an ensemble of several servers
(``ZooKeeperEnsemble``, three by default) that keeps serving while a majority is up.

Runs the jar of Debian's ``zookeeper`` package (installed by scripts/install-deps.sh): standalone with
``java ... ZooKeeperServerMain PORT DATADIR`` (no config file), an ensemble member with
``QuorumPeerMain zoo.cfg`` and its ``myid``.  Four-letter commands are off by default, so readiness is
a real client session (kazoo).  ``prefix`` runs a server under another command, e.g.
``["ip", "netns", "exec", "ns1"]`` to put it in a network namespace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.brokerproc import free_port

ZOOKEEPER_JAR = Path(os.environ.get("KBROKER_ZOOKEEPER_JAR", "/usr/share/java/zookeeper.jar"))


def zookeeper_available() -> str | None:
    """None when ZooKeeper can run here, else the reason it cannot."""
    if shutil.which("java") is None:
        return "java is not installed"
    if not ZOOKEEPER_JAR.exists():
        return f"ZooKeeper is not installed ({ZOOKEEPER_JAR}; scripts/install-deps.sh installs it)"
    try:
        import kazoo  # noqa: F401
    except ImportError:
        return "kazoo is not installed (pip install 'kbroker[cluster]')"
    return None


def require_zookeeper() -> None:
    """Skip when ZooKeeper cannot run here, except under CI where that fails."""
    import pytest

    from tests.support.tools import IN_CI

    why = zookeeper_available()
    if why is not None:
        if IN_CI:
            pytest.fail(f"{why}; required under CI=true")
        pytest.skip(why)


_JAVA = ["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.jmx.log4j.disable=true",
         "-cp", str(ZOOKEEPER_JAR)]


def wait_session(connect: str, timeout: float, alive: Callable[[], str | None] = lambda: None,
                 write: bool = False) -> None:
    """Waits until a kazoo session to ``connect`` opens (and, with ``write``, a znode can be created,
    which needs a quorum); ``alive()`` returning a reason aborts the wait."""
    from kazoo.client import KazooClient
    from kazoo.exceptions import KazooException
    from kazoo.handlers.threading import KazooTimeoutError

    deadline = time.monotonic() + timeout
    while True:
        dead = alive()
        if dead is not None:
            raise RuntimeError(dead)
        client = KazooClient(hosts=connect, timeout=2.0)
        try:
            client.start(timeout=2.0)
            client.get_children("/")
            if write:
                path = client.create("/zookeeper-ready-", b"", ephemeral=True, sequence=True)
                client.delete(path)
            return
        except (KazooTimeoutError, KazooException):
            if time.monotonic() > deadline:
                raise RuntimeError(f"ZooKeeper not ready on {connect} after {timeout}s") from None
        finally:
            client.stop()
            client.close()
        time.sleep(0.2)


def expire_session(zookeeper: object, client: object, timeout: float = 30.0) -> None:
    """Makes ZooKeeper expire ``client``'s session (a kazoo client), the way a pause past the session
    timeout would: another connection takes the session over and closes it; returns once ``client``
    runs a new session.  ``zookeeper`` is a server or ensemble (its ``connect``) or a connect string."""
    from kazoo.client import KazooClient

    from tests.support.waiting import wait_for

    connect = zookeeper if isinstance(zookeeper, str) else zookeeper.connect  # type: ignore[attr-defined]
    session_id, password = client.client_id  # type: ignore[attr-defined]
    clone = KazooClient(hosts=connect, client_id=(session_id, password))
    clone.start(timeout=10)
    clone.stop()
    clone.close()
    wait_for(lambda: client.connected and client.client_id[0] != session_id,  # type: ignore[attr-defined]
             timeout=timeout, what="a new ZooKeeper session")


class _Server:
    """One ZooKeeper JVM: ``start`` / ``stop`` (SIGTERM) / ``kill`` (SIGKILL) / ``pause`` / ``resume``."""

    def __init__(self, data_dir: Path, host: str, port: int, prefix: list[str] | None) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.prefix = list(prefix or [])
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "zookeeper.log"

    @property
    def connect(self) -> str:
        return f"{self.host}:{self.port}"

    def _main(self) -> list[str]:
        raise NotImplementedError

    def _spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([*self.prefix, *_JAVA, *self._main()], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def _exited(self) -> str | None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            return f"ZooKeeper exited with {code}: {self.log_path}"
        return None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pause(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None



class ZooKeeperProcess(_Server):
    """A standalone server: ``start()`` waits until a client session opens; ``stop()``; ``kill()`` (SIGKILL)."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1",
                 prefix: list[str] | None = None) -> None:
        super().__init__(data_dir, host, port or free_port(), prefix)

    def _main(self) -> list[str]:
        return ["org.apache.zookeeper.server.ZooKeeperServerMain", str(self.port), str(self.data_dir / "data")]

    def start(self, timeout: float = 30.0) -> ZooKeeperProcess:
        self._spawn()
        wait_session(self.connect, timeout, self._exited)
        return self

    def __enter__(self) -> ZooKeeperProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EnsembleMember(_Server):
    """Server ``myid`` of an ensemble (``QuorumPeerMain`` with its own zoo.cfg)."""

    def __init__(self, data_dir: Path, myid: int, host: str, port: int, prefix: list[str] | None,
                 servers: list[str]) -> None:
        super().__init__(data_dir, host, port, prefix)
        self.myid = myid
        self.servers = servers

    def _main(self) -> list[str]:
        data = self.data_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "myid").write_text(f"{self.myid}\n")
        cfg = self.data_dir / "zoo.cfg"
        cfg.write_text("\n".join([
            "tickTime=1000", "initLimit=20", "syncLimit=5", f"dataDir={data}",
            f"clientPort={self.port}", f"clientPortAddress={self.host}", "admin.enableServer=false",
            "reconfigEnabled=false", "standaloneEnabled=false", *self.servers, ""]))
        return ["org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)]

    def start(self, timeout: float = 60.0) -> EnsembleMember:
        """Starts this member and waits until it serves sessions (it has joined a quorum)."""
        self._spawn()
        wait_session(self.connect, timeout, self._exited)
        return self


class ZooKeeperEnsemble:
    """``size`` servers (3 by default) forming one ZooKeeper service; ``hosts[i]`` is the address
    server i binds (default all 127.0.0.1, each on its own free ports), ``prefixes[i]`` its command
    prefix.  ``connect`` is the comma-separated connect string brokers use (append a chroot as
    ``connect + "/kafka"``).  ``members[i]`` can be stopped, killed, paused and started alone."""

    def __init__(self, data_dir: Path, size: int = 3, hosts: list[str] | None = None,
                 prefixes: list[list[str]] | None = None) -> None:
        hosts = hosts or ["127.0.0.1"] * size
        if len(hosts) != size:
            raise ValueError("one host per server")
        ports = [(free_port(), free_port(), free_port()) for _ in range(size)]
        servers = [f"server.{i + 1}={hosts[i]}:{ports[i][1]}:{ports[i][2]}" for i in range(size)]
        self.members = [EnsembleMember(Path(data_dir) / f"zk-{i + 1}", i + 1, hosts[i], ports[i][0],
                                       (prefixes or [[]] * size)[i], servers) for i in range(size)]

    @property
    def connect(self) -> str:
        return ",".join(m.connect for m in self.members)

    def start(self, timeout: float = 90.0) -> ZooKeeperEnsemble:
        for m in self.members:
            m._spawn()
        wait_session(self.connect, timeout, write=True)
        return self

    def stop(self) -> None:
        for m in self.members:
            m.stop()

    def kill(self) -> None:
        for m in self.members:
            m.kill()

    def __enter__(self) -> ZooKeeperEnsemble:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
