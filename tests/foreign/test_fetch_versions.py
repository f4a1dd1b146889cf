"""Fetch (1) at every version a Kafka 4.1.1 broker serves (4-18), over raw frames: by topic name up to
v12 and by topic id from v13 (KIP-516), unknown names and ids (UNKNOWN_TOPIC_ID on the partition, the
response's own error 0, unknown partitions after the known ones as Kafka orders them), the v15
replica_state, a declined session at every version, a null array closing the connection without a
traceback; and the Java 4.4.0 consumer (kafka-clients 4.4.0 fetches by topic id)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from tests.support import ROOT
from tests.support.rawclient import ConnectionClosed, RawClient, encode_request
from wire.messages import BROKER_VERSIONS
from wire.messages.fetch import FetchRequest as F
from wire.messages.metadata import MetadataRequest
from wire.primitives import ZERO_UUID
from wire.records import build_batch, iter_batches

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
UNKNOWN_TOPIC, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_ID = 3, 75, 100


def topic_id(c: RawClient, name: str) -> uuid.UUID:
    md = c.request(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=name)]), 12)
    return md.topics[0].topic_id


def request(version: int, topics: list[tuple[str, uuid.UUID, list[int]]], session_epoch: int = -1,
            leader_epoch: int = -1) -> F:
    """topics: (name, id, partitions); the name is sent up to v12, the id from v13."""
    return F(replica_id=-1, replica_state=F.ReplicaState(replica_id=-1, replica_epoch=-1), max_wait_ms=0,
             min_bytes=0, max_bytes=1 << 20, isolation_level=0, session_id=0, session_epoch=session_epoch,
             topics=[F.FetchTopic(topic=n, topic_id=i, partitions=[
                 F.FetchPartition(partition=p, fetch_offset=0, partition_max_bytes=1 << 20,
                                  current_leader_epoch=leader_epoch) for p in ps]) for n, i, ps in topics],
             forgotten_topics_data=[], rack_id="")


def test_every_version(broker) -> None:
    assert BROKER_VERSIONS[1] == (4, 18)
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic("fv", 2)
        c.produce("fv", 0, build_batch([(b"k", b"v%d" % i, None, 1000 + i) for i in range(3)]))
        tid = topic_id(c, "fv")
        assert tid != ZERO_UUID
        for v in range(4, 19):
            name = "fv" if v < 13 else ""
            resp = c.request(request(v, [("fv", tid, [0, 1])]), v)
            assert (resp.error_code, resp.session_id) == (0, 0), v
            [t] = resp.responses
            # the name up to v12, the id from v13 (the other field is not on the wire)
            assert (t.topic, t.topic_id) == (name, ZERO_UUID if v < 13 else tid), v
            p0, p1 = t.partitions
            assert (p0.partition_index, p0.error_code, p0.high_watermark, p0.last_stable_offset) == (0, 0, 3, 3), v
            assert [h.last_offset_delta for _, h in iter_batches(p0.records)] == [2], v
            assert (p1.partition_index, p1.error_code, p1.high_watermark, len(p1.records)) == (1, 0, 0, 0), v
            assert resp.node_endpoints == []

            # an unknown topic (a name up to v12, an id from v13) among known ones: the unknown one's
            # partitions come last, with UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID and no offsets
            ghost = uuid.uuid4()
            resp = c.request(request(v, [("ghost", ghost, [0, 3]), ("fv", tid, [0, 9])]), v)
            assert resp.error_code == 0, v
            got = [(t.topic, t.topic_id, [(p.partition_index, p.error_code, p.high_watermark, p.log_start_offset)
                                          for p in t.partitions]) for t in resp.responses]
            start = 0 if v >= 5 else -1  # log_start_offset from v5
            if v < 13:
                assert got == [("fv", ZERO_UUID, [(0, 0, 3, start)]),
                               ("ghost", ZERO_UUID, [(0, UNKNOWN_TOPIC, -1, -1), (3, UNKNOWN_TOPIC, -1, -1)]),
                               ("fv", ZERO_UUID, [(9, UNKNOWN_TOPIC, -1, -1)])], v
            else:
                assert got == [("", tid, [(0, 0, 3, start)]),
                               ("", ghost, [(0, UNKNOWN_TOPIC_ID, -1, -1), (3, UNKNOWN_TOPIC_ID, -1, -1)]),
                               ("", tid, [(9, UNKNOWN_TOPIC, -1, -1)])], v
                zero = c.request(request(v, [("fv", ZERO_UUID, [0])]), v)
                assert [(p.error_code, p.high_watermark) for p in zero.responses[0].partitions] == [
                    (UNKNOWN_TOPIC_ID, -1)], v

            # a leader epoch from the future: UNKNOWN_LEADER_EPOCH, no offsets, no leader (not a NOT_LEADER /
            # FENCED error, so no node endpoints at v16+), as Kafka 4.1.1 answers
            resp = c.request(request(v, [("fv", tid, [0])], leader_epoch=5), v)
            [p] = resp.responses[0].partitions
            want = UNKNOWN_LEADER_EPOCH if v >= 9 else 0
            assert p.error_code == want, v
            if want:
                assert (p.high_watermark, p.log_start_offset, len(p.records)) == (-1, -1, 0), v
                assert (p.current_leader.leader_id, resp.node_endpoints) == (-1, []), v

            # a client asking for a new session (epoch 0) is answered without one, as before
            if v >= 7:
                resp = c.request(request(v, [("fv", tid, [0])], session_epoch=0), v)
                assert (resp.error_code, resp.session_id) == (0, 0), v


def test_duplicates_and_out_of_range(broker) -> None:
    """What Kafka 4.1.1 answers (captured from the reference broker): a partition asked for twice is
    answered once, at its first place, for its last fetch offset; OFFSET_OUT_OF_RANGE carries no
    offsets and a null aborted list; unknown topics/partitions come last, with an empty aborted list."""
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic("dup", 8)
        c.produce("dup", 0, build_batch([(b"k", b"v", None, 1)]))
        tid = topic_id(c, "dup")
        for v in (4, 12, 13, 18):
            ghost = uuid.uuid4()
            req = request(v, [("ghost", ghost, [0]), ("dup", tid, [0, 8, 0])])
            req.topics[1].partitions[2].fetch_offset = 99
            resp = c.request(req, v)
            got = [[(p.partition_index, p.error_code, p.high_watermark, p.last_stable_offset, p.log_start_offset,
                     p.aborted_transactions, len(p.records)) for p in t.partitions] for t in resp.responses]
            ghost_err = UNKNOWN_TOPIC if v < 13 else UNKNOWN_TOPIC_ID
            assert got == [[(0, 1, -1, -1, -1, None, 0)], [(0, ghost_err, -1, -1, -1, [], 0)],
                           [(8, UNKNOWN_TOPIC, -1, -1, -1, [], 0)]], v


def test_replica_state_is_read_from_v15(broker) -> None:
    """v15 moved replica_id into the replica_state tagged field: a v15+ request carrying only it (no
    v4-14 replica_id on the wire) is decoded and served like a consumer's."""
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic("rs", 1)
        c.produce("rs", 0, build_batch([(b"k", b"v", None, 1)]))
        tid = topic_id(c, "rs")
        for v in (15, 16, 17, 18):
            req = request(v, [("rs", tid, [0])])
            req.replica_id = 12345  # not on the wire from v15: the broker must not see it
            frame = encode_request(req, v, 7)
            assert (12345).to_bytes(4, "big") not in frame
            resp = c.request(req, v)
            assert resp.responses[0].partitions[0].high_watermark == 1, v


