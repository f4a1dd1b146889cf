"""Consumer-group members as separate processes, one per client library, so a member can
be stopped cleanly (SIGTERM: the client closes and leaves the group) or crash (SIGKILL: no
LeaveGroup; only its session timeout tells the coordinator).

Every member subscribes to one topic in one group, with ``client.id`` set so the test can
match it with what DescribeGroups reports, and writes a line ``V <partition> <offset>
<value>`` for each record it processed *before* committing (commit after processing: a
crash may repeat records, never lose them).  kcat is the balanced consumer ``kcat -G``,
which stores offsets as it prints and auto-commits them every 500 ms.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

from compat.scenarios.common import ScenarioSkipped

SESSION_MS = 6000  # Kafka's default group.min.session.timeout.ms

_KAFKA_PYTHON = r"""
import signal, sys, time
from kafka import KafkaConsumer
bs, topic, group, cid, session = sys.argv[1:6]
c = KafkaConsumer(bootstrap_servers=bs, group_id=group, client_id=cid, auto_offset_reset="earliest",
                  enable_auto_commit=False, session_timeout_ms=int(session), heartbeat_interval_ms=500)
c.subscribe([topic])
while topic not in c.topics():  # metadata before the first join: see compat/FINDINGS.md (dropped rejoin)
    time.sleep(0.1)
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while not stop:
    batch = c.poll(timeout_ms=200)
    lines = [f"V {tp.partition} {r.offset} {r.value.decode()}" for tp, rs in batch.items() for r in rs]
    if lines:
        print("\n".join(lines), flush=True)
        c.commit()
c.close()
"""

_CONFLUENT = r"""
import signal, sys
from confluent_kafka import Consumer
bs, topic, group, cid, session = sys.argv[1:6]
c = Consumer({"bootstrap.servers": bs, "group.id": group, "client.id": cid, "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "session.timeout.ms": int(session), "heartbeat.interval.ms": 500})
c.subscribe([topic])
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while not stop:
    msgs = [m for m in c.consume(500, 0.2) if m.error() is None]
    if msgs:
        print("\n".join(f"V {m.partition()} {m.offset()} {m.value().decode()}" for m in msgs), flush=True)
        c.commit(asynchronous=False)
c.close()
"""

_AIOKAFKA = r"""
import asyncio, signal, sys
from aiokafka import AIOKafkaConsumer
bs, topic, group, cid, session = sys.argv[1:6]
async def main():
    c = AIOKafkaConsumer(topic, bootstrap_servers=bs, group_id=group, client_id=cid,
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         session_timeout_ms=int(session), heartbeat_interval_ms=500)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await c.start()
    try:
        while not stop.is_set():
            batch = await c.getmany(timeout_ms=200)
            lines = [f"V {tp.partition} {r.offset} {r.value.decode()}" for tp, rs in batch.items() for r in rs]
            if lines:
                print("\n".join(lines), flush=True)
                await c.commit()
    finally:
        await c.stop()
asyncio.run(main())
"""

SCRIPTS = {"kafka-python": _KAFKA_PYTHON, "confluent-kafka": _CONFLUENT, "aiokafka": _AIOKAFKA}


def member_command(client: str, bootstrap: str, topic: str, group: str, client_id: str,
                   session_ms: int = SESSION_MS, count: int | None = None) -> list[str]:
    if client == "kcat":
        kcat = shutil.which("kcat")
        if kcat is None:
            raise ScenarioSkipped("kcat is not installed (scripts/install-deps.sh installs it)")
        cmd = [kcat, "-b", bootstrap, "-G", group, "-q", "-u", "-f", "V %p %o %s\\n",
               "-X", f"client.id={client_id}", "-X", "auto.offset.reset=earliest",
               "-X", f"session.timeout.ms={session_ms}", "-X", "heartbeat.interval.ms=500",
               "-X", "auto.commit.interval.ms=500"]
        return cmd + (["-c", str(count)] if count else []) + [topic]
    if client in ("kafkajs", "franz-go"):  # programs in other languages: compat/scenarios/program_client.py
        from compat.scenarios import load

        return load(client).member_command(bootstrap, topic, group, client_id, session_ms)
    return [sys.executable, "-c", SCRIPTS[client], bootstrap, topic, group, client_id, str(session_ms)]


class MemberProcess:
    def __init__(self, client: str, bootstrap: str, topic: str, group: str, client_id: str, out_dir: Path,
                 **kw: int) -> None:
        self.client_id = client_id
        self.out_path = out_dir / f"{client_id}.out"
        self.err_path = out_dir / f"{client_id}.err"
        cmd = member_command(client, bootstrap, topic, group, client_id, **kw)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err)

    def records(self) -> list[tuple[int, int, int]]:
        """(partition, offset, value) of every record it reported processing."""
        out = []
        for line in self.out_path.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "V":
                out.append((int(parts[1]), int(parts[2]), int(parts[3])))
        return out

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self) -> str:
        try:
            return self.err_path.read_text(errors="replace")[-400:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM: the client closes its consumer (final commit, LeaveGroup)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(30)
