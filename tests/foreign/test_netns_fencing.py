"""Fencing under network cuts, one deterministic scenario per test: three brokers and a three-node
ZooKeeper ensemble (chroot /kafka), each server in a network namespace of its own, the test's
clients in another (compat/faults: ``net_cluster``, ``Network.cut``/``isolate``/``heal``); a
topic of one partition, replication factor 3, ``min.insync.replicas=2``, whose leader is not the
controller (so one broker plays one part); an idempotent acks=all confluent-kafka producer
(compat/cluster/producer.py) running throughout, and acks=all produce requests sent straight to the
leader on a raw socket (tests/support/rawclient.py).

1. the leader cut from ZooKeeper only: the controller elects another leader once the session is
   gone; the cut leader, which does not know, answers NONE only for records the new leader holds
   at those offsets; healed, it learns its session expired, gives up the leadership (no ISR write
   leaves it), follows, truncates what it alone appended;
2. the leader cut from its peer brokers only: it keeps its session, so its ISR shrink to itself is
   written to ZooKeeper and nobody is elected; with ``min.insync.replicas=2`` it then answers
   NOT_ENOUGH_REPLICAS without appending, and what it had appended waiting for the followers is
   answered NOT_ENOUGH_REPLICAS_AFTER_APPEND (or REQUEST_TIMED_OUT), never NONE (as Kafka);
   healed, the followers catch up and rejoin the ISR;
3. the leader cut from everything past its session: another leader is elected and acknowledges;
   healed, the cut broker registers in a new session, follows and rejoins the ISR.

After each: every acknowledged record is read back (compat/cluster/checker.py) and, the brokers
stopped, every replica holds the same batches (compat/faults/replicas.py).

Needs root, ``ip netns`` and ``nft``, ZooKeeper and java; without them it skips, except under
CI=true, where it fails. The namespaces' names are fixed: one such test at a time on a machine
(``netns.exclusive`` waits for another run to end)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat.cluster import checker, producer
from compat.faults import campaign
from compat.faults.replicas import compare_topic
from tests.broker.test_cluster import FAST, _batch
from tests.broker.test_cluster_zookeeper import _controller, _registered, _zk
from tests.foreign.test_fault_campaign import require_netns
from tests.support.rawclient import RawClient
from tests.support.tools import require_tool
from tests.support.zookeeper import require_zookeeper
from wire.errors import ErrorCode
from wire.messages.produce import ProduceResponse

TOPIC = "fence"
OVERRIDES = {**FAST, "min.insync.replicas": "2", "default.replication.factor": "3",
             "offsets.topic.replication.factor": "3", "unclean.leader.election.enable": "false",
             "auto.leader.rebalance.enable": "false"}  # a deposed leader stays a follower
RATE, COUNT = 50, 2500  # the producer: about 50 s of records, longer than each scenario's faults
WAIT = 90  # bound of each wait for the cluster to act
Answer = tuple[Any, list[bytes]]  # (ProduceResponse.PartitionProduceResponse, the values sent)


@pytest.fixture
def net(tmp_path) -> Iterator:
    require_netns()
    require_zookeeper()
    require_tool("java")
    with campaign.net_cluster(tmp_path / "cluster", OVERRIDES) as (network, cluster):
        yield network, cluster


class Scenario:
    """The topic, led by a broker that is not the controller, and the workload on it."""

    def __init__(self, network, cluster, tmp_path: Path) -> None:
        self.net, self.c, self.tmp = network, cluster, tmp_path
        controller = _controller(cluster)
        self.old = min(b for b in cluster.brokers if b != controller)
        others = sorted(b for b in cluster.brokers if b != self.old)
        from confluent_kafka.admin import NewTopic

        fs = cluster.admin().create_topics([NewTopic(TOPIC, num_partitions=1, replica_assignment=[[self.old, *others]],
                                                     config={"min.insync.replicas": "2"})])
        fs[TOPIC].result(60)
        cluster.wait_isr_full(TOPIC, WAIT)
        assert cluster.leaders(TOPIC)[0] == self.old
        self.before = self.state()
        self.session = _registered(cluster)[self.old]
        self.ack_log = tmp_path / "acks-py.jsonl"
        out = tmp_path / "producer-py.out"
        cmd = producer.python_command(cluster.bootstrap, TOPIC, COUNT, self.ack_log, rate=RATE,
                                      delivery_timeout_ms=120_000)
        self.producer = campaign.Proc("py", campaign.spawn(cmd, out), out, self.ack_log)  # in the client namespace
        cluster.wait(lambda: self.acked() >= 100, WAIT, "the producer's first acknowledgements")
        self.sent: list[tuple[RawClient, int, list[bytes]]] = []
        self.answers: dict[int, Answer] = {}
        self.log_mark = cluster.brokers[self.old].log_path.stat().st_size

    @property
    def ns(self) -> str:
        return self.net.brokers[self.old].ns

    def state(self) -> dict:
        """The partition's state znode, as ZooKeeper has it."""
        zk = _zk(self.c)
        try:
            data, _ = zk.get(f"/brokers/topics/{TOPIC}/partitions/0/state")
        finally:
            zk.stop()
            zk.close()
        return json.loads(data)

    def acked(self) -> int:
        if not self.ack_log.exists():
            return 0
        return sum(1 for a in checker.load_acks([self.ack_log]) if "err" not in a)

    def send(self, tag: str, broker: int | None = None) -> int:
        """An acks=all produce of three records to the old leader (or ``broker``), on a connection
        of its own (a broker handles one request of a connection at a time, as Kafka does: each of
        these is appended and waits for the followers on its own); its index in ``sent``."""
        vals = [f"raw-{tag}-{k}".encode() for k in range(3)]
        raw = RawClient.connect(self.c.brokers[self.old if broker is None else broker].bootstrap, timeout=WAIT)
        corr = raw.send(RawClient.produce_request(TOPIC, 0, _batch(vals), acks=-1), 9)
        self.sent.append((raw, corr, vals))
        return len(self.sent) - 1

    def answer(self, i: int) -> Answer:
        """The answer to ``sent[i]`` (waited for)."""
        if i not in self.answers:
            raw, corr, vals = self.sent[i]
            r = raw.receive(ProduceResponse, 9, corr, timeout=WAIT).responses[0].partition_responses[0]
            raw.close()
            self.answers[i] = (r, vals)
        return self.answers[i]

    def all_answers(self) -> list[Answer]:
        return [self.answer(i) for i in range(len(self.sent))]

    def until(self, code: int, tag: str, broker: int | None = None) -> list[int]:
        """Sends (each time a new batch) until one is answered ``code`` (a leader just elected may
        not lead yet, a shrink written may not be applied yet): the indices of all it sent."""
        tried: list[int] = []

        def attempt() -> bool:
            tried.append(self.send(f"{tag}-{len(tried)}", broker))
            return self.answer(tried[-1])[0].error_code == code
        self.c.wait(attempt, WAIT, f"an answer {code!r} from broker {broker or self.old}", interval=0.5)
        return tried

    def old_log(self) -> str:
        """The old leader's broker log since the scenario began."""
        data = self.c.brokers[self.old].log_path.read_bytes()[self.log_mark:]
        return data.decode(errors="replace")

    def registered_again(self) -> None:
        self.c.wait(lambda: _registered(self.c).get(self.old, self.session) != self.session, WAIT,
                    f"broker {self.old} registered in a new session")

    def finish(self) -> tuple[checker.Read, dict]:
        """Healed: the full ISR, the producer done, every acknowledged record read back, the raw
        connection's answers all in; the final read (read_uncommitted) and the producer's summary."""
        for i, (r, vals) in enumerate(self.all_answers()):  # shown with a failure
            print(f"raw produce {i} {vals[0].decode()}..: error {r.error_code} at offset {r.base_offset}")
        self.c.wait_isr_full(TOPIC, WAIT)
        self.c.wait(lambda: not self.producer.running(), 240, "the producer to finish")
        summary = campaign.summary_of(self.producer, producer.MARK)
        assert summary.get("acked") == COUNT, summary
        acks = checker.load_acks([self.ack_log])
        reads = {iso: checker.read_topic(self.c.bootstrap, TOPIC, iso, isolation_level=iso)
                 for iso in ("read_committed", "read_uncommitted")}
        for iso, final in reads.items():
            result = checker.check(acks, final)
            assert result.total == 0, f"{iso}:\n{result.report()}"
        return reads["read_uncommitted"], summary

    def replicas_identical(self) -> None:
        """Every replica with the same batches: waited for while running (the followers fetch the
        last ones), then checked with the brokers stopped."""
        dirs = {b: bp.data_dir for b, bp in self.c.brokers.items()}

        def same() -> bool:
            return all(not x.differences for x in compare_topic(dirs, TOPIC, 1, 3))
        self.c.wait(same, WAIT, "every replica to hold the same batches")
        self.c.stop()
        [comparison] = compare_topic(dirs, TOPIC, 1, 3)
        assert not comparison.differences, comparison.summary()
        assert comparison.replicas[self.old].log_end > 0

    def close(self) -> None:
        for raw, _, _ in self.sent:
            raw.close()
        self.producer.kill()


