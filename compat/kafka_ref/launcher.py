"""Run the reference Apache Kafka (single KRaft node, broker+controller in one JVM)
from Maven Central jars, for side-by-side runs and the benchmark.

    python compat/kafka_ref/launcher.py fetch     # download the jars into compat/.cache/kafka-ref/
    python compat/kafka_ref/launcher.py run PORT  # run a broker in the foreground

The jars are resolved by Maven from compat/kafka_ref/pom.xml (Kafka's version is
pinned there) and cached, so only the first call needs the registry.  Several of these
nodes in one quorum make a cluster: compat/cluster/kafka.py.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".cache" / "kafka-ref"
JARS = CACHE / "jars"


def fetch_jars() -> Path:
    # the marker holds the pom's digest: a dependency added to the pom fetches again
    marker = JARS / ".complete"
    digest = hashlib.sha256((HERE / "pom.xml").read_bytes()).hexdigest()
    if marker.exists() and marker.read_text().strip() == digest:
        return JARS
    JARS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mvn", "-q", "-B", "-f", str(HERE / "pom.xml"), "dependency:copy-dependencies",
                    f"-DoutputDirectory={JARS}"], check=True)
    marker.write_text(digest + "\n")
    return JARS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_cluster_id() -> str:
    """A random KRaft cluster id (what ``kafka-storage random-uuid`` prints)."""
    cluster = "-"
    while not cluster[0].isalnum():  # an id starting with '-' would be read as an option
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster


class KafkaRef:
    """A reference Kafka broker on loopback.  ``start()`` returns once it answers.

    Alone it is a quorum of one.  As a node of a cluster (compat.cluster.kafka) it gets its
    ``node_id``, its own ``workdir``, and the cluster's ``voters`` and id before ``launch``."""

    def __init__(self, port: int | None = None, overrides: dict[str, str] | None = None,
                 heap: str = "1g", node_id: int = 1, workdir: Path | None = None) -> None:
        self.port = port or _free_port()
        self.controller_port = _free_port()
        self.node_id = node_id
        self.voters = f"{node_id}@127.0.0.1:{self.controller_port}"
        self.overrides = overrides or {}
        self.heap = heap
        if workdir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="kafka-ref-"))
        else:
            self.dir = Path(workdir)
            self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> str:
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.dir / "data"),
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        props.update(self.overrides)
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def start(self, timeout: float = 90) -> KafkaRef:
        self.launch(new_cluster_id())
        self.wait_ready(timeout)
        return self

    def launch(self, cluster_id: str) -> None:
        """Formats the log directory for ``cluster_id`` and starts the JVM (does not wait)."""
        jars = fetch_jars()
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is not installed")
        cfg = self.dir / "server.properties"
        cfg.write_text(self._properties())
        cp = f"{jars}/*"
        subprocess.run([java, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(cfg)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = open(self.dir / "kafka.log", "wb")
        self.proc = subprocess.Popen([java, f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC", "-cp", cp,
                                      "kafka.Kafka", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_ready(self, timeout: float = 90) -> None:
        """Until the client port answers; raises if the JVM exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"Kafka exited: {(self.dir / 'kafka.log').read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("Kafka did not start in time")

    def terminate(self) -> None:
        """SIGTERM without waiting (``stop`` waits)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("fetch", "run"):
        print(__doc__)
        return 2
    if argv[0] == "fetch":
        print(fetch_jars())
        return 0
    k = KafkaRef(port=int(argv[1]) if len(argv) > 1 else 9092).start()
    print(f"Apache Kafka ready on {k.bootstrap} (data in {k.dir}); Ctrl-C stops it", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        k.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
