"""Start a real kbroker process on a free loopback port (or a given host and port, e.g. an address
inside a network namespace the broker runs in), for tests and compat runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerProcess:
    """A kbroker subprocess.  ``start()`` waits for its 'ready' line; ``stop()`` sends
    SIGTERM and waits; ``kill()`` sends SIGKILL; ``restart()`` starts it again on the
    same port and data directory."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        overrides: dict[str, str] | None = None,
        prefix: list[str] | None = None,
        host: str = "127.0.0.1",
    ):
        """``prefix`` is a command the broker runs under, e.g. ``["prlimit", "--nofile=1024:1024", "--"]``
        or ``["ip", "netns", "exec", "ns1"]`` (it must exec the broker, so that ``proc.pid`` is the
        broker's); ``host`` the address it listens on (and the readiness probe connects to)."""
        self.data_dir = Path(data_dir)
        self.prefix = list(prefix or [])
        self.host = host
        self.port = port or free_port()
        self.overrides = dict(overrides or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"kbroker-{self.port}.log"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30) -> BrokerProcess:
        args = [*self.prefix, sys.executable, "-m", "kbroker", "serve",
                "--override", f"listeners=PLAINTEXT://{self.host}:{self.port}",
                "--override", f"log.dirs={self.data_dir}"]
        for k, v in self.overrides.items():
            args += ["--override", f"{k}={v}"]
        logf = open(self.log_path, "ab")
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, cwd=str(ROOT), env=env)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kbroker exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"kbroker did not start listening within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused broker could not act on SIGTERM
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # SIGKILL ends a stopped (SIGSTOP) process too
            self.proc.wait()
            self.proc = None

    def restart(self) -> BrokerProcess:
        self.stop()
        return self.start()
