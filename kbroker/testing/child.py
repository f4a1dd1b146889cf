"""The broker process of mode ``process``: ``kbroker serve`` that also stops when its parent goes.

    python -m kbroker.testing.child [serve options...]

The parent (the test process) holds the write end of this process's stdin and never writes to it. When
the parent exits — even killed with SIGKILL, when nothing of its own clean-up runs — the pipe closes,
stdin reads EOF, and the broker gets SIGTERM: it stops cleanly instead of running on as an orphan.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from kbroker.cli import main


def _stop_when_stdin_closes() -> None:
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # handled by serve() (or, before it runs, ends the process)


if __name__ == "__main__":
    threading.Thread(target=_stop_when_stdin_closes, name="parent-watch", daemon=True).start()
    sys.exit(main(["serve", *sys.argv[1:]]))
