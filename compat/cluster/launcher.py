"""A ZooKeeper and N kbroker processes on loopback, each broker with its own port, data directory and
``broker.id`` (1..N), all pointed at the ZooKeeper with ``zookeeper.connect``.

    python -m compat.cluster.launcher --brokers 3 --dir /tmp/kc [--override key=value ...]

starts one, prints its bootstrap string and keeps it up until Ctrl-C or SIGTERM. From Python::

    with Cluster(workdir, brokers=3, overrides={"min.insync.replicas": "2"}) as c:
        c.create_topic("t", partitions=6, replication_factor=3)
        c.wait_isr_full("t")
        c.kill(c.leaders("t")[0]); c.restart(...)
        new_id = c.add_broker()

``zookeeper_nodes=3`` runs a ZooKeeper ensemble of that many servers instead of one standalone server
(``zk.members[i]`` can be stopped, killed, paused and started alone), ``chroot="/kafka"`` puts the
cluster under a chroot (``zookeeper.connect=h1:p1,h2:p2,h3:p3/kafka``; ``zookeeper_connect`` is the
string the brokers get).  ``zookeeper=False`` starts the brokers without ZooKeeper (``brokers`` must be 1 then: today's
single-node kbroker), which is how the harness itself is exercised before the cluster exists.
Metadata (``describe``/``leaders``) is read with confluent-kafka's AdminClient.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.brokerproc import BrokerProcess, free_port
from tests.support.zookeeper import ZooKeeperEnsemble, ZooKeeperProcess


@dataclass(frozen=True)
class PartitionState:
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    error: str | None = None


def _quiet_logger() -> logging.Logger:
    log = logging.getLogger("compat.cluster.admin")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return log


class ClusterMetadata:
    """Metadata reads and waits for any cluster with a ``bootstrap`` string: kbroker's (``Cluster``)
    and Apache Kafka's (compat.cluster.kafka.KafkaCluster)."""

    def __init__(self) -> None:
        self._admin = None
        self._lock = threading.Lock()

    @property
    def bootstrap(self) -> str:
        raise NotImplementedError

    # -- metadata --------------------------------------------------------------------------------------

    def admin(self):
        from confluent_kafka.admin import AdminClient

        with self._lock:
            if self._admin is None:
                self._admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0,
                                           "logger": _quiet_logger(), "socket.timeout.ms": 5000,
                                           "reconnect.backoff.max.ms": 1000})
            return self._admin

    def metadata(self, topic: str | None = None, timeout: float = 5):
        return self.admin().list_topics(topic, timeout=timeout)

    def broker_ids(self, timeout: float = 5) -> set[int]:
        """The brokers the metadata lists."""
        return set(self.metadata(timeout=timeout).brokers)

    def describe(self, topic: str, timeout: float = 5) -> dict[int, PartitionState]:
        """Per partition: leader (-1 when none), replicas and ISR, as the metadata has them."""
        md = self.metadata(topic, timeout).topics[topic]
        if md.error is not None:
            raise RuntimeError(f"metadata of {topic}: {md.error}")
        return {p: PartitionState(pm.leader, tuple(pm.replicas), tuple(pm.isrs),
                                  None if pm.error is None else str(pm.error))
                for p, pm in sorted(md.partitions.items())}

    def leaders(self, topic: str, timeout: float = 5) -> dict[int, int]:
        return {p: s.leader for p, s in self.describe(topic, timeout).items()}

    def create_topic(self, topic: str, partitions: int, replication_factor: int,
                     config: dict[str, str] | None = None, timeout: float = 30) -> None:
        from confluent_kafka.admin import NewTopic

        futures = self.admin().create_topics(
            [NewTopic(topic, partitions, replication_factor, config=dict(config or {}))], request_timeout=timeout)
        futures[topic].result(timeout)
        self.wait(lambda: self._all_led(topic, partitions), timeout, f"every partition of {topic} to have a leader")

    def _all_led(self, topic: str, partitions: int) -> bool:
        try:
            d = self.describe(topic)
        except Exception:  # noqa: BLE001 - not there yet
            return False
        return len(d) == partitions and all(s.leader >= 0 for s in d.values())

    # -- waits -----------------------------------------------------------------------------------------

    @staticmethod
    def wait(predicate, timeout: float, what: str, interval: float = 0.2):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
            except Exception:  # noqa: BLE001 - a broker may be down between polls
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    def wait_brokers(self, ids: set[int], timeout: float = 60) -> None:
        """Until the metadata lists every broker of ``ids``."""
        self.wait(lambda: ids <= self.broker_ids(), timeout, f"brokers {sorted(ids)} in the metadata")

    def isr_full(self, topic: str) -> bool:
        d = self.describe(topic)
        return bool(d) and all(s.leader >= 0 and s.error is None and set(s.isr) == set(s.replicas)
                               for s in d.values())

    def wait_isr_full(self, topic: str, timeout: float = 60) -> None:
        """Until every partition of ``topic`` has a leader and all its replicas in the ISR."""
        self.wait(lambda: self.isr_full(topic), timeout, f"the full ISR on every partition of {topic}")

    def wait_leader_moved(self, topic: str, partitions: set[int], old: int, timeout: float = 60) -> None:
        """Until none of ``partitions`` names ``old`` as its leader and each has one."""
        def moved() -> bool:
            d = self.describe(topic)
            return all(d[p].leader >= 0 and d[p].leader != old for p in partitions)

        self.wait(moved, timeout, f"partitions {sorted(partitions)} of {topic} to leave leader {old}")