def test_null_topics_array_closes_without_traceback(broker) -> None:
    for v in (12, 13, 15, 18):
        with RawClient.connect(broker.bootstrap) as c:
            frame = bytearray(encode_request(request(v, []), v, 3))
            # the body ends with: topics [] (1), forgotten [] (1), rack "" (1), no tags (0)
            assert frame[-4:] == b"\x01\x01\x01\x00"
            frame[-4] = 0  # topics: null
            c.send_raw(bytes(frame))
            with pytest.raises(ConnectionClosed):
                c.recv_frame(timeout=10)
    log = broker.log()
    assert "Traceback" not in log, log


def test_java_440_consumer_fetches_by_topic_id(broker) -> None:
    jars = ROOT / "compat" / ".cache" / "java" / "kafka-clients-4.4.0"
    if shutil.which("java") is None or not (jars / ".complete").exists():
        if IN_CI:
            pytest.fail("java or compat/.cache/java/kafka-clients-4.4.0 missing (scripts/install-deps.sh)")
        pytest.skip("java or kafka-clients 4.4.0 jars missing")
    with RawClient.connect(broker.bootstrap) as c:
        c.create_topic("jv", 1)
        for i in range(5):
            c.produce("jv", 0, build_batch([(b"k%d" % i, b"v%d" % i, None, 10 + i)]))
    proc = subprocess.run(["java", "-cp", f"{jars}/*", str(ROOT / "tests" / "java" / "CompactedRead.java"),
                           broker.bootstrap, "jv"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines == [f"{i}\t{(b'k%d' % i).hex()}\t{(b'v%d' % i).hex()}" for i in range(5)] + ["END\t5"]
    assert "Traceback" not in broker.log()
