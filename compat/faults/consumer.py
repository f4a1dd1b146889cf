"""A consumer for the fault campaign: reads every partition of a topic continuously from offset 0
(``assign()``, no group, no commits) and logs each delivered record, in delivery order, one JSON line::

    {"c": "c1", "p": 3, "o": 1207, "v": "py-1217", "ts": 1764650000123}

so that compat/cluster/checker.py can find gaps, offsets read twice or going backwards, and offsets
that held two values.

    python -m compat.faults.consumer --bootstrap B --topic T --log FILE [--name c1]

Runs until SIGTERM/SIGINT; the last stdout line is ``@@faults-consumer@@ {"consumer", "records",
"errors"}``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from pathlib import Path

MARK = "@@faults-consumer@@ "


def consume(bootstrap: str, topic: str, log_path: Path, name: str) -> dict:
    from confluent_kafka import Consumer, TopicPartition

    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"faults-{name}-{uuid.uuid4()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 3,
                  "enable.partition.eof": False, "topic.metadata.refresh.interval.ms": 5000})
    records = errors = 0
    try:
        parts: list[int] = []
        while not parts and not stop:
            try:
                md = c.list_topics(topic, timeout=10).topics[topic]
                parts = sorted(md.partitions) if md.error is None else []
            except Exception:  # noqa: BLE001 - the cluster may be in a fault
                time.sleep(1)
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        with open(log_path, "w", encoding="utf-8") as log:
            last_flush = time.monotonic()
            while not stop:
                for m in c.consume(1000, timeout=0.2):
                    if m.error() is not None:
                        errors += 1
                        continue
                    records += 1
                    log.write(json.dumps({"c": name, "p": m.partition(), "o": m.offset(), "v": m.value().decode(),
                                          "ts": int(time.time() * 1000)}, separators=(",", ":")) + "\n")
                if time.monotonic() - last_flush > 0.2:
                    log.flush()
                    last_flush = time.monotonic()
    finally:
        c.close()
    return {"consumer": name, "records": records, "errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--log", type=Path, required=True)
    ap.add_argument("--name", default="c1")
    a = ap.parse_args()
    print(MARK + json.dumps(consume(a.bootstrap, a.topic, a.log, a.name)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