class Cluster(ClusterMetadata):
    def __init__(self, workdir: Path, brokers: int = 3, overrides: dict[str, str] | None = None,
                 zookeeper: bool = True, zookeeper_nodes: int = 1, chroot: str | None = None) -> None:
        if not zookeeper and brokers != 1:
            raise ValueError("without ZooKeeper there can be only one broker")
        self.workdir = Path(workdir)
        self.overrides = dict(overrides or {})
        self.zk: ZooKeeperProcess | ZooKeeperEnsemble | None = None
        if zookeeper:
            self.zk = (ZooKeeperEnsemble(self.workdir / "zookeeper", size=zookeeper_nodes) if zookeeper_nodes > 1
                       else ZooKeeperProcess(self.workdir / "zookeeper"))
        self.chroot = ("/" + chroot.strip("/")) if chroot and chroot.strip("/") else ""
        self.brokers: dict[int, BrokerProcess] = {}
        for broker_id in range(1, brokers + 1):
            data = self.workdir / f"broker-{broker_id}" / "data"
            data.parent.mkdir(parents=True, exist_ok=True)
            conf = {"broker.id": str(broker_id)}
            if self.zk is not None:
                conf["zookeeper.connect"] = self.zookeeper_connect
            conf.update(self.overrides)
            self.brokers[broker_id] = BrokerProcess(data, port=free_port(), overrides=conf)
        super().__init__()

    # -- processes -------------------------------------------------------------------------------------

    @property
    def zookeeper_connect(self) -> str:
        """What the brokers' ``zookeeper.connect`` says: every server, then the chroot."""
        assert self.zk is not None
        return self.zk.connect + self.chroot

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers.values())

    def start(self, timeout: float = 60) -> Cluster:
        if self.zk is not None:
            self.zk.start()
        for b in self.brokers.values():
            b.start(timeout)
        try:
            self.wait_brokers(set(self.brokers), timeout)
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n{self.views()}") from None
        return self

    def views(self) -> str:
        """What each broker says about the cluster (its lines on live brokers, registration,
        ZooKeeper and errors): for a failed wait's message."""
        keys = ("live brokers", "registered", "ZooKeeper", "zookeeper", "controller", "Traceback", "Error")
        out = []
        for bid, b in sorted(self.brokers.items()):
            try:
                text = b.log_path.read_text(errors="replace")
            except OSError:
                text = ""
            lines = [ln for ln in text.splitlines() if any(k in ln for k in keys)]
            out.append(f"--- broker {bid} ---\n" + "\n".join(lines[-15:]))
        return "\n".join(out)

    def add_broker(self, timeout: float = 60) -> int:
        """Starts one more broker in the running cluster: the next id, a port and data directory of
        its own, the same configs as the first broker; waits until the metadata lists it."""
        broker_id = max(self.brokers) + 1
        data = self.workdir / f"broker-{broker_id}" / "data"
        data.parent.mkdir(parents=True, exist_ok=True)
        conf = dict(self.brokers[min(self.brokers)].overrides)
        conf["broker.id"] = str(broker_id)
        self.brokers[broker_id] = BrokerProcess(data, port=free_port(), overrides=conf)
        self.brokers[broker_id].start(timeout)
        self.wait_brokers({broker_id}, timeout)
        return broker_id

    def kill(self, broker_id: int) -> None:
        """SIGKILL: no shutdown, no controlled handover; ZooKeeper notices when the session expires."""
        self.brokers[broker_id].kill()

    def restart(self, broker_id: int, timeout: float = 60) -> None:
        """Starts a stopped or killed broker again on its port and data directory (a running one is
        stopped first) and waits until the metadata lists it."""
        self.brokers[broker_id].restart() if self.is_running(broker_id) else self.brokers[broker_id].start(timeout)
        self.wait_brokers({broker_id}, timeout)

    def is_running(self, broker_id: int) -> bool:
        proc = self.brokers[broker_id].proc
        return proc is not None and proc.poll() is None

    def stop(self) -> None:
        """Stops every broker (SIGTERM, SIGKILL after a timeout), then ZooKeeper. Safe to call twice."""
        for b in self.brokers.values():
            try:
                b.stop(timeout=20)
            except Exception:  # noqa: BLE001 - cleanup must reach every process
                b.kill()
        if self.zk is not None:
            self.zk.stop()

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self, broker_id: int) -> str:
        return self.brokers[broker_id].log()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--dir", type=Path, required=True, help="working directory (data, logs)")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="a broker config for every broker")
    ap.add_argument("--no-zookeeper", action="store_true", help="one broker, no ZooKeeper (today's kbroker)")
    ap.add_argument("--zookeeper-nodes", type=int, default=1, help="servers in the ZooKeeper ensemble")
    ap.add_argument("--chroot", help="the brokers' ZooKeeper chroot, e.g. /kafka")
    a = ap.parse_args()
    overrides = dict(o.split("=", 1) for o in a.override)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cluster = Cluster(a.dir, a.brokers, overrides, zookeeper=not a.no_zookeeper, zookeeper_nodes=a.zookeeper_nodes,
                      chroot=a.chroot)
    try:
        cluster.start()
        if cluster.zk is not None:
            print(f"zookeeper {cluster.zookeeper_connect}")
        for broker_id, b in cluster.brokers.items():
            print(f"broker {broker_id} {b.bootstrap} (log {b.log_path})")
        print(f"bootstrap {cluster.bootstrap}", flush=True)
        while not stop.wait(1):
            pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
