"""The metadata cache's watches do not lose a change when reading it fails.

kazoo's recipes record a change as delivered before calling back, so a callback that raised (a
read cut by a lost connection while the ensemble settles, say) left a broker out of the live
brokers until the next registration — a cluster whose metadata never listed all its brokers. Here
the cache runs on a real ZooKeeper with the broker's own client (kbroker.cluster.zk.connect);
the reads of one registration fail a few times, as a lost connection or a server error would make
them, and the broker still appears. The waits are bounded polls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kazoo.exceptions import ConnectionLoss, SystemZookeeperError

from kbroker.cluster import zk as zkmod
from kbroker.cluster import zkdata as zd
from kbroker.cluster.metadata import ClusterMetadata
from tests.support.zookeeper import ZooKeeperProcess, require_zookeeper


@pytest.fixture
def zookeeper(tmp_path) -> Iterator[ZooKeeperProcess]:
    require_zookeeper()
    with ZooKeeperProcess(tmp_path / "zk") as z:
        yield z


def _failing_reads(client: Any, path: str, error: Callable[[], Exception], times: int) -> list[str]:
    """``client.get(path)`` raises ``error()`` its first ``times`` calls; returns the log of them."""
    real_get = client.get
    failed: list[str] = []

    def get(p: str, *args: Any, **kwargs: Any) -> Any:
        if p == path and len(failed) < times:
            failed.append(p)
            raise error()
        return real_get(p, *args, **kwargs)

    client.get = get
    return failed


async def _until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _register(zookeeper: ZooKeeperProcess, broker_id: int) -> Any:
    """Another broker's session holding /brokers/ids/<id>."""
    other = zkmod.connect(zookeeper.connect, 6000)
    zkmod.ensure_paths(other)
    zkmod.register_broker(other, zd.BrokerInfo(broker_id, "127.0.0.1", 9000 + broker_id, None), 10)
    return other


@pytest.mark.parametrize("error", [ConnectionLoss, SystemZookeeperError], ids=["connection-lost", "server-error"])
def test_a_registration_whose_read_fails_still_reaches_the_live_brokers(zookeeper, error) -> None:
    async def scenario() -> tuple[set[int], list[str]]:
        first = _register(zookeeper, 1)
        client = zkmod.connect(zookeeper.connect, 6000)
        md = ClusterMetadata(client, asyncio.get_running_loop())
        md.load()
        failed = _failing_reads(client, zd.broker_path(2), error, 3)
        second = _register(zookeeper, 2)
        try:
            await _until(lambda: set(md.brokers) == {1, 2}, 30)
            return set(md.brokers), failed
        finally:
            md.stop()
            for c in (second, first, client):
                c.stop()
                c.close()

    brokers, failed = asyncio.run(scenario())
    assert failed == [zd.broker_path(2)] * 3  # the reads did fail
    assert brokers == {1, 2}
