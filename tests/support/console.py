"""The web console for the console's API and browser tests: ``BrokerConsole``, the one a broker serves
at ``/`` on its ``http.listeners``, and ``ConsoleProcess``, the standalone ``python -m kbroker.console``
against any broker, on a free port the console picks itself and announces."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support import ROOT
from tests.support.waiting import wait_for

READY = re.compile(r"console ready on (http://\S+/)")


class ConsoleClient:
    """Calls on a console whose root is ``url``."""

    url = ""

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
        """One JSON API call: (HTTP status, decoded body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def get(self, path: str) -> Any:
        status, body = self.api("GET", path)
        assert status == 200, (path, status, body)
        return body


class BrokerConsole(ConsoleClient):
    """The console a kbroker process serves at ``/`` on the HTTP listener it logged."""

    def __init__(self, http_port: int) -> None:
        self.url = f"http://127.0.0.1:{http_port}/"


class ConsoleProcess(ConsoleClient):
    """``start()`` waits for the 'console ready on URL' line; ``url`` is then the console's root."""

    def __init__(self, bootstrap: str, log_path: Path):
        self.bootstrap = bootstrap
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30) -> ConsoleProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kbroker.console", "--bootstrap-server", self.bootstrap,
                 "--http", "127.0.0.1:0"], stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT), env=env)

        def ready() -> str | None:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the console exited with {self.proc.returncode}:\n{self.log()}")
            m = READY.search(self.log())
            return m.group(1) if m else None

        self.url = wait_for(ready, timeout=timeout, what="the console's ready line")
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
