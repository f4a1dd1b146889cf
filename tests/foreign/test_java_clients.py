"""The Java client (kafka-clients 3.9.x and the latest 4.x, from Maven Central) against kbroker: issue 4,
acceptance 1 (100,000 records with the default idempotent producer to 6 partitions; a consumer group
reads exactly those, none twice, per-key order kept; Admin listOffsets agrees), the consumer with
assign(), Admin topics/configs/groups, and the idempotent producer through lost responses (acceptance
2) and kill -9 of the broker (acceptance 3).

The scenarios are Java programs (compat/java/src) compiled with javac against the jars that
compat/java/fetch-jars.sh downloads into compat/.cache/java; compat/java/harness.py runs several in one
JVM. Without java/javac (or the jars and Maven to get them) the tests skip, except under CI=true,
where they fail.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from compat.java import harness
from tests.support.faultproxy import proxied_broker
from tests.support.rawclient import RawClient
from tests.support.readback import assert_exactly_once, duplicates_and_missing, read_values

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
VERSIONS = harness.versions()
FAST_GROUPS = {"group.initial.rebalance.delay.ms": "0"}


@pytest.fixture(scope="module", params=VERSIONS, ids=[f"kafka-clients-{v}" for v in VERSIONS])
def java(request) -> str:
    """A kafka-clients version whose scenarios are compiled and ready to run."""
    try:
        harness.classpath(request.param)
    except harness.JavaUnavailable as e:
        if IN_CI:
            pytest.fail(f"Java client tests must run under CI=true: {e}")
        pytest.skip(str(e))
    return request.param


def test_java_end_to_end(java, broker_factory) -> None:
    b = broker_factory(FAST_GROUPS)
    run = harness.run(java, b.bootstrap, ["version", "create-topic", "produce", "consume-group", "consume-assign",
                                          "admin-offsets", "admin-topics", "admin-groups"],
                      {"topic": "java-e2e", "partitions": 6, "count": 100_000, "group": "java-e2e-group"})
    assert run.ok, run.summary()
    assert run.result("version")["detail"] == f"kafka-clients {java}"
    print(run.summary())


def test_java_producer_retries_through_lost_responses(java, broker_factory) -> None:
    # the default producer packs many records per request (six partitions' batches each), so few
    # requests go out: lose a good share of their answers
    n, partitions = 60_000, 6
    proxy, b = proxied_broker(broker_factory, "close", drop_rate=0.3, seed=5)
    try:
        run = harness.run(java, proxy.bootstrap, ["create-topic", "produce"],
                          {"topic": "java-retry", "partitions": partitions, "count": n})
        assert proxy.stats.dropped >= 2, proxy.stats
    finally:
        proxy.stop()
    assert run.ok, run.summary()
    assert_exactly_once(read_values(b.bootstrap, "java-retry", partitions), n)


def test_java_producer_survives_kill9(java, broker_factory) -> None:
    n, partitions = 150_000, 3
    # flush.messages=1: each acks=all answer waits for an fsync, so a kill often lands between a write
    # and its answer, and the retry after the restart must be recognised from the persisted state
    b = broker_factory({"log.flush.interval.messages": "1", "log.segment.bytes": "1000000"})
    with RawClient.connect(b.bootstrap) as c:
        c.create_topic("java-crash", partitions)
    acked_file = Path(tempfile.mkdtemp()) / "acked.txt"
    proc = harness.popen(java, b.bootstrap, ["produce"], {"topic": "java-crash", "partitions": partitions,
                                                          "count": n, "acked-file": acked_file})
    try:
        for fraction in (0.2, 0.45, 0.7):
            deadline = time.monotonic() + 120
            while written(b.bootstrap, "java-crash", partitions) < n * fraction:
                assert time.monotonic() < deadline and proc.poll() is None, "producer stalled or exited"
                time.sleep(0.02)
            b.kill()
            time.sleep(0.5)
            b.start()
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    results = harness.results_of(out)
    assert proc.returncode == 0 and results and results[0]["ok"], f"{results}\n{err[-3000:]}"
    acked = {int(x) for x in acked_file.read_text().split()}
    assert len(acked) == n
    dups, missing = duplicates_and_missing(read_values(b.bootstrap, "java-crash", partitions), acked)
    assert not dups and not missing, f"{len(dups)} duplicated, {len(missing)} acknowledged but missing"


def written(bootstrap: str, topic: str, partitions: int) -> int:
    """Records in the topic now (0 while the broker is down)."""
    try:
        with RawClient.connect(bootstrap, timeout=2) as c:
            return sum(c.list_offset(topic, p, -1).offset for p in range(partitions))
    except OSError:
        return 0
