"""Producer ids across a cluster, against a real ZooKeeper: blocks of 1000 claimed from
``/latest_producer_id_block`` with conditional writes, so brokers on different sessions never hand
out the same id, threads racing on one or several allocators included; block boundaries; the
znode's layout; epochs bumped only for ids this broker handed out; a retriable answer when
ZooKeeper is gone."""

from __future__ import annotations

import threading

import pytest

from tests.support.zookeeper import ZooKeeperProcess
from wire.errors import ErrorCode as E

SIZE = 1000


@pytest.fixture
def session(zookeeper: ZooKeeperProcess):  # type: ignore[no-untyped-def]
    """A factory of ZooKeeper sessions, each under a fresh chroot (tests do not share the znode)."""
    from kazoo.client import KazooClient

    root = KazooClient(hosts=zookeeper.connect, timeout=10)
    root.start(timeout=10)
    chroot = root.create("/t-", b"", sequence=True)
    clients: list[KazooClient] = []

    def open_session() -> KazooClient:
        c = KazooClient(hosts=zookeeper.connect + chroot, timeout=10)
        c.start(timeout=10)
        clients.append(c)
        return c

    try:
        yield open_session
    finally:
        for c in [*clients, root]:
            c.stop()
            c.close()


def allocator(zk, broker_id: int, **kw):  # type: ignore[no-untyped-def]
    from kbroker.cluster.producer_ids import ZkProducerIdAllocator

    return ZkProducerIdAllocator(zk, broker_id, **kw)


def test_two_brokers_hand_out_disjoint_blocks(session) -> None:  # type: ignore[no-untyped-def]
    from kbroker.cluster import zkdata

    zk1, zk2 = session(), session()
    a, b = allocator(zk1, 1, prefetch=False), allocator(zk2, 2, prefetch=False)
    assert a.allocate() == 0  # the first block starts at 0
    assert b.allocate() == SIZE  # the next one: the previous block's end + 1
    data, _ = zk1.get(zkdata.PRODUCER_ID_BLOCK)
    assert zkdata.decode_producer_id_block(data) == zkdata.ProducerIdBlock(2, SIZE, 2 * SIZE - 1)
    ids_a = [0] + [a.allocate() for _ in range(2 * SIZE + 5)]
    ids_b = [SIZE] + [b.allocate() for _ in range(SIZE)]
    assert len(set(ids_a) | set(ids_b)) == len(ids_a) + len(ids_b)  # disjoint, no repeats
    # block boundaries: a's ids run 0..999, then its next blocks (claimed after b's)
    assert ids_a[:SIZE] == list(range(SIZE))
    assert ids_a[SIZE] == 2 * SIZE and ids_a[2 * SIZE] == 3 * SIZE
    assert [blk for blk in a.blocks] == [(0, SIZE), (2 * SIZE, 3 * SIZE), (3 * SIZE, 4 * SIZE)]
    # b's first block ran out at its 1001st id: the one after a's last
    assert ids_b[-1] == 4 * SIZE and b.blocks == [(SIZE, 2 * SIZE), (4 * SIZE, 5 * SIZE)]


def test_a_restarted_broker_never_reuses_ids(session) -> None:  # type: ignore[no-untyped-def]
    zk = session()
    first = allocator(zk, 1, prefetch=False)
    used = {first.allocate() for _ in range(10)}
    again = allocator(session(), 1, prefetch=False)  # same broker id, a new session (a restart)
    assert again.allocate() == SIZE and SIZE not in used


def test_threads_on_several_sessions_never_share_an_id(session) -> None:  # type: ignore[no-untyped-def]
    allocators = [allocator(session(), i, prefetch=(i % 2 == 0), prefetch_at=300) for i in range(4)]
    per_thread = 1500
    got: list[list[int]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            alloc = allocators[k % len(allocators)]  # two threads per allocator, four sessions racing
            for _ in range(per_thread):
                got[k].append(alloc.allocate())
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for a in allocators:
        a.close()
    assert not errors and not any(t.is_alive() for t in threads)
    everything = [pid for ids in got for pid in ids]
    assert len(everything) == 8 * per_thread and len(set(everything)) == len(everything)
    # every block any allocator used is a distinct whole block of 1000
    blocks = [blk for a in allocators for blk in a.blocks]
    assert len(set(blocks)) == len(blocks) and all(end - first == SIZE and first % SIZE == 0 for first, end in blocks)


def test_prefetch_claims_the_next_block_before_the_current_one_runs_out(session) -> None:  # type: ignore[no-untyped-def]
    a = allocator(session(), 1, prefetch=True, prefetch_at=100)
    try:
        ids = [a.allocate() for _ in range(SIZE - 100)]
        assert a._next is not None  # the next block is being claimed in the worker thread
        a._next.result(10)
        assert [a.allocate() for _ in range(101)][-1] == SIZE  # taken over at the boundary
        assert ids == list(range(SIZE - 100)) and a.blocks == [(0, SIZE), (SIZE, 2 * SIZE)]
    finally:
        a.close()


def test_epochs_bump_only_for_ids_this_broker_handed_out(session) -> None:  # type: ignore[no-untyped-def]
    a, b = allocator(session(), 1, prefetch=False), allocator(session(), 2, prefetch=False)
    err, pid, epoch = a.init(-1, -1, 4)
    assert (err, epoch) == (E.NONE, 0)
    assert a.init(pid, 0, 4) == (E.NONE, pid, 1)  # bumped by the broker that handed it out
    assert a.init(pid, 0, 4) == (E.PRODUCER_FENCED, -1, -1)  # an older epoch than the latest granted
    err, other, epoch = b.init(pid, 1, 4)  # another broker: a fresh id of its own
    assert err == E.NONE and other != pid and epoch == 0 and b.handed_out(other) and not b.handed_out(pid)
    assert not a.handed_out(a.next_id)  # not yet handed out, though inside a's block


def test_zookeeper_unreachable_is_a_retriable_answer(session) -> None:  # type: ignore[no-untyped-def]
    zk = session()
    a = allocator(zk, 1, prefetch=False, zk_timeout_s=2.0)
    zk.stop()
    assert a.init(-1, -1, 4) == (E.COORDINATOR_LOAD_IN_PROGRESS, -1, -1)


class _RacedOnce:
    """A real ZooKeeper session whose first read of the znode is followed, before the caller can
    write, by another broker claiming a block: the caller's conditional write must lose."""

    def __init__(self, zk, rival) -> None:  # type: ignore[no-untyped-def]
        self._zk, self._rival, self.reads = zk, rival, 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._zk, name)

    def get_async(self, path: str):  # type: ignore[no-untyped-def]
        result = self._zk.get_async(path)
        result.wait(10)  # done (the value, or NoNode)
        self.reads += 1
        if self.reads == 1:
            self._rival.allocate()
        return result


@pytest.mark.parametrize("znode_exists", [False, True])
def test_a_lost_race_reads_again_and_takes_the_next_block(session, znode_exists: bool) -> None:  # type: ignore[no-untyped-def]
    rival = allocator(session(), 2, prefetch=False)
    base = 0
    if znode_exists:
        assert rival.allocate() == 0  # the rival's first block exists before the race
        rival.next_id = rival.block_end  # its next allocate claims a new block
        base = SIZE
    raced = _RacedOnce(session(), rival)
    a = allocator(raced, 1, prefetch=False)
    assert a.allocate() == base + SIZE  # the rival won base..base+999 in between
    assert raced.reads == 2 and rival.blocks[-1] == (base, base + SIZE)
