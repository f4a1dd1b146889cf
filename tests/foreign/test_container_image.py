"""The container image and compose files (docker/): built by scripts/build-image.sh, run by a real
Docker engine with host networking, and a real client (confluent-kafka) producing and consuming
through them.

- one container configured by ``KBROKER_*`` variables on a free port; its data volume outlives the
  container: a new container on the same volume, configured by a mounted properties file instead,
  serves what was written and goes on appending;
- the single-node compose file passes the same smoke test;
- the cluster compose file starts ZooKeeper and three brokers, and a topic replicated 3 ways has every
  replica in sync and serves an acks=all round trip;
- the image's command is the README quick start's ``kbroker serve``.

Needs docker.io, docker-compose and debootstrap (scripts/install-deps.sh); skipped without them, or
when no engine can start, except under CI=true where that fails.  Everything made here is named with
the ``kbroker-test`` prefix and removed at the end (the image layers stay, as the build cache)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support import container as c
from tests.support.brokerproc import free_port
from tests.support.tools import IN_CI

pytestmark = pytest.mark.timeout(1500)


def _unusable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"{why}; required under CI=true")
    pytest.skip(why)


@pytest.fixture(scope="module")
def images() -> Iterator[None]:
    why = c.unavailable() or c.start_engine()
    if why is not None:
        _unusable(why)
    c.remove_leftovers()
    seconds = c.build_images()
    print(f"scripts/build-image.sh took {seconds:.1f}s")
    try:
        yield
    finally:
        c.remove_leftovers()
        c.remove_images()


def _run_broker(name: str, volume: str, env: dict[str, str], mounts: Sequence[str] = (),
                command: Sequence[str] = ()) -> None:
    """Starts the broker image detached, host networking, the data volume at /var/lib/kbroker."""
    args = ["run", "-d", "--init", "--network", "host", "--name", name, "-v", f"{volume}:/var/lib/kbroker"]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    for m in mounts:
        args += ["-v", m]
    c.docker(*args, c.BROKER_IMAGE, *command)


def test_container_round_trip_and_volume_survives(images: None, tmp_path: Path) -> None:
    name, volume = f"{c.PREFIX}-single", f"{c.PREFIX}-data"
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    _run_broker(name, volume, {"KBROKER_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
                               "KBROKER_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
                               "KBROKER_NUM_PARTITIONS": "3"})
    try:
        c.wait_brokers(bootstrap)
        c.smoke(bootstrap, "orders", "first")
        # an auto-created topic takes num.partitions from the environment
        c.produce(bootstrap, "auto", c.records("auto", 1))
        from confluent_kafka.admin import AdminClient
        md = AdminClient({"bootstrap.servers": bootstrap}).list_topics("auto", timeout=10)
        assert len(md.topics["auto"].partitions) == 3
    except BaseException:
        print(c.logs(name))
        raise
    c.docker("stop", "-t", "30", name)  # SIGTERM through --init: a clean stop
    c.docker("rm", name)

    # a new container on the same volume, configured by a mounted properties file this time
    port2 = free_port()
    bootstrap2 = f"127.0.0.1:{port2}"
    props = tmp_path / "server.properties"
    props.write_text(f"listeners=PLAINTEXT://127.0.0.1:{port2}\nlog.dirs=/var/lib/kbroker\n")
    props.chmod(0o644)
    _run_broker(name, volume, {}, mounts=[f"{props}:/etc/kbroker/server.properties:ro"],
                command=["kbroker", "serve", "/etc/kbroker/server.properties"])
    try:
        c.wait_brokers(bootstrap2)
        first = c.records("first", 200)
        assert c.consume(bootstrap2, "orders", 200, group="after-restart") == first
        more = c.records("second", 50)
        c.produce(bootstrap2, "orders", more)
        # the group committed before the restart resumes after its 200 records
        assert c.consume(bootstrap2, "orders", 50, group="first-group") == more
    except BaseException:
        print(c.logs(name))
        raise
    finally:
        c.docker("rm", "-f", name, check=False)
        c.docker("volume", "rm", "-f", volume, check=False)


def test_compose_single_node(images: None) -> None:
    port = free_port()
    project = c.Compose(f"{c.PREFIX}-compose", ROOT / "docker" / "compose.yml",
                        {"BROKER_IMAGE": c.BROKER_IMAGE, "BROKER_PORT": str(port)})
    project.up()
    try:
        bootstrap = f"127.0.0.1:{port}"
        c.wait_brokers(bootstrap)
        c.smoke(bootstrap, "compose-topic", "compose")
    except BaseException:
        print(project.logs())
        raise
    finally:
        project.down()


def test_compose_cluster_rf3(images: None) -> None:
    ports = [free_port() for _ in range(3)]
    zk_port = free_port()
    project = c.Compose(f"{c.PREFIX}-cluster", ROOT / "docker" / "compose-cluster.yml",
                        {"BROKER_IMAGE": c.BROKER_IMAGE, "ZOOKEEPER_IMAGE": c.ZOOKEEPER_IMAGE,
                         "ZOOKEEPER_PORT": str(zk_port),
                         **{f"BROKER{i + 1}_PORT": str(p) for i, p in enumerate(ports)}})
    project.up()
    try:
        bootstrap = ",".join(f"127.0.0.1:{p}" for p in ports)
        c.wait_brokers(bootstrap, count=3)
        c.smoke(bootstrap, "replicated", "cluster", n=300, partitions=3, replication=3)
        from confluent_kafka.admin import AdminClient
        md = AdminClient({"bootstrap.servers": bootstrap}).list_topics("replicated", timeout=10)
        layout = {p: (sorted(m.replicas), sorted(m.isrs)) for p, m in md.topics["replicated"].partitions.items()}
        assert layout == {p: ([1, 2, 3], [1, 2, 3]) for p in range(3)}, json.dumps(layout)
        assert sorted(md.brokers) == [1, 2, 3]
    except BaseException:
        print(project.logs())
        raise
    finally:
        project.down()


def test_image_runs_the_quick_start_command(images: None) -> None:
    """The image's command is the README quick start's ``kbroker serve`` (with its embedded defaults:
    no properties file, no override), and its data directory is the volume."""
    config = json.loads(c.docker("image", "inspect", c.BROKER_IMAGE).stdout)[0]["Config"]
    assert config["Cmd"] == ["kbroker", "serve"]
    assert "/var/lib/kbroker" in config["Volumes"]
    assert "KBROKER_LOG_DIRS=/var/lib/kbroker" in config["Env"]
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "kbroker serve\n" in quick_start
