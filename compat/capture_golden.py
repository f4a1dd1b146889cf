"""Capture golden request/response frames from real Kafka clients talking to kbroker.

    python -m compat.capture_golden                       # all clients, rewrites tests/golden/
    python -m compat.capture_golden --clients kcat,raw    # only these (others' files are kept)

A kbroker is started on loopback behind a small recording TCP proxy; the broker
advertises the proxy's address, so every connection a client opens goes through it.  The
proxy forwards bytes unchanged both ways, splits each direction into frames, reads
(api_key, api_version, correlation_id) from each request header and pairs each response
with its request by correlation id.

Each client runs a short scenario in its own process with a time limit (create a topic
with the admin client, produce records with headers, consume them in a group, list
offsets, describe configs, delete the topic): kafka-python, confluent-kafka, aiokafka and,
when installed, kcat.  A "raw" step sends an ApiVersions v99 request by hand, so the v0
error reply is stored too.

For each (client, api, version, direction) the first frame seen is written to
``tests/golden/<client>/<Api>-v<version>-<request|response>.hex``: a few ``#`` lines
(machine-readable ``# api_key=.. api_version=.. direction=..`` first), then the frame
(everything after the 4-byte size) in hex, 32 bytes a line.  ``tests/unit/test_wire_golden.py``
decodes and re-encodes every file.  A summary of what each client did, and what failed,
goes to ``tests/golden/CAPTURE.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wire.framing import FrameDecoder
from wire.headers import peek_request_header
from wire.messages import REQUESTS

ROOT = Path(__file__).resolve().parent.parent

GOLDEN = ROOT / "tests" / "golden"
CLIENTS = ["kafka-python", "confluent-kafka", "aiokafka", "kcat", "raw"]
CLIENT_TIMEOUT = 90.0
STEP_MARK = "@@golden-step@@ "
N_RECORDS = 3


# ====================================================================== proxy


@dataclass
class Frame:
    client: str
    api_key: int
    api_version: int
    direction: str  # "request" | "response"
    data: bytes


@dataclass
class Recorder:
    label: str | None = None  # client whose connections are being recorded (None = not recorded)
    frames: list[Frame] = field(default_factory=list)
    connections: int = 0
    unpaired_responses: int = 0
    tasks: set[asyncio.Task] = field(default_factory=set)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                on_frame: Callable[[bytearray], None]) -> None:
    dec = FrameDecoder(max_size=1 << 30)
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            for f in dec.feed(data):
                on_frame(f)  # before forwarding: a request is known before its reply exists
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def start_proxy(rec: Recorder, listen_port: int, broker_port: int) -> asyncio.Server:
    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        label = rec.label
        rec.connections += 1
        task = asyncio.current_task()
        if task is not None:
            rec.tasks.add(task)
            task.add_done_callback(rec.tasks.discard)
        try:
            b_reader, b_writer = await asyncio.open_connection("127.0.0.1", broker_port)
        except OSError:
            c_writer.close()
            return
        pending: dict[int, tuple[int, int]] = {}

        def on_request(f: bytearray) -> None:
            if len(f) < 8:
                return
            key, ver, corr = peek_request_header(f)
            pending[corr] = (key, ver)
            if label is not None:
                rec.frames.append(Frame(label, key, ver, "request", bytes(f)))

        def on_response(f: bytearray) -> None:
            if len(f) < 4:
                return
            (corr,) = struct.unpack_from(">i", f, 0)
            kv = pending.pop(corr, None)
            if kv is None:
                rec.unpaired_responses += 1
                return
            if label is not None:
                rec.frames.append(Frame(label, kv[0], kv[1], "response", bytes(f)))

        try:
            await asyncio.gather(_pump(c_reader, b_writer, on_request),
                                 _pump(b_reader, c_writer, on_response))
        except asyncio.CancelledError:
            c_writer.close()
            b_writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", listen_port)


# ====================================================================== client scenarios
# Each runs in its own process: `capture_golden.py --run-client NAME --bootstrap H:P --topic T`.
# A step prints one STEP_MARK line with its outcome; a failing step does not stop the next.


def step(name: str, fn: Callable[[], Any]) -> Any:
    t0 = time.monotonic()
    try:
        out = fn()
        print(STEP_MARK + json.dumps({"step": name, "ok": True, "secs": round(time.monotonic() - t0, 2),
                                      "info": _short(out)}), flush=True)
        return out
    except Exception as e:  # a client error is a finding, not a crash of the capture
        traceback.print_exc()
        print(STEP_MARK + json.dumps({"step": name, "ok": False, "secs": round(time.monotonic() - t0, 2),
                                      "error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
        return None


def _short(x: object) -> str:
    s = repr(x)
    return s if len(s) <= 160 else s[:157] + "..."


def run_kafka_python(bs: str, topic: str) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

    admin = step("admin connect", lambda: KafkaAdminClient(bootstrap_servers=bs, client_id="golden-kafka-python"))
    if admin is None:
        return
    step("create topic", lambda: admin.create_topics([NewTopic(topic, 1, 1)]))

    def produce():
        p = KafkaProducer(bootstrap_servers=bs, client_id="golden-kafka-python")
        futs = [p.send(topic, key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"%d" % i)])
                for i in range(N_RECORDS)]
        p.flush(20)
        p.close()
        return [f.get(5).offset for f in futs]

    step("produce", produce)
    tp = TopicPartition(topic, 0)
    consumer = step("consumer connect", lambda: KafkaConsumer(
        topic, bootstrap_servers=bs, client_id="golden-kafka-python", group_id="golden-kafka-python",
        auto_offset_reset="earliest", enable_auto_commit=False))
    if consumer is not None:
        def consume():
            got = []
            deadline = time.monotonic() + 30
            while len(got) < N_RECORDS and time.monotonic() < deadline:
                for recs in consumer.poll(timeout_ms=500).values():
                    got += [(r.offset, r.value, r.headers) for r in recs]
            assert len(got) == N_RECORDS, got
            return got

        step("consume (group)", consume)
        step("commit", lambda: consumer.commit())
        step("list offsets", lambda: (consumer.beginning_offsets([tp]), consumer.end_offsets([tp]),
                                      consumer.offsets_for_times({tp: 0})))
        step("consumer close", lambda: consumer.close())
    step("describe configs", lambda: admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]))
    step("describe cluster", lambda: admin.describe_cluster())
    step("list groups", lambda: admin.list_groups())
    step("describe groups", lambda: admin.describe_groups(["golden-kafka-python"]))
    step("group offsets", lambda: admin.list_group_offsets("golden-kafka-python"))
    step("delete topic", lambda: admin.delete_topics([topic]))
    step("admin close", lambda: admin.close())


def run_confluent(bs: str, topic: str) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, OffsetSpec, ResourceType

    base: dict[str, Any] = {"bootstrap.servers": bs, "client.id": "golden-confluent-kafka"}
    admin = AdminClient(base)

    def create():
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(20)
        return topic

    step("create topic", create)

    def produce():
        p = Producer({**base, "enable.idempotence": True})
        errors = []
        for i in range(N_RECORDS):
            p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"%d" % i)],
                      on_delivery=lambda err, m: errors.append(err) if err else None)
        left = p.flush(20)
        assert left == 0 and not errors, (left, errors)
        return N_RECORDS

    step("produce (idempotent)", produce)
    c = Consumer({**base, "group.id": "golden-confluent-kafka", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})

    def consume():
        c.subscribe([topic])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < N_RECORDS and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise RuntimeError(str(m.error()))
            got.append((m.offset(), m.value(), m.headers()))
        assert len(got) == N_RECORDS, got
        return got

    step("consume (group)", consume)
    step("commit", lambda: c.commit(asynchronous=False))
    tp = TopicPartition(topic, 0)
    step("watermarks", lambda: c.get_watermark_offsets(tp, timeout=10, cached=False))
    step("offsets for times", lambda: c.offsets_for_times([TopicPartition(topic, 0, 0)], timeout=10))
    step("consumer close", lambda: c.close())
    step("admin list offsets", lambda: {str(k): v.offset for k, v in admin.list_offsets(
        {tp: OffsetSpec.latest()}, request_timeout=10).items() for v in [v.result(10)]})
    step("describe configs", lambda: {str(k): len(f.result(10)) for k, f in admin.describe_configs(
        [ConfigResource(ResourceType.TOPIC, topic)]).items()})
    step("describe cluster", lambda: admin.describe_cluster().result(10).cluster_id)
    step("list groups", lambda: len(admin.list_consumer_groups().result(10).valid))
    step("describe groups", lambda: [g.result(10).state for g in admin.describe_consumer_groups(
        ["golden-confluent-kafka"]).values()])
    step("delete topic", lambda: admin.delete_topics([topic])[topic].result(20))


async def astep(name: str, coro_fn: Callable[[], Any]) -> Any:
    """step() for a coroutine, inside a running loop."""
    t0 = time.monotonic()
    try:
        out = await coro_fn()
        print(STEP_MARK + json.dumps({"step": name, "ok": True, "secs": round(time.monotonic() - t0, 2),
                                      "info": _short(out)}), flush=True)
        return out if out is not None else True
    except Exception as e:
        traceback.print_exc()
        print(STEP_MARK + json.dumps({"step": name, "ok": False, "secs": round(time.monotonic() - t0, 2),
                                      "error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
        return None


def run_aiokafka(bs: str, topic: str) -> None:
    asyncio.run(_aiokafka(bs, topic))


async def _aiokafka(bs: str, topic: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from aiokafka.structs import TopicPartition

    admin = AIOKafkaAdminClient(bootstrap_servers=bs, client_id="golden-aiokafka")
    if await astep("admin start", admin.start) is None:
        return
    await astep("create topic", lambda: admin.create_topics([NewTopic(topic, 1, 1)]))

    async def produce():
        p = AIOKafkaProducer(bootstrap_servers=bs, client_id="golden-aiokafka", enable_idempotence=True)
        await p.start()
        try:
            return [(await p.send_and_wait(topic, b"v%d" % i, key=b"k%d" % i,
                                           headers=[("h", b"%d" % i)])).offset for i in range(N_RECORDS)]
        finally:
            await p.stop()

    await astep("produce (idempotent)", produce)
    tp = TopicPartition(topic, 0)
    c = AIOKafkaConsumer(topic, bootstrap_servers=bs, client_id="golden-aiokafka",
                         group_id="golden-aiokafka", auto_offset_reset="earliest", enable_auto_commit=False)
    if await astep("consumer start", c.start) is not None:
        async def consume():
            got = []
            deadline = time.monotonic() + 30
            while len(got) < N_RECORDS and time.monotonic() < deadline:
                for recs in (await c.getmany(timeout_ms=500)).values():
                    got += [(r.offset, r.value, r.headers) for r in recs]
            assert len(got) == N_RECORDS, got
            return got

        await astep("consume (group)", consume)
        await astep("commit", c.commit)

        async def offsets():
            return (await c.beginning_offsets([tp]), await c.end_offsets([tp]),
                    await c.offsets_for_times({tp: 0}))

        await astep("list offsets", offsets)
        await astep("consumer stop", c.stop)
    await astep("describe configs", lambda: admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic)]))
    await astep("describe cluster", admin.describe_cluster)
    await astep("list groups", admin.list_consumer_groups)
    await astep("describe groups", lambda: admin.describe_consumer_groups(["golden-aiokafka"]))
    await astep("delete topic", lambda: admin.delete_topics([topic]))
    await astep("admin close", admin.close)


def run_kcat(bs: str, topic: str) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat is not None

    def sh(args: list[str], stdin: bytes | None = None) -> str:
        r = subprocess.run([kcat, "-b", bs, *args], input=stdin, capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"kcat {' '.join(args)} -> {r.returncode}: {r.stderr.decode()[-300:]}")
        return r.stdout.decode()

    step("metadata -L", lambda: sh(["-L"]))
    lines = b"".join(b"k%d:v%d\n" % (i, i) for i in range(N_RECORDS))
    step("produce -P", lambda: sh(["-P", "-t", topic, "-K:", "-H", "h=1", "-p", "0"], lines))
    step("consume -C -e", lambda: sh(["-C", "-t", topic, "-e", "-o", "beginning", "-c", str(N_RECORDS),
                                      "-f", "%o %k %s %h\\n"]))
    step("offsets -Q", lambda: sh(["-Q", "-t", f"{topic}:0:0"]))
    step("consume -G (group)", lambda: sh(["-G", "golden-kcat", "-e", "-c", str(N_RECORDS), "-o", "beginning",
                                           "-X", "auto.offset.reset=earliest", topic]))


def run_setup(bs: str, topic: str) -> None:
    """Unrecorded: create the topic kcat writes to."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bs, client_id="golden-setup")
    step("create topic", lambda: admin.create_topics([NewTopic(topic, 1, 1)]))
    admin.close()


