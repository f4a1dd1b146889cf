"""A broker's ZooKeeper session and the small operations every broker does on the tree (kazoo).

- ``connect``: ``zookeeper.connect`` (``host:port[,host:port...][/chroot]``) → a started KazooClient;
  the chroot node is created when missing (as Kafka does); ``ZooKeeperUnreachable`` when no session
  opens within ``zookeeper.connection.timeout.ms`` (default: the session timeout).
- ``ensure_paths``, ``cluster_id``: the persistent skeleton and /cluster/id (first writer wins).
- ``wait_registration_free`` (start-up, before the listener): waits for the /brokers/ids/<id> of
  a previous session of the same id (a broker killed and restarted before its old session
  expired) to go away;
- ``register_broker``: the ephemeral /brokers/ids/<id>, waiting the same way when it exists;
  ``BrokerRegistration`` registers again after every session expiry.
- ``request_controlled_shutdown``: a stopping broker asks the controller to move its leaderships
  away (/admin/controlled_shutdown/<id>, answered by the controller in the same znode) and retries
  until it leads nothing or controlled.shutdown.max.retries are used up.
- ``read_json``, ``conditional_set``: a decoded read with its stat, a version-conditional write.

Layouts are those of ``kbroker.cluster.zkdata``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kazoo.client import KazooClient  # type: ignore[import-untyped]
from kazoo.exceptions import (  # type: ignore[import-untyped]
    BadVersionError,
    NodeExistsError,
    NoNodeError,
)
from kazoo.handlers.threading import KazooTimeoutError  # type: ignore[import-untyped]
from kazoo.protocol.states import KazooState, ZnodeStat  # type: ignore[import-untyped]

from kbroker.cluster import zkdata
from kbroker.cluster.zkdata import BrokerInfo
from kbroker.config import StartupError

log = logging.getLogger("kbroker.cluster.zk")

T = TypeVar("T")

DEFAULT_SESSION_TIMEOUT_MS = 18000  # zookeeper.session.timeout.ms


class ZooKeeperUnreachable(StartupError):
    """No ZooKeeper session could be opened within the connection timeout."""


class BrokerIdInUse(StartupError):
    """/brokers/ids/<id> belongs to another live session (another broker with the same broker.id)."""


def parse_connect(zookeeper_connect: str) -> tuple[str, str | None]:
    """``host:port[,host:port...][/chroot]`` → (hosts, chroot or None).  A bare ``/`` is no chroot."""
    s = zookeeper_connect.strip()
    if not s:
        raise ValueError("zookeeper.connect is empty")
    hosts, slash, chroot = s.partition("/")
    if not hosts:
        raise ValueError(f"zookeeper.connect {zookeeper_connect!r} names no host")
    chroot = ("/" + chroot).rstrip("/") if slash else ""
    if "//" in chroot:
        raise ValueError(f"zookeeper.connect {zookeeper_connect!r}: invalid chroot path")
    return hosts, chroot or None


# Reconnecting after a lost connection: kazoo's default backoff grows to an hour, so after a
# ZooKeeper outage of some seconds a broker would come back long after the servers did and its
# session (which the servers restore with a fresh timeout) would expire.  ZooKeeper's own client,
# which Kafka uses, tries the next server within a second; so does this.
CONNECTION_RETRY = {"max_tries": -1, "delay": 0.1, "backoff": 2, "max_delay": 1.0}
# ``client.retry(op, ...)`` (what kazoo's watch recipes read with, and the metadata cache's reads
# inside watch callbacks): an operation cut by a lost connection is tried again, as soon as the
# session is back on another server, until it succeeds or the client is closed — kazoo's default
# is the same but waits up to an hour between tries.
COMMAND_RETRY = {"max_tries": -1, "delay": 0.1, "backoff": 2, "max_delay": 1.0}


def _start(hosts: str, session_timeout_s: float, connection_timeout_s: float) -> Any:
    client = KazooClient(hosts=hosts, timeout=session_timeout_s, connection_retry=dict(CONNECTION_RETRY),
                         command_retry=dict(COMMAND_RETRY))
    try:
        client.start(timeout=connection_timeout_s)
    except KazooTimeoutError:
        client.stop()
        client.close()
        raise ZooKeeperUnreachable(
            f"could not connect to ZooKeeper at {hosts} within {connection_timeout_s:g}s "
            f"(zookeeper.connection.timeout.ms)") from None
    return client


def connect(zookeeper_connect: str, session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
            connection_timeout_ms: int | None = None) -> Any:
    """A started KazooClient for ``zookeeper.connect``; the chroot node is created when missing.
    Raises ``ZooKeeperUnreachable`` when no session opens within the connection timeout."""
    hosts, chroot = parse_connect(zookeeper_connect)
    session_s = session_timeout_ms / 1000.0
    conn_s = (connection_timeout_ms if connection_timeout_ms is not None else session_timeout_ms) / 1000.0
    if chroot is not None:
        root = _start(hosts, session_s, conn_s)
        try:
            if root.exists(chroot) is None:
                log.info("creating the ZooKeeper chroot %s", chroot)
                root.ensure_path(chroot)
        finally:
            root.stop()
            root.close()
        hosts = hosts + chroot
    return _start(hosts, session_s, conn_s)


def ensure_paths(zk: Any) -> None:
    """Creates the persistent paths (zkdata.PERSISTENT_PATHS) that are missing."""
    for path in zkdata.PERSISTENT_PATHS:
        zk.ensure_path(path)


def cluster_id(zk: Any, proposed: str) -> str:
    """The cluster id in /cluster/id, written as ``proposed`` when absent (the first broker wins)."""
    for _ in range(10):
        try:
            data, _stat = zk.get(zkdata.CLUSTER_ID)
            return zkdata.decode_cluster_id(data)
        except NoNodeError:
            pass
        try:
            zk.create(zkdata.CLUSTER_ID, zkdata.encode_cluster_id(proposed), makepath=True)
            log.info("created the cluster id %s", proposed)
            return proposed
        except NodeExistsError:
            continue  # someone else was first: read theirs
    raise RuntimeError("could not read or create /cluster/id")


def read_json(zk: Any, path: str, decode: Callable[[bytes], T]) -> tuple[T, ZnodeStat] | None:
    """(decoded value, stat) of ``path``, None when it does not exist."""
    try:
        data, stat = zk.get(path)
    except NoNodeError:
        return None
    return decode(data), stat


def conditional_set(zk: Any, path: str, data: bytes, version: int) -> int | None:
    """Writes ``data`` if the znode is still at ``version``: its new version, or None when the
    version moved on (BadVersion) or the node is gone (NoNode).  Never retries."""
    try:
        stat = zk.set(path, data, version=version)
    except (BadVersionError, NoNodeError):
        return None
    return int(stat.version)


def _wait_gone(zk: Any, path: str, deadline: float, still_there: Callable[[ZnodeStat], bool]) -> bool:
    """Waits (until ``deadline``, monotonic) for ``path`` to stop existing or stop satisfying
    ``still_there``; True when it did."""
    while True:
        changed = threading.Event()

        def fire(_event: object, changed: threading.Event = changed) -> None:
            changed.set()
        stat = zk.exists(path, watch=fire)
        if stat is None or not still_there(stat):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        changed.wait(min(left, 1.0))  # also re-checks every second: a watch can be lost with a reconnect


def _wait_owner_gone(zk: Any, path: str, owner: int, broker_id: int, deadline: float, timeout_s: float) -> None:
    """Until ``path`` is no longer held by session ``owner``; ``BrokerIdInUse`` at ``deadline``."""
    def same_owner(s: ZnodeStat) -> bool:
        return bool(s.ephemeralOwner == owner)
    if not _wait_gone(zk, path, deadline, same_owner):
        raise BrokerIdInUse(
            f"{path} is held by another ZooKeeper session (0x{owner:x}) after {timeout_s:g}s: "
            f"another broker is registered with broker.id {broker_id}")


def wait_registration_free(zk: Any, broker_id: int, timeout_s: float) -> bool:
    """Until /brokers/ids/<id> is gone or ours: the registration of a previous run of this broker
    (killed and started again before its session expired) goes when that session expires.  Called
    at start-up before the listener exists — Kafka's broker fails its start-up then (NodeExists);
    this one waits, so clients meet a closed port (and try another broker) rather than a broker
    that takes their connections and answers nothing.  True when it waited; ``BrokerIdInUse`` when
    the node is still held after ``timeout_s`` (another broker runs with this broker.id)."""
    path = zkdata.broker_path(broker_id)
    stat = zk.exists(path)
    if stat is None or stat.ephemeralOwner == zk.client_id[0]:
        return False
    owner = int(stat.ephemeralOwner)
    log.info("%s exists for session 0x%x (a previous run of broker %d?): waiting up to %gs for it to expire "
             "before serving", path, owner, broker_id, timeout_s)
    _wait_owner_gone(zk, path, owner, broker_id, time.monotonic() + timeout_s, timeout_s)
    log.info("%s: the previous registration went away", path)
    return True


def register_broker(zk: Any, info: BrokerInfo, timeout_s: float) -> None:
    """Creates the ephemeral /brokers/ids/<id>.  When it exists for another session (this broker
    killed and restarted before its old session expired), waits up to ``timeout_s`` (normally
    zookeeper.session.timeout.ms plus a margin) for it to go away; ``BrokerIdInUse`` if it does not.
    When it is our own session's node, its value is brought up to date.  A controlled-shutdown
    request left by a previous run of this broker is removed first."""
    try:
        zk.delete(zkdata.controlled_shutdown_path(info.broker_id))
    except NoNodeError:
        pass
    path = zkdata.broker_path(info.broker_id)
    data = zkdata.encode_broker(info)
    deadline = time.monotonic() + timeout_s
    ours = zk.client_id[0]
    waited = False
    for _ in range(1000):
        try:
            zk.create(path, data, ephemeral=True, makepath=True)
            log.info("registered broker %d at %s:%d%s", info.broker_id, info.host, info.port,
                     " after the previous session's registration went away" if waited else "")
            return
        except NodeExistsError:
            pass
        stat = zk.exists(path)
        if stat is None:
            continue
        if stat.ephemeralOwner == ours:
            try:
                zk.set(path, data, version=stat.version)
                return
            except (BadVersionError, NoNodeError):
                continue
        if not waited:
            log.info("%s exists for session 0x%x (a previous run of broker %d?): waiting up to %gs for it "
                     "to expire", path, stat.ephemeralOwner, info.broker_id, timeout_s)
            waited = True
        _wait_owner_gone(zk, path, int(stat.ephemeralOwner), info.broker_id, deadline, timeout_s)
    raise BrokerIdInUse(f"could not register {path}")


class BrokerRegistration:
    """Keeps /brokers/ids/<id> registered across ZooKeeper sessions: registers at once
    (``register_broker``, may raise), and again, on a thread of its own, whenever the client opens a
    new session after losing one (the ephemeral node went with the old session, as Kafka's broker
    re-registers); ``on_registered()`` is then called on that thread (after the attempt, even a
    failed one).  ``close()`` stops that."""

    def __init__(self, zk: Any, info: BrokerInfo, timeout_s: float,
                 on_registered: Callable[[], None] | None = None) -> None:
        self.zk, self.info, self.timeout_s = zk, info, timeout_s
        self.on_registered = on_registered
        self._lost = False
        self._closed = False
        register_broker(zk, info, timeout_s)
        zk.add_listener(self._on_state)

    def _on_state(self, state: str) -> None:
        if state == KazooState.LOST:
            self._lost = True
        elif state == KazooState.CONNECTED and self._lost and not self._closed:
            self._lost = False
            threading.Thread(target=self._again, name=f"register-broker-{self.info.broker_id}",
                             daemon=True).start()

    def _again(self) -> None:
        log.info("broker %d: new ZooKeeper session 0x%x after the last one expired: registering again",
                 self.info.broker_id, self.zk.client_id[0] if self.zk.client_id else 0)
        try:
            register_broker(self.zk, self.info, self.timeout_s)
        except Exception:
            log.exception("broker %d: registration after a new ZooKeeper session failed", self.info.broker_id)
        if self.on_registered is not None and not self._closed:
            try:
                self.on_registered()
            except Exception:
                log.exception("broker %d: after the new registration", self.info.broker_id)

    def close(self) -> None:
        self._closed = True
        self.zk.remove_listener(self._on_state)


def request_controlled_shutdown(zk: Any, broker_id: int, max_retries: int = 3, backoff_s: float = 5.0) -> bool:
    """Kafka's controlled shutdown, through ZooKeeper: asks the controller to move this broker's
    leaderships to other in-sync replicas and to take it out of every ISR, then waits for its
    answer.  Attempt N writes ``{"attempt": N}`` into /admin/controlled_shutdown/<id>; the
    controller (whichever is active, also a new one after a failover, also this broker itself)
    answers in the same znode with the partitions this broker still leads.  An empty list: True.
    Otherwise, or without an answer within ``backoff_s`` (no controller, one moving), the next
    attempt comes ``backoff_s`` after the previous one, up to ``max_retries``
    (controlled.shutdown.max.retries × controlled.shutdown.retry.backoff.ms); then False and the
    broker stops anyway.  The znode stays: until this broker is gone the controller does not elect
    it leader."""
    path = zkdata.controlled_shutdown_path(broker_id)
    attempts = max(1, max_retries)
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        data = zkdata.encode_shutdown_request(attempt)
        try:
            zk.create(path, data, makepath=True)
        except NodeExistsError:
            zk.set(path, data)
        log.info("controlled shutdown of broker %d: attempt %d of %d", broker_id, attempt, attempts)
        answer = _wait_shutdown_answer(zk, path, attempt, started + backoff_s)
        if answer is not None and not answer.remaining:
            log.info("controlled shutdown of broker %d done (controller epoch %d): it leads no replicated "
                     "partition", broker_id, answer.controller_epoch)
            return True
        if answer is None:
            log.info("controlled shutdown of broker %d: no answer to attempt %d within %gs", broker_id, attempt,
                     backoff_s)
        else:
            log.info("controlled shutdown of broker %d: attempt %d: it still leads %d partition(s): %s",
                     broker_id, attempt, len(answer.remaining),
                     ", ".join(f"{t}-{p}" for t, p in answer.remaining[:10]))
        if attempt < attempts:
            time.sleep(max(0.0, started + backoff_s - time.monotonic()))
    log.warning("controlled shutdown of broker %d: all %d attempts failed; proceeding to an unclean shutdown",
                broker_id, attempts)
    return False


def _wait_shutdown_answer(zk: Any, path: str, attempt: int, deadline: float) -> zkdata.ShutdownRequest | None:
    """The controller's answer to ``attempt`` once it is in ``path``; None at ``deadline``."""
    while True:
        changed = threading.Event()

        def fire(_event: object, changed: threading.Event = changed) -> None:
            changed.set()
        try:
            data, _ = zk.get(path, watch=fire)
            req = zkdata.decode_shutdown(data)
            if req.answered and req.attempt == attempt:
                return req
        except (NoNodeError, ValueError, KeyError, TypeError):
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        changed.wait(min(left, 1.0))  # also re-reads every second: a watch can be lost with a reconnect
