"""How the ``kbroker`` client commands behave around the broker: a broker that is down gives a clear
error in seconds and a non-zero exit (never a hang), ``--follow`` keeps reading new messages, progress
shows on a terminal and never in a pipe, ``--help`` everywhere, and usage errors exit 2."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest

from tests.support import ROOT, cli
from tests.support.brokerproc import BrokerProcess, free_port
from tests.support.waiting import wait_for

COMMANDS = [
    ("topics", "list"), ("topics", "describe"), ("topics", "create", "x"), ("topics", "alter", "x", "--partitions", "2"),
    ("topics", "delete", "x"), ("produce", "x", "--value", "v"), ("consume", "x"), ("groups", "list"),
    ("groups", "describe", "g"), ("groups", "reset-offsets", "g", "--all-topics", "--to-earliest"),
    ("groups", "delete", "g"), ("configs", "describe", "--entity-type", "brokers"),
    ("configs", "alter", "--entity-type", "topics", "--entity-name", "x", "--add-config", "a=b"), ("cluster",),
]


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("cli-behaviour") / "data").start()
    yield b.bootstrap
    b.stop()


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_broker_down_is_a_clear_error(args) -> None:
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    r = cli.kbroker(closed, *args, timeout=30, check=False)  # the timeout is a hang guard, not a measure
    err = r.stderr.decode()
    assert r.returncode == 1, (r.returncode, err)
    assert "cannot connect to" in err and closed in err and "Traceback" not in err


@pytest.mark.parametrize("args", [(), ("topics",), ("topics", "create"), ("topics", "list"), ("topics", "describe"),
                                  ("topics", "alter"), ("topics", "delete"), ("produce",), ("consume",), ("groups",),
                                  ("groups", "list"), ("groups", "describe"), ("groups", "reset-offsets"),
                                  ("groups", "delete"), ("configs",), ("configs", "describe"), ("configs", "alter"),
                                  ("cluster",)], ids=lambda a: "-".join(a) or "kbroker")
def test_help_everywhere(args) -> None:
    r = subprocess.run([sys.executable, "-m", "kbroker", *args, "--help"], capture_output=True, text=True,
                       timeout=60, cwd=str(ROOT))
    assert r.returncode == 0 and "usage: kbroker" in r.stdout
    if args and args[-1] in ("produce", "consume") or len(args) == 2:
        assert "--bootstrap-server" in r.stdout and "--output" in r.stdout


def test_usage_errors_exit_2(bootstrap) -> None:
    for args in (("consume", "t", "--from-beginning", "--offset", "3"), ("topics", "create"),
                 ("topics", "alter", "t"), ("topics", "create", "t", "--config", "novalue"),
                 ("groups", "reset-offsets", "g", "--to-earliest"), ("produce",)):
        r = cli.kbroker(bootstrap, *args, check=False)
        assert r.returncode == 2 and r.stderr.strip() and b"Traceback" not in r.stderr, (args, r.stderr)


def _read_line(proc: subprocess.Popen[bytes], timeout: float = 30) -> bytes:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, f"no line from the follower within {timeout}s (got {line!r})"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            assert chunk, "the follower exited"
            line += chunk
    return line


def test_follow_reads_new_messages(bootstrap) -> None:
    t = cli.unique("cli-follow")
    cli.kbroker(bootstrap, "topics", "create", t, "--partitions", "1")
    cli.kbroker(bootstrap, "produce", t, "--value", "old")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "kbroker", "consume", t, "--follow", "--from-beginning",
                             "--bootstrap-server", bootstrap], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=str(ROOT), env=env)
    try:
        assert _read_line(proc) == b"old\n"
        cli.kbroker(bootstrap, "produce", t, "--value", "new")
        assert _read_line(proc) == b"new\n"
        assert proc.poll() is None  # still following
    finally:
        proc.terminate()
        proc.wait(30)
    r = cli.kbroker(bootstrap, "consume", t, "--follow", "--max-messages", "2", "--from-beginning")
    assert r.stdout == b"old\nnew\n"


def test_follow_in_a_group_commits_while_following(bootstrap) -> None:
    t, g = cli.unique("cli-follow-g"), cli.unique("cli-follow-group")
    cli.kbroker(bootstrap, "topics", "create", t, "--partitions", "1")
    cli.kbroker(bootstrap, "produce", t, "--value", "a", "--value", "b")
    proc = subprocess.Popen([sys.executable, "-m", "kbroker", "consume", t, "--follow", "--group", g,
                             "--from-beginning", "--bootstrap-server", bootstrap], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert _read_line(proc) == b"a\n" and _read_line(proc) == b"b\n"

        def committed() -> list[int | None]:
            r = cli.kbroker(bootstrap, "groups", "describe", g, "--output", "json", check=False)
            return [o["committed"] for o in cli.json.loads(r.stdout)["offsets"]] if r.returncode == 0 else []

        wait_for(lambda: committed() == [2], what="the follower's commit", interval=0.5)
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(30)


def test_progress_on_a_terminal_only(bootstrap) -> None:
    t = cli.unique("cli-progress")
    cli.kbroker(bootstrap, "topics", "create", t, "--partitions", "1")
    cli.kbroker(bootstrap, "produce", t, stdin=b"".join(b"m%d\n" % i for i in range(3000)))
    piped = cli.kbroker(bootstrap, "consume", t)
    assert len(piped.stdout.splitlines()) == 3000 and piped.stderr == b""
    master, slave = os.openpty()
    try:
        r = subprocess.run([sys.executable, "-m", "kbroker", "consume", t, "--bootstrap-server", bootstrap],
                           stdout=subprocess.PIPE, stderr=slave, timeout=60, cwd=str(ROOT),
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
        os.close(slave)
        slave = -1
        shown = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3000
    assert f"consume {t}: ".encode() in shown and b"/3000" in shown