def run_teardown(bs: str, topic: str) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bs, client_id="golden-setup")
    step("delete topic", lambda: admin.delete_topics([topic]))
    admin.close()


RUNNERS: dict[str, Callable[[str, str], None]] = {
    "kafka-python": run_kafka_python, "confluent-kafka": run_confluent, "aiokafka": run_aiokafka,
    "kcat": run_kcat, "setup": run_setup, "teardown": run_teardown,
}


# ====================================================================== raw ApiVersions v99


async def raw_api_versions(port: int, version: int, corr: int) -> bytes:
    """An ApiVersions request at ``version`` as a newer client would send it (header v2,
    flexible body); returns the reply frame."""
    hdr = struct.pack(">hhi", 18, version, corr) + struct.pack(">h", 10) + b"golden-raw" + b"\x00"
    body = b"\x0bgolden-raw" + b"\x041.0" + b"\x00"
    payload = hdr + body
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(struct.pack(">i", len(payload)) + payload)
        await w.drain()
        (size,) = struct.unpack(">i", await asyncio.wait_for(r.readexactly(4), 10))
        return await asyncio.wait_for(r.readexactly(size), 10)
    finally:
        w.close()


# ====================================================================== driver


@dataclass
class ClientRun:
    client: str
    steps: list[dict] = field(default_factory=list)
    status: str = "ok"
    note: str = ""


