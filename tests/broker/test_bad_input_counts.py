"""Huge partition counts and null arrays through raw frames (issue 9, section 4): CreateTopics and CreatePartitions
above Kafka's limit of 100,000 partitions answer INVALID_PARTITIONS (37) with a message, create
nothing, and leave no traceback in the broker log; a null where Kafka allows none closes the
connection, as Kafka's parser does."""

from __future__ import annotations

import pytest

from tests.support.rawclient import RawClient
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


def _null_array_requests():
    from wire.messages.describe_configs import DescribeConfigsRequest
    from wire.messages.fetch import FetchRequest

    C = CreateTopicsRequest
    yield "CreateTopics.topics", C(topics=None, timeout_ms=1000), 5
    yield "CreateTopics.topics (flexible)", C(topics=None, timeout_ms=1000), 7
    yield "CreateTopics.assignments", C(topics=[C.CreatableTopic(name="n", num_partitions=1, replication_factor=1,
                                                                 assignments=None, configs=[])], timeout_ms=1000), 5
    yield "CreateTopics.configs", C(topics=[C.CreatableTopic(name="n", num_partitions=1, replication_factor=1,
                                                             assignments=[], configs=None)], timeout_ms=1000), 7
    yield "DescribeConfigs.resources", DescribeConfigsRequest(resources=None), 1
    yield "DescribeConfigs.resources (flexible)", DescribeConfigsRequest(resources=None), 4
    yield "Fetch.topics", FetchRequest(max_wait_ms=0, min_bytes=1, topics=None), 11
    yield "Fetch.topics (flexible)", FetchRequest(max_wait_ms=0, min_bytes=1, topics=None), 12


@pytest.mark.parametrize(("field", "req", "version"), list(_null_array_requests()),
                         ids=[f for f, _, _ in _null_array_requests()])
def test_null_where_kafka_allows_none_closes_the_connection(shared_broker, field, req, version):
    """A null (-1) array where the definition does not allow one is a parse error in Kafka: the
    broker closes the connection.  No traceback; other connections are served."""
    with RawClient.connect(shared_broker.bootstrap) as neighbour, RawClient.connect(shared_broker.bootstrap) as c:
        c.send(req, version)
        assert c.wait_closed(), field
        assert neighbour.api_versions(3).error_code == 0
    assert "Traceback" not in shared_broker.log()
