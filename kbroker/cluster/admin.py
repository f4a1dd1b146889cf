"""Cluster-wide topic changes, as writes to ZooKeeper (what Kafka's AdminZkClient does): the
controller and every broker act on them through their watches.  Blocking kazoo calls: run them off
the event loop."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from kbroker.cluster import zkdata as zd


class TopicExists(Exception):
    pass


class ConcurrentChange(Exception):
    pass


def new_topic_id() -> uuid.UUID:
    while True:  # as Kafka: no id whose base64 form starts with "-"
        tid = uuid.uuid4()
        if not base64.urlsafe_b64encode(tid.bytes).startswith(b"-"):
            return tid


def create_topic(zk: KazooClient, name: str, assignment: Mapping[int, tuple[int, ...]],
                 overrides: Mapping[str, str]) -> uuid.UUID:
    """The topic's config, then its assignment (the controller then elects its leaders)."""
    if zk.exists(zd.topic_path(name)):
        raise TopicExists(name)
    tid = new_topic_id()
    data = zd.encode_config(dict(overrides))
    try:
        zk.create(zd.topic_config_path(name), data, makepath=True)
    except NodeExistsError:
        zk.set(zd.topic_config_path(name), data)
    try:
        zk.create(zd.topic_path(name), zd.encode_assignment(zd.TopicAssignment(tid, dict(assignment))),
                  makepath=True)
    except NodeExistsError:
        raise TopicExists(name) from None
    return tid


def delete_topic(zk: KazooClient, name: str) -> None:
    try:
        zk.create(zd.delete_topic_path(name), b"", makepath=True)
    except NodeExistsError:
        pass  # already marked


def add_partitions(zk: KazooClient, name: str, added: Mapping[int, tuple[int, ...]]) -> None:
    try:
        data, stat = zk.get(zd.topic_path(name))
    except NoNodeError:
        raise KeyError(name) from None
    a = zd.decode_assignment(data)
    parts = dict(a.partitions)
    parts.update(added)
    try:
        zk.set(zd.topic_path(name), zd.encode_assignment(zd.TopicAssignment(a.topic_id, parts, a.adding, a.removing)),
               version=stat.version)
    except BadVersionError:
        raise ConcurrentChange(name) from None


def set_topic_config(zk: KazooClient, name: str, overrides: Mapping[str, str]) -> None:
    data = zd.encode_config(dict(overrides))
    try:
        zk.set(zd.topic_config_path(name), data)
    except NoNodeError:
        zk.create(zd.topic_config_path(name), data, makepath=True)
    zk.create(f"{zd.CONFIG_CHANGES}/config_change_", zd.encode_config_change(f"topics/{name}"), sequence=True,
              makepath=True)
