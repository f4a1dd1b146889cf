"""Fencing of a partition leader, in process against a real ZooKeeper: one real broker (broker 1,
``zookeeper.connect`` set, its ClusterNode and replica manager running in the test's event loop), a
fake broker 2 (a registration held by the test's own session, which never fetches) and a fake
controller (/controller held by the test, so the broker's own controller never acts): the test
writes partition states the way a controller would.

- a leader that missed a newer state (another leader elected) and then sees its followers stale —
  what the ISR loop does right after SIGCONT — proposes an ISR of itself alone: the write is
  conditional on the state znode version it knows, so it fails, and the acks=all request parked on
  it is not answered NONE;
- while ZooKeeper is unreachable (the session merely disconnected) the leader goes on serving its ISR
  and an ISR change fails at once; proposed again once ZooKeeper is back, it is written;
- a leader whose session expires gives up at once (the parked acks=all request completes with
  NOT_LEADER_OR_FOLLOWER), registers again in a new session, reads the tree again and takes up the
  current state; the watches work in the new session (a later state and a new topic arrive)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kbroker.apis.produce import produce
from kbroker.broker import Broker
from kbroker.cluster import zkdata
from kbroker.cluster.zkdata import BrokerInfo, PartitionState, TopicAssignment
from kbroker.partition import FOLLOWER, LEADER
from tests.support.inproc import ctx, run
from tests.support.zookeeper import ZooKeeperProcess, expire_session, require_zookeeper
from wire.errors import ErrorCode
from wire.messages.produce import ProduceRequest
from wire.records import build_batch


class Tree:
    """The test's own session under one chroot: the fake controller, broker 2 and the writes."""

    def __init__(self, zookeeper: ZooKeeperProcess) -> None:
        from kbroker.cluster import zk as zkmod

        self.zkmod = zkmod
        self.connect = f"{zookeeper.connect}/fence_{uuid.uuid4().hex[:10]}"
        self.zk = zkmod.connect(self.connect, 10000)
        zkmod.ensure_paths(self.zk)
        self.zk.create(zkdata.CONTROLLER, zkdata.encode_controller(99), ephemeral=True)
        zkmod.register_broker(self.zk, BrokerInfo(2, "127.0.0.1", 1, None), 10)

    def topic(self, name: str, replicas: tuple[int, ...], state: PartitionState | None) -> None:
        self.zk.create(zkdata.topic_path(name), zkdata.encode_assignment(TopicAssignment(uuid.uuid4(), {0: replicas})),
                       makepath=True)
        if state is not None:
            self.zk.create(zkdata.state_path(name, 0), zkdata.encode_state(state), makepath=True)

    def set_state(self, name: str, state: PartitionState) -> int:
        return int(self.zk.set(zkdata.state_path(name, 0), zkdata.encode_state(state)).version)

    def state(self, name: str) -> tuple[PartitionState, int]:
        data, stat = self.zk.get(zkdata.state_path(name, 0))
        return zkdata.decode_state(data), int(stat.version)

    def close(self) -> None:
        self.zk.stop()
        self.zk.close()


@pytest.fixture
def tree(zookeeper):
    t = Tree(zookeeper)
    yield t
    t.close()


def _props(tree: Tree) -> dict[str, str]:
    return {"zookeeper.connect": tree.connect, "broker.id": "1", "listeners": "PLAINTEXT://127.0.0.1:19092",
            "zookeeper.session.timeout.ms": "6000", "controlled.shutdown.enable": "false"}


def _produce(b: Broker, topic: str, value: bytes, acks: int, timeout_ms: int):
    data = memoryview(bytearray(build_batch([(None, value, None, int(time.time() * 1000))])))
    req = ProduceRequest(acks=acks, timeout_ms=timeout_ms, topic_data=[ProduceRequest.TopicProduceData(
        name=topic, partition_data=[ProduceRequest.PartitionProduceData(index=0, records=data)])])
    return produce(ctx(b, 9), req)


