"""The cluster under ZooKeeper faults and paused brokers: three kbroker processes on a three-server
ZooKeeper ensemble under the chroot /kafka (compat.cluster.launcher, ``zookeeper_nodes=3``), driven
by raw requests and confluent-kafka.

- one ZooKeeper server killed (each in turn): nothing changes — acks=all produce and reads go on, no
  leader epoch moves, the controller stays;
- every ZooKeeper server stopped: the leaders go on serving their current ISR (acks=all produce
  succeeds, consumers read), nobody is elected; ZooKeeper back, the sessions are still there and a
  broker killed then has its partitions elected elsewhere;
- a broker paused (SIGSTOP) past its session: resumed, it registers again and rejoins the ISRs;
- the acceptance test of fencing: a leader paused past its session while an idempotent acks=all
  producer runs, with acks=all requests queued on its own socket while it is stopped (some before,
  some after the new leader exists): every acknowledged record is read back by read_committed and
  read_uncommitted consumers, every NONE answer of the paused leader names records the new leader
  holds at those offsets, it never writes an ISR after the pause, and it ends as a follower with
  the same bytes at every offset as the new leader.

Failure detection is short (tests/broker/test_cluster.py FAST: session 6 s, replica lag 3 s); the
waits are bounded polls, never timing assertions."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker.test_cluster import FAST, _batch, _leader_epoch, _produce, _values
from tests.support.rawclient import RawClient
from tests.support.zookeeper import require_zookeeper
from wire.errors import ErrorCode
from wire.messages.metadata import MetadataRequest
from wire.messages.produce import ProduceResponse
from wire.records import CorruptRecordError, decode_batch, iter_batches

CHROOT = "/kafka"


def _cluster(tmp_path: Path, **overrides: str) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path, brokers=3, overrides={**FAST, **overrides}, zookeeper_nodes=3, chroot=CHROOT) as c:
        yield c


@pytest.fixture
def cluster(tmp_path) -> Iterator:
    yield from _cluster(tmp_path)


@pytest.fixture
def steady_cluster(tmp_path) -> Iterator:
    """No preferred-leader elections: a deposed leader stays a follower."""
    yield from _cluster(tmp_path, **{"auto.leader.rebalance.enable": "false"})


def _zk(c):
    """A kazoo session on the ensemble, under the cluster's chroot."""
    from kazoo.client import KazooClient

    client = KazooClient(hosts=c.zookeeper_connect, timeout=10)
    client.start(timeout=30)
    return client


def _registered(c) -> dict[int, int]:
    """broker id -> the session owning its /brokers/ids node, read from ZooKeeper."""
    zk = _zk(c)
    try:
        out = {}
        for child in zk.get_children("/brokers/ids"):
            stat = zk.exists(f"/brokers/ids/{child}")
            if stat is not None:
                out[int(child)] = stat.ephemeralOwner
        return out
    finally:
        zk.stop()
        zk.close()


def _controller(c) -> int:
    b = next(p for p in c.brokers.values() if p.proc is not None)
    with RawClient.connect(b.bootstrap) as raw:
        return raw.request(MetadataRequest(topics=[], allow_auto_topic_creation=False), 9).controller_id


def _epochs(c, topic: str, partitions: int) -> dict[int, int]:
    return {p: _leader_epoch(c, topic, p) for p in range(partitions)}


def _produce_round(c, topic: str, partitions: int, tag: str, written: dict[int, list[bytes]]) -> None:
    """One acks=all batch to every partition's leader; each must be acknowledged."""
    for p, leader in c.leaders(topic).items():
        vals = [f"{tag}-{p}-{k}".encode() for k in range(5)]
        r = _produce(c.brokers[leader].bootstrap, topic, p, vals, acks=-1)
        assert r.error_code == 0, (tag, p, r.error_code)
        written[p] += vals


def _check_values(c, topic: str, written: dict[int, list[bytes]]) -> None:
    for p, leader in c.leaders(topic).items():
        assert _values(c.brokers[leader].bootstrap, topic, p) == written[p], p


