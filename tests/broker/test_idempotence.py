"""The idempotent producer, end to end (issue 4, acceptance 2 and 3, Python clients; the Java ones are
in tests/foreign/test_java_clients.py).

- Raw protocol: InitProducerId v0-4 (unique ids across restarts, epoch bump from v3, fencing), and
  Kafka's sequence rules on Produce: a duplicate answered NONE with its original offset, a gap or a new
  epoch not starting at 0 OUT_OF_ORDER_SEQUENCE_NUMBER, a stale epoch INVALID_PRODUCER_EPOCH — also
  after SIGTERM and kill -9 restarts (the producer state is persisted with the log).
- Retries: a fault-injecting proxy (tests/support/faultproxy.py) loses some Produce responses while
  kafka-python and confluent-kafka producers keep five requests in flight; reading the whole log back
  shows every record exactly once.
- kill -9 of the broker while an idempotent producer sends: after the restart nothing acknowledged is
  missing and nothing is duplicated.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.support.faultproxy import proxied_broker
from tests.support.rawclient import RawClient
from tests.support.readback import assert_exactly_once, read_values
from wire.messages.init_producer_id import InitProducerIdRequest
from wire.records import build_batch, decode_batch, iter_batches

NONE, OUT_OF_ORDER, INVALID_EPOCH, INVALID_RECORD, PRODUCER_FENCED = 0, 45, 47, 87, 90


def init_pid(c: RawClient, version: int, pid: int = -1, epoch: int = -1) -> tuple[int, int, int]:
    r = c.request(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000,
                                        producer_id=pid, producer_epoch=epoch), version)
    return r.error_code, r.producer_id, r.producer_epoch


def pbatch(pid: int, epoch: int, seq: int, count: int = 3, tag: str = "") -> bytes:
    now = int(time.time() * 1000)
    return build_batch([(b"k", f"{tag}{seq + i}".encode(), None, now) for i in range(count)],
                       producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def test_init_producer_id_versions(broker_factory) -> None:
    b = broker_factory()
    with RawClient.connect(b.bootstrap) as c:
        ids = set()
        for v in range(5):
            err, pid, epoch = init_pid(c, v)
            assert (err, epoch) == (NONE, 0)
            ids.add(pid)
        assert len(ids) == 5
        err, pid, epoch = init_pid(c, 3)
        assert init_pid(c, 3, pid, 0) == (NONE, pid, 1)  # v3: epoch bump keeps the id
        assert init_pid(c, 4, pid, 1) == (NONE, pid, 2)
        assert init_pid(c, 4, pid, 1) == (PRODUCER_FENCED, -1, -1)  # an older instance
        assert init_pid(c, 3, pid, 0) == (INVALID_EPOCH, -1, -1)
        err, other, epoch = init_pid(c, 2, pid, 2)  # before v3 the fields do not exist: a new id
        assert err == NONE and other != pid and epoch == 0
        err, fresh, epoch = init_pid(c, 4, 10**12, 3)  # an id this broker never gave out: a new one
        assert err == NONE and fresh < 10**12 and epoch == 0
        ids |= {pid, other, fresh}
    b.kill()
    b.start()
    with RawClient.connect(b.bootstrap) as c:
        for v in (0, 4):
            err, pid, _ = init_pid(c, v)
            assert err == NONE and pid > max(ids), "producer ids are never reused across restarts"


def test_sequence_rules_and_restarts(broker_factory) -> None:
    b = broker_factory()
    with RawClient.connect(b.bootstrap) as c:
        c.create_topic("seq", 2)
        _, pid, _ = init_pid(c, 4)
        first = c.produce("seq", 0, pbatch(pid, 0, 0))
        second = c.produce("seq", 0, pbatch(pid, 0, 3))
        assert (first.error_code, first.base_offset, second.error_code, second.base_offset) == (0, 0, 0, 3)
        for version in (3, 7, 9):  # a retry of either: NONE with the original offset, not written again
            dup = c.produce("seq", 0, pbatch(pid, 0, 0), version=version)
            assert (dup.error_code, dup.base_offset) == (NONE, 0)
        assert c.produce("seq", 0, pbatch(pid, 0, 3)).base_offset == 3
        assert c.produce("seq", 0, pbatch(pid, 0, 9)).error_code == OUT_OF_ORDER  # gap
        assert c.produce("seq", 0, pbatch(pid, 0, 2)).error_code == OUT_OF_ORDER  # overlap, not a retry
        assert c.produce("seq", 0, pbatch(pid, 1, 6)).error_code == OUT_OF_ORDER  # new epoch, not at 0
        assert c.produce("seq", 1, pbatch(pid, 0, 50)).error_code == NONE  # per partition: unknown here
        no_seq = build_batch([(b"k", b"v", None, 1)], producer_id=pid, producer_epoch=0, base_sequence=-1)
        assert c.produce("seq", 0, no_seq).error_code == INVALID_RECORD
        assert c.produce("seq", 0, pbatch(pid, 0, 6)).base_offset == 6
        assert c.list_offset("seq", 0, -1).offset == 9
    for how in ("sigterm", "kill"):
        b.stop() if how == "sigterm" else b.kill()
        b.start()
        with RawClient.connect(b.bootstrap) as c:
            dup = c.produce("seq", 0, pbatch(pid, 0, 6))
            assert (dup.error_code, dup.base_offset) == (NONE, 6), how
            assert c.produce("seq", 0, pbatch(pid, 0, 3)).base_offset == 3, how
            assert c.produce("seq", 0, pbatch(pid, 0, 10)).error_code == OUT_OF_ORDER, how
            assert c.list_offset("seq", 0, -1).offset == 9, how
    with RawClient.connect(b.bootstrap) as c:
        # a new epoch from 0, then the old epoch is fenced
        assert c.produce("seq", 0, pbatch(pid, 1, 0, tag="e1-")).base_offset == 9
        assert c.produce("seq", 0, pbatch(pid, 0, 9)).error_code == INVALID_EPOCH
        b.kill()
        b.start()
    with RawClient.connect(b.bootstrap) as c:
        assert c.produce("seq", 0, pbatch(pid, 0, 9)).error_code == INVALID_EPOCH
        assert c.produce("seq", 0, pbatch(pid, 1, 0, tag="e1-")).base_offset == 9
        data = c.fetch("seq", 0, 0).records
        values = [r.value.decode() for pos, _ in iter_batches(data) for r in decode_batch(data, pos)[1]]
        assert values == [str(i) for i in range(9)] + ["e1-0", "e1-1", "e1-2"]


# ------------------------------------------------------------------ lost responses, five in flight

@pytest.mark.parametrize("mode", ["close", "withhold"])
def test_kafka_python_retries_through_lost_responses(broker_factory, mode) -> None:
    from kafka import KafkaProducer

    n, partitions = 20_000, 6
    proxy, b = proxied_broker(broker_factory, mode, drop_rate=0.06, seed=7)
    try:
        with RawClient.connect(b.bootstrap) as c:
            c.create_topic("retry", partitions)
        p = KafkaProducer(bootstrap_servers=proxy.bootstrap, enable_idempotence=True, acks="all",
                          max_in_flight_requests_per_connection=5, linger_ms=2, batch_size=2000,
                          request_timeout_ms=2000, retries=1_000_000, delivery_timeout_ms=120_000,
                          retry_backoff_ms=20)
        futures = [p.send("retry", key=str(i % 17).encode(), value=str(i).encode()) for i in range(n)]
        p.flush(120)
        failed = [f for f in futures if f.exception is not None]
        p.close(10)
        assert not failed, failed[0].exception
        assert proxy.stats.dropped >= 2, proxy.stats
    finally:
        proxy.stop()
    assert_exactly_once(read_values(b.bootstrap, "retry", partitions), n)


def test_confluent_kafka_retries_through_lost_responses(broker_factory) -> None:
    from confluent_kafka import Producer

    n, partitions = 20_000, 6
    proxy, b = proxied_broker(broker_factory, "close", drop_rate=0.06, seed=11)
    errors: list[str] = []
    try:
        with RawClient.connect(b.bootstrap) as c:
            c.create_topic("retry-rd", partitions)
        p = Producer({"bootstrap.servers": proxy.bootstrap, "enable.idempotence": True,
                      "max.in.flight.requests.per.connection": 5, "linger.ms": 2, "batch.size": 2000,
                      "message.timeout.ms": 120_000, "retry.backoff.ms": 20})
        for i in range(n):
            while True:
                try:
                    p.produce("retry-rd", key=str(i % 17).encode(), value=str(i).encode(),
                              on_delivery=lambda err, _m: err and errors.append(str(err)))
                    break
                except BufferError:
                    p.poll(0.05)
        assert p.flush(120) == 0
        assert not errors, errors[:3]
        assert proxy.stats.dropped >= 2, proxy.stats
    finally:
        proxy.stop()
    assert_exactly_once(read_values(b.bootstrap, "retry-rd", partitions), n)


# ------------------------------------------------------------------ kill -9 while producing

class IdempotentSender(threading.Thread):
    """kafka-python, idempotent, five in flight: sends 0..n-1 and records what was acknowledged."""

    def __init__(self, bootstrap: str, topic: str, n: int) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaProducer

        self.n = n
        self.topic = topic
        self.acked: list[int] = []
        self.errors: list[BaseException] = []
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                                      max_in_flight_requests_per_connection=5, linger_ms=1, batch_size=4000,
                                      request_timeout_ms=5000, retries=1_000_000, delivery_timeout_ms=120_000,
                                      retry_backoff_ms=50, reconnect_backoff_ms=50, reconnect_backoff_max_ms=500)

    def run(self) -> None:
        lock = threading.Lock()

        def ok(i: int):
            def cb(_meta) -> None:
                with lock:
                    self.acked.append(i)
            return cb

        for i in range(self.n):
            f = self.producer.send(self.topic, key=str(i % 11).encode(), value=str(i).encode())
            f.add_callback(ok(i))
            f.add_errback(self.errors.append)
            if i % 500 == 499:
                time.sleep(0.01)  # spread the sends over the kills
        self.producer.flush(120)
        self.producer.close(10)


def test_kill9_while_kafka_python_produces(broker_factory) -> None:
    n, partitions = 60_000, 3
    # flush.messages=1: each acks=all answer waits for an fsync, so a kill lands between the write and
    # the answer (written, never acknowledged: the retry must be recognised) far more often
    b = broker_factory({"log.segment.bytes": "200000", "log.flush.interval.messages": "1"})
    with RawClient.connect(b.bootstrap) as c:
        c.create_topic("crash", partitions)
    sender = IdempotentSender(b.bootstrap, "crash", n)
    sender.start()
    for fraction in (0.15, 0.35, 0.55, 0.75):
        deadline = time.monotonic() + 60
        while len(sender.acked) < n * fraction and time.monotonic() < deadline:
            time.sleep(0.005)
        b.kill()
        time.sleep(0.3)
        b.start()
    sender.join(180)
    assert not sender.is_alive()
    assert not sender.errors, sender.errors[:3]
    values = read_values(b.bootstrap, "crash", partitions)
    counts = Counter(int(v) for v in values)
    assert not [v for v, k in counts.items() if k > 1], "duplicates after kill -9"
    assert not set(sender.acked) - set(counts), "acknowledged records missing after kill -9"
    assert len(sender.acked) == n and len(counts) == n