async def run_client_process(name: str, bs: str, topic: str, log_dir: Path) -> ClientRun:
    out = ClientRun(name)
    log_path = log_dir / f"{name}.log"
    args = [sys.executable, "-m", "compat.capture_golden", "--run-client", name, "--bootstrap", bs,
            "--topic", topic]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, env=env, cwd=str(ROOT))
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(), CLIENT_TIMEOUT)
    except TimeoutError:
        proc.kill()
        stdout, _ = await proc.communicate()
        out.status, out.note = "timeout", f"killed after {CLIENT_TIMEOUT:.0f}s"
    text = stdout.decode(errors="replace")
    log_path.write_text(text)
    for line in text.splitlines():
        if line.startswith(STEP_MARK):
            out.steps.append(json.loads(line[len(STEP_MARK):]))
    if proc.returncode not in (0, None) and out.status == "ok":
        last = text.strip().splitlines()[-1][:200] if text.strip() else ""
        out.status, out.note = "crashed", f"exit {proc.returncode}: {last}"
    if out.status == "ok" and any(not s["ok"] for s in out.steps):
        out.status = "step failures"
    return out


def api_name(key: int) -> str:
    cls = REQUESTS.get(key)
    return cls.__name__[: -len("Request")] if cls else f"Api{key}"


