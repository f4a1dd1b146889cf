"""The word-count scenario: input lines in three phases, the Kafka Streams application
(compat/streams/src, WordCount.java) counting them, and optionally a SIGKILL of the application
between phases 1 and 2 and a SIGKILL + restart of the broker during phase 3.

The checker reads the output topic ``read_committed`` after the application has been closed
cleanly (so nothing more can come) and compares, per word, the last count with the number of times
the word was sent. Under exactly_once_v2 it also checks every committed update of a word: with the
record cache off they must be exactly 1, 2, ..., n (a duplicate or a lost update shows there even when
the last count happens to be right). Under at_least_once a count may exceed the exact one after a
kill, never fall short of it, and must be exact when nothing was killed.

Not done: several application instances, or the broker killed while the application is down.
"""

from __future__ import annotations

import random
import subprocess
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from compat.streams import java, kafkaio
from compat.streams.brokers import Broker

VOCABULARY = [f"w{i:02d}" for i in range(40)]
PARTITIONS = 2


def phases(lines_per_phase: int, seed: int = 13) -> list[list[str]]:
    rnd = random.Random(seed)
    return [[" ".join(rnd.choice(VOCABULARY) for _ in range(rnd.randint(1, 8))) for _ in range(lines_per_phase)]
            for _ in range(3)]


