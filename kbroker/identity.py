"""Who this broker is: its node id, the address clients are told, and the cluster id.

The cluster id is ``cluster.id`` when configured, else the one in ``<data_dir>/meta.properties``
(``version=1``, ``cluster.id=...``, ``node.id=...``), else a new one written there
(``storage.checkpoint.write_atomic``: tmp → fsync → rename → fsync of the directory)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from kbroker.config import BrokerConfig, Listener
from storage.checkpoint import write_atomic

META_FILE = "meta.properties"


@dataclass(frozen=True, slots=True)
class BrokerIdentity:
    node_id: int
    advertised: Listener
    cluster_id: str


def load_identity(config: BrokerConfig, data_dir: Path, cluster_id: str | None = None) -> BrokerIdentity:
    """``cluster_id``: the cluster's (ZooKeeper's /cluster/id), written to meta.properties if new."""
    if cluster_id is not None:
        if stored_cluster_id(data_dir) != cluster_id:
            write_atomic(Path(data_dir) / META_FILE,
                         f"version=1\ncluster.id={cluster_id}\nnode.id={config.node_id}\n".encode())
        return BrokerIdentity(config.node_id, config.advertised, cluster_id)
    return BrokerIdentity(config.node_id, config.advertised, _cluster_id(config, data_dir))


def stored_cluster_id(data_dir: Path) -> str | None:
    """The cluster id in ``meta.properties``, if the data directory has one."""
    p = Path(data_dir) / META_FILE
    if p.exists():
        for line in p.read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
    return None


def _cluster_id(config: BrokerConfig, data_dir: Path) -> str:
    if config.get("cluster.id"):
        return str(config.get("cluster.id"))
    p = Path(data_dir) / META_FILE
    if p.exists():
        for line in p.read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
    cid = uuid.uuid4().hex[:22]
    write_atomic(p, f"version=1\ncluster.id={cid}\nnode.id={config.node_id}\n".encode())
    return cid
