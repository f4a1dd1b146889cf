"""Authorized operations with no authorizer: every operation Kafka supports on the resource, as
AclOperation bit sets, in Metadata (v8+ topics; v8-10 cluster), DescribeCluster and
DescribeTopicPartitions; "not provided" (-2147483648) when not asked for. The expected values are what
the reference Apache Kafka 4.1.1 broker (compat/kafka_ref/launcher.py) answers to the same raw requests
and to the Java Admin program tests/java/AuthorizedOps.java:
    TOPIC    ALTER,ALTER_CONFIGS,CREATE,DELETE,DESCRIBE,DESCRIBE_CONFIGS,READ,WRITE         (3576)
    CLUSTER  ALTER,ALTER_CONFIGS,CLUSTER_ACTION,CREATE,DESCRIBE,DESCRIBE_CONFIGS,IDEMPOTENT_WRITE (8096)
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support import ROOT
from tests.support.rawclient import RawClient
from wire.messages.describe_cluster import DescribeClusterRequest as DC
from wire.messages.describe_topic_partitions import DescribeTopicPartitionsRequest as D
from wire.messages.metadata import MetadataRequest as M

JAVA = ROOT / "compat" / ".cache" / "java"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
NOT_PROVIDED = -2147483648
# AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
# DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12
TOPIC_OPS = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11)
CLUSTER_OPS = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)
JAVA_TOPIC = "ALTER,ALTER_CONFIGS,CREATE,DELETE,DESCRIBE,DESCRIBE_CONFIGS,READ,WRITE"
JAVA_CLUSTER = "ALTER,ALTER_CONFIGS,CLUSTER_ACTION,CREATE,DESCRIBE,DESCRIBE_CONFIGS,IDEMPOTENT_WRITE"


def test_raw_bitsets(broker) -> None:
    assert (TOPIC_OPS, CLUSTER_OPS) == (3576, 8096)
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic("ops", 1)
        for v in range(8, 14):
            for inc in (False, True):
                r = c.request(M(topics=[M.MetadataRequestTopic(name="ops"), M.MetadataRequestTopic(name="nope")],
                                allow_auto_topic_creation=False, include_topic_authorized_operations=inc,
                                include_cluster_authorized_operations=inc), v)
                want = TOPIC_OPS if inc else NOT_PROVIDED
                assert [(t.error_code, t.topic_authorized_operations) for t in r.topics] == [(0, want), (3, want)], v
                # the cluster field exists in v8-10 only
                assert r.cluster_authorized_operations == (CLUSTER_OPS if inc and v <= 10 else NOT_PROVIDED), v
        for v in range(3):
            for inc in (False, True):
                r = c.request(DC(include_cluster_authorized_operations=inc, endpoint_type=1), v)
                assert r.cluster_authorized_operations == (CLUSTER_OPS if inc else NOT_PROVIDED), v
        # DescribeTopicPartitions has no flag: Kafka always fills them in, unknown topics included
        r = c.request(D(topics=[D.TopicRequest(name="ops"), D.TopicRequest(name="nope")],
                        response_partition_limit=100), 0)
        assert [(t.name, t.error_code, t.topic_authorized_operations) for t in r.topics] == [
            ("nope", 3, TOPIC_OPS), ("ops", 0, TOPIC_OPS)]


def test_java_admin(broker) -> None:
    versions = sorted(d for d in JAVA.glob("kafka-clients-*") if (d / ".complete").exists()) if JAVA.exists() else []
    if shutil.which("java") is None or not versions:
        if IN_CI:
            pytest.fail("java or the kafka-clients jars under compat/.cache/java are missing")
        pytest.skip("java or kafka-clients jars missing")
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic("authops", 2)
    for jars in versions:
        proc = subprocess.run(["java", "-cp", f"{jars}/*", str(ROOT / "tests" / "java" / "AuthorizedOps.java"),
                               broker.bootstrap, "authops"], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, (jars.name, proc.stderr[-3000:])
        got = dict(line.split("\t") for line in proc.stdout.splitlines())
        assert got == {"TOPIC": JAVA_TOPIC, "TOPIC_UNASKED": "null", "CLUSTER": JAVA_CLUSTER,
                       "CLUSTER_UNASKED": "null"}, jars.name