class WordCountApp:
    """One run of the Java application; ``start()`` again after ``kill()`` reuses the state folder."""

    def __init__(self, bootstrap: str, app_id: str, guarantee: str, state_dir: Path, input_topic: str,
                 output_topic: str, log: Path) -> None:
        self.cmd = ["java", "-Xmx384m", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-Dorg.slf4j.simpleLogger.logFile=System.err", "-cp", java.streams_classpath(),
                    "kbroker.compat.streams.WordCount", bootstrap, app_id, guarantee, str(state_dir),
                    input_topic, output_topic]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log, "ab") as f:
            f.write(f"---- start {self.starts}\n".encode())
            f.flush()
            self.proc = subprocess.Popen(self.cmd, stdout=f, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (KafkaStreams.close: a last commit), SIGKILL if it does not end in ``timeout``."""
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@dataclass
class Result:
    broker: str
    guarantee: str
    kills: bool
    expected: dict[str, int]
    final: dict[str, int]
    updates: dict[str, list[int]]
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Empty when the counts are right for the guarantee (see the module docstring)."""
        out = []
        for w, n in sorted(self.expected.items()):
            got = self.final.get(w)
            if got is None:
                out.append(f"{w}: no count (expected {n})")
            elif self.guarantee == "at_least_once" and self.kills:
                if got < n:
                    out.append(f"{w}: {got} < {n} (a lost update)")
            elif got != n:
                out.append(f"{w}: {got} != {n}")
            if self.guarantee == "exactly_once_v2" and self.updates.get(w) != list(range(1, n + 1)):
                seq = self.updates.get(w, [])
                dup = [c for c, k in Counter(seq).items() if k > 1]
                out.append(f"{w}: committed updates are not 1..{n}: {len(seq)} updates, repeated {dup[:5]}")
        out += [f"unexpected word {w!r}" for w in self.final if w not in self.expected]
        return out

    def summary(self) -> str:
        p = self.problems()
        head = (f"streams word count on {self.broker}, {self.guarantee}, "
                f"{'with' if self.kills else 'without'} kills: {sum(self.expected.values())} words, "
                f"{len(self.expected)} distinct; {'PASS' if not p else f'FAIL ({len(p)} problems)'}")
        over = sum(1 for w, n in self.expected.items() if self.final.get(w, 0) > n)
        notes = [*self.notes, f"{over} of {len(self.expected)} words counted above their exact count"]
        return "\n".join([head, *(f"  note: {n}" for n in notes), *(f"  {x}" for x in p[:20])])


def _wait(what: str, cond, deadline: float, app: WordCountApp, poll: float = 0.25) -> None:
    while not cond():
        if not app.alive():
            raise RuntimeError(f"the Streams application exited while waiting for {what}:\n{app.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached in time\n{app.log_tail()}")
        time.sleep(poll)


def run(broker: Broker, guarantee: str, kills: bool, workdir: Path, lines_per_phase: int = 2000,
        timeout: float = 240) -> Result:
    """Runs the scenario on ``broker`` (see the module docstring); ``workdir`` holds the state folder
    and the application's log. Raises if the application cannot make progress before ``timeout``."""
    deadline = time.monotonic() + timeout
    bs = broker.bootstrap
    tag = uuid.uuid4().hex[:8]
    app_id, inp, out = f"wordcount-{tag}", f"wc-input-{tag}", f"wc-output-{tag}"
    workdir.mkdir(parents=True, exist_ok=True)
    kafkaio.create_topics(bs, {inp: PARTITIONS, out: PARTITIONS})
    lines = phases(lines_per_phase)
    expected = Counter(w for phase in lines for line in phase for w in line.split())
    app = WordCountApp(bs, app_id, guarantee, workdir / f"state-{tag}", inp, out, workdir / f"app-{tag}.log")
    notes: list[str] = []

    def output_hw() -> int:
        return sum(kafkaio.high_watermarks(bs, out, PARTITIONS))

    try:
        kafkaio.produce(bs, inp, lines[0])
        app.start()
        if kills:
            third = sum(len(x.split()) for x in lines[0]) // 3
            _wait("a third of phase 1's output", lambda: output_hw() >= third, deadline, app)
            hw = output_hw()
            app.kill()
            notes.append(f"application SIGKILLed with {hw} output records+markers written "
                         f"(phase 1 alone makes {sum(len(x.split()) for x in lines[0])} updates)")
            kafkaio.produce(bs, inp, lines[1])
            app.start()
            _wait("output after the restart", lambda: output_hw() > hw, deadline, app)
            kafkaio.produce(bs, inp, lines[2])
            hw = output_hw()
            broker.kill()
            notes.append(f"broker SIGKILLed with {hw} output records+markers written (all phases make "
                         f"{sum(expected.values())} updates)")
            broker.restart()
        else:
            kafkaio.produce(bs, inp, lines[1])
            kafkaio.produce(bs, inp, lines[2])
        ends = [-1]
        while min(ends) < 0:  # -1 while the broker, just restarted, cannot say
            if time.monotonic() > deadline:
                raise TimeoutError("the input topic's end offsets could not be read")
            ends = kafkaio.high_watermarks(bs, inp, PARTITIONS)
        _wait("the input consumed and committed",
              lambda: kafkaio.committed_offsets(bs, app_id, inp, PARTITIONS) == ends, deadline, app, poll=0.5)
        reader = kafkaio.Reader(bs, out, PARTITIONS)
        last: dict[str, int] = {}

        def counted() -> bool:
            for r in reader.read_to_end(max(1.0, deadline - time.monotonic())):
                last[r.key.decode()] = int.from_bytes(r.value, "big", signed=True)
            return all(last.get(w, 0) >= n for w, n in expected.items())

        _wait("every word counted", counted, deadline, app, poll=0.5)
        reader.close()
        rc = app.stop()
        notes.append(f"application closed with exit status {rc} after {app.starts} start(s)")
        updates: dict[str, list[int]] = defaultdict(list)
        for r in kafkaio.read_all(bs, out, PARTITIONS):
            updates[r.key.decode()].append(int.from_bytes(r.value, "big", signed=True))
        final = {w: seq[-1] for w, seq in updates.items()}
        uncommitted = kafkaio.Reader(bs, out, PARTITIONS, committed=False)
        try:
            everything = len(uncommitted.read_to_end())
        finally:
            uncommitted.close()
        notes.append(f"read_uncommitted the output holds {everything} records, "
                     f"{everything - sum(map(len, updates.values()))} more than read_committed (aborted)")
        return Result(broker.name, guarantee, kills, dict(expected), final, dict(updates), notes)
    except (TimeoutError, RuntimeError) as e:
        raise type(e)(f"{e}\n---- the broker's log, its end:\n{broker.log_tail()}") from e
    finally:
        app.kill()
