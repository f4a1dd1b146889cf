"""A file moved through the broker by Kafka Connect with exactly-once source support, across worker
SIGKILLs: source file -> FileStreamSource (``exactly.once.support=required``, one transaction per
poll) -> a one-partition topic -> FileStreamSink -> sink file.

1. Chunk A is written to the source file and both connectors are created; wait until the sink file
   holds A and the sink's group has committed past A's last record.
2. The worker is SIGKILLed; chunk B is appended; the worker is started again. Both connectors resume
   from their committed offsets (the source's are in the offsets topic, written in its transactions).
3. The sink is stopped (``PUT /connectors/NAME/stop``, which commits its offsets); a large chunk C is
   appended and, once the source has written some of it to the topic, the worker is SIGKILLed in the
   middle of it (a source transaction open or about to be); the worker is started again and the
   sink resumed.

Checks: the topic read ``read_committed`` holds every source line exactly once, in order, and the
sink file equals the source file. The sink is stopped for the mid-stream kill because FileStreamSink
is at-least-once by design (it writes a line before its offset is committed, so a kill in between
repeats it); what is under test is the source's exactly-once path through the broker.

Not done: several workers, the broker killed, a source with several tasks or topics.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from compat.connect.worker import Worker
from compat.streams import kafkaio
from compat.streams.brokers import Broker

SOURCE_CLASS = "org.apache.kafka.connect.file.FileStreamSourceConnector"
SINK_CLASS = "org.apache.kafka.connect.file.FileStreamSinkConnector"


@dataclass
class Result:
    broker: str
    source_lines: list[str]
    topic_lines: list[str]
    sink_lines: list[str]
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = []
        for what, got in (("topic (read_committed)", self.topic_lines), ("sink file", self.sink_lines)):
            if got != self.source_lines:
                first = next((i for i, (a, b) in enumerate(zip(got, self.source_lines, strict=False)) if a != b),
                             min(len(got), len(self.source_lines)))
                extra = len(got) - len(set(got))
                out.append(f"{what}: {len(got)} lines for {len(self.source_lines)} source lines, "
                           f"{extra} repeated, first difference at line {first}")
        return out

    def summary(self) -> str:
        p = self.problems()
        head = (f"connect file source -> sink on {self.broker}, exactly.once.source.support=enabled: "
                f"{len(self.source_lines)} lines; {'PASS' if not p else 'FAIL'}")
        return "\n".join([head, *(f"  note: {n}" for n in self.notes), *(f"  {x}" for x in p)])


def _lines(n: int, start: int) -> list[str]:
    return [f"line {i:06d} {'x' * (i % 37)}" for i in range(start, start + n)]


def _append(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def _read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def _wait(what: str, cond, deadline: float, worker: Worker, poll: float = 0.25) -> None:
    while not cond():
        worker.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached in time\n{worker.log_tail()}")
        time.sleep(poll)


def run(broker: Broker, workdir: Path, chunk: int = 2000, big_chunk: int = 20000, timeout: float = 240) -> Result:
    deadline = time.monotonic() + timeout
    bs = broker.bootstrap
    tag = uuid.uuid4().hex[:8]
    topic, source, sink = f"connect-lines-{tag}", f"file-source-{tag}", f"file-sink-{tag}"
    workdir.mkdir(parents=True, exist_ok=True)
    src_file, sink_file = workdir / "source.txt", workdir / "sink.txt"
    src_file.touch()
    kafkaio.create_topics(bs, {topic: 1})
    worker = Worker(bs, tag, workdir / "worker")
    notes: list[str] = []
    sent: list[str] = []

    def sink_has(n: int):
        return lambda: len(_read(sink_file)) >= n

    def running(name: str):
        return lambda: worker.status(name) == ("RUNNING", ["RUNNING"])

    try:
        worker.start()
        a = _lines(chunk, 0)
        _append(src_file, a)
        sent += a
        worker.put_connector(source, {"connector.class": SOURCE_CLASS, "tasks.max": "1", "file": str(src_file),
                                      "topic": topic, "batch.size": "500", "exactly.once.support": "required",
                                      "transaction.boundary": "poll"})
        worker.put_connector(sink, {"connector.class": SINK_CLASS, "tasks.max": "1", "file": str(sink_file),
                                    "topics": topic})
        _wait("the sink file holding chunk A", sink_has(len(sent)), deadline, worker)
        last = kafkaio.read_all(bs, topic, 1)[-1].offset

        def sink_committed() -> bool:
            return kafkaio.committed_offsets(bs, f"connect-{sink}", topic, 1)[0] > last

        _wait("the sink's offsets committed past chunk A", sink_committed, deadline, worker, poll=0.5)

        worker.kill()
        b = _lines(chunk, len(sent))
        _append(src_file, b)
        sent += b
        worker.start()
        _wait("the sink file holding chunk B after the restart", sink_has(len(sent)), deadline, worker)
        notes.append("worker SIGKILLed after chunk A; chunk B written while it was down")

        worker.request_retrying("PUT", f"/connectors/{sink}/stop")
        _wait("the sink stopped", lambda: worker.status(sink)[0] == "STOPPED", deadline, worker)
        hw = kafkaio.high_watermarks(bs, topic, 1)[0]
        c = _lines(big_chunk, len(sent))
        _append(src_file, c)
        sent += c
        _wait("the source writing chunk C", lambda: kafkaio.high_watermarks(bs, topic, 1)[0] > hw, deadline,
              worker, poll=0.05)
        worker.kill()
        at_kill = len(kafkaio.read_all(bs, topic, 1))
        notes.append(f"worker SIGKILLed while the source wrote chunk C: {at_kill} of {len(sent)} lines "
                     f"committed to the topic then")
        worker.start()
        _wait("the source running after the restart", running(source), deadline, worker)
        _wait("the sink known stopped after the restart", lambda: worker.status(sink)[0] == "STOPPED", deadline,
              worker)
        worker.request_retrying("PUT", f"/connectors/{sink}/resume", again=(404, 409))
        _wait("the sink file holding everything", sink_has(len(sent)), deadline, worker)
        records = kafkaio.read_all(bs, topic, 1)
        topic_lines = [r.value.decode() for r in records]
        last = records[-1].offset
        uncommitted = kafkaio.Reader(bs, topic, 1, committed=False)
        try:
            everything = len(uncommitted.read_to_end())
        finally:
            uncommitted.close()
        notes.append(f"read_uncommitted the topic holds {everything} records, {everything - len(records)} of "
                     f"them in aborted transactions")
        _wait("the sink's offsets committed to the end", sink_committed, deadline, worker, poll=0.5)
        worker.stop()
        notes.append(f"worker started {worker.starts} times")
        return Result(broker.name, sent, topic_lines, _read(sink_file), notes)
    finally:
        worker.kill()
