"""The replicated cluster: three kbroker processes and a real ZooKeeper (compat.cluster.launcher),
driven by confluent-kafka and raw requests.

Each test builds its own cluster with short failure detection (ZooKeeper session 6 s, replica lag
3 s); the waits are bounded polls, never timing assertions."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.cluster_groups import coordinator
from tests.support.rawclient import RawClient
from tests.support.waiting import wait_for
from tests.support.zookeeper import require_zookeeper
from wire.errors import ErrorCode
from wire.messages.describe_cluster import DescribeClusterRequest
from wire.messages.init_producer_id import InitProducerIdRequest
from wire.messages.metadata import MetadataRequest
from wire.records import build_batch, decode_batch, iter_batches

FAST = {"zookeeper.session.timeout.ms": "6000", "replica.lag.time.max.ms": "3000",
        "leader.imbalance.check.interval.seconds": "5", "offsets.topic.num.partitions": "6",
        "group.initial.rebalance.delay.ms": "0", "replica.fetch.wait.max.ms": "200"}


@pytest.fixture
def cluster(tmp_path) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    c = Cluster(tmp_path, brokers=3, overrides=FAST)
    with c:
        yield c


def _batch(values: list[bytes]) -> bytes:
    return bytes(build_batch([(None, v, None, int(time.time() * 1000)) for v in values]))


def _leader_epoch(c, topic: str, p: int) -> int:
    b = next(iter(c.brokers.values()))
    for proc in c.brokers.values():
        if proc.proc is not None:
            b = proc
            break
    with RawClient.connect(b.bootstrap) as raw:
        md = raw.request(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)],
                                         allow_auto_topic_creation=False), 9)
    return md.topics[0].partitions[p].leader_epoch


def _values(bootstrap: str, topic: str, p: int) -> list[bytes]:
    """Every value of the partition up to its high watermark, read from its leader (a leader just
    elected answers OFFSET_NOT_AVAILABLE until its high watermark reaches its epoch's start)."""
    out: list[bytes] = []
    with RawClient.connect(bootstrap) as raw:
        def latest() -> tuple[int] | None:
            r = raw.list_offset(topic, p, -1)
            if r.error_code == ErrorCode.OFFSET_NOT_AVAILABLE:
                return None
            assert r.error_code == 0, r.error_code
            return (r.offset,)

        [end] = wait_for(latest, timeout=30, what=f"the latest offset of {topic}-{p}")
        offset = 0
        while offset < end:
            part = raw.fetch(topic, p, offset, max_bytes=4 << 20)
            assert part.error_code == 0, part.error_code
            data = bytes(part.records)
            for pos, h in iter_batches(data):
                out += [r.value for r in decode_batch(data, pos)[1]]
                offset = h.next_offset
    return out


def _produce(bootstrap: str, topic: str, p: int, values: list[bytes], acks: int = -1):
    with RawClient.connect(bootstrap) as raw:
        return raw.produce(topic, p, _batch(values), acks=acks)


def test_metadata_from_every_broker_lists_the_cluster(cluster) -> None:
    cluster.create_topic("spread", 6, 3, {"min.insync.replicas": "2"})
    cluster.wait_isr_full("spread")
    controllers = set()
    for b in cluster.brokers.values():
        with RawClient.connect(b.bootstrap) as raw:
            md = raw.request(MetadataRequest(topics=None), 9)
            dc = raw.request(DescribeClusterRequest(), 0)
        assert sorted(x.node_id for x in md.brokers) == [1, 2, 3]
        assert sorted(x.broker_id for x in dc.brokers) == [1, 2, 3]
        controllers.add((md.controller_id, dc.controller_id))
        t = next(t for t in md.topics if t.name == "spread")
        assert len(t.partitions) == 6
        for p in t.partitions:
            assert sorted(p.replica_nodes) == [1, 2, 3] and sorted(p.isr_nodes) == [1, 2, 3]
            assert p.leader_id == p.replica_nodes[0]  # the preferred replica leads
        # leadership is spread: every broker leads two of the six partitions
        assert sorted(sum(1 for p in t.partitions if p.leader_id == b) for b in (1, 2, 3)) == [2, 2, 2]
    assert len(controllers) == 1 and next(iter(controllers))[0] in (1, 2, 3)
    assert next(iter(controllers))[0] == next(iter(controllers))[1]


def test_replication_factor_above_live_brokers_is_refused(cluster) -> None:
    from confluent_kafka.admin import NewTopic

    fut = cluster.admin().create_topics([NewTopic("too-many", 1, 4)])["too-many"]
    with pytest.raises(Exception) as e:
        fut.result(15)
    assert "INVALID_REPLICATION_FACTOR" in str(e.value) or "replication factor" in str(e.value).lower()


def test_produce_to_a_follower_names_the_leader(cluster) -> None:
    cluster.create_topic("who", 1, 3)
    leader = cluster.leaders("who")[0]
    follower = next(b for b in cluster.brokers if b != leader)
    r = _produce(cluster.brokers[follower].bootstrap, "who", 0, [b"x"], acks=1)
    assert r.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_acks_all_survives_leader_kills_and_the_returning_broker_catches_up(cluster) -> None:
    cluster.create_topic("durable", 1, 3, {"min.insync.replicas": "2"})
    cluster.wait_isr_full("durable")
    written: list[bytes] = []
    for round_ in range(3):
        leader = cluster.leaders("durable")[0]
        epoch = _leader_epoch(cluster, "durable", 0)
        for i in range(20):
            vals = [f"{round_}-{i}-{k}".encode() for k in range(10)]
            r = _produce(cluster.brokers[leader].bootstrap, "durable", 0, vals, acks=-1)
            assert r.error_code == 0, r.error_code
            written += vals
        cluster.kill(leader)
        cluster.wait_leader_moved("durable", {0}, leader, timeout=60)
        new_leader = cluster.leaders("durable")[0]
        assert _leader_epoch(cluster, "durable", 0) > epoch
        assert _values(cluster.brokers[new_leader].bootstrap, "durable", 0) == written
        cluster.restart(leader)
        cluster.wait_isr_full("durable", timeout=90)
    # every replica holds the same records: each one in turn is made the only one left
    for b in cluster.brokers:
        others = [o for o in cluster.brokers if o != b]
        for o in others:
            cluster.kill(o)
        cluster.wait(lambda b=b: cluster.leaders("durable")[0] == b, 60, f"broker {b} to lead")
        assert _values(cluster.brokers[b].bootstrap, "durable", 0) == written
        for o in others:
            cluster.restart(o)
        cluster.wait_isr_full("durable", timeout=90)


def test_isr_shrinks_not_enough_replicas_and_rejoins(cluster) -> None:
    cluster.create_topic("isr", 1, 3, {"min.insync.replicas": "2"})
    cluster.wait_isr_full("isr")
    leader = cluster.leaders("isr")[0]
    followers = [b for b in cluster.brokers if b != leader]
    pids = [cluster.brokers[f].proc.pid for f in followers]
    lead = cluster.brokers[leader].bootstrap
    assert _produce(lead, "isr", 0, [b"before"]).error_code == 0
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        cluster.wait(lambda: cluster.describe("isr")[0].isr == (leader,), 60, "the ISR to shrink to the leader")
        r = _produce(lead, "isr", 0, [b"refused"], acks=-1)
        assert r.error_code == ErrorCode.NOT_ENOUGH_REPLICAS
        r = _produce(lead, "isr", 0, [b"acks-1"], acks=1)
        assert r.error_code == 0
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    cluster.wait_isr_full("isr", timeout=90)
    assert _produce(lead if cluster.leaders("isr")[0] == leader else
                    cluster.brokers[cluster.leaders("isr")[0]].bootstrap, "isr", 0, [b"after"]).error_code == 0
    assert _values(cluster.brokers[cluster.leaders("isr")[0]].bootstrap, "isr", 0) == [b"before", b"acks-1", b"after"]


def test_no_unclean_election_a_partition_without_isr_stays_offline(cluster) -> None:
    cluster.create_topic("clean", 1, 3)
    cluster.wait_isr_full("clean")
    leader = cluster.leaders("clean")[0]
    others = [b for b in cluster.brokers if b != leader]
    for o in others:
        cluster.kill(o)
    cluster.wait(lambda: cluster.describe("clean")[0].isr == (leader,), 60, "the ISR to be the leader alone")
    lead = cluster.brokers[leader].bootstrap
    assert _produce(lead, "clean", 0, [b"only-on-the-leader"], acks=1).error_code == 0
    cluster.kill(leader)
    for o in others:
        cluster.restart(o)
    # both live replicas are stale: the partition stays without a leader
    cluster.wait(lambda: cluster.describe("clean")[0].leader == -1, 60, "the partition to be offline")
    time.sleep(3)  # give a (wrong) unclean election the chance to happen
    assert cluster.describe("clean")[0].leader == -1
    cluster.restart(leader)
    cluster.wait(lambda: cluster.describe("clean")[0].leader == leader, 60, "the last ISR member to lead again")
    assert _values(lead, "clean", 0) == [b"only-on-the-leader"]
    cluster.wait_isr_full("clean", timeout=90)


def test_topic_changes_on_any_broker_apply_everywhere(cluster) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions

    cluster.create_topic("shared", 2, 3)
    one = AdminClient({"bootstrap.servers": cluster.brokers[1].bootstrap})
    three = AdminClient({"bootstrap.servers": cluster.brokers[3].bootstrap})
    res = ConfigResource("topic", "shared", set_config={"retention.ms": "123456"})
    one.alter_configs([res])[res].result(15)

    def seen_on_three() -> bool:
        got = three.describe_configs([ConfigResource("topic", "shared")])
        cfg = next(iter(got.values())).result(15)
        return cfg["retention.ms"].value == "123456"
    cluster.wait(seen_on_three, 30, "the config change on broker 3")
    two = AdminClient({"bootstrap.servers": cluster.brokers[2].bootstrap})
    two.create_partitions([NewPartitions("shared", 4)])["shared"].result(15)
    cluster.wait(lambda: len(cluster.describe("shared")) == 4 and all(
        s.leader >= 0 for s in cluster.describe("shared").values()), 30, "4 led partitions")
    three.delete_topics(["shared"])["shared"].result(30)
    cluster.wait(lambda: "shared" not in cluster.metadata().topics, 30, "the topic gone")
    cluster.wait(lambda: not any((b.data_dir / f"shared-{p}").exists() for b in cluster.brokers.values()
                                 for p in range(4)), 30, "the data gone from every broker")


def test_producer_ids_are_unique_across_the_cluster(cluster) -> None:
    ids = []
    for b in cluster.brokers.values():
        with RawClient.connect(b.bootstrap) as raw:
            for _ in range(3):
                r = raw.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000,
                                                      producer_id=-1, producer_epoch=-1), 4)
                assert r.error_code == 0
                ids.append(r.producer_id)
    assert len(set(ids)) == len(ids)


