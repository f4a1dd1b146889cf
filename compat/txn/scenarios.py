"""The transaction scenarios of issue 13 (acceptance 1 and 5), each a function of a started target
(compat/txn/targets.py) returning a JSON-able report; ``violations`` in it counts what went wrong.

- ``visibility``: transactional producers of every client (kafka-clients 3.9.2 and 4.4.0, confluent-kafka,
  kafka-python) commit and abort across 6 partitions of 2 topics; readers of each client (Java,
  confluent-kafka, kafka-python) at read_committed must see exactly the committed records, in order, and
  at read_uncommitted all of them (compat/txn/checker.py ``check_isolation``).
- ``lso``: a transaction held open holds the last stable offset back: ListOffsets latest at
  read_committed (each client's API) is the open transaction's first offset, at read_uncommitted the high
  watermark; a read_committed group reader stops and commits at the LSO and ``kafka-consumer-groups
  --describe`` (Kafka 4.1.1's tool, from the reference broker's jars) shows that offset and its lag; after
  the commit the LSO reaches the high watermark and the held records become visible.
- ``zombie``: two Java producers with one transactional.id (TxnTool ``zombie``) — the first, fenced,
  fails to commit (ProducerFencedException) and, in a second round, to send (InvalidProducerEpochException
  or ProducerFencedException); two confluent-kafka producers — the first gets a fatal error; the zombie's
  records are never visible at read_committed.
- ``timeout``: a transaction left open past its ``transaction.timeout.ms`` is aborted by the coordinator
  (the broker needs ``transaction.abort.timed.out.transaction.cleanup.interval.ms`` low): the LSO moves past
  it without a commit, its records never reach a read_committed reader, and its producer's commit fails.

Every wait is bounded; nothing measures time.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from compat.txn import checker, clients
from compat.txn.targets import Target, wait

TOPIC_PARTITIONS = 3


def _topics(target: Target, tag: str, count: int = 2, partitions: int = TOPIC_PARTITIONS) -> list[str]:
    rf = min(3, target.brokers)
    config = {"min.insync.replicas": "2"} if rf == 3 else {}
    names = [f"{tag}-{chr(ord('a') + i)}" for i in range(count)]
    for t in names:
        target.create_topic(t, partitions, rf, config)
    return names


def visibility(target: Target, producers: tuple[str, ...] = clients.PRODUCERS,
               readers: tuple[str, ...] = clients.READERS, txns: int = 6, per_partition: int = 2,
               abort_every: int = 3, kills: bool = False) -> dict:
    """``kills`` (a cluster): after each producer client's transactions, the broker coordinating its
    transactional id and then the leader of one of the topics' partitions are SIGKILLed and restarted (the
    ISRs full again before going on), so later producers meet new coordinators and leaders; before the
    reads a partition leader is killed and stays down, so readers read from former followers."""
    topics = _topics(target, "vis")
    plans = {}
    killed: list[int] = []
    for i, client in enumerate(producers):
        name = client.replace(".", "_")
        plans[name] = clients.produce(client, target.bootstrap, f"txid-{name}", name, topics, TOPIC_PARTITIONS,
                                      txns, per_partition, abort_every)
        if kills:
            tp = (topics[i % len(topics)], i % TOPIC_PARTITIONS)
            for victim in (wait(lambda n=name: target.txn_coordinator(f"txid-{n}"), 60, "a coordinator"),
                           wait(lambda tp=tp: target.leaders(tp[0])[tp[1]], 60, "a leader")):
                target.kill(victim)
                killed.append(victim)
                target.restart(victim)
                for t in (*topics, "__transaction_state"):
                    target.meta.wait_isr_full(t, timeout=120)
    down = None
    if kills:
        down = wait(lambda: target.leaders(topics[0])[0], 60, "a leader")
        target.kill(down)
        killed.append(down)
    report: dict = {"scenario": "visibility", "target": target.label, "producers": list(producers),
                    "committed records": sum(len(s.records) for p in plans.values() for s in p if s.committed),
                    "aborted records": sum(len(s.records) for p in plans.values() for s in p if not s.committed),
                    "reads": {}, "violations": 0}
    if kills:
        wait(lambda: (ls := target.leaders(topics[0])) and all(b > 0 and b != down for b in ls.values()), 60,
             "new leaders")
    for reader in readers:
        for isolation in ("read_committed", "read_uncommitted"):
            recs = clients.read(reader, target.bootstrap, topics, TOPIC_PARTITIONS, isolation)
            bad = checker.check_isolation(plans, recs, isolation)
            report["reads"][f"{reader} {isolation}"] = {"records": len(recs), "check": checker.summary(bad)}
            report["violations"] += checker.violations(bad)
    if kills:
        report["broker kills"] = killed
        assert down is not None
        target.restart(down)
    return report


def consumer_groups_describe(bootstrap: str, group: str) -> list[dict]:
    """``kafka-consumer-groups --describe --group G`` rows (TOPIC, PARTITION, CURRENT-OFFSET,
    LOG-END-OFFSET, LAG) from the reference Kafka's tool; RuntimeError when java or the jars are absent."""
    from compat.kafka_ref.launcher import JARS

    java = shutil.which("java")
    if java is None or not (JARS / ".complete").exists():
        raise RuntimeError(f"kafka-consumer-groups needs java and the reference Kafka's jars ({JARS})")
    proc = subprocess.run([java, "-cp", f"{JARS}/*", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                           "--bootstrap-server", bootstrap, "--describe", "--group", group],
                          capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"kafka-consumer-groups failed: {proc.stderr[-3000:]}")
    rows, header = [], None
    for line in proc.stdout.splitlines():
        cols = line.split()
        if cols[:1] == ["GROUP"]:
            header = cols
        elif header and len(cols) >= len(header) - 3 and cols[0] == group:
            rows.append(dict(zip(header, cols, strict=False)))
    return rows


