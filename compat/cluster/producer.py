"""Producers that log their acknowledgements, for the failover campaign and the checker.

Both write the same ack log, one JSON line per delivered record::

    {"producer": "py", "p": 3, "o": 1207, "k": "k17", "v": "py-1217", "ts": 1764650000123}

and, for a record the producer gave up on, ``{"producer", "k", "v", "ts", "err"}`` (no p/o). Record
``seq`` (0..count-1) has key ``k<seq % keys>`` and value ``<name>-<seq>``; ``ts`` is the wall-clock
millisecond at which the acknowledgement reached the client's callback.

- the confluent-kafka (librdkafka) producer, ``enable.idempotence=true``, ``acks=all``::

      python -m compat.cluster.producer --bootstrap B --topic T --count N --ack-log FILE [--name py]

- the Java one (kafka-clients, compat/cluster/java/kbroker/cluster/AckProducer.java), compiled by
  compat/java/harness.py against the same jars as the Java client scenarios: ``java_command(...)``.

``--rate R`` caps each producer at R records/s; ``--gate FILE`` names a file holding a number G: no
record with seq >= G is sent until the file says more (the campaign uses it so that production cannot
run out before the last kill). The last stdout line is ``@@cluster-producer@@ {"producer", "acked",
"failed"}``; the exit status is 0 when every record was acknowledged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
JAVA_SRC = HERE / "java"
MARK = "@@cluster-producer@@ "


def record(name: str, seq: int, keys: int = 50) -> tuple[str, str]:
    """The key and value of record ``seq`` of producer ``name``."""
    return f"k{seq % keys}", f"{name}-{seq}"


def parse_value(value: str) -> tuple[str, int] | None:
    """``"<producer>-<seq>"`` -> (producer, seq); None for a value of another shape."""
    name, sep, seq = value.rpartition("-")
    if not sep or not seq.isdigit():
        return None
    return name, int(seq)


def read_gate(path: Path | None, count: int) -> int:
    if path is None:
        return count
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def java_version() -> str:
    from compat.java import harness

    return harness.versions()[-1]


def java_classpath(version: str | None = None) -> str:
    """Compiles (when changed) the Java producer against kafka-clients ``version`` (default: the newest
    of compat/java/versions.txt); raises compat.java.harness.JavaUnavailable without java/javac/jars."""
    from compat.java import harness

    return harness.classpath(version or java_version(), src=JAVA_SRC, name="cluster-classes")


def java_command(bootstrap: str, topic: str, count: int, ack_log: Path, name: str = "java", keys: int = 50,
                 rate: float = 0, gate: Path | None = None, version: str | None = None,
                 delivery_timeout_ms: int = 300_000) -> list[str]:
    cmd = ["java", "-Xmx512m", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
           "-Dorg.slf4j.simpleLogger.logFile=System.err", "-cp", java_classpath(version),
           "kbroker.cluster.AckProducer", "--bootstrap", bootstrap, "--topic", topic, "--count", str(count),
           "--ack-log", str(ack_log), "--name", name, "--keys", str(keys), "--rate", str(rate),
           "--delivery-timeout-ms", str(delivery_timeout_ms)]
    if gate is not None:
        cmd += ["--gate", str(gate)]
    return cmd


def python_command(bootstrap: str, topic: str, count: int, ack_log: Path, name: str = "py", keys: int = 50,
                   rate: float = 0, gate: Path | None = None, delivery_timeout_ms: int = 300_000) -> list[str]:
    cmd = [sys.executable, "-m", "compat.cluster.producer", "--bootstrap", bootstrap, "--topic", topic,
           "--count", str(count), "--ack-log", str(ack_log), "--name", name, "--keys", str(keys),
           "--rate", str(rate), "--delivery-timeout-ms", str(delivery_timeout_ms)]
    if gate is not None:
        cmd += ["--gate", str(gate)]
    return cmd


def produce(bootstrap: str, topic: str, count: int, ack_log: Path, name: str = "py", keys: int = 50,
            rate: float = 0, gate: Path | None = None, delivery_timeout_ms: int = 300_000) -> dict:
    """Sends ``count`` records with the idempotent confluent-kafka producer, logging every answer;
    returns {"producer", "acked", "failed"}."""
    from confluent_kafka import KafkaException, Producer

    def on_error(err) -> None:  # a fatal one (e.g. an idempotence violation) ends the producer
        if err.fatal():
            print(f"producer {name}: fatal error {err}", file=sys.stderr, flush=True)

    producer = Producer({
        "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
        "message.timeout.ms": delivery_timeout_ms, "partitioner": "murmur2_random",  # the Java client's
        "log_level": 3, "error_cb": on_error,
    })
    acked = failed = 0
    with open(ack_log, "w", encoding="utf-8") as log:
        def on_delivery(err, msg) -> None:
            nonlocal acked, failed
            ts = int(time.time() * 1000)
            key, value = msg.key().decode(), msg.value().decode()
            if err is None:
                acked += 1
                line = {"producer": name, "p": msg.partition(), "o": msg.offset(), "k": key, "v": value, "ts": ts}
            else:
                failed += 1
                line = {"producer": name, "k": key, "v": value, "ts": ts, "err": str(err)}
            log.write(json.dumps(line, separators=(",", ":")) + "\n")

        start = time.monotonic()
        last_flush = start
        allowed = read_gate(gate, count)
        seq = 0
        while seq < count:
            now = time.monotonic()
            if now - last_flush > 0.2:
                log.flush()
                last_flush = now
            if seq >= allowed:
                producer.poll(0.05)
                allowed = read_gate(gate, count)
                continue
            if rate > 0:
                wait = start + seq / rate - now
                if wait > 0:
                    producer.poll(min(wait, 0.05))
                    continue
            key, value = record(name, seq, keys)
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
            except BufferError:
                producer.poll(0.1)
                continue
            except KafkaException as e:  # a fatal idempotence error: nothing more can be sent
                print(f"producer {name}: {e}", file=sys.stderr)
                break
            seq += 1
            producer.poll(0)
        deadline = time.monotonic() + delivery_timeout_ms / 1000 + 30
        while len(producer) and time.monotonic() < deadline:
            producer.flush(0.2)
            log.flush()
        log.flush()
    return {"producer": name, "acked": acked, "failed": failed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--ack-log", type=Path, required=True)
    ap.add_argument("--name", default="py")
    ap.add_argument("--keys", type=int, default=50)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--gate", type=Path)
    ap.add_argument("--delivery-timeout-ms", type=int, default=300_000)
    a = ap.parse_args()
    summary = produce(a.bootstrap, a.topic, a.count, a.ack_log, a.name, a.keys, a.rate, a.gate,
                      a.delivery_timeout_ms)
    print(MARK + json.dumps(summary), flush=True)
    return 0 if summary["acked"] == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