def test_consumer_group_survives_a_kill_of_its_coordinator(cluster) -> None:
    from confluent_kafka import Consumer, Producer

    cluster.create_topic("work", 3, 3, {"min.insync.replicas": "2"})
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(300):
        p.produce("work", str(i).encode(), key=str(i).encode())
    assert p.flush(30) == 0

    def consume(n: int, seen: list[int]) -> None:
        c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "g", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
        c.subscribe(["work"])
        deadline = time.monotonic() + 90
        got = 0
        while got < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            seen.append(int(m.value()))
            got += 1
            c.commit(m, asynchronous=False)
        c.close()

    seen: list[int] = []
    consume(150, seen)
    assert len(seen) == 150
    old = coordinator(cluster, "g")
    cluster.kill(old)
    cluster.wait(lambda: coordinator(cluster, "g") not in (old, -1), 60, "a new coordinator")
    consume(150, seen)
    assert sorted(seen) == list(range(300)), "every record exactly once across the coordinator kill"
    cluster.restart(old)


def test_preferred_leaders_come_back_after_a_restart(cluster) -> None:
    cluster.create_topic("pref", 3, 3)
    cluster.wait_isr_full("pref")
    preferred = {p: s.replicas[0] for p, s in cluster.describe("pref").items()}
    victim = preferred[0]
    cluster.kill(victim)
    cluster.wait_leader_moved("pref", {p for p, b in preferred.items() if b == victim}, victim, timeout=60)
    cluster.restart(victim)
    cluster.wait_isr_full("pref", timeout=90)
    # auto.leader.rebalance.enable: the controller's check (every 5 s here) gives them back
    cluster.wait(lambda: cluster.leaders("pref") == preferred, 60, "the preferred leaders back")