def golden_path(f: Frame) -> Path:
    return GOLDEN / f.client / f"{api_name(f.api_key)}-v{f.api_version}-{f.direction}.hex"


def write_golden(f: Frame, client_versions: dict[str, str]) -> Path:
    path = golden_path(f)
    path.parent.mkdir(parents=True, exist_ok=True)
    hexed = f.data.hex()
    lines = [f"# api_key={f.api_key} api_version={f.api_version} direction={f.direction}",
             f"# {api_name(f.api_key)} v{f.api_version} {f.direction}, {len(f.data)} bytes after the size,"
             f" from {f.client} {client_versions.get(f.client, '')}".rstrip() +
             (" through kbroker" if f.direction == "response" else ""),
             "# captured by compat/capture_golden.py; first frame of its kind in the scenario"]
    lines += [hexed[i:i + 64] for i in range(0, len(hexed), 64)]
    path.write_text("\n".join(lines) + "\n")
    return path


def client_versions() -> dict[str, str]:
    out = {}
    for mod, name in (("kafka", "kafka-python"), ("aiokafka", "aiokafka")):
        try:
            out[name] = __import__(mod).__version__
        except Exception:
            pass
    try:
        import confluent_kafka

        out["confluent-kafka"] = f"{confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})"
    except Exception:
        pass
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat:
        r = subprocess.run([kcat, "-V"], capture_output=True, text=True)
        v = [ln.strip() for ln in r.stdout.splitlines() if ln.strip().startswith("Version")]
        out["kcat"] = v[0] if v else "?"
    out["raw"] = "(hand-built ApiVersions request)"
    return out


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "?"