def lso(target: Target, offset_clients: tuple[str, ...] = ("java", "confluent", "kafka-python"),
        version: str = clients.JAVA_VERSIONS[-1], describe: bool = True) -> dict:
    [topic] = _topics(target, "lso", count=1)
    bs = target.bootstrap
    report: dict = {"scenario": "lso", "target": target.label, "checks": [], "violations": 0}

    def expect(what: str, got: object, want: object) -> None:
        ok = got == want
        report["checks"].append(f"{'ok  ' if ok else 'FAIL'} {what}: {got!r}" + ("" if ok else f" (want {want!r})"))
        report["violations"] += 0 if ok else 1

    clients.produce("confluent", bs, "lso-before", "before", [topic], TOPIC_PARTITIONS, 2, 1, 0)
    before = clients.end_offsets("confluent", bs, [topic], TOPIC_PARTITIONS)
    held = clients.Held(version, {"bootstrap": bs, "txn-id": "lso-held", "topics": topic, "partitions": 1,
                                  "per-partition": 3, "name": "held"}).start()
    try:
        first = before[(topic, 0)][1]  # the open transaction's first record lands at the old high watermark
        for client in offset_clients:
            ends = clients.end_offsets(client, bs, [topic], TOPIC_PARTITIONS)
            expect(f"{client} latest read_committed of partition 0 (LSO) with a transaction open",
                   ends[(topic, 0)][0], first)
            expect(f"{client} latest read_uncommitted of partition 0 (high watermark)", ends[(topic, 0)][1], first + 3)
            expect(f"{client} partitions 1, 2 (no open transaction): LSO = high watermark",
                   [ends[(topic, p)] for p in (1, 2)], [before[(topic, p)] for p in (1, 2)])
        for reader in clients.READERS:
            group = f"lso-{reader}"
            recs = clients.read(reader, bs, [topic], TOPIC_PARTITIONS, "read_committed", group=group)
            expect(f"{reader} read_committed reader with a transaction open sees no held record",
                   [r.v for r in recs if r.v.startswith("held-")], [])
            if describe:
                rows = {int(r["PARTITION"]): r for r in consumer_groups_describe(bs, group)}
                expect(f"kafka-consumer-groups --describe {group} partition 0 CURRENT-OFFSET (the LSO)",
                       rows[0]["CURRENT-OFFSET"], str(first))
                report["checks"].append(f"info kafka-consumer-groups {group} partition 0: LOG-END-OFFSET "
                                        f"{rows[0]['LOG-END-OFFSET']} LAG {rows[0]['LAG']}")
                expect(f"kafka-consumer-groups --describe {group} partition 0 LAG = LOG-END-OFFSET - CURRENT-OFFSET",
                       int(rows[0]["LAG"]), int(rows[0]["LOG-END-OFFSET"]) - first)
    finally:
        result = held.finish("commit")
    expect("the held transaction commits", result.get("result"), "ok")
    ends = clients.end_offsets("confluent", bs, [topic], TOPIC_PARTITIONS)
    expect("after the commit, partition 0's LSO = high watermark (past the marker)",
           ends[(topic, 0)][0], ends[(topic, 0)][1])
    expect("the commit marker took one offset", ends[(topic, 0)][1], first + 4)
    recs = clients.read("java", bs, [topic], TOPIC_PARTITIONS, "read_committed")
    expect("after the commit a read_committed reader sees the held records",
           [r.v for r in recs if r.v.startswith("held-")], ["held-0", "held-1", "held-2"])
    return report