def test_describe_configs_reports_the_replication_configs(cluster) -> None:
    from confluent_kafka.admin import ConfigResource

    res = ConfigResource("broker", "2")
    got = cluster.admin().describe_configs([res])[res].result(15)
    assert got["replica.lag.time.max.ms"].value == "3000"  # set for this cluster
    for name, default in (("unclean.leader.election.enable", "false"), ("replica.fetch.max.bytes", "1048576"),
                          ("num.replica.fetchers", "1"), ("controlled.shutdown.enable", "true"),
                          ("offsets.topic.replication.factor", "3")):
        assert got[name].value == default, name
    assert got["zookeeper.session.timeout.ms"].value == "6000"


def _registration_owner(zk, broker_id: int) -> int | None:
    stat = zk.exists(f"/brokers/ids/{broker_id}")
    return None if stat is None else int(stat.ephemeralOwner)


def test_a_broker_restarted_within_its_old_session_serves_only_once_that_registration_is_gone(cluster) -> None:
    """Killed and started again at once, the broker's previous registration (and, in the tree, its
    leaderships and ISR places) lives until the old session expires. Meanwhile its port refuses
    connections — it never takes a connection it does not answer — and it is served, registered
    under the new session, after that; it does not take up a leadership of its previous run at that
    run's leader epoch (the controller replaces them when the old session expires)."""
    from kazoo.client import KazooClient

    cluster.create_topic("again", 6, 3)
    cluster.wait_isr_full("again")
    victim = 2
    led = {p: _leader_epoch(cluster, "again", p) for p, s in cluster.describe("again").items() if s.leader == victim}
    assert led  # 6 partitions over 3 brokers: each leads some
    zk = KazooClient(hosts=cluster.zookeeper_connect, timeout=10)
    zk.start(timeout=30)
    try:
        old = _registration_owner(zk, victim)
        assert old is not None
        b = cluster.brokers[victim]
        cluster.kill(victim)
        before_restart = len(b.log_path.read_text(errors="replace"))
        started = threading.Thread(target=b.start, args=(60,), daemon=True)
        started.start()
        refused_while_old = 0
        while started.is_alive():
            before = _registration_owner(zk, victim)
            try:
                with socket.create_connection(("127.0.0.1", b.port), timeout=1):
                    accepted = True
            except OSError:
                accepted = False
            after = _registration_owner(zk, victim)
            if before == old and after == old and b.proc is not None and b.proc.poll() is None:
                assert not accepted, "the restarted broker accepted a connection while its old session held its id"
                refused_while_old += 1
            time.sleep(0.05)
        started.join()
        assert refused_while_old > 0  # the restart did fall within the old session
        assert "waiting up to" in b.log_path.read_text()
        cluster.wait_isr_full("again")
        this_run = b.log_path.read_text(errors="replace")[before_restart:]
        for p, epoch in led.items():
            assert f"again-{p}: leader at epoch {epoch}," not in this_run, (p, epoch)
        cluster.wait_brokers({victim})
        new = _registration_owner(zk, victim)
        assert new is not None and new != old
        with RawClient.connect(b.bootstrap) as raw:
            md = raw.request(MetadataRequest(topics=[], allow_auto_topic_creation=False), 9)
        assert {br.node_id for br in md.brokers} == set(cluster.brokers)
    finally:
        zk.stop()
        zk.close()


def test_zookeeper_unreachable_is_a_clear_startup_error(tmp_path) -> None:
    import subprocess
    import sys

    require_zookeeper()  # kazoo must be there for the cluster path to be taken
    from tests.support.brokerproc import free_port

    r = subprocess.run([sys.executable, "-m", "kbroker", "serve", "--override", f"zookeeper.connect=127.0.0.1:{free_port()}",
                        "--override", "zookeeper.connection.timeout.ms=2000", "--override", f"log.dirs={tmp_path}",
                        "--override", f"listeners=PLAINTEXT://127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "could not connect to ZooKeeper" in r.stderr and "Traceback" not in r.stderr
