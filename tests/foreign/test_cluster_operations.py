"""The operator commands of README.md "Operating the cluster", run as written with Kafka 4.1.1's own tools
(the jars of compat/kafka_ref, run as tests/foreign/test_cluster_reassign.py and compat/cli_compare.py
run them) against a kbroker cluster in ZooKeeper mode: three brokers and a real ZooKeeper
(compat.cluster.launcher), then a fourth one joining (``Cluster.add_broker``).  Each test has its own
topic, created with ``kafka-topics --create --replica-assignment`` on brokers 1-3.

- ``kafka-reassign-partitions --generate --topics-to-move-json-file ... --broker-list 1,2,3,4`` prints
  the current assignment and a proposed plan which, saved and given to ``--execute``, moves replicas
  onto broker 4; ``--verify`` until completed; the metadata then has the proposed replicas.
- ``--execute --throttle N``: the tool's throttle configs (``leader/follower.replication.throttled.rate``
  on the brokers of the move, ``*.replication.throttled.replicas`` on the topic) show in
  ``kafka-configs --describe`` while the move runs; it completes; ``--verify`` clears them.
- ``--cancel`` of a move kept in progress by a throttle of a few KB/s: the partitions go back to their
  original replica set (Kafka's order: the current replicas minus the ones being added), the added
  broker deletes its copies, the throttles are cleared.
- ``kafka-topics --describe --under-replicated-partitions`` lists exactly the partitions the metadata has
  with an incomplete ISR while a broker is down, and nothing once it is back; ``kafka-topics --describe``
  shows the metadata's leader, replicas and ISR.

Needs java, the Kafka 4.1.1 jars and ZooKeeper: without them it skips, except under CI=true, where it
fails."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from compat import cli_compare
from tests.broker.test_cluster import FAST
from tests.foreign.test_cluster_reassign import (
    _execute,
    _kafka_jars,
    _tool,
    _verify_until_completed,
    _write_plan,
)
from tests.support.zookeeper import require_zookeeper

# small follower fetches, so a throttled move advances by small steps (as in tests/broker/test_cluster_throttle.py)
OVERRIDES = {**FAST, "replica.fetch.max.bytes": "32768"}
RATES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
REPLICAS = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")
NEW = 4  # the broker that joins


@pytest.fixture(scope="module")
def jars() -> Path:
    return _kafka_jars()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, jars) -> Iterator:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path_factory.mktemp("cluster"), brokers=3, overrides=OVERRIDES) as c:
        assert c.add_broker() == NEW
        yield c


def topics(jars: Path, cluster, *args: str) -> str:
    """kafka-topics (org.apache.kafka.tools.TopicCommand); its output, then ``(exit N)``."""
    return cli_compare.run_tool(jars, cluster.bootstrap, cli_compare.Step("kafka-topics", cli_compare.TOPICS,
                                                                          list(args)))


def _create(jars: Path, cluster, topic: str, assignment: list[list[int]]) -> None:
    out = topics(jars, cluster, "--create", "--topic", topic,
                 "--replica-assignment", ",".join(":".join(map(str, r)) for r in assignment))
    assert f"Created topic {topic}." in out and out.endswith("(exit 0)"), out
    cluster.wait(lambda: cluster.isr_full(topic), 60, f"the full ISR of {topic}")


def _fill(cluster, topic: str, partitions: int, per_partition: int) -> None:
    """``per_partition`` records of 1000 bytes in each partition, acks=all."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 20})
    failed: list = []
    for i in range(partitions * per_partition):
        while True:
            try:
                p.produce(topic, b"v" * 1000, partition=i % partitions,
                          on_delivery=lambda err, _msg: failed.append(err) if err else None)
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(60) == 0 and failed == [], failed