def test_ensemble_with_a_chroot_one_server_killed_changes_nothing(cluster) -> None:
    c = cluster
    zk = _zk(c)
    try:
        assert sorted(zk.get_children("/brokers/ids")) == ["1", "2", "3"]
    finally:
        zk.stop()
        zk.close()
    from kazoo.client import KazooClient

    root = KazooClient(hosts=c.zk.connect, timeout=10)
    root.start(timeout=30)
    try:  # everything lives under the chroot
        assert root.exists(CHROOT + "/brokers/topics") is not None and root.exists("/brokers") is None
    finally:
        root.stop()
        root.close()
    c.create_topic("ens", 3, 3, {"min.insync.replicas": "2"})
    c.wait_isr_full("ens")
    epochs, controller, sessions = _epochs(c, "ens", 3), _controller(c), _registered(c)
    written: dict[int, list[bytes]] = {p: [] for p in range(3)}
    _produce_round(c, "ens", 3, "before", written)
    for i, member in enumerate(c.zk.members):  # whichever server a broker talks to, it goes once
        member.kill()
        for k in range(3):
            _produce_round(c, "ens", 3, f"without-{i}-{k}", written)
        _check_values(c, "ens", written)
        member.start()
        _produce_round(c, "ens", 3, f"back-{i}", written)
        assert _epochs(c, "ens", 3) == epochs
        assert _controller(c) == controller
        assert c.isr_full("ens")
    assert _registered(c) == sessions  # the same sessions throughout
    _check_values(c, "ens", written)


def test_zookeeper_gone_leaders_serve_their_isr_and_nothing_is_elected(cluster) -> None:
    c = cluster
    c.create_topic("dark", 3, 3, {"min.insync.replicas": "2"})
    c.wait_isr_full("dark")
    epochs, leaders, sessions = _epochs(c, "dark", 3), c.leaders("dark"), _registered(c)
    written: dict[int, list[bytes]] = {p: [] for p in range(3)}
    _produce_round(c, "dark", 3, "before", written)
    c.zk.stop()  # every server
    try:
        # twice the session timeout without ZooKeeper: acks=all goes on, consumers read
        deadline = time.monotonic() + 2 * int(FAST["zookeeper.session.timeout.ms"]) / 1000
        k = 0
        while time.monotonic() < deadline:
            _produce_round(c, "dark", 3, f"dark-{k}", written)
            k += 1
            time.sleep(0.5)
        _check_values(c, "dark", written)
        assert c.leaders("dark") == leaders and _epochs(c, "dark", 3) == epochs
        assert c.isr_full("dark")
    finally:
        c.zk.start()
    # every broker reconnects (in its own session, which the servers restored): a topic created
    # now reaches each one's metadata through its watches, and no session expired meanwhile
    c.create_topic("dawn", 1, 3)
    for b in c.brokers.values():
        def sees_dawn(b=b) -> bool:
            with RawClient.connect(b.bootstrap) as raw:
                md = raw.request(MetadataRequest(topics=None), 9)
            return any(t.name == "dawn" and t.partitions and t.partitions[0].leader_id >= 0 for t in md.topics)
        c.wait(sees_dawn, 60, f"broker {b.bootstrap} to see the topic created after ZooKeeper came back")
    assert _registered(c) == sessions
    _produce_round(c, "dark", 3, "after", written)
    assert _epochs(c, "dark", 3) == epochs
    # the cluster is whole: a broker killed now is noticed and its leaderships move
    victim = leaders[0]
    led = {p for p, b in leaders.items() if b == victim}
    c.kill(victim)
    c.wait_leader_moved("dark", led, victim, timeout=60)
    for p in led:
        assert _leader_epoch(c, "dark", p) > epochs[p]
    _produce_round(c, "dark", 3, "after-kill", written)
    _check_values(c, "dark", written)
    c.restart(victim)
    c.wait_isr_full("dark", timeout=90)


