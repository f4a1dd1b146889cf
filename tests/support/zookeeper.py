"""A real Apache ZooKeeper on a free loopback port, for the cluster tests and compat/cluster.

Runs the jar of Debian's ``zookeeper`` package (installed by scripts/install-deps.sh) with
``java ... ZooKeeperServerMain PORT DATADIR`` (standalone, no config file).  Four-letter commands are
off by default, so readiness is a real client session (kazoo)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
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


class ZooKeeperProcess:
    """``start()`` waits until a client session opens; ``stop()``; ``kill()`` (SIGKILL)."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "zookeeper.log"

    @property
    def connect(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ZooKeeperProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = ["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false",
               "-Dzookeeper.jmx.log4j.disable=true", "-cp", str(ZOOKEEPER_JAR),
               "org.apache.zookeeper.server.ZooKeeperServerMain", str(self.port), str(self.data_dir / "data")]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        from kazoo.client import KazooClient
        from kazoo.handlers.threading import KazooTimeoutError

        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited with {self.proc.returncode}: {self.log_path}")
            client = KazooClient(hosts=self.connect, timeout=2.0)
            try:
                client.start(timeout=2.0)
                client.get_children("/")
                return
            except KazooTimeoutError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ZooKeeper not ready on {self.connect} after {timeout}s") from None
            finally:
                client.stop()
                client.close()
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
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

    def __enter__(self) -> ZooKeeperProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
