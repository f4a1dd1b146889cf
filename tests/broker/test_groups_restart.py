"""Committed offsets survive broker restarts: a clean stop (SIGTERM) and a kill -9 right
after the commit was acknowledged; a new consumer in the group resumes exactly at the
committed offsets (acceptance 3 of issue 3).  Also: group metadata survives, so a consumer
that stayed up through the restart keeps its membership."""

from __future__ import annotations

import pytest

from tests.support.groups import (
    GROUP_OVERRIDES,
    assignments,
    confluent_conf,
    create_topic,
    produce,
)
from tests.support.waiting import wait_for

confluent_kafka = pytest.importorskip("confluent_kafka")
Consumer = confluent_kafka.Consumer
TopicPartition = confluent_kafka.TopicPartition

TOPIC = "resume"
PARTS = 3
COMMIT = {0: 17, 1: 0, 2: 250}  # partition -> offset to commit (partition 1: nothing read yet)


def _commit_and_stop(bs: str, group: str) -> Consumer:
    c = Consumer(confluent_conf(bs, group))
    c.subscribe([TOPIC])
    wait_for(lambda: assignments([c])[0] == set(range(PARTS)), lambda: c.poll(0.1), what="assignment")
    tps = [TopicPartition(TOPIC, p, off, metadata=f"meta-{p}") for p, off in COMMIT.items()]
    result = c.commit(offsets=tps, asynchronous=False)  # returns once the broker acknowledged it
    assert all(tp.error is None for tp in result)
    return c


def _resume(bs: str, group: str) -> None:
    """A new member of the group starts at the committed offsets, not at the beginning."""
    c = Consumer(confluent_conf(bs, group))
    try:
        got = c.committed([TopicPartition(TOPIC, p) for p in range(PARTS)], 30)
        assert {tp.partition: tp.offset for tp in got} == COMMIT
        assert {tp.partition: tp.metadata for tp in got} == {p: f"meta-{p}" for p in range(PARTS)}
        c.subscribe([TOPIC])
        first: dict[int, int] = {}
        wait_for(lambda: len(first) == PARTS, lambda: [first.setdefault(m.partition(), m.offset())
                                                      for m in c.consume(100, 0.1) if m.error() is None],
                 what="a record from every partition")
        assert first == COMMIT
    finally:
        c.close()


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_new_consumer_resumes_at_committed_offsets_after_restart(broker_factory, how):
    b = broker_factory(GROUP_OVERRIDES)
    create_topic(b.bootstrap, TOPIC, PARTS)
    produce(b.bootstrap, TOPIC, range(900), partitions=PARTS)
    group = f"resume-{how}"
    c = _commit_and_stop(b.bootstrap, group)
    try:
        if how == "sigterm":
            c.close()
            b.restart()
        else:
            b.kill()  # right after the acknowledgement: nothing was flushed or closed cleanly
            b.start()
            c.close()  # it leaves the restored group (or finds its session gone)
    finally:
        c.close()
    _resume(b.bootstrap, group)


def test_member_keeps_its_membership_across_a_restart(broker_factory):
    b = broker_factory(GROUP_OVERRIDES)
    create_topic(b.bootstrap, "stay", 2)
    revokes: list[int] = []
    c = Consumer(confluent_conf(b.bootstrap, "stay-group"))
    try:
        c.subscribe(["stay"], on_revoke=lambda *_: revokes.append(1))
        wait_for(lambda: assignments([c])[0] == {0, 1}, lambda: c.poll(0.1), what="assignment")
        b.kill()
        b.start()
        produce(b.bootstrap, "stay", range(10), partitions=2)
        got: list[int] = []
        wait_for(lambda: len(got) >= 10, lambda: got.extend(int(m.value()) for m in c.consume(10, 0.1)
                                                           if m.error() is None), what="records after restart")
        assert sorted(got) == list(range(10)) and revokes == []
    finally:
        c.close()
