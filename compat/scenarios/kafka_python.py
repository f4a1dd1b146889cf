"""kafka-python scenarios.

kafka-python 3.0 guesses the broker's release from the ApiVersions ranges and picks the record format
and codecs from that guess; its producer is idempotent (InitProducerId, sequence numbers) and acks=all
by default, and those defaults are kept.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from compat.scenarios.common import (
    STEP_TIMEOUT,
    Deadline,
    Got,
    Rec,
    ScenarioFailed,
    check_offsets,
    compression_scenario,
    norm_headers,
    other_python_readers,
    roundtrip_scenario,
)

CLIENT = "kafka-python"
log = logging.getLogger(__name__)

_TS_TYPES = {0: "create", 1: "log_append"}


def version() -> str:
    return kafka.__version__


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-kafka-python-admin",
                             request_timeout_ms=30_000)
    try:
        admin.create_topics({topic: {"num_partitions": partitions, "replication_factor": 1}},
                            timeout_ms=30_000, raise_errors=True)
    finally:
        admin.close()


def produce(bootstrap: str, topic: str, records: Sequence[Rec], compression: str | None = None,
            timeout: float = STEP_TIMEOUT) -> list[tuple[int, int]]:
    """Send every record (acks=all, other settings default); return the acknowledged positions."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=compression,
                             client_id="compat-kafka-python-producer", max_block_ms=int(timeout * 1000))
    try:
        futures = [producer.send(topic, key=r.key, value=r.value, headers=list(r.headers),
                                 timestamp_ms=r.timestamp) for r in records]
        producer.flush(timeout=timeout)
        out = []
        for i, f in enumerate(futures):
            try:
                md = f.get(timeout=1)
            except Exception as e:
                raise ScenarioFailed(f"record #{i} not acknowledged: {type(e).__name__}: {e}") from e
            out.append((md.partition, md.offset))
        return out
    finally:
        producer.close(timeout=10)


def consume(bootstrap: str, topic: str, partitions: int, ends: dict[int, int] | None,
            timeout: float = STEP_TIMEOUT) -> list[Got]:
    """assign() every partition, seek to the beginning, read up to ``ends`` (no group, no commits).

    The latest offsets must equal ``ends``; with ``ends`` None they are read up to instead."""
    deadline = Deadline(timeout)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id="compat-kafka-python-consumer", request_timeout_ms=30_000)
    try:
        found = consumer.partitions_for_topic(topic)
        while not found and not deadline.expired():  # a just-created topic may not be listed yet
            time.sleep(0.1)
            found = consumer.partitions_for_topic(topic)
        if found != set(range(partitions)):
            raise ScenarioFailed(f"metadata lists partitions {sorted(found or [])}, expected 0..{partitions - 1}")
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        check_offsets("earliest", {tp.partition: o for tp, o in consumer.beginning_offsets(tps).items()},
                      dict.fromkeys(range(partitions), 0))
        latest = {tp.partition: o for tp, o in consumer.end_offsets(tps).items()}
        ends = check_offsets("latest", latest, ends)
        got: list[Got] = []
        position = dict.fromkeys(range(partitions), 0)
        while any(position[p] < ends[p] for p in ends):
            if deadline.expired():
                raise ScenarioFailed(f"timed out after {timeout:.0f}s: read up to {position}, want {ends}")
            for tp, recs in consumer.poll(timeout_ms=500, max_records=5000).items():
                for m in recs:
                    got.append(Got(tp.partition, m.offset, m.key, m.value, norm_headers(m.headers),
                                   m.timestamp, _TS_TYPES.get(m.timestamp_type, "none")))
                    position[tp.partition] = max(position[tp.partition], m.offset + 1)
        return got
    finally:
        consumer.close(autocommit=False)


def roundtrip(bootstrap: str) -> str:
    return roundtrip_scenario(sys.modules[__name__], bootstrap)


def compression(bootstrap: str) -> str:
    return compression_scenario(bootstrap, sys.modules[__name__], other_python_readers(CLIENT))


SCENARIOS = {"roundtrip": roundtrip, "compression": compression}