async def _until(cond, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def _code(resp) -> int:
    return resp.responses[0].partition_responses[0].error_code


def test_a_leader_that_missed_the_new_leader_cannot_shrink_its_isr_and_ack_alone(tmp_path, tree) -> None:
    tree.topic("t", (1, 2), PartitionState(1, 0, (1, 2), 1))

    async def body(b: Broker) -> None:
        part = await _until(lambda: (p := b.topics.partition("t", 0)) is not None and p.role == LEADER and p,
                            "broker 1 to lead t-0")
        assert part.isr == (1, 2)
        # the broker stops hearing from ZooKeeper's watches (cut off, or paused) ...
        b.cluster.metadata.stop()
        # ... while the controller elects broker 2 (epoch 1) and leaves broker 1 out of the ISR
        new_version = tree.set_state("t", PartitionState(2, 1, (2,), 2))
        # an acks=all produce: appended (ISR 2 >= min.insync.replicas 1), waits for broker 2
        task = asyncio.get_running_loop().create_task(_produce(b, "t", b"after-the-election", -1, 4000))
        await _until(lambda: part.log_end_offset == 1, "the append")
        # the clock jumps (SIGCONT after a long pause): broker 2 looks out of sync; the ISR loop's
        # shrink proposes the leader alone, conditional on the version it knows
        part.shrink_isr(int(time.time() * 1000) + 120_000, 30_000)
        await asyncio.sleep(0)
        await _until(lambda: not part._isr_inflight, "the ISR write to finish")
        assert part.isr == (1, 2), "the conditional ISR write must have failed"
        assert tree.state("t") == (PartitionState(2, 1, (2,), 2), new_version)  # the controller's, untouched
        assert part.high_watermark == 0
        resp = await task
        assert _code(resp) == ErrorCode.REQUEST_TIMED_OUT  # never NONE: broker 2 does not have it

    run(tmp_path, body, **_props(tree))


def test_session_expiry_resigns_every_leadership_and_the_new_session_takes_up_the_current_state(
        tmp_path, tree, zookeeper) -> None:
    tree.topic("t", (1, 2), PartitionState(1, 0, (1, 2), 1))

    async def body(b: Broker) -> None:
        part = await _until(lambda: (p := b.topics.partition("t", 0)) is not None and p.role == LEADER and p,
                            "broker 1 to lead t-0")
        zk = b.cluster.zk
        old_session = zk.client_id[0]
        parked = asyncio.get_running_loop().create_task(_produce(b, "t", b"parked", -1, 20000))
        await _until(lambda: part.log_end_offset == 1, "the append")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, expire_session, zookeeper, zk)
        # the parked request completes with NOT_LEADER_OR_FOLLOWER, long before its timeout
        resp = await asyncio.wait_for(parked, 15)
        assert _code(resp) == ErrorCode.NOT_LEADER_OR_FOLLOWER
        # registered again, in the new session
        def registered() -> bool:
            stat = tree.zk.exists(zkdata.broker_path(1))
            return stat is not None and stat.ephemeralOwner == zk.client_id[0] != old_session
        await _until(registered, "broker 1 registered in its new session")
        # the tree read again: the state (unchanged: still broker 1, epoch 0) is taken up again
        await _until(lambda: not b.replicas.fenced and part.role == LEADER, "broker 1 to lead t-0 again")
        assert part.leader_epoch == 0 and part.isr == (1, 2)
        assert _code(await _produce(b, "t", b"acks-1", 1, 5000)) == ErrorCode.NONE
        # the watches work in the new session: a new state, then a new topic
        tree.set_state("t", PartitionState(2, 1, (2,), 2))
        await _until(lambda: part.role == FOLLOWER and part.leader_id == 2 and part.leader_epoch == 1,
                     "broker 1 to follow broker 2 at epoch 1")
        assert _code(await _produce(b, "t", b"refused", 1, 5000)) == ErrorCode.NOT_LEADER_OR_FOLLOWER
        tree.topic("later", (1, 2), PartitionState(1, 0, (1, 2), 2))
        later = await _until(lambda: (p := b.topics.partition("later", 0)) is not None and p.role == LEADER and p,
                             "broker 1 to lead a topic created after the new session")
        assert later.isr == (1, 2)

    run(tmp_path, body, **_props(tree))


def test_disconnected_a_leader_serves_its_isr_and_an_isr_change_waits_for_zookeeper(tmp_path) -> None:
    require_zookeeper()
    zookeeper = ZooKeeperProcess(tmp_path / "own-zookeeper").start()
    tree = Tree(zookeeper)
    tree.topic("t", (1, 2), PartitionState(1, 0, (1, 2), 1))

    async def body(b: Broker) -> None:
        part = await _until(lambda: (p := b.topics.partition("t", 0)) is not None and p.role == LEADER and p,
                            "broker 1 to lead t-0")
        zk = b.cluster.zk
        session = zk.client_id[0]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, zookeeper.stop)
        try:
            await _until(lambda: not zk.connected, "the broker to notice ZooKeeper is gone")
            assert _code(await _produce(b, "t", b"served", 1, 5000)) == ErrorCode.NONE
            part.shrink_isr(int(time.time() * 1000) + 120_000, 30_000)
            await asyncio.sleep(0)
            await _until(lambda: not part._isr_inflight, "the ISR write to give up")
            assert part.isr == (1, 2) and part.role == LEADER
        finally:
            await loop.run_in_executor(None, zookeeper.start)  # same port, same data: the session survives
        await _until(lambda: zk.connected, "the broker to reconnect")
        assert zk.client_id[0] == session and not b.replicas.fenced
        part.shrink_isr(int(time.time() * 1000) + 120_000, 30_000)
        await _until(lambda: part.isr == (1,), "the ISR change written once ZooKeeper is back")
        assert tree.state("t")[0] == PartitionState(1, 0, (1,), 1)
        assert part.role == LEADER and part.leader_epoch == 0

    try:
        run(tmp_path, body, **_props(tree))
    finally:
        tree.close()
        zookeeper.stop()
