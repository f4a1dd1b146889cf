"""The cluster as a client sees it: its id, the controller and the brokers (Metadata)."""

from __future__ import annotations

from kbroker.admin.models import Broker, ClusterInfo
from kbroker.admin.session import Session


def cluster_info(s: Session) -> ClusterInfo:
    meta = s.call("describe cluster", s.admin.describe_cluster)
    brokers = tuple(sorted((Broker(b["broker_id"], b["host"], b["port"], b.get("rack"))
                            for b in meta.get("brokers") or []), key=lambda b: b.node_id))
    controller = meta.get("controller_id")
    return ClusterInfo(meta.get("cluster_id"), controller if controller is not None and controller >= 0 else None,
                       brokers)
