"""An Apache Kafka cluster on loopback for side-by-side runs with kbroker's (compat.cluster.launcher):
N KRaft nodes (default 3), each broker and controller in one JVM (compat.kafka_ref.KafkaRef) with its
own client port, controller port and log directory, all voters of one static quorum.

    python -m compat.cluster.kafka --nodes 3 --dir /tmp/kc

starts one, prints its bootstrap string and keeps it up until Ctrl-C or SIGTERM. From Python::

    with KafkaCluster(workdir, nodes=3) as c:
        c.create_topic("t", partitions=1, replication_factor=3, config={"min.insync.replicas": "2"})
        c.wait_isr_full("t")

The internal topics keep Kafka's defaults (``__consumer_offsets`` and the transaction log replicated
3 times, ``transaction.state.log.min.isr`` 2), as kbroker's cluster does.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from compat.cluster.launcher import ClusterMetadata
from compat.kafka_ref.launcher import KafkaRef, new_cluster_id

CLUSTER_DEFAULTS = {
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
}


class KafkaCluster(ClusterMetadata):
    def __init__(self, workdir: Path, nodes: int = 3, overrides: dict[str, str] | None = None,
                 heap: str = "1g") -> None:
        super().__init__()
        self.workdir = Path(workdir)
        conf = {**CLUSTER_DEFAULTS, **(overrides or {})}
        self.nodes = {i: KafkaRef(overrides=conf, heap=heap, node_id=i, workdir=self.workdir / f"kafka-{i}")
                      for i in range(1, nodes + 1)}
        voters = ",".join(f"{i}@127.0.0.1:{n.controller_port}" for i, n in self.nodes.items())
        for n in self.nodes.values():
            n.voters = voters

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes.values())

    def start(self, timeout: float = 120) -> KafkaCluster:
        """Launches every node (the quorum needs a majority up before any of them serves), then waits
        until each answers and the metadata lists them all."""
        cluster_id = new_cluster_id()
        try:
            for n in self.nodes.values():
                n.launch(cluster_id)
            for n in self.nodes.values():
                n.wait_ready(timeout)
            self.wait_brokers(set(self.nodes), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops every node (SIGTERM to all at once: one by one, the last ones would wait for a quorum
        that is gone; SIGKILL after a timeout) and removes its directory. Safe to call twice."""
        for n in self.nodes.values():
            n.terminate()
        for n in self.nodes.values():
            try:
                n.stop(timeout=30)
            except Exception:  # noqa: BLE001 - cleanup must reach every process
                if n.proc is not None:
                    n.proc.kill()

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--dir", type=Path, required=True, help="working directory (log dirs, logs)")
    ap.add_argument("--heap", default="1g", help="-Xmx and -Xms of each JVM")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="a broker config for every node")
    a = ap.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cluster = KafkaCluster(a.dir, a.nodes, dict(o.split("=", 1) for o in a.override), heap=a.heap)
    try:
        cluster.start()
        for i, n in cluster.nodes.items():
            print(f"node {i} {n.bootstrap} (log {n.dir / 'kafka.log'})")
        print(f"bootstrap {cluster.bootstrap}", flush=True)
        while not stop.wait(1):
            pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
