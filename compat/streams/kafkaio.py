"""What the Streams and Connect scenarios do with a Python client (confluent-kafka): create topics,
produce lines, read a topic back ``read_committed`` to its end, and a consumer group's committed
offsets. Every wait is bounded by a deadline given by the caller."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def create_topics(bootstrap: str, topics: dict[str, int], timeout: float = 60) -> None:
    """Creates each topic (name -> partitions, replication factor 1); one that exists is fine."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()], request_timeout=timeout)
    for f in futures.values():
        try:
            f.result(timeout)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def produce(bootstrap: str, topic: str, values: list[str], timeout: float = 120) -> None:
    """Sends ``values`` (no keys) with acks=all and idempotence; raises unless all were acknowledged."""
    errors: list[str] = []

    def ack(err, _msg) -> None:
        if err is not None:
            errors.append(str(err))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 5, "log_level": 0})
    for v in values:
        while True:
            try:
                p.produce(topic, value=v.encode(), on_delivery=ack)
                break
            except BufferError:
                p.poll(0.1)
    left = p.flush(timeout)
    if left or errors:
        raise RuntimeError(f"produce to {topic}: {left} not acknowledged, errors {errors[:3]}")


@dataclass
class Record:
    partition: int
    offset: int
    key: bytes
    value: bytes


class Reader:
    """Reads a topic's partitions from the beginning, ``read_committed`` unless told otherwise;
    ``read_to_end()`` returns what is new up to each partition's end (its last stable offset)."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, committed: bool = True) -> None:
        self.topic = topic
        self.bootstrap = bootstrap
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"kbroker-compat-reader-{topic}",
            "enable.auto.commit": False, "enable.partition.eof": True,
            "isolation.level": "read_committed" if committed else "read_uncommitted", "log_level": 0})
        self.partitions = partitions
        # partitions whose end was reached and that got nothing since: librdkafka reports a partition's
        # end once per end offset, so a later read_to_end() must remember it (a partition complete
        # before the call would otherwise never report again and the call wait for nothing)
        self.at_end: set[int] = set()
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])

    def read_to_end(self, timeout: float = 60) -> list[Record]:
        out: list[Record] = []
        at_end = self.at_end
        deadline = time.monotonic() + timeout
        while True:  # until every partition is at its end and a poll brings nothing new
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.topic}: partitions {sorted(set(range(self.partitions)) - at_end)} "
                                   f"did not reach their end in {timeout}s; {self.where()}")
            m = self.consumer.poll(0.5)
            if m is None:
                if len(at_end) == self.partitions:
                    break
                continue
            err, partition = m.error(), m.partition() or 0
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(partition)
                    continue
                if err.retriable() or err.code() == KafkaError._TRANSPORT:
                    continue
                raise KafkaException(err)
            at_end.discard(partition)
            out.append(Record(partition, m.offset() or 0, m.key() or b"", m.value() or b""))
        return out

    def where(self) -> str:
        """Each partition's position, high watermark and (ListOffsets read_committed) last stable
        offset: what a read that did not reach its end was waiting for."""
        out = []
        hws = high_watermarks(self.bootstrap, self.topic, self.partitions)
        for p in range(self.partitions):
            tp = TopicPartition(self.topic, p)
            try:
                pos = self.consumer.position([tp])[0].offset
                lso = self.consumer.get_watermark_offsets(tp, timeout=5, cached=False)[1]
            except KafkaException as e:
                out.append(f"p{p}: {e}")
                continue
            out.append(f"p{p}: position {pos}, high watermark {hws[p]}, last stable offset {lso}")
        return "; ".join(out)

    def close(self) -> None:
        self.consumer.close()



def read_all(bootstrap: str, topic: str, partitions: int, timeout: float = 60) -> list[Record]:
    r = Reader(bootstrap, topic, partitions)
    try:
        return r.read_to_end(timeout)
    finally:
        r.close()


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> list[int]:
    """Each partition's high watermark (every record and transaction marker written so far); -1 for
    each while the broker cannot say (e.g. just restarted), for a caller that polls."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kbroker-compat-watermarks",
                  "isolation.level": "read_uncommitted", "log_level": 0})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
                for p in range(partitions)]
    except KafkaException:
        return [-1] * partitions
    finally:
        c.close()


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offset of each partition (-1 where none, and for each while the broker
    cannot say, e.g. NOT_COORDINATOR just after a restart: the callers poll)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "log_level": 0})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return [tp.offset if tp.offset >= 0 else -1 for tp in sorted(got, key=lambda tp: tp.partition)]
    except KafkaException:
        return [-1] * partitions
    finally:
        c.close()
