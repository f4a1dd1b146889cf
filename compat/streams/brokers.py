"""The broker a Streams or Connect scenario runs against, behind one small interface: its bootstrap
string, ``kill()`` (SIGKILL, the data kept) and ``restart()`` (the same port and data again).

- :class:`RefKafka`: the reference Apache Kafka, a single KRaft node (compat/kafka_ref/launcher.py),
  relaunched on its formatted log directory after a kill.
- :class:`KBroker`: a kbroker process (tests/support/brokerproc.py).
- :class:`External`: a broker that is already running (``--bootstrap``); it cannot be killed, so a
  scenario that kills the broker refuses it.

Nothing is written but each broker's own data directory under the given work folder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Protocol

from compat.kafka_ref.launcher import KafkaRef, fetch_jars
from tests.support.brokerproc import BrokerProcess

#: broker settings both brokers get, so that a group of one member forms at once
COMMON = {"group.initial.rebalance.delay.ms": "0"}


class Broker(Protocol):
    name: str

    @property
    def bootstrap(self) -> str: ...

    def kill(self) -> None: ...

    def restart(self) -> None: ...

    def stop(self) -> None: ...


class RefKafka(KafkaRef):
    name = "kafka"

    def __init__(self, workdir: Path, overrides: dict[str, str] | None = None) -> None:
        super().__init__(overrides={**COMMON, **(overrides or {})}, heap="768m", workdir=workdir)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        """Starts the JVM again on the log directory it had (not formatted again) and waits for its port."""
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is not installed")
        with open(self.dir / "kafka.log", "ab") as log:
            self.proc = subprocess.Popen([java, f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
                                          "-cp", f"{fetch_jars()}/*", "kafka.Kafka",
                                          str(self.dir / "server.properties")],
                                         stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def log_tail(self) -> str:
        try:
            return (self.dir / "kafka.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""


class KBroker:
    name = "kbroker"

    def __init__(self, workdir: Path, overrides: dict[str, str] | None = None) -> None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        self.proc = BrokerProcess(Path(workdir) / "data", overrides={**COMMON, **(overrides or {})})

    @property
    def bootstrap(self) -> str:
        return self.proc.bootstrap

    def start(self) -> KBroker:
        self.proc.start()
        return self

    def kill(self) -> None:
        self.proc.kill()

    def restart(self) -> None:
        self.proc.start()

    def stop(self) -> None:
        self.proc.stop()

    def log_tail(self) -> str:
        return self.proc.log()


class External:
    name = "external"

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap

    @property
    def bootstrap(self) -> str:
        return self._bootstrap

    def kill(self) -> None:
        raise RuntimeError("a broker given by --bootstrap cannot be killed: run without the broker kill")

    def restart(self) -> None:
        raise RuntimeError("a broker given by --bootstrap cannot be restarted")

    def stop(self) -> None:
        pass

    def log_tail(self) -> str:
        return ""


def start(kind: str, workdir: Path, bootstrap: str | None = None) -> Broker:
    """``kind`` is ``kafka`` (the reference), ``kbroker`` or ``external`` (with ``bootstrap``)."""
    if kind == "kafka":
        ref = RefKafka(Path(workdir) / "kafka")
        ref.start()
        return ref
    if kind == "kbroker":
        return KBroker(Path(workdir) / "kbroker").start()
    if kind == "external" and bootstrap:
        return External(bootstrap)
    raise ValueError(f"unknown broker {kind!r}")
