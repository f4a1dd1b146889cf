"""kcat scenarios (Debian's kcat 1.7, which links an old librdkafka, 2.0.x).

Old librdkafka switches features on from the advertised ranges: message format v2 needs Produce 3 and
Fetch 4, zstd needs Produce 7 and Fetch 10.  kcat's producer stamps records itself (no explicit
timestamps) and adds the same ``-H`` headers to every record, so records are compared as a multiset and
timestamps must fall inside the produce window.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Sequence

from compat.scenarios.common import (
    CODECS,
    STEP_TIMEOUT,
    Got,
    Rec,
    ScenarioFailed,
    ScenarioSkipped,
    topic_name,
    verify,
)
from compat.scenarios.probe import check_compressed

CLIENT = "kcat"
HEADERS = (("origin", b"kcat"), ("scenario", b"compat"))
_TS_TYPES = {"create": "create", "logappend": "log_append"}
_FORMAT = r"%p\t%o\t%T\t%k\t%s\t%h\n"


def _exe() -> str:
    path = shutil.which("kcat")
    if path is None:
        raise ScenarioSkipped("kcat is not installed (scripts/install-deps.sh installs it)")
    return path


def version() -> str:
    try:
        out = subprocess.run([_exe(), "-V"], capture_output=True, text=True, timeout=10).stdout
    except ScenarioSkipped:
        return "not installed"
    m = re.search(r"Version (\S+).*?librdkafka (\S+)", out)
    return f"{m.group(1)} (librdkafka {m.group(2)})" if m else out.strip().splitlines()[-1]


def run_kcat(args: Sequence[str], stdin: bytes | None = None, timeout: float = STEP_TIMEOUT) -> bytes:
    """Run kcat; a non-zero exit, a timeout or an error line on stderr is a failure."""
    cmd = [_exe(), *args]
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="replace").strip()[-600:]
        raise ScenarioFailed(f"`kcat {' '.join(args)}` timed out after {timeout:.0f}s; stderr: {err}") from None
    err = proc.stderr.decode(errors="replace").strip()
    bad = [ln for ln in err.splitlines() if re.search(r"ERROR|[Ff]ailed|FATAL", ln)]
    if proc.returncode != 0 or bad:
        detail = "; ".join(bad[:4]) or err[-600:]
        raise ScenarioFailed(f"`kcat {' '.join(args)}` exited {proc.returncode}: {detail}")
    return proc.stdout


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """kcat cannot create topics with a partition count; another client's admin API does."""
    errors = []
    for mod in ("kafka_python", "confluent"):
        try:
            __import__(f"compat.scenarios.{mod}", fromlist=["create_topic"]).create_topic(bootstrap, topic, partitions)
            return
        except Exception as e:  # noqa: BLE001 - try the next admin client
            errors.append(f"{mod}: {type(e).__name__}: {e}")
    raise ScenarioFailed("could not create the topic for kcat: " + "; ".join(errors))