def test_a_broker_paused_past_its_session_registers_again_and_rejoins_the_isr(cluster) -> None:
    c = cluster
    c.create_topic("nap", 3, 3, {"min.insync.replicas": "2"})
    c.wait_isr_full("nap")
    leaders = c.leaders("nap")
    victim = leaders[0]
    led = {p for p, b in leaders.items() if b == victim}
    old_session = _registered(c)[victim]
    pid = c.brokers[victim].proc.pid
    written: dict[int, list[bytes]] = {p: [] for p in range(3)}
    _produce_round(c, "nap", 3, "before", written)
    os.kill(pid, signal.SIGSTOP)
    try:
        c.wait(lambda: victim not in _registered(c), 60, f"broker {victim}'s session to expire")
        c.wait_leader_moved("nap", led, victim, timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    c.wait(lambda: _registered(c).get(victim, old_session) != old_session, 60,
           f"broker {victim} registered in a new session")
    c.wait_isr_full("nap", timeout=90)
    assert "ZooKeeper session expired: gave up the leadership" in c.brokers[victim].log_path.read_text()
    _produce_round(c, "nap", 3, "after", written)
    _check_values(c, "nap", written)


# -- the acceptance test of fencing -------------------------------------------------------------------

def _log_batches(data_dir: Path, topic: str, p: int) -> dict[int, bytes]:
    """base offset -> the bytes of that batch, from the partition's segment files."""
    out: dict[int, bytes] = {}
    for seg in sorted((data_dir / f"{topic}-{p}").glob("*.log")):
        buf = seg.read_bytes()
        try:
            for pos, h in iter_batches(buf):
                out[h.base_offset] = buf[pos:pos + h.total_size]
        except CorruptRecordError:
            pass  # a tail being written
    return out


def _values_at(batches: dict[int, bytes]) -> dict[int, bytes]:
    out = {}
    for data in batches.values():
        h, records = decode_batch(data, 0)
        for r in records:
            out[r.offset] = r.value
    return out


def test_a_leader_paused_past_its_session_acknowledges_nothing_the_new_leader_lacks(steady_cluster,
                                                                                     tmp_path) -> None:
    from compat.cluster import checker, producer

    c = steady_cluster
    topic = "fence"
    c.create_topic(topic, 1, 3, {"min.insync.replicas": "2"})
    c.wait_isr_full(topic)
    old = c.leaders(topic)[0]
    old_session = _registered(c)[old]
    pid = c.brokers[old].proc.pid
    ack_log = tmp_path / "py.jsonl"
    summary: dict = {}
    count = 3000
    prod = threading.Thread(target=lambda: summary.update(producer.produce(
        c.bootstrap, topic, count, ack_log, rate=150, delivery_timeout_ms=120_000)), daemon=True)
    prod.start()
    raw = RawClient.connect(c.brokers[old].bootstrap, timeout=60)
    sent: list[tuple[int, list[bytes]]] = []

    def send(tag: str) -> None:
        vals = [f"raw-{tag}-{k}".encode() for k in range(3)]
        sent.append((raw.send(RawClient.produce_request(topic, 0, _batch(vals), acks=-1), 9), vals))

    try:
        c.wait(lambda: ack_log.exists() and len(ack_log.read_text().splitlines()) > 300, 60,
               "the producer's first acknowledgements")
        send("running")
        log_mark = c.brokers[old].log_path.stat().st_size
        os.kill(pid, signal.SIGSTOP)
        for k in range(3):
            send(f"stopped-{k}")  # queued on the stopped leader's socket
        c.wait(lambda: old not in _registered(c), 60, f"broker {old}'s session to expire")
        c.wait_leader_moved(topic, {0}, old, timeout=60)
        for k in range(3):
            send(f"deposed-{k}")  # a new leader exists
    finally:
        os.kill(pid, signal.SIGCONT)
    new = c.leaders(topic)[0]
    answers = [(raw.receive(ProduceResponse, 9, corr, timeout=60).responses[0].partition_responses[0], vals)
               for corr, vals in sent]
    raw.close()
    prod.join(180)
    assert not prod.is_alive(), "the producer did not finish"
    assert summary["acked"] == count, summary
    c.wait(lambda: _registered(c).get(old, old_session) != old_session, 60, f"broker {old} registered again")
    c.wait_isr_full(topic, timeout=90)
    assert c.leaders(topic)[0] == new, "the old leader must not have taken the partition back"

    # every acknowledged record, read back: read_committed and read_uncommitted
    acks = checker.load_acks([ack_log])
    reads = {iso: checker.read_topic(c.bootstrap, topic, iso, isolation_level=iso)
             for iso in ("read_committed", "read_uncommitted")}
    for iso, final in reads.items():
        result = checker.check(acks, final)
        assert result.total == 0, f"{iso}:\n{result.report()}"
    # the paused leader's answers: NONE only for records the new leader holds at those offsets
    final = reads["read_uncommitted"].partitions[0]
    for r, vals in answers:
        assert r.error_code in (ErrorCode.NONE, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.REQUEST_TIMED_OUT,
                                ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.NOT_ENOUGH_REPLICAS), r
        if r.error_code == ErrorCode.NONE:
            got = [final.get(r.base_offset + i) for i in range(len(vals))]
            assert [g.value if g else None for g in got] == [v.decode() for v in vals], (r, vals)
    assert any(r.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER for r, _ in answers[1:])
    # after the pause the old leader wrote no ISR (a shrink, if tried, lost its conditional write)
    after = c.brokers[old].log_path.read_bytes()[log_mark:].decode(errors="replace")
    assert not [line for line in after.splitlines() if f"{topic}-0: ISR [" in line and " -> " in line], after[-3000:]
    assert "ZooKeeper session expired: gave up the leadership" in after
    # the old leader follows, with the new leader's bytes at every offset
    d = c.describe(topic)[0]
    assert d.leader == new and old in d.isr

    def same_logs() -> bool:
        a = _log_batches(c.brokers[old].data_dir, topic, 0)
        b = _log_batches(c.brokers[new].data_dir, topic, 0)
        return bool(a) and a == b
    c.wait(same_logs, 60, "the old leader's log to equal the new leader's")
    values = _values_at(_log_batches(c.brokers[new].data_dir, topic, 0))
    assert sorted(values) == list(range(len(values)))  # one record at every offset, no gap
