"""The container image and compose files of docker/, driven from the tests: the Docker engine and its
clients (found, or the reason they cannot run), the images built by scripts/build-image.sh, containers
and compose projects named with the ``kbroker-test`` prefix, and the smoke test a real client runs
through a containerised broker.

Everything a test makes is named ``kbroker-test...``, so that ``remove_leftovers`` can clear what an
interrupted run left without touching anything else on the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support import ROOT

PREFIX = "kbroker-test"
BROKER_IMAGE = f"{PREFIX}/kbroker:latest"
ZOOKEEPER_IMAGE = f"{PREFIX}/zookeeper:latest"
BUILD_TIMEOUT = 1200.0
"""A cold build (debootstrap, two apt-get runs, the wheels) takes minutes; a cached one seconds."""


def docker_client() -> str | None:
    """Debian's docker client (another one earlier on PATH may speak another API version)."""
    return "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker")


def unavailable() -> str | None:
    """None when the images can be built and run here, else what is missing."""
    if docker_client() is None:
        return "docker is not installed (scripts/install-deps.sh installs docker.io)"
    if shutil.which("dockerd") is None and not os.access("/usr/sbin/dockerd", os.X_OK):
        return "dockerd is not installed (scripts/install-deps.sh installs docker.io)"
    if shutil.which("docker-compose") is None:
        return "docker-compose is not installed (scripts/install-deps.sh installs it)"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (scripts/install-deps.sh installs it)"
    return None


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the docker client; a failure raises with its output."""
    cmd = [docker_client() or "docker", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    return p


def start_engine() -> str | None:
    """Starts the engine when none answers (scripts/dockerd.sh); None when it answers, else why not."""
    p = subprocess.run(["bash", str(ROOT / "scripts" / "dockerd.sh")], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    return None if p.returncode == 0 else f"the Docker engine cannot run here: {p.stderr.strip()[-800:]}"


def build_images() -> float:
    """Builds the broker and ZooKeeper images under the test tags; returns the seconds it took
    (reported, never asserted)."""
    start = time.monotonic()
    env = dict(os.environ, PYTHON=sys.executable)
    p = subprocess.run(["bash", str(ROOT / "scripts" / "build-image.sh"), BROKER_IMAGE, ZOOKEEPER_IMAGE],
                       capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"scripts/build-image.sh failed:\n{p.stderr[-3000:]}")
    return time.monotonic() - start


def remove_images() -> None:
    """Removes the test tags; --no-prune keeps their layers as the build cache of the next run."""
    docker("rmi", "--no-prune", BROKER_IMAGE, ZOOKEEPER_IMAGE, check=False)


def remove_leftovers() -> None:
    """Removes every container and volume named with the test prefix (a crashed run's, or this one's)."""
    ids = docker("ps", "-aq", "--filter", f"name={PREFIX}").stdout.split()
    if ids:
        docker("rm", "-f", "-v", *ids, check=False)
    vols = [v for v in docker("volume", "ls", "-q").stdout.split() if v.startswith(PREFIX)]
    if vols:
        docker("volume", "rm", "-f", *vols, check=False)


def logs(container: str) -> str:
    p = docker("logs", "--tail", "40", container, check=False)
    return (p.stdout + p.stderr)[-4000:]


class Compose:
    """One compose project (``docker-compose -p NAME -f FILE``) with its variables (image names, ports)."""

    def __init__(self, name: str, file: Path, variables: dict[str, str]):
        self.name = name
        self.file = file
        self.env = dict(os.environ, **variables)

    def run(self, *args: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = ["docker-compose", "--no-ansi", "-p", self.name, "-f", str(self.file), *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-2000:]}")
        return p

    def up(self) -> None:
        self.run("up", "-d")

    def down(self) -> None:
        """Stops and removes the project's containers, network and volumes."""
        self.run("down", "-v", "--remove-orphans", check=False)

    def logs(self) -> str:
        p = self.run("logs", "--tail", "30", check=False)
        return (p.stdout + p.stderr)[-6000:]


# ---- the smoke test a real client (confluent-kafka) runs through a containerised broker


def wait_brokers(bootstrap: str, count: int = 1, timeout: float = 90.0) -> None:
    """Waits until Metadata from ``bootstrap`` lists ``count`` brokers."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        try:
            seen = len(admin.list_topics(timeout=2).brokers)
            if seen >= count:
                return
        except Exception:  # noqa: BLE001 - not up yet: KafkaException, transport errors
            pass
        time.sleep(0.5)
    raise AssertionError(f"{bootstrap}: {seen} of {count} brokers after {timeout}s")


def create_topic(bootstrap: str, topic: str, partitions: int, replication: int, timeout: float = 90.0) -> None:
    """Creates a topic, retrying while the cluster is still forming (too few brokers registered)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin.create_topics([NewTopic(topic, partitions, replication)])[topic].result(timeout=30)
            return
        except KafkaException as e:
            if e.args[0].name() == "TOPIC_ALREADY_EXISTS":
                return
            if time.monotonic() > deadline:
                raise
        time.sleep(1.0)


Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


def records(tag: str, n: int) -> list[Record]:
    return [(f"{tag}-k{i}".encode(), f"{tag}-v{i}".encode() * (1 + i % 5), [("n", str(i).encode())])
            for i in range(n)]


def produce(bootstrap: str, topic: str, recs: Sequence[Record]) -> None:
    """Produces with acks=all; every delivery must succeed."""
    from confluent_kafka import Producer

    errors: list[str] = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for key, value, headers in recs:
        p.produce(topic, key=key, value=value, headers=headers,
                  on_delivery=lambda err, _msg: errors.append(str(err)) if err else None)
    left = p.flush(60)
    assert left == 0 and not errors, f"{left} undelivered, errors {errors[:3]}"


def consume(bootstrap: str, topic: str, n: int, group: str, timeout: float = 60.0) -> list[Record]:
    """Reads ``n`` records with a consumer group (from the earliest offset when it has none committed),
    in arrival order, and commits them."""
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            got.append((m.key(), m.value(), [(k, v) for k, v in (m.headers() or [])]))
        if got:
            c.commit(asynchronous=False)
    finally:
        c.close()
    assert len(got) == n, f"read {len(got)} of {n} records from {topic} in {timeout}s"
    return got


def smoke(bootstrap: str, topic: str, tag: str, n: int = 200, partitions: int = 1, replication: int = 1) -> None:
    """A real client's round trip: topic created, records produced (keys, values, headers), read back
    the same, byte for byte."""
    create_topic(bootstrap, topic, partitions, replication)
    sent = records(tag, n)
    produce(bootstrap, topic, sent)
    got = consume(bootstrap, topic, n, group=f"{tag}-group")
    if partitions == 1:
        assert got == sent
    else:
        assert sorted(got) == sorted(sent)
