"""DescribeTopicPartitions (75) over the raw protocol: all topics or the named ones in name order,
paging with the response partition limit and the cursor, unknown topics, a cursor outside the list.
(The Java Admin's describeTopics goes through it in tests/foreign/test_java_clients.py.)"""

from __future__ import annotations

from tests.support.rawclient import RawClient
from wire.messages.describe_topic_partitions import DescribeTopicPartitionsRequest as R

UNKNOWN_TOPIC, INVALID_REQUEST = 3, 42


def describe(c: RawClient, names: list[str], limit: int = 2000, cursor: tuple[str, int] | None = None):
    req = R(topics=[R.TopicRequest(name=n) for n in names], response_partition_limit=limit,
            cursor=R.Cursor(topic_name=cursor[0], partition_index=cursor[1]) if cursor else None)
    return c.request(req, 0)


def flat(resp) -> list[tuple[str, int]]:
    return [(t.name, p.partition_index) for t in resp.topics for p in t.partitions]


def test_paging_and_errors(broker) -> None:
    with RawClient.connect(broker.bootstrap) as c:
        for name, n in (("b", 3), ("a", 2), ("c", 4)):
            c.create_topic(name, n)
        every = [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("b", 2), ("c", 0), ("c", 1), ("c", 2), ("c", 3)]
        whole = describe(c, [])
        assert flat(whole) == every and whole.next_cursor is None
        t = whole.topics[0]
        p = t.partitions[0]
        assert (t.error_code, p.leader_id, p.leader_epoch, p.replica_nodes, p.isr_nodes) == (0, 1, 0, [1], [1])
        assert t.topic_id.int != 0
        for limit in (1, 2, 3, 4):
            got, cursor = [], None
            for _ in range(20):
                resp = describe(c, ["c", "a", "b"], limit, cursor)
                assert len(flat(resp)) <= limit
                got += flat(resp)
                if resp.next_cursor is None:
                    break
                cursor = (resp.next_cursor.topic_name, resp.next_cursor.partition_index)
            assert got == every, limit
        resp = describe(c, ["zz", "b", "aa"])
        assert [(t.name, t.error_code) for t in resp.topics] == [("aa", UNKNOWN_TOPIC), ("b", 0), ("zz", UNKNOWN_TOPIC)]
        resp = describe(c, ["a"], cursor=("b", 0))
        assert [(t.name, t.error_code) for t in resp.topics] == [("a", INVALID_REQUEST)]