def make_lines(n: int, n_keys: int, tag: str = "kcat", fixed_key: int = 0) -> tuple[bytes, bytes, list[Rec]]:
    """``n`` lines ``key<TAB>value`` for -K, then ``fixed_key`` bare values for -k; and the records."""
    keyed, fixed, recs = [], [], []
    seq: Counter[int] = Counter()
    hdrs = HEADERS
    for i in range(n):
        k = (i * 7919 + i // 3) % n_keys
        key = f"key-{k:05d}"
        value = f"{tag}|{key}|{seq[k]}|{i}|{'abc' * (i % 7)}"
        seq[k] += 1
        keyed.append(f"{key}\t{value}\n")
        recs.append(Rec(key.encode(), value.encode(), hdrs, None))
    for j in range(fixed_key):
        value = f"{tag}|fixed|{j}|{j}|fixed-key line"
        fixed.append(value + "\n")
        recs.append(Rec(b"fixed", value.encode(), hdrs, None))
    return "".join(keyed).encode(), "".join(fixed).encode(), recs


def produce_lines(bootstrap: str, topic: str, lines: bytes, *extra: str, keyed: bool = True) -> None:
    args = ["-P", "-b", bootstrap, "-t", topic, "-X", "acks=all", "-m", "30", *extra]
    if keyed:
        args += ["-K", r"\t"]
    for k, v in HEADERS:
        args += ["-H", f"{k}={v.decode()}"]
    run_kcat(args, stdin=lines)


def _headers(text: str) -> tuple[tuple[str, bytes], ...]:
    if not text:
        return ()
    return tuple((k, v.encode()) for k, _, v in (kv.partition("=") for kv in text.split(",")))


def consume_formatted(bootstrap: str, topic: str) -> list[Got]:
    """``-C -e -o beginning`` with a format string giving partition, offset, timestamp, key, value, headers."""
    out = run_kcat(["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-m", "30",
                    "-f", _FORMAT])
    got = []
    for line in out.decode().splitlines():
        parts = line.split("\t")
        if len(parts) != 6:
            raise ScenarioFailed(f"unparseable kcat output line {line!r}")
        p, o, ts, k, v, h = parts
        got.append(Got(int(p), int(o), k.encode(), v.encode(), _headers(h), int(ts), "create"))
    return got


def _window(start: float) -> tuple[int, int]:
    return int(start * 1000) - 2000, int(time.time() * 1000) + 2000


def metadata(bootstrap: str) -> str:
    """-P to a new topic auto-creates it; -L (text and -J) lists the one broker and that topic."""
    host, _, port = bootstrap.rpartition(":")
    topic = topic_name(CLIENT, "autocreate")
    produce_lines(bootstrap, topic, b"k\tauto-created\n")
    md = json.loads(run_kcat(["-L", "-J", "-b", bootstrap, "-t", topic, "-m", "30"]))
    brokers = md.get("brokers", [])
    if [b.get("name") for b in brokers] != [f"{host}:{port}"]:
        raise ScenarioFailed(f"-L -J brokers {brokers}, expected exactly one at {host}:{port}")
    broker_id = brokers[0]["id"]
    topics = {t["topic"]: t for t in md.get("topics", [])}
    t = topics.get(topic)
    if t is None or t.get("error"):
        raise ScenarioFailed(f"-L -J topic {topic}: {t.get('error') if t else 'not listed'} (topics: {list(topics)})")
    parts = t.get("partitions", [])
    if not parts or [p["partition"] for p in parts] != list(range(len(parts))):
        raise ScenarioFailed(f"-L -J partitions of {topic}: {parts}")
    for p in parts:
        if p.get("leader") != broker_id or p.get("error"):
            raise ScenarioFailed(f"-L -J partition {p}: leader should be broker {broker_id}, no error")
    text = run_kcat(["-L", "-b", bootstrap, "-m", "30"]).decode()
    if not re.search(rf"broker {broker_id} at {re.escape(host)}:{port}\b", text):
        raise ScenarioFailed(f"-L text does not list broker {broker_id} at {host}:{port}: {text[:300]!r}")
    if f'topic "{topic}" with {len(parts)} partitions' not in text:
        raise ScenarioFailed(f"-L text does not list {topic} with {len(parts)} partitions: {text[:600]!r}")
    return f"broker {broker_id} at {host}:{port}; auto-created topic with {len(parts)} partition(s)"


def roundtrip(bootstrap: str, n: int = 10_000, n_keys: int = 1_000, partitions: int = 3) -> str:
    """-P with per-line keys (-K) and a fixed key (-k), -C -e -o beginning reads back exactly that."""
    topic = topic_name(CLIENT, "roundtrip")
    create_topic(bootstrap, topic, partitions)
    keyed, fixed, recs = make_lines(n, n_keys, fixed_key=200)
    start = time.time()
    produce_lines(bootstrap, topic, keyed)
    produce_lines(bootstrap, topic, fixed, "-k", "fixed", keyed=False)
    got = consume_formatted(bootstrap, topic)
    return verify(recs, got, partitions=partitions, ts_window=_window(start))


def json_output(bootstrap: str, n: int = 600, partitions: int = 3) -> str:
    """-C -e -J: every envelope names the topic, partition, offset, CreateTime, broker, key, payload, headers."""
    topic = topic_name(CLIENT, "json")
    create_topic(bootstrap, topic, partitions)
    keyed, _, recs = make_lines(n, 60, tag="kcat-json")
    start = time.time()
    produce_lines(bootstrap, topic, keyed)
    out = run_kcat(["-C", "-J", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-m", "30"])
    got, brokers = [], set()
    for line in out.decode().splitlines():
        env = json.loads(line)
        missing = {"topic", "partition", "offset", "tstype", "ts", "key", "payload"} - set(env)
        if missing or env["topic"] != topic:
            raise ScenarioFailed(f"JSON envelope missing {sorted(missing)} or wrong topic: {line[:200]}")
        h = env.get("headers") or []
        pairs = list(h.items()) if isinstance(h, dict) else list(zip(h[::2], h[1::2], strict=True))
        got.append(Got(env["partition"], env["offset"], None if env["key"] is None else env["key"].encode(),
                       None if env["payload"] is None else env["payload"].encode(),
                       tuple((k, (v or "").encode()) for k, v in pairs), env["ts"],
                       _TS_TYPES.get(env["tstype"], env["tstype"])))
        brokers.add(env.get("broker"))
    summary = verify(recs, got, partitions=partitions, ts_window=_window(start), where="-J")
    if len(brokers) != 1 or None in brokers:
        raise ScenarioFailed(f"JSON 'broker' fields {brokers}, expected one broker id")
    return summary


def codec_interop(bootstrap: str, codec: str, n: int = 1_000, partitions: int = 2) -> str:
    """kcat -z codec produces; kafka-python and confluent-kafka read back exactly the same records."""
    from compat.scenarios import load

    topic = topic_name(CLIENT, codec)
    create_topic(bootstrap, topic, partitions)
    keyed, _, recs = make_lines(n, 100, tag=f"kcat-{codec}")
    start = time.time()
    produce_lines(bootstrap, topic, keyed, "-z", codec)
    failures, stored = [], "?"
    try:
        stored = check_compressed(bootstrap, topic, partitions, codec, "kcat")
    except ScenarioFailed as e:
        failures.append(str(e))
    for reader in (load("kafka-python"), load("confluent-kafka")):
        try:
            # kcat reports no offsets: each reader reads up to the latest offsets it is told
            got = reader.consume(bootstrap, topic, partitions, None)
            verify(recs, got, partitions=partitions, ts_window=_window(start), where=reader.CLIENT)
        except Exception as e:
            failures.append(f"{reader.CLIENT}: {e}")
    if failures:
        raise ScenarioFailed(f"{codec} from kcat -> " + " | ".join(failures))
    return f"{codec}: {n} records in {stored}, read back by kafka-python, confluent-kafka"


def compression(bootstrap: str) -> str:
    failures, done = [], []
    for codec in CODECS:
        try:
            done.append(codec_interop(bootstrap, codec))
        except ScenarioFailed as e:
            failures.append(str(e))
    if failures:
        raise ScenarioFailed(" || ".join(failures))
    return "; ".join(done)


SCENARIOS = {"metadata": metadata, "roundtrip": roundtrip, "json": json_output, "compression": compression}
