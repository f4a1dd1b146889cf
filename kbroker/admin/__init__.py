"""The broker operations behind ``kbroker`` commands and the web console, for any Kafka-compatible
broker, built on kafka-python: plain functions over a ``Session`` (a bootstrap address and its clients)
returning the dataclasses of ``kbroker.admin.models``. Nothing here prints, exits or waits without a
bound; failures raise ``AdminError`` (``BrokerUnavailable``, ``NotFound``, ``InvalidRequest``) whose text
is fit to show a person.

    from kbroker import admin
    with admin.connect("127.0.0.1:9092") as s:
        admin.create_topic(s, "orders", partitions=3)
        admin.produce_one(s, "orders", b"hello", key=b"k1")
        for m in admin.read_messages(s, "orders", offset="earliest", limit=10): ...
        admin.describe_group(s, "billing").offsets  # committed, log end, lag per partition
"""

from kbroker.admin.cluster import cluster_info
from kbroker.admin.configs import ENTITY_TYPES, alter_configs, default_broker, describe_configs
from kbroker.admin.groups import (
    RESET_STRATEGIES,
    apply_reset,
    committed_offsets,
    delete_group,
    describe_group,
    list_groups,
    plan_reset,
    reset_offsets,
)
from kbroker.admin.messages import (
    COMPRESSIONS,
    NewMessage,
    iter_messages,
    produce,
    produce_one,
    read_messages,
    start_offsets,
)
from kbroker.admin.models import (
    Broker,
    ClusterInfo,
    ConfigEntry,
    GroupInfo,
    GroupMember,
    GroupSummary,
    Header,
    Message,
    OffsetChange,
    PartitionInfo,
    PartitionLag,
    ProduceResult,
    TopicInfo,
    TopicSummary,
    decode_bytes,
    encode_bytes,
)
from kbroker.admin.session import AdminError, BrokerUnavailable, InvalidRequest, NotFound, Session, connect
from kbroker.admin.topics import (
    add_partitions,
    create_topic,
    delete_topic,
    describe_topic,
    describe_topics,
    list_topics,
    partition_offsets,
    partitions_of,
    topic_exists,
)

__all__ = [
    "COMPRESSIONS", "ENTITY_TYPES", "RESET_STRATEGIES",
    "AdminError", "Broker", "BrokerUnavailable", "ClusterInfo", "ConfigEntry", "GroupInfo", "GroupMember",
    "GroupSummary", "Header", "InvalidRequest", "Message", "NewMessage", "NotFound", "OffsetChange",
    "PartitionInfo", "PartitionLag", "ProduceResult", "Session", "TopicInfo", "TopicSummary",
    "add_partitions", "alter_configs", "apply_reset", "cluster_info", "committed_offsets", "connect",
    "create_topic", "decode_bytes", "default_broker", "delete_group", "delete_topic", "describe_configs",
    "describe_group", "describe_topic", "describe_topics", "encode_bytes", "iter_messages", "list_groups",
    "list_topics", "partition_offsets", "partitions_of", "plan_reset", "produce", "produce_one",
    "read_messages", "reset_offsets", "start_offsets", "topic_exists",
]