def _listed(out: str) -> dict[tuple[str, int], tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """The partition lines of ``kafka-topics --describe`` (tab-indented; the first one's tab stripped by
    run_tool when nothing comes before): (topic, partition) -> leader, replicas, ISR."""
    found = {}
    for m in re.finditer(r"^\s*Topic: (\S+)\tPartition: (\d+)\tLeader: (-?\d+|none)\tReplicas: ([\d,]*)\tIsr: ([\d,]*)",
                         out, re.M):
        ids = [tuple(int(x) for x in g.split(",") if x) for g in (m[4], m[5])]
        found[m[1], int(m[2])] = (-1 if m[3] == "none" else int(m[3]), ids[0], ids[1])
    return found


def _metadata(cluster, topic: str) -> dict[tuple[str, int], tuple[int, tuple[int, ...], tuple[int, ...]]]:
    return {(topic, p): (s.leader, s.replicas, s.isr) for p, s in cluster.describe(topic).items()}


def _proposed(out: str) -> dict:
    lines = out.splitlines()
    return json.loads(lines[lines.index("Proposed partition reassignment configuration") + 1])


def _config_values(out: str) -> dict[str, str]:
    """``name=value`` of each entry ``kafka-configs --describe`` lists."""
    return dict(m.groups() for m in re.finditer(r"^  ([a-z.]+)=(\S*) sensitive=", out, re.M))


def _throttled_replicas(value: str) -> set[tuple[int, int]]:
    return {(int(p), int(b)) for p, b in (e.split(":") for e in value.split(",") if e)}


def _configs(jars: Path, cluster, via: int, *args: str) -> dict[str, str]:
    """The entries of ``kafka-configs --describe ...`` bootstrapped from broker ``via`` only (a topic's
    configs are then answered by that broker)."""
    step = cli_compare.Step("kafka-configs", cli_compare.CONFIGS, ["--describe", *args])
    out = cli_compare.run_tool(jars, cluster.brokers[via].bootstrap, step)
    assert out.endswith("(exit 0)"), out
    return _config_values(out)


def _shown_everywhere(jars: Path, cluster, topic: str, brokers: set[int]) -> list[dict[str, str]]:
    """Each broker's dynamic configs, then the topic's configs as each broker answers them."""
    shown = [_configs(jars, cluster, b, "--entity-type", "brokers", "--entity-name", str(b)) for b in sorted(brokers)]
    return shown + [_configs(jars, cluster, b, "--entity-type", "topics", "--entity-name", topic) for b in sorted(brokers)]


def _throttles_gone(jars: Path, cluster, topic: str, brokers: set[int]) -> bool:
    return not any(k in s for s in _shown_everywhere(jars, cluster, topic, brokers) for k in (*RATES, *REPLICAS))


@pytest.mark.timeout(300)
def test_generate_proposes_a_plan_that_execute_carries_out(cluster, jars, tmp_path) -> None:
    topic = "gen"
    _create(jars, cluster, topic, [[1, 2], [2, 3], [3, 1], [1, 3]])
    _fill(cluster, topic, 4, 50)
    (tmp_path / "topics.json").write_text(json.dumps({"version": 1, "topics": [{"topic": topic}]}))
    rc, out = _tool(jars, cluster.bootstrap, "--topics-to-move-json-file", str(tmp_path / "topics.json"),
                    "--broker-list", "1,2,3,4", "--generate")
    assert rc == 0 and "Current partition replica assignment" in out, out
    lines = out.splitlines()
    current = json.loads(lines[lines.index("Current partition replica assignment") + 1])
    assert {(e["topic"], e["partition"]): tuple(e["replicas"]) for e in current["partitions"]} == {
        k: v[1] for k, v in _metadata(cluster, topic).items()}
    plan = _proposed(out)
    proposed = {e["partition"]: e["replicas"] for e in plan["partitions"]}
    assert sorted(proposed) == [0, 1, 2, 3] and all(len(r) == 2 and set(r) <= {1, 2, 3, 4} for r in proposed.values())
    assert any(NEW in r for r in proposed.values()), proposed  # the new broker gets replicas

    saved = tmp_path / "plan.json"  # the printed plan, as the README says: saved and fed to --execute
    saved.write_text(json.dumps(plan))
    _execute(jars, cluster.bootstrap, saved)
    _verify_until_completed(jars, cluster.bootstrap, saved, topic, proposed)
    cluster.wait(lambda: {p: list(s.replicas) for p, s in cluster.describe(topic).items()} == proposed
                 and cluster.isr_full(topic), 60, f"the proposed replicas of {topic}, all in sync")
    held = {p for p, r in proposed.items() if NEW in r}
    cluster.wait(lambda: {int(d.name.rsplit("-", 1)[1]) for d in cluster.brokers[NEW].data_dir.glob(f"{topic}-*")}
                 == held, 30, f"broker {NEW} holding its new replicas of {topic}")
    # kafka-topics --describe shows what the metadata has
    cluster.wait(lambda: _listed(topics(jars, cluster, "--describe", "--topic", topic)) == _metadata(cluster, topic),
                 60, "kafka-topics --describe to match the metadata", interval=1)


@pytest.mark.timeout(300)
def test_execute_with_throttle_sets_the_throttles_and_verify_clears_them(cluster, jars, tmp_path) -> None:
    topic = "thr"
    _create(jars, cluster, topic, [[1, 2], [2, 3]])
    _fill(cluster, topic, 2, 1000)  # 1 MB per partition
    moves = {0: [1, NEW], 1: [2, NEW]}
    plan = _write_plan(tmp_path, "thr", moves, topic)
    out = _execute(jars, cluster.bootstrap, plan, "--throttle", "100000")
    assert "The inter-broker throttle limit was set to 100000 B/s" in out, out
    rc, out = _tool(jars, cluster.bootstrap, "--reassignment-json-file", str(plan), "--verify")
    assert rc == 0 and f"Reassignment of partition {topic}-0 is still in progress." in out, out
    assert "Clearing" not in out, out  # throttles stay while a move runs

    # every broker of the move (old and new replicas) has both rates; the topic names the replicas,
    # as every broker answers (each holds only some of its partitions)
    shown = _shown_everywhere(jars, cluster, topic, {1, 2, 3, NEW})
    for b, entries in zip((1, 2, 3, NEW), shown[:4], strict=True):
        assert all(entries.get(r) == "100000" for r in RATES), (b, entries)
    for entries in shown[4:]:
        assert _throttled_replicas(entries[REPLICAS[0]]) == {(0, 1), (0, 2), (1, 2), (1, 3)}, entries  # current ones
        assert _throttled_replicas(entries[REPLICAS[1]]) == {(0, NEW), (1, NEW)}, entries  # the ones being added

    out = _verify_until_completed(jars, cluster.bootstrap, plan, topic, moves, timeout=150)
    assert "Clearing broker-level throttles on brokers 1,2,3,4" in out, out
    assert f"Clearing topic-level throttles on topic {topic}" in out, out
    cluster.wait(lambda: _throttles_gone(jars, cluster, topic, {1, 2, 3, NEW}), 60,
                 "kafka-configs --describe without any throttle", interval=1)
    cluster.wait(lambda: {p: list(s.replicas) for p, s in cluster.describe(topic).items()} == moves
                 and cluster.isr_full(topic), 60, f"the new replicas of {topic}, all in sync")


@pytest.mark.timeout(300)
def test_cancel_reverts_an_ongoing_reassignment(cluster, jars, tmp_path) -> None:
    topic = "cancel"
    original = {0: [1, 2], 1: [2, 3]}
    _create(jars, cluster, topic, [original[0], original[1]])
    _fill(cluster, topic, 2, 1000)  # 1 MB per partition: days at 2 KB/s
    moves = {p: [r[1], NEW] for p, r in original.items()}  # the first replica leaves, broker 4 joins
    plan = _write_plan(tmp_path, "cancel", moves, topic)
    _execute(jars, cluster.bootstrap, plan, "--throttle", "2000")
    during = cluster.describe(topic)
    # Kafka's ReplicaAssignment.reassignTo: the target, then the originals not in it
    assert {p: list(s.replicas) for p, s in during.items()} == {p: [*moves[p], original[p][0]] for p in moves}
    out = topics(jars, cluster, "--describe", "--topic", topic)
    assert out.count(f"Adding Replicas: {NEW}") == 2, out
    rc, out = _tool(jars, cluster.bootstrap, "--reassignment-json-file", str(plan), "--verify")
    assert rc == 0 and all(f"Reassignment of partition {topic}-{p} is still in progress." in out for p in moves), out

    rc, out = _tool(jars, cluster.bootstrap, "--reassignment-json-file", str(plan), "--cancel")
    assert rc == 0 and f"Successfully cancelled partition reassignments for: {topic}-0,{topic}-1" in out, out
    assert "Clearing broker-level throttles" in out and f"Clearing topic-level throttles on topic {topic}" in out, out
    # back to the original replica set, in Kafka's order: the replicas during the move minus the added one
    reverted = {p: [b for b in s.replicas if b != NEW] for p, s in during.items()}
    assert all(set(reverted[p]) == set(original[p]) for p in original)
    assert reverted == {0: [2, 1], 1: [3, 2]}  # README.md's example
    cluster.wait(lambda: {p: list(s.replicas) for p, s in cluster.describe(topic).items()} == reverted
                 and cluster.isr_full(topic), 60, f"the original replicas of {topic}, all in sync")
    cluster.wait(lambda: not any(cluster.brokers[NEW].data_dir.glob(f"{topic}-*")), 30,
                 f"broker {NEW}'s copies of {topic} deleted")
    cluster.wait(lambda: _throttles_gone(jars, cluster, topic, {1, 2, 3, NEW}), 60,
                 "kafka-configs --describe without any throttle", interval=1)
    rc, out = _tool(jars, cluster.bootstrap, "--reassignment-json-file", str(plan), "--verify")
    assert all(f"There is no active reassignment of partition {topic}-{p}" in out for p in moves), out


@pytest.mark.timeout(300)
def test_describe_under_replicated_partitions_while_a_broker_is_down(cluster, jars) -> None:
    topic = "urp"
    _create(jars, cluster, topic, [[1, 2, 3], [2, 3, 1], [3, 1, 2], [1, 2, NEW]])

    def all_topics() -> list[str]:
        return [t for t in cluster.metadata().topics if not t.startswith("__")]

    cluster.wait(lambda: all(cluster.isr_full(t) for t in all_topics()), 60, "every partition with its full ISR")
    out = topics(jars, cluster, "--describe", "--under-replicated-partitions")
    assert out.strip() == "(exit 0)", out

    down = 3
    cluster.kill(down)
    try:
        cluster.wait(lambda: all(down not in s.isr for s in cluster.describe(topic).values()), 60,
                     f"broker {down} out of every ISR of {topic}")

        def matches() -> bool:
            listed = _listed(topics(jars, cluster, "--describe", "--under-replicated-partitions"))
            expected = {k: v for t in all_topics() for k, v in _metadata(cluster, t).items() if len(v[2]) < len(v[1])}
            return bool(expected) and listed == expected and all(down in v[1] and down not in v[2]
                                                                  for v in expected.values())

        cluster.wait(matches, 60, "--under-replicated-partitions to list the metadata's under-replicated partitions",
                     interval=1)
        assert (topic, 3) not in _listed(topics(jars, cluster, "--describe", "--under-replicated-partitions"))
        cluster.wait(lambda: _listed(topics(jars, cluster, "--describe", "--topic", topic)) == _metadata(cluster, topic),
                     60, "kafka-topics --describe to match the metadata", interval=1)
    finally:
        cluster.restart(down)
    cluster.wait(lambda: all(cluster.isr_full(t) for t in all_topics()), 90, "every partition with its full ISR again")
    out = topics(jars, cluster, "--describe", "--under-replicated-partitions")
    assert out.strip() == "(exit 0)", out
    cluster.wait(lambda: _listed(topics(jars, cluster, "--describe", "--topic", topic)) == _metadata(cluster, topic),
                 60, "kafka-topics --describe to match the metadata", interval=1)
