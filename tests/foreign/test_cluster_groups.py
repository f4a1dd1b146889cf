"""Acceptance 3 of issue 11 with the Java consumer (kafka-clients 3.9.x and 4.x): three members of one
group (threads of tests/java/ClusterGroupMembers.java, one KafkaConsumer each, commitSync after every
record) consume a 6-partition RF 3 topic through a SIGKILL of the broker coordinating the group.
Committed offsets survive the kill and no record is skipped; the scenario and its checks are
tests/support/cluster_groups.py, shared with the confluent-kafka members of
tests/broker/test_cluster_groups.py.

The jars come from compat/java (fetch-jars.sh into compat/.cache/java); without java or the jars the
test skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from compat.java import harness
from tests.support import ROOT
from tests.support import cluster_groups as cg
from tests.support.zookeeper import require_zookeeper

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
VERSIONS = harness.versions()
PACE_MS = 3  # of "processing" per record, so that the kill lands mid-stream


def _jars(version: str):
    missing = harness.missing_tools()
    try:
        if missing:
            raise harness.JavaUnavailable(f"{', '.join(missing)} not installed")
        return harness.jars(version)
    except harness.JavaUnavailable as e:
        if IN_CI:
            pytest.fail(f"Java client tests must run under CI=true: {e}")
        pytest.skip(str(e))


@pytest.mark.parametrize("version", VERSIONS, ids=[f"kafka-clients-{v}" for v in VERSIONS])
def test_java_group_consumes_through_a_kill_of_its_coordinator(version, tmp_path) -> None:
    jars = _jars(version)
    require_zookeeper()
    from compat.cluster.launcher import Cluster

    with Cluster(tmp_path / "cluster", brokers=3, overrides=cg.FAST) as cluster:
        topic, group = "exactly", "java-through-the-kill"
        cluster.create_topic(topic, cg.PARTITIONS, 3, {"min.insync.replicas": "2"})
        cluster.wait_isr_full(topic)
        where = cg.produce_values(cluster.bootstrap, topic, cg.RECORDS)
        events = cg.Events()
        stderr = open(tmp_path / "java.stderr", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", f"{jars}/*",
             str(ROOT / "tests" / "java" / "ClusterGroupMembers.java"),
             cluster.bootstrap, topic, group, str(cg.MEMBERS), str(PACE_MS),
             str(events.limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
        lines: list[str] = []

        def read() -> None:
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                events.record(line)

        def say(line: str) -> None:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        sampler = cg.CommittedSampler(cluster.bootstrap, group, topic)
        sampler.start()
        try:
            run = cg.through_a_coordinator_kill(cluster, group, topic, events, lambda: proc.poll() is None, sampler,
                                          lambda k: say(f"limit {k}"), lambda: say("freeze"),
                                          lambda i: say(f"leave {i}"), lambda: say("join"))
            final = sampler.read()
            proc.stdin.close()  # the members stop at the end of their stdin
            assert proc.wait(90) == 0, (tmp_path / "java.stderr").read_text()[-3000:]
            reader.join(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
            stderr.close()
            sampler.close()
        assert lines and lines[-1] == "DONE", ((tmp_path / "java.stderr").read_text()[-3000:], lines[-5:])
        cg.check(events, where, run, final, cg.log_ends(cluster, topic), sampler.samples)
