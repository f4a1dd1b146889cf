"""Running out of file descriptors (issue 9, section 4): a CreateTopics that cannot fit in the
broker's descriptor limit is all-or-nothing — it answers an error with a message, keeps no half-made
topic (not in metadata, not on disk, not after a restart) — and the broker keeps serving.

The limit is lowered on the running broker with prlimit(1) (after its start-up raised the soft limit
to the hard one), so the creation of 2,000 partitions cannot fit."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.tools import IN_CI

LIMIT = 256
TOPIC = "too-many"


def _prlimit(pid: int, limit: int) -> None:
    tool = shutil.which("prlimit")
    if tool is None:
        if IN_CI:
            pytest.fail("prlimit (util-linux) is needed under CI=true")
        pytest.skip("prlimit (util-linux) is not installed")
    subprocess.run([tool, f"--nofile={limit}:{limit}", f"--pid={pid}"], check=True)


def _create(admin: AdminClient, name: str, partitions: int) -> BaseException | None:
    fut = admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=60, request_timeout=60)[name]
    try:
        fut.result(timeout=120)
    except Exception as exc:  # KafkaException with the broker's error
        return exc
    return None


def test_creation_beyond_the_fd_limit_leaves_no_topic(broker_factory):
    b = broker_factory()
    assert b.proc is not None
    _prlimit(b.proc.pid, LIMIT)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    err = _create(admin, TOPIC, 2000)
    assert err is not None, "2,000 partitions fit in 256 descriptors?"
    assert "KAFKA_STORAGE_ERROR" in str(err) or "Too many open files" in str(err), str(err)
    assert TOPIC not in admin.list_topics(timeout=30).topics
    assert not list(b.data_dir.glob(f"{TOPIC}-*")) and not (b.data_dir / f"{TOPIC}.json").exists()
    # Still serving: a topic that fits is created and listed.
    assert _create(admin, "fits", 4) is None
    assert "fits" in admin.list_topics(timeout=30).topics
    assert b.stop() == 0
    b.start()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topics = admin.list_topics(timeout=30).topics
    assert TOPIC not in topics and "fits" in topics
    log = b.log()
    assert "Traceback" not in log, log


def test_accept_without_descriptors_is_logged_once_and_recovers(broker_factory):
    import socket
    import time

    from tests.support.rawclient import ConnectionClosed, RawClient

    b = broker_factory()
    assert b.proc is not None
    _prlimit(b.proc.pid, 64)
    socks = []
    try:
        for _ in range(120):  # more connections than the broker has descriptors left
            socks.append(socket.create_connection(("127.0.0.1", b.port), timeout=5))
        deadline = time.monotonic() + 30
        while "cannot accept connections" not in b.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "cannot accept connections" in b.log()
    finally:
        for s in socks:
            s.close()
    # Descriptors are free again: a new connection is served (asyncio re-arms the listener).
    deadline = time.monotonic() + 30
    while True:
        try:
            with RawClient.connect(b.bootstrap, timeout=5) as c:
                assert c.api_versions().error_code == 0
            break
        except (OSError, ConnectionClosed, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    log = b.log()
    assert "Traceback" not in log and "out of system resource" not in log, log
