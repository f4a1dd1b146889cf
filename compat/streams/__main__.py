"""Runs the word-count scenario (compat/streams/scenario.py) and prints its verdict; exit status 0
when every run passed.

    python -m compat.streams --kafka                       # exactly_once_v2 and at_least_once, with kills
    python -m compat.streams --kbroker --guarantee exactly_once_v2
    python -m compat.streams --bootstrap 127.0.0.1:9092 --no-kills
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from compat.streams import brokers, scenario


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--kafka", action="store_true", help="start the reference Apache Kafka")
    which.add_argument("--kbroker", action="store_true", help="start a kbroker process")
    which.add_argument("--bootstrap", help="a running broker (no broker kill)")
    ap.add_argument("--guarantee", action="append", choices=["exactly_once_v2", "at_least_once"],
                    help="processing.guarantee (repeatable; default: both)")
    ap.add_argument("--no-kills", action="store_true", help="no application or broker kill")
    ap.add_argument("--lines", type=int, default=2000, help="input lines per phase (three phases)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, state)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kbroker-streams-"))
    kind = "kafka" if a.kafka else "kbroker" if a.kbroker else "external"
    broker = brokers.start(kind, work, a.bootstrap)
    ok = True
    try:
        for g in a.guarantee or ["exactly_once_v2", "at_least_once"]:
            r = scenario.run(broker, g, kills=not a.no_kills and kind != "external", workdir=work / g,
                             lines_per_phase=a.lines)
            print(r.summary(), flush=True)
            ok = ok and not r.problems()
    finally:
        broker.stop()
        if a.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
