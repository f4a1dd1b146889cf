"""Acceptance 3 of issue 11 with confluent-kafka: three members of one group, each in its own thread,
consume a 6-partition RF 3 topic through a SIGKILL of the broker coordinating the group (the leader
of its __consumer_offsets partition). Committed offsets survive the kill and no record is skipped;
the scenario and its checks are tests/support/cluster_groups.py (the Java members run the same one
in tests/foreign/test_cluster_groups.py)."""

from __future__ import annotations

import threading
import time

from tests.support import cluster_groups as cg
from tests.support.zookeeper import require_zookeeper

PACE = 0.003  # seconds of "processing" per record, so that the kill lands mid-stream


class Member(threading.Thread):
    def __init__(self, index: int, bootstrap: str, group: str, topic: str, events: cg.Events) -> None:
        super().__init__(daemon=True)
        self.index, self.bootstrap, self.group, self.topic, self.events = index, bootstrap, group, topic, events
        self.stop = threading.Event()

    def run(self) -> None:
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group, "client.id": f"m{self.index}",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 10000,
                      "heartbeat.interval.ms": 1000, "reconnect.backoff.max.ms": 1000,
                      "topic.metadata.refresh.interval.ms": 2000, "log_level": 0})
        try:
            c.subscribe([self.topic])
            while not self.stop.is_set():
                m = c.poll(0.2)
                if m is None or m.error():
                    continue
                while not self.events.admit():
                    if self.stop.wait(0.02):
                        return
                p, o = m.partition(), m.offset()
                self.events.record(f"R {self.index} {p} {o} {int(m.value())}")
                time.sleep(PACE)
                try:
                    bad = [tp for tp in c.commit(message=m, asynchronous=False) if tp.error is not None]
                    if bad:
                        raise RuntimeError(str(bad[0].error))
                    self.events.record(f"C {self.index} {p} {o + 1}")
                except Exception as e:  # noqa: BLE001 - any failed commit: go back to the record
                    self.events.record(f"F {self.index} {p} {o} {type(e).__name__}:{e}")
                    try:
                        c.seek(TopicPartition(self.topic, p, o))
                    except Exception:  # noqa: BLE001, S110 - no longer assigned: its next owner starts from the commit
                        pass
        except Exception as e:  # noqa: BLE001 - reported as a member error
            self.events.record(f"X {self.index} {type(e).__name__}:{e}")
        finally:
            c.close()


def test_confluent_group_consumes_through_a_kill_of_its_coordinator(tmp_path) -> None:
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path, brokers=3, overrides=cg.FAST) as cluster:
        topic, group = "exactly", "through-the-kill"
        cluster.create_topic(topic, cg.PARTITIONS, 3, {"min.insync.replicas": "2"})
        cluster.wait_isr_full(topic)
        where = cg.produce_values(cluster.bootstrap, topic, cg.RECORDS)
        events = cg.Events()
        sampler = cg.CommittedSampler(cluster.bootstrap, group, topic)
        members = [Member(i, cluster.bootstrap, group, topic, events) for i in range(cg.MEMBERS)]
        for m in members:
            m.start()
        sampler.start()
        try:
            def leave(i: int) -> None:
                members[i].stop.set()
                members[i].join(60)
                events.record(f"L {i}")

            def join() -> None:
                members.append(Member(len(members), cluster.bootstrap, group, topic, events))
                members[-1].start()

            run = cg.through_a_coordinator_kill(cluster, group, topic, events,
                                                lambda: all(m.is_alive() for m in members if not m.stop.is_set()),
                                                sampler, lambda k: setattr(events, "limit", k), events.freeze,
                                                leave, join)
            final = sampler.read()
        finally:
            for m in members:
                m.stop.set()
            for m in members:
                m.join(60)
            sampler.close()
        assert not any(m.is_alive() for m in members)
        cg.check(events, where, run, final, cg.log_ends(cluster, topic), sampler.samples)