@pytest.fixture
def scenario(net, tmp_path) -> Iterator[Scenario]:
    network, cluster = net
    s = Scenario(network, cluster, tmp_path)
    try:
        yield s
    finally:
        s.close()


def _values_at(final: checker.Read, base: int, n: int) -> list[str | None]:
    part = final.partitions[0]
    return [part[base + i].value if base + i in part else None for i in range(n)]


def _in_log(final: checker.Read, vals: list[bytes]) -> bool:
    held = {e.value for e in final.partitions[0].values()}
    return any(v.decode() in held for v in vals)


@pytest.mark.timeout(400)
def test_a_leader_cut_from_zookeeper_acknowledges_nothing_the_new_leader_lacks(scenario) -> None:
    s, c, net = scenario, scenario.c, scenario.net
    before = s.send("before")
    net.cut(s.ns, [n.ip for n in net.zk])  # peers and clients still reach it
    s.send("cut")  # the followers still fetch from it until another leader is elected
    c.wait(lambda: s.old not in _registered(c), WAIT, f"broker {s.old}'s session to expire")
    new_state = c.wait(lambda: (st := s.state())["leader"] not in (s.old, -1) and st, WAIT,
                       "the controller to elect another leader")
    new = new_state["leader"]
    assert new_state["leader_epoch"] > s.before["leader_epoch"] and s.old not in new_state["isr"], new_state
    # the new leader leads and acknowledges (clients whose metadata came from the old leader may
    # still send there: as in Kafka, a broker cut from ZooKeeper keeps its stale metadata)
    at_new = s.until(ErrorCode.NONE, "new-leader", new)
    # from now on no follower fetches from the old leader: it cannot advance its high watermark,
    # nor shrink its ISR (ZooKeeper is out of reach), nor know it was deposed
    deposed = [s.send(f"deposed-{k}") for k in range(2)]
    assert [s.answer(i)[0].error_code for i in deposed] == [ErrorCode.REQUEST_TIMED_OUT] * 2, \
        [s.answer(i) for i in deposed]
    assert s.state()["leader"] == new
    net.heal(s.ns)

    s.registered_again()
    final, _ = s.finish()
    assert s.state()["leader"] == new, "the old leader must not have taken the partition back"
    d = c.describe(TOPIC)[0]
    assert d.leader == new and s.old in d.isr, d
    # NONE only for records the new leader holds at those offsets
    for i, (r, vals) in enumerate(s.all_answers()):
        assert r.error_code in (ErrorCode.NONE, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_LEADER_OR_FOLLOWER,
                                ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND), r
        if r.error_code == ErrorCode.NONE:
            assert _values_at(final, r.base_offset, len(vals)) == [v.decode() for v in vals], (i, r, vals)
    assert s.answer(before)[0].error_code == ErrorCode.NONE and s.answer(at_new[-1])[0].error_code == ErrorCode.NONE
    for i in deposed:  # appended by the deposed leader alone: truncated away
        assert not _in_log(final, s.answer(i)[1]), s.answer(i)
    log = s.old_log()
    assert "ZooKeeper session expired: gave up the leadership" in log, log[-3000:]
    assert f"{TOPIC}-0: follower of {new} at epoch" in log, log[-3000:]
    assert f"{TOPIC}-0: truncating from" in log, log[-3000:]
    isr_writes = [line for line in log.splitlines() if f"{TOPIC}-0: ISR [" in line and " -> " in line]
    assert not isr_writes, isr_writes
    s.replicas_identical()


