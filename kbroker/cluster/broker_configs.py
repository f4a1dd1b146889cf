"""Dynamic broker configs of a cluster, kept in ZooKeeper as Kafka's ZooKeeper mode kept them:
``/config/brokers/<id>`` (one broker's, DYNAMIC_BROKER_CONFIG) and ``/config/brokers/<default>`` (the
cluster default, DYNAMIC_DEFAULT_BROKER_CONFIG), each ``{"version":1,"config":{...}}``, every change
announced by ``/config/changes/config_change_<seq>`` with entity path ``brokers/<id>`` or
``brokers/<default>`` (what AdminZkClient.changeBrokerConfig writes).

Every broker watches its own znode and the default one (kazoo ``DataWatch``, as the metadata cache
watches topic configs) and installs them into its BrokerConfig (``dynamic``, ``dynamic_default``),
then calls ``on_change`` on the event loop.  ``load()`` reads both synchronously at start.

Blocking kazoo calls: ``write`` runs off the event loop; watch callbacks run on kazoo's thread and
hand their result to the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

from kbroker.cluster import zkdata as zd
from kbroker.config import BrokerConfig

log = logging.getLogger("kbroker.cluster.broker_configs")

DEFAULT = "<default>"  # Kafka's ZooKeeperInternals.DEFAULT_STRING


def entity_path(entity: str) -> str:
    return f"{zd.CONFIG_BROKERS}/{entity}"


def write(zk: KazooClient, entity: str, config: Mapping[str, str]) -> None:
    """Set a broker's (or the default's) dynamic configs and announce the change."""
    data = zd.encode_config(dict(config))
    try:
        zk.set(entity_path(entity), data)
    except NoNodeError:
        zk.create(entity_path(entity), data, makepath=True)
    zk.create(f"{zd.CONFIG_CHANGES}/config_change_", zd.encode_config_change(f"brokers/{entity}"), sequence=True,
              makepath=True)


def read(zk: KazooClient, entity: str) -> dict[str, str]:
    try:
        return zd.decode_config(zk.get(entity_path(entity))[0])
    except NoNodeError:
        return {}
    except ValueError:
        log.warning("%s: unreadable dynamic configs", entity_path(entity))
        return {}


class BrokerConfigWatch:
    def __init__(self, zk: KazooClient, loop: asyncio.AbstractEventLoop, node_id: int, config: BrokerConfig) -> None:
        self.zk = zk
        self._loop = loop
        self.node_id = node_id
        self.config = config
        self.listeners: list[Callable[[], None]] = []
        self._stopped = False
        self._watching = False

    @property
    def own(self) -> str:
        return str(self.node_id)

    def load(self) -> None:
        """Both znodes, synchronously, into the config (start, before any topic is resolved)."""
        self.config.dynamic = read(self.zk, self.own)
        self.config.dynamic_default = read(self.zk, DEFAULT)

    def watch(self) -> None:
        if self._watching:
            return
        self._watching = True
        for entity in (self.own, DEFAULT):
            self.zk.DataWatch(entity_path(entity), self._watcher(entity))

    def stop(self) -> None:
        self._stopped = True

    def current(self, entity: str) -> dict[str, str]:
        return dict(self.config.dynamic_default if entity == DEFAULT else self.config.dynamic)

    def applied(self, entity: str, config: Mapping[str, str]) -> bool:
        """Whether this broker runs with ``config`` for ``entity`` (after a write: its watch came back)."""
        return self.current(entity) == dict(config)

    def _watcher(self, entity: str) -> Callable[..., bool]:
        def changed(data: bytes | None, stat: Any, *event: Any) -> bool:
            if self._stopped:
                return False
            try:
                cfg = zd.decode_config(data) if data is not None else {}
            except ValueError:
                log.warning("%s: unreadable dynamic configs", entity_path(entity))
                return True
            try:
                self._loop.call_soon_threadsafe(self._apply, entity, cfg)
            except RuntimeError:  # the loop is closed: shutting down
                return False
            return True
        return changed

    def _apply(self, entity: str, cfg: dict[str, str]) -> None:
        if self._stopped or self.applied(entity, cfg):
            return
        if entity == DEFAULT:
            self.config.dynamic_default = cfg
        else:
            self.config.dynamic = cfg
        log.info("dynamic configs of %s: %s", "the cluster default" if entity == DEFAULT else f"broker {entity}",
                 ", ".join(sorted(cfg)) or "none")
        for fn in self.listeners:
            try:
                fn()
            except Exception:
                log.exception("applying the dynamic broker configs failed")
