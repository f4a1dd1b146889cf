"""Runs the Connect scenario (compat/connect/scenario.py) and prints its verdict; exit status 0 when
it passed.

    python -m compat.connect --kafka        # the reference Apache Kafka, single KRaft node
    python -m compat.connect --kbroker
    python -m compat.connect --bootstrap 127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from compat.connect import scenario
from compat.streams import brokers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--kafka", action="store_true", help="start the reference Apache Kafka")
    which.add_argument("--kbroker", action="store_true", help="start a kbroker process")
    which.add_argument("--bootstrap", help="a running broker")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (files, worker log)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kbroker-connect-"))
    kind = "kafka" if a.kafka else "kbroker" if a.kbroker else "external"
    broker = brokers.start(kind, work, a.bootstrap)
    try:
        r = scenario.run(broker, work / "connect")
        print(r.summary(), flush=True)
    finally:
        broker.stop()
        if a.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if not r.problems() else 1


if __name__ == "__main__":
    sys.exit(main())