@pytest.mark.timeout(400)
def test_a_leader_cut_from_its_peers_shrinks_its_isr_and_acknowledges_nothing_alone(scenario) -> None:
    s, c, net = scenario, scenario.c, scenario.net
    before = s.send("before")
    assert s.answer(before)[0].error_code == ErrorCode.NONE, s.answer(before)
    net.cut(s.ns, [n.ip for b, n in net.brokers.items() if b != s.old])  # ZooKeeper and clients still reach it
    parked = [s.send(f"cut-{k}") for k in range(2)]  # appended; no follower can fetch them
    shrunk = c.wait(lambda: (st := s.state())["isr"] == [s.old] and st, WAIT,
                    f"broker {s.old}'s ISR shrink to itself in ZooKeeper")
    # it holds its session: nobody was elected, the shrink is its own write at its epoch
    assert shrunk["leader"] == s.old and shrunk["leader_epoch"] == s.before["leader_epoch"], shrunk
    assert s.old in _registered(c)
    for i in parked:  # completed by the shrink: the high watermark passes them, the ISR is too small
        assert s.answer(i)[0].error_code in (ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                             ErrorCode.REQUEST_TIMED_OUT), s.answer(i)
    # once the leader has applied its shrink: refused before the append
    alone = s.until(ErrorCode.NOT_ENOUGH_REPLICAS, "alone")
    for i in alone:
        assert s.answer(i)[0].error_code in (ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                             ErrorCode.REQUEST_TIMED_OUT), s.answer(i)
    assert s.state()["isr"] == [s.old]
    net.heal(s.ns)

    c.wait(lambda: sorted(s.state()["isr"]) == sorted(c.brokers), WAIT, "the followers back in the ISR")
    final, _ = s.finish()
    st = s.state()
    assert st["leader"] == s.old and st["leader_epoch"] == s.before["leader_epoch"], st
    r, vals = s.answer(before)
    assert _values_at(final, r.base_offset, 3) == [v.decode() for v in vals]
    for i, (r, vals) in enumerate(s.all_answers()):
        if r.error_code == ErrorCode.NOT_ENOUGH_REPLICAS:  # refused: nothing appended
            assert not _in_log(final, vals), (i, r, vals)
        elif i != before:  # appended, answered with an error, kept (as Kafka)
            assert _in_log(final, vals), (i, r, vals)
    log = s.old_log()
    assert f"{TOPIC}-0: followers [" in log, log[-3000:]  # the shrink's reason
    assert "ZooKeeper session expired" not in log, log[-3000:]
    s.replicas_identical()


