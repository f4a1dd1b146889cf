"""Until kbroker has transactions, a transactional producer must fail at once with a clear,
non-retriable error instead of retrying a retryable one forever (issue 9, acceptance 4).

kbroker answers FindCoordinator(key_type=TRANSACTION) with CLUSTER_AUTHORIZATION_FAILED and the
message "kbroker does not support transactions yet" (see kbroker/apis/find_coordinator.py for
why that code).  Each client gets a generous bound (60 s) so that a hang would surface as a
timeout error, which the assertions tell apart from the fatal error expected here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import confluent_kafka
import kafka
import kafka.errors
import pytest

from kbroker.apis.find_coordinator import NO_TRANSACTIONS
from tests.support import ROOT
from tests.support.rawclient import RawClient
from tests.support.tools import IN_CI, require_tool
from wire.errors import ErrorCode as E
from wire.messages.find_coordinator import FindCoordinatorRequest
from wire.messages.init_producer_id import InitProducerIdRequest

JAVA_JARS = ROOT / "compat" / ".cache" / "java"
JAVA_VERSIONS = ["4.4.0", "3.9.2"]


def test_raw_answers(broker) -> None:
    rc = RawClient.connect(broker.bootstrap)
    for v in range(1, 4):
        r = rc.request(FindCoordinatorRequest(key="tx", key_type=1), v)
        assert (r.error_code, r.node_id) == (E.CLUSTER_AUTHORIZATION_FAILED, -1)
        assert r.error_message == NO_TRANSACTIONS
    for v in range(4, 7):
        [c] = rc.request(FindCoordinatorRequest(key_type=1, coordinator_keys=["tx"]), v).coordinators
        assert (c.key, c.error_code, c.error_message) == ("tx", E.CLUSTER_AUTHORIZATION_FAILED, NO_TRANSACTIONS)
    for v in range(6):
        r = rc.request(InitProducerIdRequest(transactional_id="tx", transaction_timeout_ms=60_000), v)
        assert (r.error_code, r.producer_id) == (E.CLUSTER_AUTHORIZATION_FAILED, -1)
        # an idempotent (non-transactional) producer still gets an id at every version
        r = rc.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=-1), v)
        assert r.error_code == E.NONE and r.producer_id >= 0


def test_confluent_kafka_init_transactions_fails_fatally(broker) -> None:
    p = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "ck-tx",
                                  "transaction.timeout.ms": 60_000, "log_level": 0})
    with pytest.raises(confluent_kafka.KafkaException) as info:
        p.init_transactions(60)
    err = info.value.args[0]
    assert err.code() == confluent_kafka.KafkaError.CLUSTER_AUTHORIZATION_FAILED, err
    assert err.fatal() and not err.retriable(), err
    assert NO_TRANSACTIONS in err.str(), err


def test_kafka_python_init_transactions_fails(broker) -> None:
    p = kafka.KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-tx", max_block_ms=60_000)
    try:
        with pytest.raises(kafka.errors.KafkaError) as info:
            p.init_transactions()
    finally:
        p.close(timeout=5)
    assert not isinstance(info.value, kafka.errors.KafkaTimeoutError), info.value
    assert not getattr(info.value, "retriable", False), info.value
    assert "ClusterAuthorizationFailedError" in str(info.value), info.value


def java_jars(version: str) -> Path:
    jars = JAVA_JARS / f"kafka-clients-{version}"
    if not (jars / ".complete").exists():
        if IN_CI:
            pytest.fail(f"kafka-clients {version} jars are required under CI=true ({jars})")
        pytest.skip(f"kafka-clients {version} jars are not fetched ({jars})")
    return jars


@pytest.mark.parametrize("version", JAVA_VERSIONS)
def test_java_init_transactions_fails(broker, version) -> None:
    java = require_tool("java")
    jars = java_jars(version)
    proc = subprocess.run([java, "-cp", f"{jars}/*", str(ROOT / "tests" / "java" / "TxnInit.java"),
                           broker.bootstrap, "java-tx"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status, cls, chain = proc.stdout.strip().splitlines()[-1].split("\t")
    assert status == "FAILED", proc.stdout
    # a fatal KafkaException from the FindCoordinator handler, not a TimeoutException from max.block.ms
    assert cls == "org.apache.kafka.common.KafkaException", chain
    assert NO_TRANSACTIONS in chain and "TimeoutException" not in chain, chain