async def capture(clients: list[str], keep_logs: bool) -> int:
    from tests.support.brokerproc import BrokerProcess, free_port

    tmp = Path(tempfile.mkdtemp(prefix="kbroker-golden-"))
    rec = Recorder()
    proxy_port = free_port()
    broker = BrokerProcess(tmp / "data", overrides={
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy_port}",
        "group.initial.rebalance.delay.ms": "0",
    })
    try:
        broker.start()
    except RuntimeError as e:
        print(f"kbroker did not start; nothing captured.\n{e}", file=sys.stderr)
        return 2
    server = await start_proxy(rec, proxy_port, broker.port)
    bs = f"127.0.0.1:{proxy_port}"
    print(f"kbroker on {broker.port}, recording proxy on {proxy_port}")
    runs: list[ClientRun] = []
    versions = client_versions()
    try:
        for name in clients:
            topic = f"golden-{name}"
            if name == "raw":
                rec.label = "raw"
                r = ClientRun("raw")
                try:
                    reply = await raw_api_versions(proxy_port, 99, 1)
                    r.steps.append({"step": "ApiVersions v99", "ok": True, "info": f"{len(reply)} byte reply"})
                except Exception as e:
                    r.status = "step failures"
                    r.steps.append({"step": "ApiVersions v99", "ok": False, "error": repr(e)})
                rec.label = None
                runs.append(r)
                continue
            if name == "kcat" and not (shutil.which("kcat") or shutil.which("kafkacat")):
                runs.append(ClientRun("kcat", status="skipped", note="kcat is not installed"))
                continue
            if name == "kcat":
                rec.label = None
                await run_client_process("setup", bs, topic, tmp)
            print(f"running {name} ...", flush=True)
            rec.label = name
            r = await run_client_process(name, bs, topic, tmp)
            rec.label = None
            await asyncio.sleep(0.3)  # let the last replies through the proxy
            if name == "kcat":
                await run_client_process("teardown", bs, topic, tmp)
            runs.append(r)
            print(f"  {name}: {r.status} {r.note}", flush=True)
            if broker.proc is None or broker.proc.poll() is not None:
                r.note += " (kbroker died)"
                print(f"kbroker died during {name}:\n{broker.log()}", file=sys.stderr)
                broker.start()
    finally:
        server.close()
        for t in list(rec.tasks):
            t.cancel()
        await asyncio.gather(*rec.tasks, return_exceptions=True)
        rc = broker.stop()
        broker_log = broker.log()
        if keep_logs:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # Write: files of the clients that ran are replaced, others are kept.
    ran = {r.client for r in runs if r.status != "skipped"}
    for c in ran:
        shutil.rmtree(GOLDEN / c, ignore_errors=True)
    written: dict[tuple[str, int, int, str], Path] = {}
    for f in rec.frames:
        k = (f.client, f.api_key, f.api_version, f.direction)
        if k not in written:
            written[k] = write_golden(f, versions)
    write_summary(runs, written, versions, rc, broker_log, rec)
    print(f"wrote {len(written)} golden files under {GOLDEN.relative_to(ROOT)}/ "
          f"({rec.connections} connections); summary in tests/golden/CAPTURE.md")
    return 0 if all(r.status in ("ok", "skipped") for r in runs) else 1


def write_summary(runs: list[ClientRun], written: dict, versions: dict[str, str], rc: int,
                  broker_log: str, rec: Recorder) -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    summary = GOLDEN / "CAPTURE.md"
    previous = summary.read_text() if summary.exists() else ""
    keep = {}  # sections of clients not run this time
    for block in previous.split("\n## ")[1:]:
        keep[block.split("\n", 1)[0].split(" ")[0]] = "## " + block.rstrip() + "\n"
    lines = ["# Golden frames: last capture", "",
             "Written by `python -m compat.capture_golden`; do not edit by hand.", ""]
    sections = dict(keep)
    for r in runs:
        s = [f"## {r.client} — {r.status}" + (f" ({r.note})" if r.note else ""), "",
             f"{versions.get(r.client, '')}, kbroker {git_rev()}, {dt.date.today()}, "
             f"Python {platform.python_version()}", ""]
        for st in r.steps:
            mark = "ok  " if st["ok"] else "FAIL"
            s.append(f"- {mark} {st['step']}" + ("" if st["ok"] else f": `{st.get('error', '')}`"))
        got = sorted({(api_name(k[1]), k[2]) for k in written if k[0] == r.client})
        s += ["", "Captured: " + (", ".join(f"{a} v{v}" for a, v in got) or "nothing"), ""]
        sections[r.client] = "\n".join(s)
    for name in CLIENTS:
        if name in sections:
            lines.append(sections[name].rstrip() + "\n")
    errors = [ln for ln in broker_log.splitlines() if " ERROR " in ln or "Traceback" in ln]
    lines += ["## broker", "", f"kbroker exit status {rc}; unpaired responses seen by the proxy: "
              f"{rec.unpaired_responses}.", ""]
    if errors:
        lines += ["Errors in its log (last 20):", "", "```"] + errors[-20:] + ["```", ""]
    summary.write_text("\n".join(lines).rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default=",".join(CLIENTS),
                    help=f"comma-separated subset of {','.join(CLIENTS)}")
    ap.add_argument("--keep-logs", action="store_true", help="keep the broker and client logs")
    ap.add_argument("--run-client", help=argparse.SUPPRESS)
    ap.add_argument("--bootstrap", help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.run_client:
        RUNNERS[args.run_client](args.bootstrap, args.topic)
        return 0
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        ap.error(f"unknown clients: {', '.join(sorted(unknown))}")
    return asyncio.run(capture(clients, args.keep_logs))


if __name__ == "__main__":
    sys.exit(main())