@pytest.mark.timeout(400)
def test_a_leader_cut_from_everything_past_its_session_rejoins_as_a_follower(scenario) -> None:
    s, c, net = scenario, scenario.c, scenario.net
    before = s.send("before")
    assert s.answer(before)[0].error_code == ErrorCode.NONE, s.answer(before)
    net.isolate(s.ns)
    c.wait(lambda: s.old not in _registered(c), WAIT, f"broker {s.old}'s session to expire")
    new_state = c.wait(lambda: (st := s.state())["leader"] not in (s.old, -1) and st, WAIT,
                       "the controller to elect another leader")
    new = new_state["leader"]
    assert new_state["leader_epoch"] > s.before["leader_epoch"] and s.old not in new_state["isr"], new_state
    at_new = s.until(ErrorCode.NONE, "new-leader", new)  # with the ISR left, 2 = min.insync.replicas
    net.heal(s.ns)

    s.registered_again()
    final, _ = s.finish()
    st = s.state()
    assert st["leader"] == new and sorted(st["isr"]) == sorted(c.brokers), st
    for i in (before, at_new[-1]):
        r, vals = s.answer(i)
        assert _values_at(final, r.base_offset, 3) == [v.decode() for v in vals], (i, r, vals)
    log = s.old_log()
    assert "ZooKeeper session expired: gave up the leadership" in log, log[-3000:]
    assert f"{TOPIC}-0: follower of {new} at epoch" in log, log[-3000:]
    s.replicas_identical()
