"""One Kafka Connect distributed worker (``ConnectDistributed``) on loopback, and its REST API.

The worker's properties (written to ``<workdir>/worker.properties``): its group and internal topics
(config, offset, status, replication factor 1) named after a tag, String converters,
``exactly.once.source.support=enabled``, sink consumers ``read_committed``, a 6 s session timeout (a
killed worker leaves the group soon) and ``scheduled.rebalance.max.delay.ms=0`` (a restarted worker
gets the lost connectors at once, not after the 5 minute default). Its log is ``<workdir>/worker.log``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from compat.streams import java


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    def __init__(self, bootstrap: str, tag: str, workdir: Path, log_level: str = "warn") -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.tag = tag
        workdir.mkdir(parents=True, exist_ok=True)
        props = {
            "bootstrap.servers": bootstrap,
            "group.id": f"connect-{tag}",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "config.storage.topic": f"connect-configs-{tag}",
            "offset.storage.topic": f"connect-offsets-{tag}",
            "status.storage.topic": f"connect-status-{tag}",
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "status.storage.replication.factor": "1",
            "offset.storage.partitions": "5",
            "status.storage.partitions": "1",
            "exactly.once.source.support": "enabled",
            "consumer.isolation.level": "read_committed",
            "offset.flush.interval.ms": "500",
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "1000",
            "scheduled.rebalance.max.delay.ms": "0",
            "listeners": f"http://127.0.0.1:{self.port}",
            "rest.advertised.host.name": "127.0.0.1",
            "rest.advertised.port": str(self.port),
        }
        self.config = workdir / "worker.properties"
        self.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        self.log = workdir / "worker.log"
        self.cmd = ["java", "-Xmx512m", "-XX:+UseSerialGC", f"-Dorg.slf4j.simpleLogger.defaultLogLevel={log_level}",
                    "-Dorg.slf4j.simpleLogger.logFile=System.err", "-cp", java.connect_classpath(),
                    "org.apache.kafka.connect.cli.ConnectDistributed", str(self.config)]
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Worker:
        """Starts the JVM and waits until its REST API answers."""
        self.starts += 1
        with open(self.log, "ab") as f:
            f.write(f"---- start {self.starts}\n".encode())
            f.flush()
            self.proc = subprocess.Popen(self.cmd, stdout=f, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                self.request("GET", "/connectors")
                return self
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the Connect worker's REST API did not answer\n{self.log_tail()}") from None
                time.sleep(0.5)

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"the Connect worker is not running\n{self.log_tail()}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self, timeout: float = 60) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
        return json.loads(text) if text else None

    def put_connector(self, name: str, config: dict[str, str], timeout: float = 60) -> None:
        """PUT /connectors/NAME/config."""
        self.request_retrying("PUT", f"/connectors/{name}/config", config, timeout=timeout)

    def request_retrying(self, method: str, path: str, body: dict | None = None, timeout: float = 60,
                         again: tuple[int, ...] = (409,)):
        """``request``, asked again while the worker answers a status in ``again`` (409: a rebalance
        under way; 404 for a connector a just-started worker has not read from its config topic yet)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.request(method, path, body)
            except urllib.error.HTTPError as e:
                detail = e.read().decode(errors="replace")
                if e.code not in again or time.monotonic() > deadline:
                    raise RuntimeError(f"{method} {path}: {e.code} {detail}") from None
                time.sleep(0.5)

    def status(self, name: str) -> tuple[str, list[str]]:
        """The connector's state and its tasks' states ('' while unknown)."""
        try:
            s = self.request("GET", f"/connectors/{name}/status")
        except urllib.error.HTTPError:
            return "", []
        return s["connector"]["state"], [t["state"] for t in s.get("tasks", [])]

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""
