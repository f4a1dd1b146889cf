"""The broker (or cluster) a transaction scenario runs against, behind one small interface, so that the
same scenario runs on kbroker and on the reference Apache Kafka:

- ``kbroker``: one kbroker process (tests/support/brokerproc.py), or ``brokers=3`` a kbroker cluster
  (compat/cluster/launcher.py Cluster, ZooKeeper included);
- ``kafka``: one reference Kafka KRaft node (compat/kafka_ref/launcher.py), or ``brokers=3`` a Kafka
  cluster (compat/cluster/kafka.py).

Each target gives ``bootstrap``, ``create_topic``, ``broker_ids``, ``kill(id)`` (SIGKILL) and
``restart(id)`` (same port and data directory; Kafka's JVM is started again on its formatted log
directory, without formatting it anew), ``leaders(topic)`` and ``txn_coordinator(txn_id)`` (the leader
of the ``__transaction_state`` partition that ``transactional.id`` hashes to). Both are configured with
the same Kafka config names (``overrides``). Nothing here checks anything.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from compat.cluster.launcher import ClusterMetadata

TXN_LOG_PARTITIONS = 50


def java_string_hash(s: str) -> int:
    """Java's ``String.hashCode`` (UTF-16 code units, int32 overflow)."""
    data = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def txn_partition(txn_id: str, partitions: int = TXN_LOG_PARTITIONS) -> int:
    """The ``__transaction_state`` partition of ``txn_id`` (Kafka: abs(hashCode) % partitions; abs of
    Integer.MIN_VALUE is taken as 0 there, as Utils.abs does)."""
    h = java_string_hash(txn_id)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


class Target:
    """What a scenario needs of a broker or cluster."""

    kind = "?"

    def __init__(self, workdir: Path, brokers: int, overrides: dict[str, str]) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.brokers = brokers
        self.overrides = dict(overrides)
        self.meta: Any = None  # a compat.cluster.launcher.ClusterMetadata once started

    @property
    def bootstrap(self) -> str:
        return self.meta.bootstrap

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.brokers} broker{'s' if self.brokers > 1 else ''})"

    def create_topic(self, topic: str, partitions: int, replication_factor: int = 1,
                     config: dict[str, str] | None = None) -> None:
        self.meta.create_topic(topic, partitions, replication_factor, config)
        if replication_factor > 1:
            self.meta.wait_isr_full(topic)

    def broker_ids(self) -> list[int]:
        return list(range(1, self.brokers + 1))

    def leaders(self, topic: str) -> dict[int, int]:
        return self.meta.leaders(topic)

    def txn_coordinator(self, txn_id: str) -> int:
        """The broker leading ``txn_id``'s partition of ``__transaction_state`` (it must exist: a
        transactional producer has initialised once)."""
        return self.meta.leaders("__transaction_state")[txn_partition(txn_id)]

    def wait_serving(self, timeout: float = 120) -> None:
        self.meta.wait_brokers(set(self.broker_ids()), timeout)

    def start(self) -> Target:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def kill(self, broker_id: int) -> None:
        raise NotImplementedError

    def restart(self, broker_id: int) -> None:
        raise NotImplementedError

    def log(self, broker_id: int) -> str:
        raise NotImplementedError

    def __enter__(self) -> Target:
        if self.meta is not None:  # started already (tests/support/txn_target.py start_target)
            return self
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


