"""The ``kbroker`` client commands run as subprocesses (``python -m kbroker ...``), and the checks
of every command, written once so that tests/broker runs them against a kbroker process and
tests/foreign the very same ones against the reference Apache Kafka as well. Every run is bounded by
a timeout; nothing here knows which broker it talks to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

from tests.support import ROOT

RUN_TIMEOUT = 60.0


def kbroker(bootstrap: str, *args: str, stdin: bytes | None = None, timeout: float = RUN_TIMEOUT,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Runs ``kbroker ARGS --bootstrap-server BOOTSTRAP``; with ``check`` a non-zero exit fails
    showing stderr."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "kbroker", *args, "--bootstrap-server", bootstrap],
                       input=stdin if stdin is not None else b"", capture_output=True, timeout=timeout,
                       cwd=str(ROOT), env=env)
    if check:
        assert r.returncode == 0, f"kbroker {' '.join(args)} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r


def text(bootstrap: str, *args: str, **kw: Any) -> str:
    return kbroker(bootstrap, *args, **kw).stdout.decode()


def js(bootstrap: str, *args: str, **kw: Any) -> Any:
    return json.loads(text(bootstrap, *args, "--output", "json", **kw))


def json_lines(bootstrap: str, *args: str, **kw: Any) -> list[dict[str, Any]]:
    out = text(bootstrap, *args, "--output", "json", **kw)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def fails(bootstrap: str, *args: str, stdin: bytes | None = None) -> str:
    """Runs a command that must fail: non-zero exit, a one-line message on stderr, no traceback."""
    r = kbroker(bootstrap, *args, stdin=stdin, check=False)
    err = r.stderr.decode(errors="replace")
    assert r.returncode != 0, f"kbroker {' '.join(args)} succeeded: {r.stdout!r}"
    assert "Traceback" not in err, err
    assert err.strip(), "no error message"
    return err


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------- the checks of every command

def check_topics(b: str) -> None:
    """create (partitions, replication factor, configs), list, describe, alter (partitions, configs),
    delete."""
    t = unique("cli-topic")
    assert f"Created topic {t}." in text(b, "topics", "create", "--topic", t, "--partitions", "2",
                                         "--replication-factor", "1", "--config", "retention.ms=3600000")
    assert t in text(b, "topics", "list").split()
    listed = {x["topic"]: x for x in js(b, "topics", "list")}
    assert listed[t]["partitions"] == 2 and listed[t]["replication_factor"] == 1
    kbroker(b, "produce", t, "--partition", "1", stdin=b"a\nb\nc\n")
    d = js(b, "topics", "describe", "--topic", t)
    assert d["partition_count"] == 2 and d["replication_factor"] == 1
    assert d["configs"] == {"retention.ms": "3600000"}
    p0, p1 = d["partitions"]
    assert (p0["partition"], p0["earliest"], p0["latest"]) == (0, 0, 0)
    assert (p1["partition"], p1["earliest"], p1["latest"]) == (1, 0, 3)
    assert p1["leader"] in p1["replicas"] and p1["isr"] == p1["replicas"]
    assert p1["size"] > p0["size"] == 0
    shown = text(b, "topics", "describe", t)
    assert f"Topic: {t}" in shown and "PartitionCount: 2" in shown and "retention.ms=3600000" in shown
    row = next(ln.split() for ln in shown.splitlines() if ln.split()[:1] == ["1"])
    assert row[4:7] == ["0", "3", "3"]  # earliest, latest, messages
    kbroker(b, "topics", "alter", t, "--partitions", "3", "--config", "segment.ms=7200000",
            "--delete-config", "retention.ms")
    d = js(b, "topics", "describe", t)
    assert d["partition_count"] == 3 and d["configs"] == {"segment.ms": "7200000"}
    assert f"Deleted topic {t}." in text(b, "topics", "delete", "--topic", t)
    deadline = time.monotonic() + 30
    while t in text(b, "topics", "list").split():
        assert time.monotonic() < deadline, "the deleted topic is still listed"
        time.sleep(0.2)


def check_configs(b: str) -> None:
    """configs describe|alter on a topic and on a broker."""
    t = unique("cli-configs")
    kbroker(b, "topics", "create", t, "--partitions", "1")
    assert "No config overrides" in text(b, "configs", "describe", "--entity-type", "topics", "--entity-name", t)
    kbroker(b, "configs", "alter", "--entity-type", "topics", "--entity-name", t,
            "--add-config", "retention.ms=1234567,cleanup.policy=compact")
    got = {c["name"]: c for c in js(b, "configs", "describe", "--entity-type", "topics", "--entity-name", t)["configs"]}
    assert {k: v["value"] for k, v in got.items()} == {"retention.ms": "1234567", "cleanup.policy": "compact"}
    assert got["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    kbroker(b, "configs", "alter", "--entity-type", "topics", "--entity-name", t, "--delete-config", "cleanup.policy")
    shown = text(b, "configs", "describe", "--entity-type", "topics", "--entity-name", t)
    assert "retention.ms" in shown and "1234567" in shown and "cleanup.policy" not in shown
    every = js(b, "configs", "describe", "--entity-type", "topics", "--entity-name", t, "--all")["configs"]
    assert {c["name"]: c["source"] for c in every}["cleanup.policy"] == "DEFAULT_CONFIG"
    node = str(js(b, "cluster")["brokers"][0]["node_id"])
    kbroker(b, "configs", "alter", "--entity-type", "brokers", "--entity-name", node,
            "--add-config", "leader.replication.throttled.rate=1048576")
    got = {c["name"]: c for c in js(b, "configs", "describe", "--entity-type", "brokers", "--entity-name", node)["configs"]}
    assert got["leader.replication.throttled.rate"]["value"] == "1048576"
    assert got["leader.replication.throttled.rate"]["source"] == "DYNAMIC_BROKER_CONFIG"
    kbroker(b, "configs", "alter", "--entity-type", "brokers", "--delete-config", "leader.replication.throttled.rate")
    got = js(b, "configs", "describe", "--entity-type", "brokers", "--entity-name", node)["configs"]
    assert "leader.replication.throttled.rate" not in {c["name"] for c in got}
    kbroker(b, "topics", "delete", t)


def check_cluster(b: str) -> None:
    c = js(b, "cluster")
    assert c["cluster_id"] and c["brokers"] and c["controller"] is not None
    host, port = b.rsplit(":", 1)
    assert {(x["host"], x["port"]) for x in c["brokers"]} >= {(host, int(port))}
    shown = text(b, "cluster")
    assert f"Cluster ID: {c['cluster_id']}" in shown and "(controller)" in shown


# The records of the round trip: non-UTF-8 bytes in keys, values and header values; an empty key; a
# null key; an empty value; an empty header value; a repeated header key (order kept). (A null header
# value cannot be produced with kafka-python's producer; consume shows one as null.)
ROUND_TRIP: list[dict[str, Any]] = [
    {"key": b"k\xff\x00", "value": b"\x80\x81 not utf-8", "headers": [("h1", b"\xfe\xff"), ("h2", b"text")]},
    {"key": b"", "value": b"empty key", "headers": []},
    {"key": None, "value": b"null key", "headers": [("n", b""), ("n", b"second")]},
    {"key": "ключ".encode(), "value": b"", "headers": [("utf8", "значение".encode())]},
]


def check_round_trip(b: str) -> None:
    """``kbroker produce`` -> ``kbroker consume --output json`` keeps keys, values and headers byte for
    byte: once through ``--input json`` (every record above), once through stdin lines with a key
    separator and ``--header`` arguments."""
    from kbroker.admin import decode_bytes, encode_bytes

    t = unique("cli-rt")
    kbroker(b, "topics", "create", t, "--partitions", "1")
    lines = b"".join(json.dumps({"key": encode_bytes(r["key"]), "value": encode_bytes(r["value"]),
                                 "headers": [{"key": k, "value": encode_bytes(v)} for k, v in r["headers"]]}
                                ).encode() + b"\n" for r in ROUND_TRIP)
    kbroker(b, "produce", t, "--input", "json", stdin=lines)
    got = json_lines(b, "consume", t, "--from-beginning")
    assert [(decode_bytes(g["key"]), decode_bytes(g["value"]),
             [(h["key"], decode_bytes(h["value"])) for h in g["headers"]]) for g in got] == [
        (r["key"], r["value"], r["headers"]) for r in ROUND_TRIP]
    assert [g["offset"] for g in got] == [0, 1, 2, 3] and {g["partition"] for g in got} == {0}
    assert all(isinstance(g["timestamp"], int) and g["timestamp"] > 0 for g in got)
    assert got[0]["value"] == {"base64": "gIEgbm90IHV0Zi04"} and got[1]["key"] == "" and got[2]["key"] is None

    # stdin lines: KEY<TAB>VALUE, a line without the separator (null key), one starting with it (empty key)
    t2 = unique("cli-lines")
    kbroker(b, "topics", "create", t2, "--partitions", "1")
    stdin = b"k1\tv\xff1\nno separator\n\tempty key\n"
    kbroker(b, "produce", "--topic", t2, "--key-separator", "\t", "--header", "src=cli", "--header",
            "raw=" + os.fsdecode(b"\xc3\x28"), "--header", "empty=", stdin=stdin)
    got = json_lines(b, "consume", t2, "--from-beginning")
    assert [(decode_bytes(g["key"]), decode_bytes(g["value"])) for g in got] == [
        (b"k1", b"v\xff1"), (None, b"no separator"), (b"", b"empty key")]
    for g in got:
        assert [(h["key"], decode_bytes(h["value"])) for h in g["headers"]] == [
            ("src", b"cli"), ("raw", b"\xc3\x28"), ("empty", b"")]
    # the same topic copied through JSON stays identical (consume | produce --input json)
    t3 = unique("cli-copy")
    kbroker(b, "topics", "create", t3, "--partitions", "1")
    kbroker(b, "produce", t3, "--input", "json", stdin=kbroker(b, "consume", t2, "--from-beginning", "-o", "json").stdout)
    strip = [{k: v for k, v in g.items() if k not in ("topic", "timestamp")} for g in got]
    assert [{k: v for k, v in g.items() if k not in ("topic", "timestamp")}
            for g in json_lines(b, "consume", t3, "--from-beginning")] == strip
    for x in (t, t2, t3):
        kbroker(b, "topics", "delete", x)


def check_consume_options(b: str) -> None:
    """--offset, --partition, --max-messages, --from-time, --format, --pretty, --value, --key,
    --compression and --acks."""
    t = unique("cli-consume")
    kbroker(b, "topics", "create", t, "--partitions", "2")
    for codec, acks in (("none", "all"), ("gzip", "1"), ("lz4", "all"), ("zstd", "1"), ("snappy", "all")):
        kbroker(b, "produce", t, "--partition", "0", "--compression", codec, "--acks", acks,
                stdin=f"{codec}-a\n{codec}-b\n".encode())
    values = [g["value"] for g in json_lines(b, "consume", t, "--from-beginning", "--partition", "0")]
    assert values == [f"{c}-{x}" for c in ("none", "gzip", "lz4", "zstd", "snappy") for x in "ab"]
    kbroker(b, "produce", t, "--partition", "1", "--value", "one", "--value", "two", "--key", "K")
    assert text(b, "consume", t, "--partition", "1", "--format", r"%t|%p|%o|%k|%s|%K|%S\n") == (
        f"{t}|1|0|K|one|1|3\n{t}|1|1|K|two|1|3\n")
    assert text(b, "consume", t, "--partition", "0", "--offset", "8") == "snappy-a\nsnappy-b\n"
    assert text(b, "consume", t, "--partition", "0", "--offset", "-1") == "snappy-b\n"
    assert text(b, "consume", t, "--partition", "0", "--offset", "latest") == ""
    assert len(text(b, "consume", t, "--from-beginning", "--max-messages", "3").splitlines()) == 3
    assert text(b, "consume", t, "--partition", "1", "--max-messages", "1", "--format", "%o:%s\n") == "0:one\n"
    stamps = [g["timestamp"] for g in json_lines(b, "consume", t, "--partition", "0")]
    assert text(b, "consume", t, "--partition", "0", "--from-time", str(stamps[-1] + 1)) == ""
    from_time = text(b, "consume", t, "--partition", "0", "--from-time", str(stamps[0]))
    assert from_time.splitlines()[0] == "none-a"
    pretty = text(b, "consume", t, "--partition", "1", "--max-messages", "1", "-o", "json", "--pretty")
    assert pretty.startswith("{\n  ") and json.loads(pretty)["value"] == "one"
    kbroker(b, "topics", "delete", t)


def check_groups(b: str) -> None:
    """consume --group (commits), groups list|describe (lag), reset-offsets (plan, then --execute:
    earliest, latest, shift, datetime, offset), delete."""
    t, g = unique("cli-groups"), unique("cli-group")
    kbroker(b, "topics", "create", t, "--partitions", "2")
    kbroker(b, "produce", t, "--partition", "0", stdin=b"".join(b"p0-%d\n" % i for i in range(6)))
    kbroker(b, "produce", t, "--partition", "1", stdin=b"".join(b"p1-%d\n" % i for i in range(4)))
    assert len(text(b, "consume", t, "--group", g, "--max-messages", "10").splitlines()) == 10
    listed = {x["group"]: x for x in js(b, "groups", "list")}
    assert listed[g]["state"] == "Empty"
    assert any(ln.split()[:1] == [g] for ln in text(b, "groups", "list").splitlines())
    d = js(b, "groups", "describe", g)
    assert d["state"] == "Empty" and d["total_lag"] == 0
    assert {(o["partition"], o["committed"], o["log_end"], o["lag"]) for o in d["offsets"]} == {(0, 6, 6, 0), (1, 4, 4, 0)}
    kbroker(b, "produce", t, "--partition", "0", "--value", "later")
    shown = text(b, "groups", "describe", "--group", g)
    assert f"Group {g}: state Empty" in shown
    assert {tuple(ln.split()[:5]) for ln in shown.splitlines() if ln.startswith(t)} == {
        (t, "0", "6", "7", "1"), (t, "1", "4", "4", "0")}
    # the group reads on from its commits
    assert text(b, "consume", t, "--group", g) == "later\n"

    def plan(*how: str, execute: bool = False) -> dict[int, tuple[Any, int]]:
        rows = js(b, "groups", "reset-offsets", "--group", g, "--topic", t, *how, *(["--execute"] if execute else []))
        return {r["partition"]: (r["current"], r["new"]) for r in rows}

    def committed() -> dict[int, int]:
        return {o["partition"]: o["committed"] for o in js(b, "groups", "describe", g)["offsets"]}

    assert plan("--to-earliest") == {0: (7, 0), 1: (4, 0)}
    assert committed() == {0: 7, 1: 4}  # a dry run changes nothing
    dry = kbroker(b, "groups", "reset-offsets", g, "--all-topics", "--to-earliest")
    assert "dry run" in dry.stderr.decode() and {tuple(ln.split()) for ln in dry.stdout.decode().splitlines()[1:]} == {
        (g, t, "0", "7", "0"), (g, t, "1", "4", "0")}
    assert plan("--to-earliest", execute=True) == {0: (7, 0), 1: (4, 0)} and committed() == {0: 0, 1: 0}
    assert plan("--shift-by", "2", execute=True) == {0: (0, 2), 1: (0, 2)} and committed() == {0: 2, 1: 2}
    assert plan("--shift-by", "-5", execute=True) == {0: (2, 0), 1: (2, 0)}  # clamped to the earliest
    assert plan("--to-latest", execute=True) == {0: (0, 7), 1: (0, 4)}
    rows = js(b, "groups", "reset-offsets", g, "--topic", f"{t}:1", "--to-offset", "3", "--execute")
    assert [(r["partition"], r["new"]) for r in rows] == [(1, 3)] and committed() == {0: 7, 1: 3}
    stamps = [m["timestamp"] for m in json_lines(b, "consume", t, "--partition", "0")]
    got = plan("--to-datetime", str(stamps[-1] + 1))
    assert got == {0: (7, 7), 1: (3, 4)}  # nothing that recent: the end
    assert "lag" in text(b, "groups", "describe", g).lower()
    assert f"Deleted group {g}." in text(b, "groups", "delete", "--group", g)
    assert g not in {x["group"] for x in js(b, "groups", "list")}
    kbroker(b, "topics", "delete", t)


def check_errors(b: str) -> None:
    """An unknown topic, a bad config, an unknown group: a clear message and a non-zero exit."""
    missing = unique("cli-missing")
    for args in (("topics", "describe", missing), ("topics", "delete", missing), ("consume", missing),
                 ("topics", "alter", missing, "--partitions", "4"),
                 ("configs", "describe", "--entity-type", "topics", "--entity-name", missing)):
        err = fails(b, *args)
        assert missing in err and ("UNKNOWN_TOPIC" in err or "does not exist" in err), err
    err = fails(b, "produce", missing, "--value", "x")
    assert missing in err and "does not exist" in err
    assert missing not in text(b, "topics", "list").split()  # not created by accident
    err = fails(b, "topics", "create", missing, "--config", "retention.ms=soon")
    assert "INVALID_CONFIG" in err and "retention.ms" in err
    t = unique("cli-bad")
    kbroker(b, "topics", "create", t, "--partitions", "2")
    err = fails(b, "topics", "create", t)
    assert "TOPIC_ALREADY_EXISTS" in err
    kbroker(b, "topics", "create", t, "--if-not-exists")
    err = fails(b, "configs", "alter", "--entity-type", "topics", "--entity-name", t, "--add-config", "no.such.config=1")
    assert "no.such.config" in err
    err = fails(b, "configs", "alter", "--entity-type", "topics", "--entity-name", t, "--add-config", "retention.ms=x")
    assert "retention.ms" in err
    err = fails(b, "topics", "alter", t, "--partitions", "1")
    assert "INVALID_PARTITIONS" in err
    err = fails(b, "groups", "describe", unique("cli-nogroup"))
    assert "does not exist" in err
    err = fails(b, "consume", t, "--partition", "7")
    assert "no partition 7" in err
    kbroker(b, "topics", "delete", t)