def zombie(target: Target, version: str = clients.JAVA_VERSIONS[-1]) -> dict:
    [topic] = _topics(target, f"zombie-{version.replace('.', '_')}", count=1, partitions=1)
    bs = target.bootstrap
    report: dict = {"scenario": "zombie", "target": target.label, "violations": 0}
    txn_id = f"zombie-java-{version}"
    r = clients.run_java(version, "zombie", {"bootstrap": bs, "txn-id": txn_id, "topics": topic,
                                             "partitions": 1}).check()
    report["java"] = r.summary
    # Kafka: the coordinator answers the zombie's EndTxn with PRODUCER_FENCED; a partition leader answers
    # its produce with INVALID_PRODUCER_EPOCH (KIP-588), which the producer raises as such
    fenced = "org.apache.kafka.common.errors.ProducerFencedException"
    epoch = "org.apache.kafka.common.errors.InvalidProducerEpochException"
    summary = r.summary or {}
    if fenced not in (summary.get("commit_error") or ""):
        report["violations"] += 1
        report["java problem"] = "the zombie's commit did not fail with ProducerFencedException"
    if not any(e in (summary.get("send_error") or "") for e in (fenced, epoch)):
        report["violations"] += 1
        report["java send problem"] = "the zombie's send did not fail with a fencing error"

    report["confluent"] = zombie_confluent(bs, topic, f"zombie-ck-{version}")
    if report["confluent"]["problem"]:
        report["violations"] += 1
    recs = clients.read("confluent", bs, [topic], 1, "read_committed")
    values = [r.v for r in recs]
    report["read_committed values"] = values
    if values != [f"fencer-{txn_id}-commit", f"fencer-{txn_id}-send", "ck-fencer-0"]:
        report["violations"] += 1
    return report


def timeout(target: Target, version: str = clients.JAVA_VERSIONS[-1], txn_timeout_ms: int = 3000) -> dict:
    [topic] = _topics(target, f"timeout-{version.replace('.', '_')}", count=1, partitions=1)
    bs = target.bootstrap
    report: dict = {"scenario": "timeout", "target": target.label, "checks": [], "violations": 0}

    def expect(what: str, ok: bool, got: object) -> None:
        report["checks"].append(f"{'ok  ' if ok else 'FAIL'} {what}: {got!r}")
        report["violations"] += 0 if ok else 1

    held = clients.Held(version, {"bootstrap": bs, "txn-id": f"timeout-{version}", "topics": topic, "partitions": 1,
                                  "per-partition": 3, "name": "late", "txn-timeout-ms": txn_timeout_ms}).start()
    try:
        ends = clients.end_offsets("confluent", bs, [topic], 1)[(topic, 0)]
        expect("while open: LSO 0, high watermark 3", ends == (0, 3), ends)
        # the coordinator aborts it: the abort marker moves the LSO past the records (bounded wait)
        ends = wait(lambda: (e := clients.end_offsets("confluent", bs, [topic], 1)[(topic, 0)])[0] > 0 and e,
                    120, "the coordinator to abort the timed-out transaction")
        expect("after the timeout: LSO = high watermark = 4 (abort marker)", ends == (4, 4), ends)
        recs = clients.read("confluent", bs, [topic], 1, "read_committed")
        expect("read_committed sees none of the timed-out records", recs == [], [r.v for r in recs])
        recs = clients.read("confluent", bs, [topic], 1, "read_uncommitted")
        expect("read_uncommitted sees them", [r.v for r in recs] == ["late-0", "late-1", "late-2"], [r.v for r in recs])
    finally:
        result = held.finish("commit")
    expect("the timed-out producer's commit fails", result.get("result") != "ok", result.get("result"))
    recs = clients.read("java", bs, [topic], 1, "read_committed")
    expect("still nothing visible at read_committed after its commit attempt", recs == [], [r.v for r in recs])
    return report



def zombie_confluent(bs: str, topic: str, txn_id: str) -> dict:
    """Two confluent-kafka producers with one ``txn_id``: the second's init_transactions fences the first
    (its transaction is aborted), the second commits ``ck-fencer-0``; the first's next produce and commit
    must end in a fatal fencing error. Returns that error and ``problem`` (None when it is so)."""
    from confluent_kafka import KafkaError, KafkaException, Producer

    p1 = Producer({"bootstrap.servers": bs, "transactional.id": txn_id, "log_level": 0})
    p1.init_transactions(60)
    p1.begin_transaction()
    p1.produce(topic, value=b"ck-zombie-0", partition=0)
    p1.flush(30)
    p2 = Producer({"bootstrap.servers": bs, "transactional.id": txn_id, "log_level": 0})
    p2.init_transactions(60)
    p2.begin_transaction()
    p2.produce(topic, value=b"ck-fencer-0", partition=0)
    p2.commit_transaction(60)
    err = None
    try:
        p1.produce(topic, value=b"ck-zombie-1", partition=0)
        p1.commit_transaction(30)
    except KafkaException as e:
        err = e.args[0]
    fencing = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)
    if err is None:
        return {"problem": "the zombie committed"}
    problem = None if err.fatal() and err.code() in fencing else "not a fatal fencing error"
    return {"code": err.name(), "fatal": err.fatal(), "str": err.str(), "problem": problem}


SCENARIOS: dict[str, Callable[..., dict]] = {"visibility": visibility, "lso": lso, "zombie": zombie, "timeout": timeout}
