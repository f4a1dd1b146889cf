"""``EmbeddedBroker``: one real kbroker for a test, on 127.0.0.1 and a port the OS chooses, with its own
temporary data directory (removed at stop), started in a thread of this process (``mode="thread"``,
the default: it starts fastest) or as a child process (``mode="process"``: the most isolated).

This module imports nothing of the broker itself: a mode's runner is imported when a broker starts,
so importing kbroker.testing (and its pytest plugin) costs nothing until a broker is used.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from kbroker.testing.errors import BrokerCrashed

if TYPE_CHECKING:
    from wire.messages.metadata import MetadataResponse

Mode = Literal["thread", "process"]
MODES: tuple[Mode, ...] = ("thread", "process")

DEFAULTS: dict[str, str] = {
    # a consumer group's first join is not held back 3 s waiting for more members (as Kafka's own test
    # setups and container images configure)
    "group.initial.rebalance.delay.ms": "0",
    # the internal topics a first consumer group or transaction creates: one partition each, not 50
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.num.partitions": "1",
}
"""Broker configs an embedded test broker starts with (a ``config`` passed in wins over these)."""

_OWNED_KEYS = ("listeners", "advertised.listeners", "log.dirs", "log.dir")
_counter = itertools.count(1)
_running: weakref.WeakSet[EmbeddedBroker] = weakref.WeakSet()


class EmbeddedBroker:
    """A kbroker for tests. ``start()`` (or ``with``) returns once it listens; ``bootstrap_servers``
    is the "host:port" string Kafka clients take; ``stop()`` ends it and removes its data directory."""

    def __init__(self, mode: Mode = "thread", config: Mapping[str, Any] | None = None, host: str = "127.0.0.1",
                 port: int = 0, data_dir: str | Path | None = None, startup_timeout: float = 30.0,
                 stop_timeout: float = 30.0) -> None:
        """``config``: broker configs with Kafka's names (``{"log.retention.ms": 1000}``), over
        ``DEFAULTS``; ``port`` 0 lets the OS choose; ``data_dir`` keeps the logs in a folder of yours
        (not removed at stop) instead of a temporary one."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        owned = [k for k in (config or {}) if k in _OWNED_KEYS]
        if owned:
            raise ValueError(f"{', '.join(owned)}: set by the embedded broker (use host=, port=, data_dir=)")
        self.mode: Mode = mode
        self.config = {**DEFAULTS, **{k: str(v).lower() if isinstance(v, bool) else str(v)
                                      for k, v in (config or {}).items()}}
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._own_data = data_dir is None
        self._root: Path | None = None
        self.data_dir: Path | None = Path(data_dir) if data_dir is not None else None
        self._runner: Any = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> EmbeddedBroker:
        if self._runner is not None:
            raise RuntimeError("this broker is already started")
        self._root = Path(tempfile.mkdtemp(prefix="kbroker-test-"))
        if self._own_data:
            self.data_dir = self._root / "data"
        assert self.data_dir is not None
        props = {"listeners": f"PLAINTEXT://{self.host}:{self.port}", "log.dirs": str(self.data_dir), **self.config}
        try:
            if self.mode == "thread":
                from kbroker.testing.thread_runner import ThreadRunner

                self._runner = ThreadRunner(props, name=f"kbroker-testing-{next(_counter)}")
            else:
                from kbroker.testing.process_runner import ProcessRunner

                self._runner = ProcessRunner(props, log_path=self._root / "broker.log")
            self.host, self.port = self._runner.start(self.startup_timeout)
        except BaseException:
            self._runner = None
            self._remove_files()
            raise
        _running.add(self)
        return self

    def stop(self) -> None:
        """Stops the broker and removes its temporary files; raises ``BrokerCrashed`` (after the
        clean-up) if the broker had crashed or did not stop cleanly. Stopping twice is harmless."""
        runner, self._runner = self._runner, None
        _running.discard(self)
        if runner is None:
            return
        try:
            runner.stop(self.stop_timeout)
        finally:
            self._remove_files()

    def _remove_files(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start() if self._runner is None else self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------ state
    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients' ``bootstrap_servers`` / ``bootstrap.servers``."""
        if self._runner is None:
            raise RuntimeError("the broker is not started")
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None and self._runner.alive()

    @property
    def pid(self) -> int | None:
        """The broker's process id in process mode (None in thread mode)."""
        return getattr(self._runner, "pid", None)

    def check(self) -> None:
        """Raises ``BrokerCrashed`` if the broker has ended on its own."""
        if self._runner is None:
            raise RuntimeError("the broker is not started")
        self._runner.check()

    # ------------------------------------------------------------ admin (kbroker.testing.wireclient)
    def create_topic(self, name: str, partitions: int = 1, config: Mapping[str, Any] | None = None, *,
                     exist_ok: bool = False) -> str:
        """Creates a topic (``config``: topic configs such as ``{"cleanup.policy": "compact"}``);
        ``TopicError`` if the broker refuses, e.g. when it exists and not ``exist_ok``. Returns ``name``."""
        from kbroker.testing import wireclient

        self.check()
        wireclient.create_topic(self.host, self.port, name, partitions,
                                {k: str(v) for k, v in (config or {}).items()}, exist_ok=exist_ok)
        return name

    def delete_topic(self, name: str) -> None:
        from kbroker.testing import wireclient

        self.check()
        wireclient.delete_topic(self.host, self.port, name)

    def topics(self) -> dict[str, int]:
        """Every topic the broker has (internal ones too), with its partition count."""
        return {t.name: len(t.partitions) for t in self.metadata().topics if t.name}

    def metadata(self) -> MetadataResponse:
        """The broker's Metadata answer (all topics)."""
        from kbroker.testing import wireclient

        self.check()
        return wireclient.metadata(self.host, self.port)

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._runner is not None else "stopped"
        return f"<EmbeddedBroker {self.mode} {where}>"


@contextmanager
def broker(mode: Mode = "thread", config: Mapping[str, Any] | None = None, **options: Any) -> Iterator[EmbeddedBroker]:
    """``with kbroker.testing.broker() as b:`` a started ``EmbeddedBroker`` (same options), stopped at
    the end of the block."""
    with EmbeddedBroker(mode, config, **options) as b:
        yield b


@atexit.register
def _stop_leftovers() -> None:
    """Brokers a program forgot to stop end with it (their temporary files are removed)."""
    for b in list(_running):
        try:
            b.stop()
        except BrokerCrashed:
            pass