class KbrokerTarget(Target):
    kind = "kbroker"

    def start(self) -> KbrokerTarget:
        from compat.cluster.launcher import Cluster

        self.cluster = Cluster(self.workdir / "kbroker", brokers=self.brokers, overrides=self.overrides,
                               zookeeper=self.brokers > 1)
        self.meta = self.cluster
        self.cluster.start()
        return self

    def stop(self) -> None:
        if self.meta is not None:
            self.cluster.stop()

    def kill(self, broker_id: int) -> None:
        self.cluster.kill(broker_id)

    def restart(self, broker_id: int, timeout: float = 90) -> None:
        """Starts the broker again and waits until this run of it is serving: a broker restarted
        before its old ZooKeeper session expired first waits (up to the session timeout) for the old
        registration to go away, and meanwhile ZooKeeper still shows it alive, leading and in every ISR,
        so a wait on the metadata alone would send the next clients to a broker not yet serving."""
        log_path = self.cluster.brokers[broker_id].log_path
        before = _ready_lines(log_path)
        self.cluster.restart(broker_id)
        deadline = time.monotonic() + timeout
        while _ready_lines(log_path) <= before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"broker {broker_id} not serving {timeout}s after its restart:\n"
                                   f"{self.cluster.log(broker_id)}")
            time.sleep(0.2)

    def log(self, broker_id: int) -> str:
        return self.cluster.log(broker_id)


def _ready_lines(log_path: Path) -> int:
    """How many times a broker logging to ``log_path`` said it was ready (its log is appended to on restarts)."""
    try:
        return log_path.read_text(errors="replace").count("kbroker ready on ")
    except OSError:
        return 0


class KafkaTarget(Target):
    kind = "kafka"

    def start(self) -> KafkaTarget:
        from compat.cluster.kafka import KafkaCluster
        from compat.kafka_ref.launcher import KafkaRef

        if self.brokers == 1:
            self.node = KafkaRef(overrides=self.overrides, workdir=self.workdir / "kafka-1").start()
            self.nodes = {1: self.node}
            self.meta = _Meta(self.node.bootstrap)
        else:
            self.cluster = KafkaCluster(self.workdir / "kafka", nodes=self.brokers, overrides=self.overrides)
            self.cluster.start()
            self.nodes = self.cluster.nodes
            self.meta = self.cluster
        return self

    def stop(self) -> None:
        for n in getattr(self, "nodes", {}).values():
            n.terminate()
        for n in getattr(self, "nodes", {}).values():
            try:
                n.stop(timeout=30)
            except Exception:  # noqa: BLE001 - cleanup must reach every process
                if n.proc is not None:
                    n.proc.kill()

    def kill(self, broker_id: int) -> None:
        n = self.nodes[broker_id]
        if n.proc is not None:
            n.proc.kill()
            n.proc.wait()

    def restart(self, broker_id: int) -> None:
        """Starts the JVM again on the node's existing (formatted) log directory."""
        from compat.kafka_ref.launcher import fetch_jars

        n = self.nodes[broker_id]
        if n.proc is not None and n.proc.poll() is None:
            self.kill(broker_id)
        java = shutil.which("java")
        assert java is not None
        log = open(n.dir / "kafka.log", "ab")
        n.proc = subprocess.Popen([java, f"-Xmx{n.heap}", f"-Xms{n.heap}", "-XX:+UseG1GC", "-cp",
                                   f"{fetch_jars()}/*", "kafka.Kafka", str(n.dir / "server.properties")],
                                  stdout=log, stderr=subprocess.STDOUT)
        log.close()
        n.wait_ready(120)
        self.wait_serving()

    def log(self, broker_id: int) -> str:
        try:
            return (self.nodes[broker_id].dir / "kafka.log").read_text(errors="replace")[-5000:]
        except OSError:
            return ""


def _Meta(bootstrap: str):  # noqa: N802 - a factory standing for a class
    from compat.cluster.launcher import ClusterMetadata

    class Meta(ClusterMetadata):
        @property
        def bootstrap(self) -> str:
            return bootstrap

    return Meta()


def make(kind: str, workdir: Path, brokers: int = 1, overrides: dict[str, str] | None = None) -> Target:
    """A target not yet started: ``kind`` is ``kbroker`` or ``kafka``."""
    cls = {"kbroker": KbrokerTarget, "kafka": KafkaTarget}[kind]
    return cls(workdir, brokers, dict(overrides or {}))


# Polls a predicate until it is truthy (exceptions count as not yet; a broker may be down between
# polls); TimeoutError after the timeout. The cluster launcher's, shared.
wait = ClusterMetadata.wait
