"""Mode ``process``: the broker is a child process, ``python -m kbroker.testing.child`` (``kbroker serve``
that also stops when this process goes, even killed: see that module).

It is the most isolated mode (its own interpreter, GIL, file-descriptor limit and loggers; a broker
that crashes or is killed cannot take the test process with it) and pays for it with an interpreter
start and the import of kbroker at every start.

The child is told ``listeners=...:0``; its "kbroker ready on HOST:PORT" log line (``kbroker.cli.serve``)
says which port the OS gave it. Its log (stderr) is copied to ``log_path`` by a reader thread that ends
with the child's stderr; a crash reports the log's tail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from kbroker.testing.errors import BrokerCrashed

_READY = re.compile(rb"kbroker ready on (\S+):(\d+) ")
_TAIL = 4000


def _package_root() -> str | None:
    """The folder this kbroker was imported from, so the child runs the same code (None when that is a
    site-packages folder, which the child has anyway)."""
    import site

    import kbroker

    root = Path(kbroker.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    return None if root in installed else str(root)


class ProcessRunner:
    """One broker process: ``start`` returns (host, port) once it listens, ``stop`` ends it with SIGTERM."""

    def __init__(self, props: dict[str, str], log_path: Path) -> None:
        self.props = props
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._address: tuple[str, int] | None = None
        self._reader: threading.Thread | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout: float) -> tuple[str, int]:
        args = [sys.executable, "-m", "kbroker.testing.child", "--log-level", "INFO"]
        for k, v in self.props.items():
            args += ["--override", f"{k}={v}"]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH")) if p)
        # stdin: a pipe this process holds open for the child's life (its EOF stops the child)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        self._reader = threading.Thread(target=self._read_log, name=f"kbroker-log-{self.proc.pid}", daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self._kill()
            raise BrokerCrashed(f"the broker process did not start within {timeout}s:\n{self.log_tail()}")
        if self._address is None:  # the child exited before it listened
            self._kill()
            raise BrokerCrashed(f"the broker process exited with {self.proc.returncode} at start-up:\n"
                                f"{self.log_tail()}")
        return self._address

    def _read_log(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with open(self.log_path, "wb", buffering=0) as out:  # unbuffered: a crash report reads it at once
            for line in self.proc.stderr:
                out.write(line)
                if self._address is None:
                    m = _READY.search(line)
                    if m:
                        self._address = (m.group(1).decode(), int(m.group(2)))
                        self._ready.set()
            self.proc.stderr.close()
        self._ready.set()  # EOF: the child has ended (start() then sees no address)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-_TAIL:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check(self) -> None:
        """Raises ``BrokerCrashed`` when the broker process has ended without being asked to."""
        if self.proc is not None and not self._stopping and self.proc.poll() is not None:
            raise BrokerCrashed(f"the broker process ended on its own with {self.proc.returncode}:\n"
                                f"{self.log_tail()}")

    def stop(self, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; raises ``BrokerCrashed`` if it had ended on its own
        or did not exit with 0."""
        if self.proc is None:
            return
        crashed = self.proc.poll() is not None and not self._stopping
        self._stopping = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
                raise BrokerCrashed(f"the broker process did not stop within {timeout}s:\n{self.log_tail()}") \
                    from None
        self._close_stdin()
        if self._reader is not None:
            self._reader.join(timeout)
        rc = self.proc.returncode
        if crashed or rc != 0:
            raise BrokerCrashed(f"the broker process exited with {rc}:\n{self.log_tail()}")

    def _close_stdin(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def _kill(self) -> None:
        self._stopping = True
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self._close_stdin()
        if self._reader is not None:
            self._reader.join(5)
