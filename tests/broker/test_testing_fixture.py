"""kbroker.testing (issue 14, item 3): the embedded test broker, as a context manager and as the pytest
fixtures of the plugin that installing kbroker registers (``pytest11`` entry point), driven by
kafka-python over real sockets, in both modes (a thread of this process, a child process).

The plugin's own promises are checked in pytest runs of their own (subprocesses of this venv): the
session broker is one broker for the run, a run that asks for no fixture starts no broker and imports
none of the broker's code, and the sample suite in examples/pytest-fixture passes with nothing but the
fixtures.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import kbroker.testing
from kbroker.testing import BrokerCrashed, TopicError
from tests.support import ROOT

MODES = ["thread", "process"]
SAMPLE = ROOT / "examples" / "pytest-fixture"
# the idle decode pool of kbroker.partition is process-wide, shared by every broker of the process
SHARED_THREADS = ("produce-decode",)


def _roundtrip(bootstrap: str, topic: str, values: list[bytes], partition: int = 0) -> list[bytes]:
    """Produces ``values`` to one partition (acks=all) and reads that partition back from the start."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for v in values:
            producer.send(topic, value=v, partition=partition)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=10_000)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        return [m.value for _, m in zip(range(len(values)), consumer, strict=False)]
    finally:
        consumer.close()


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.name.startswith(SHARED_THREADS)}


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A pytest run of its own in this venv; the kbroker plugin must come from the installed entry point."""
    if not any(ep.name == "kbroker" for ep in importlib.metadata.entry_points(group="pytest11")):
        pytest.fail("kbroker's pytest11 entry point is not installed (pip install -e . registers it; "
                    "scripts/test.sh does)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=240)


# ------------------------------------------------------------------ the context manager


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", MODES)
def test_produce_consume_and_the_advertised_port(mode):
    with kbroker.testing.broker(mode) as b:
        host, port = b.bootstrap_servers.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        # port 0 was bound by the OS: the Metadata answer names the real port, so clients reconnect to it
        assert [(x.host, x.port) for x in b.metadata().brokers] == [("127.0.0.1", int(port))]
        b.create_topic("events", partitions=2, config={"cleanup.policy": "delete"})
        assert b.topics()["events"] == 2
        values = [f"event-{i}".encode() for i in range(50)]
        assert _roundtrip(b.bootstrap_servers, "events", values, partition=1) == values


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", MODES)
def test_two_brokers_at_once(mode):
    with kbroker.testing.broker(mode) as one, kbroker.testing.broker(mode) as two:
        assert one.bootstrap_servers != two.bootstrap_servers
        assert one.data_dir != two.data_dir
        one.create_topic("only-in-one")
        two.create_topic("only-in-two")
        assert "only-in-two" not in one.topics() and "only-in-one" not in two.topics()
        assert _roundtrip(one.bootstrap_servers, "only-in-one", [b"a1", b"a2"]) == [b"a1", b"a2"]
        assert _roundtrip(two.bootstrap_servers, "only-in-two", [b"b1"]) == [b"b1"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", MODES)
def test_data_dir_is_removed_and_stop_leaves_no_thread(mode):
    before = _threads()
    with kbroker.testing.broker(mode) as b:
        data = b.data_dir
        assert data is not None
        b.create_topic("t")
        assert _roundtrip(b.bootstrap_servers, "t", [b"x"]) == [b"x"]
        assert (data / "t-0").is_dir()
        pid = b.pid
        assert (pid is None) == (mode == "thread")
    assert not data.exists() and not data.parent.exists()
    assert _threads() == before
    if pid is not None:
        assert not Path(f"/proc/{pid}").exists()  # ended and reaped
    assert not b.running


@pytest.mark.parametrize("mode", MODES)
def test_broker_config_overrides(mode):
    with kbroker.testing.broker(mode, config={"num.partitions": 4, "auto.create.topics.enable": True}) as b:
        producer = KafkaProducer(bootstrap_servers=b.bootstrap_servers)
        try:
            deadline = time.monotonic() + 30
            parts = producer.partitions_for("auto-created")  # auto-created with num.partitions
            while parts is None and time.monotonic() < deadline:
                time.sleep(0.05)
                parts = producer.partitions_for("auto-created")
        finally:
            producer.close(timeout=10)
        assert parts == {0, 1, 2, 3}


def test_topic_errors_name_the_kafka_error():
    with kbroker.testing.broker() as b:
        b.create_topic("dup")
        with pytest.raises(TopicError, match="TOPIC_ALREADY_EXISTS"):
            b.create_topic("dup")
        b.create_topic("dup", exist_ok=True)
        with pytest.raises(TopicError, match="INVALID_PARTITIONS"):
            b.create_topic("none", partitions=0)
        b.delete_topic("dup")
        assert "dup" not in b.topics()


def test_owned_keys_and_modes_are_checked():
    with pytest.raises(ValueError, match="log.dirs"):
        kbroker.testing.EmbeddedBroker(config={"log.dirs": "/tmp/x"})
    with pytest.raises(ValueError, match="mode"):
        kbroker.testing.EmbeddedBroker(mode="docker")  # type: ignore[arg-type]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", MODES)
def test_a_broker_that_cannot_start_raises(mode):
    """Its port is taken: the broker's own start-up error comes out of start(), nothing is left behind."""
    before = _threads()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        b = kbroker.testing.EmbeddedBroker(mode, port=taken.getsockname()[1])
        with pytest.raises(BrokerCrashed, match="Address already in use|address already in use|Errno 98"):
            b.start()
    assert _threads() == before
    assert not b.running


