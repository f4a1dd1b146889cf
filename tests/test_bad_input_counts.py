"""Huge partition counts through raw frames (issue 9, section 4): CreateTopics and CreatePartitions
above Kafka's limit of 100,000 partitions answer INVALID_PARTITIONS (37) with a message, create
nothing, and leave no traceback in the broker log."""

from __future__ import annotations

import pytest
from rawclient import RawClient

from wire.messages.create_partitions import CreatePartitionsRequest
from wire.messages.create_topics import CreateTopicsRequest
from wire.messages.metadata import MetadataRequest

INVALID_PARTITIONS = 37


def _topic_names(c: RawClient) -> set[str]:
    resp = c.request(MetadataRequest(topics=None, allow_auto_topic_creation=False), 9)
    return {t.name for t in resp.topics}


@pytest.mark.parametrize("count", [100_001, 2**31 - 1])
@pytest.mark.parametrize("version", [2, 5, 7])
def test_create_topics_huge_count(shared_broker, count, version):
    name = f"huge-{count}-{version}"
    C = CreateTopicsRequest
    with RawClient.connect(shared_broker.bootstrap) as c:
        topic = C.CreatableTopic(name=name, num_partitions=count, replication_factor=1, assignments=[], configs=[])
        resp = c.request(C(topics=[topic], timeout_ms=10000, validate_only=False), version)
        (t,) = resp.topics
        assert t.error_code == INVALID_PARTITIONS
        assert t.error_message and "100000" in t.error_message
        assert name not in _topic_names(c)
    assert "Traceback" not in shared_broker.log()


@pytest.mark.parametrize("count", [100_001, 2**31 - 1])
@pytest.mark.parametrize("version", [0, 2, 3])
def test_create_partitions_huge_count(shared_broker, count, version):
    name = f"grow-{count}-{version}"
    P = CreatePartitionsRequest
    with RawClient.connect(shared_broker.bootstrap) as c:
        c.create_topic(name, 2)
        req = P(topics=[P.CreatePartitionsTopic(name=name, count=count, assignments=None)],
                timeout_ms=10000, validate_only=False)
        (r,) = c.request(req, version).results
        assert r.error_code == INVALID_PARTITIONS
        assert r.error_message and "100000" in r.error_message
        resp = c.request(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=name)],
                                         allow_auto_topic_creation=False), 9)
        assert len(resp.topics[0].partitions) == 2
    assert "Traceback" not in shared_broker.log()