@pytest.mark.timeout(120)
def test_a_broker_process_that_dies_is_reported():
    b = kbroker.testing.EmbeddedBroker("process").start()
    try:
        assert b.pid is not None
        os.kill(b.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while b.running and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(BrokerCrashed, match="ended on its own"):
            b.create_topic("after-death")
    finally:
        with pytest.raises(BrokerCrashed):
            b.stop()  # the teardown of a fixture whose broker died fails the same way
    assert not b.running


@pytest.mark.timeout(120)
def test_a_broker_process_stops_when_its_parent_is_killed(tmp_path):
    """A test run killed with SIGKILL runs none of its clean-up: its broker process still stops."""
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        import kbroker.testing
        b = kbroker.testing.EmbeddedBroker("process").start()
        print(b.pid, b.data_dir, flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)))
    try:
        assert parent.stdout is not None
        pid_text, data = parent.stdout.readline().split()
        pid = int(pid_text)
        assert _running(pid)
    finally:
        parent.kill()
        parent.wait(30)
    deadline = time.monotonic() + 60
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert not _running(pid)
        assert (Path(data) / "meta.properties").exists()  # a clean stop, not a clean-up: the folder stays
    finally:
        shutil.rmtree(Path(data).parent, ignore_errors=True)  # what the killed parent could not remove


# ------------------------------------------------------------------ the pytest fixtures


def test_kafka_broker_fixture(kafka_broker):
    kafka_broker.create_topic("fixture-topic")
    assert _roundtrip(kafka_broker.bootstrap_servers, "fixture-topic", [b"v"]) == [b"v"]


@pytest.mark.kafka_topics("orders", "payments", partitions=3)
@pytest.mark.kafka_topics("audit", config={"cleanup.policy": "compact"})
def test_kafka_topics_marker(kafka_broker):
    topics = kafka_broker.topics()
    assert (topics["orders"], topics["payments"], topics["audit"]) == (3, 3, 1)


@pytest.mark.kafka_broker_config({"num.partitions": 2})
def test_kafka_broker_config_marker(kafka_broker):
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    try:
        deadline = time.monotonic() + 30
        parts = producer.partitions_for("auto")
        while parts is None and time.monotonic() < deadline:
            time.sleep(0.05)
            parts = producer.partitions_for("auto")
    finally:
        producer.close(timeout=10)
    assert parts == {0, 1}


def test_thread_broker_next_to_the_tests_own_event_loop(kafka_broker):
    """An asyncio client (aiokafka) on the test's event loop, the broker on its own loop in its thread."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    kafka_broker.create_topic("async")

    async def main() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
        await producer.start()
        try:
            for i in range(5):
                await producer.send_and_wait("async", f"a{i}".encode(), partition=0)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer("async", bootstrap_servers=kafka_broker.bootstrap_servers,
                                    auto_offset_reset="earliest", group_id="g")
        await consumer.start()
        try:
            got: list[bytes] = []
            while len(got) < 5:
                batch = await consumer.getmany(timeout_ms=1000)
                got += [m.value for msgs in batch.values() for m in msgs]
            return got
        finally:
            await consumer.stop()

    assert asyncio.run(asyncio.wait_for(main(), 60)) == [f"a{i}".encode() for i in range(5)]


@pytest.mark.timeout(300)
def test_session_fixture_is_one_broker_and_an_unused_plugin_costs_nothing(tmp_path):
    (tmp_path / "test_inner.py").write_text(textwrap.dedent('''
        import sys
        import threading

        SEEN = []

        def test_nothing_started_or_imported_before_a_fixture_is_asked_for():
            assert not [t.name for t in threading.enumerate() if t.name.startswith("kbroker")]
            assert "kbroker.testing.pytest_plugin" in sys.modules  # the plugin is active
            heavy = [m for m in ("kbroker.broker", "kbroker.server", "wire.messages") if m in sys.modules]
            assert heavy == []

        def test_first(kafka_broker_session):
            SEEN.append(kafka_broker_session)
            kafka_broker_session.create_topic("made-by-first")

        def test_second(kafka_broker_session):
            assert kafka_broker_session is SEEN[0]
            assert "made-by-first" in kafka_broker_session.topics()
    '''))
    (tmp_path / "pytest.ini").write_text("[pytest]\nkafka_broker_mode = process\n")
    run = _pytest(["-p", "no:randomly", "test_inner.py"], tmp_path)
    assert run.returncode == 0 and "3 passed" in run.stdout, run.stdout + run.stderr


@pytest.mark.timeout(300)
def test_the_sample_suite_passes_with_only_the_fixtures():
    """examples/pytest-fixture: a tiny app and its tests, which use the fixtures and nothing else."""
    assert not (SAMPLE / "conftest.py").exists()
    run = _pytest(["-p", "no:randomly", "-v", str(SAMPLE.relative_to(ROOT))], ROOT)  # its own pytest.ini
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "5 passed" in run.stdout, out
