"""The partition leader's side of transactions, driven in process: transactional produce, markers
through WriteTxnMarkers (kbroker.txn_markers), the last stable offset, and KIP-890 verification with a
verifier standing in for the transaction coordinator (the ``TxnVerifier`` port; the coordinator itself
is tested with it elsewhere)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from kbroker.apis.produce import produce
from kbroker.apis.write_txn_markers import write_txn_markers
from kbroker.broker import Broker
from kbroker.context import RequestContext
from kbroker.txn.ports import TopicPartition
from tests.support.inproc import create, ctx, run
from wire.errors import ErrorCode
from wire.messages.produce import ProduceRequest, ProduceResponse
from wire.messages.write_txn_markers import WriteTxnMarkersRequest
from wire.records import build_batch

PID, EPOCH = 4000, 0

# markers are driven by hand here, with no transaction coordinator behind the producer: the
# partition leader does not ask one (KIP-890 verification is tested on its own)
UNVERIFIED = {"transaction.partition.verification.enable": "false"}


def txn_request(topic: str, partitions: list[int], seq: int = 0, txn_id: str | None = "tx",
                transactional: bool = True, pid: int = PID, epoch: int = EPOCH) -> ProduceRequest:
    parts = [ProduceRequest.PartitionProduceData(index=p, records=memoryview(bytearray(build_batch(
        [(None, f"v{p}-{seq}".encode(), None, 1)], producer_id=pid, producer_epoch=epoch, base_sequence=seq,
        transactional=transactional)))) for p in partitions]
    return ProduceRequest(transactional_id=txn_id, acks=-1, timeout_ms=1000,
                          topic_data=[ProduceRequest.TopicProduceData(name=topic, partition_data=parts)])


def codes(resp: ProduceResponse | None) -> list[tuple[int, int]]:
    assert resp is not None
    return [(p.index, p.error_code) for t in resp.responses for p in t.partition_responses]


def marker_request(topic: str, partitions: list[int], commit: bool, epoch: int = EPOCH,
                   coordinator_epoch: int = 0) -> WriteTxnMarkersRequest:
    return WriteTxnMarkersRequest(markers=[WriteTxnMarkersRequest.WritableTxnMarker(
        producer_id=PID, producer_epoch=epoch, transaction_result=commit, coordinator_epoch=coordinator_epoch,
        topics=[WriteTxnMarkersRequest.WritableTxnMarkerTopic(name=topic, partition_indexes=partitions)])])


async def markers(b: Broker, topic: str, partitions: list[int], commit: bool, **kw: int) -> list[tuple[int, int]]:
    resp = await write_txn_markers(ctx(b, 1), marker_request(topic, partitions, commit, **kw))
    [m] = resp.markers
    assert m.producer_id == PID
    return [(p.partition_index, p.error_code) for t in m.topics for p in t.partitions]


def test_markers_end_a_transaction_and_move_the_last_stable_offset(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "t", 2)).topics[0].error_code == 0
        assert codes(await produce(ctx(b, 9), txn_request("t", [0, 1]))) == [(0, 0), (1, 0)]
        p0 = b.topics.partition("t", 0)
        assert p0 is not None
        assert (p0.high_watermark, p0.last_stable_offset) == (1, 0)
        assert await markers(b, "t", [0, 1], commit=True) == [(0, 0), (1, 0)]
        assert (p0.high_watermark, p0.last_stable_offset) == (2, 2)  # the marker takes an offset
        # a second transaction, aborted; an older producer epoch's marker is refused
        assert codes(await produce(ctx(b, 9), txn_request("t", [0], seq=1))) == [(0, 0)]
        assert p0.last_stable_offset == 2
        assert await markers(b, "t", [0], commit=False, epoch=EPOCH + 1) == [(0, 0)]
        assert await markers(b, "t", [0], commit=False, epoch=EPOCH) == [(0, ErrorCode.INVALID_PRODUCER_EPOCH)]
        assert p0.last_stable_offset == p0.high_watermark == 4
        assert p0.log.aborted_transactions(0, 4)[0].first_offset == 2
        # unknown partitions and topics
        assert await markers(b, "t", [7], commit=True, epoch=EPOCH + 1) == [(7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
        assert await markers(b, "nope", [0], commit=True, epoch=EPOCH + 1) == [
            (0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]

    run(tmp_path, body, **UNVERIFIED)


def test_transactional_produce_rules(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "r", 2)).topics[0].error_code == 0
        # transactional records without a transactional id: the whole request
        assert codes(await produce(ctx(b, 9), txn_request("r", [0, 1], txn_id=None))) == [
            (0, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED), (1, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)]
        assert codes(await produce(ctx(b, 9), txn_request("r", [0], pid=-1, seq=-1))) == [(0, ErrorCode.INVALID_RECORD)]
        assert codes(await produce(ctx(b, 9), txn_request("r", [0]))) == [(0, 0)]
        # a non-transactional batch of the producer while its transaction is open on the partition
        assert codes(await produce(ctx(b, 9), txn_request("r", [0], seq=1, transactional=False))) == [
            (0, ErrorCode.INVALID_TXN_STATE)]
        assert b.topics.partition("r", 0).log_end_offset == 1  # type: ignore[union-attr]

    run(tmp_path, body, **UNVERIFIED)


class Verifier:
    """Stands in for the transaction coordinator: answers ``code`` for every partition, after
    running ``meanwhile`` (what may happen while the real coordinator is asked)."""

    def __init__(self, code: int = 0, meanwhile=None) -> None:  # type: ignore[no-untyped-def]
        self.code = code
        self.meanwhile = meanwhile
        self.calls: list[tuple[str, int, int, list[TopicPartition]]] = []

    async def verify(self, transactional_id: str, producer_id: int, producer_epoch: int,
                     partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.calls.append((transactional_id, producer_id, producer_epoch, list(partitions)))
        if self.meanwhile is not None:
            await self.meanwhile()
        return dict.fromkeys(partitions, self.code)


def with_verifier(b: Broker, verifier: Verifier, version: int = 9) -> RequestContext:
    c = ctx(b, version)
    c.services = dataclasses.replace(b.services, txn_verifier=verifier)
    return c


def test_kip890_verification_guards_the_first_append(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "v", 2)).topics[0].error_code == 0
        p0 = b.topics.partition("v", 0)
        assert p0 is not None
        refused = Verifier(ErrorCode.INVALID_TXN_STATE)
        resp = await produce(with_verifier(b, refused), txn_request("v", [0, 1]))
        assert codes(resp) == [(0, ErrorCode.INVALID_TXN_STATE), (1, ErrorCode.INVALID_TXN_STATE)]
        assert resp.responses[0].partition_responses[0].error_message == "Partition was not added to the transaction"
        assert refused.calls == [("tx", PID, EPOCH, [("v", 0), ("v", 1)])]  # one call for the request
        assert p0.log_end_offset == 0

        busy = Verifier(ErrorCode.CONCURRENT_TRANSACTIONS)
        assert codes(await produce(with_verifier(b, busy), txn_request("v", [0]))) == [
            (0, ErrorCode.NOT_ENOUGH_REPLICAS)]
        fenced = Verifier(ErrorCode.PRODUCER_FENCED)
        assert codes(await produce(with_verifier(b, fenced), txn_request("v", [0]))) == [
            (0, ErrorCode.INVALID_PRODUCER_EPOCH)]  # as Kafka answers Produce

        # a marker written while the coordinator is asked: the verification is stale
        async def abort_meanwhile() -> None:
            assert await markers(b, "v", [0], commit=False) == [(0, 0)]
        raced = Verifier(0, abort_meanwhile)
        assert codes(await produce(with_verifier(b, raced), txn_request("v", [0]))) == [
            (0, ErrorCode.INVALID_TXN_STATE)]
        assert p0.log_end_offset == 1  # only the marker

        ok = Verifier(0)
        assert codes(await produce(with_verifier(b, ok), txn_request("v", [0]))) == [(0, 0)]
        assert len(ok.calls) == 1
        # the transaction is open here now: no more verification for the partition
        assert codes(await produce(with_verifier(b, ok), txn_request("v", [0], seq=1))) == [(0, 0)]
        assert len(ok.calls) == 1
        assert p0.last_stable_offset == 1

    run(tmp_path, body)


def test_verification_can_be_turned_off(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "off", 1)).topics[0].error_code == 0
        refused = Verifier(ErrorCode.INVALID_TXN_STATE)
        assert codes(await produce(with_verifier(b, refused), txn_request("off", [0]))) == [(0, 0)]
        assert refused.calls == []

    run(tmp_path, body, **{"transaction.partition.verification.enable": "false"})


def test_markers_of_one_request_are_answered_per_marker(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "m", 1)).topics[0].error_code == 0
        assert codes(await produce(ctx(b, 9), txn_request("m", [0]))) == [(0, 0)]
        req = marker_request("m", [0], True)
        req.markers.append(WriteTxnMarkersRequest.WritableTxnMarker(
            producer_id=PID + 1, producer_epoch=0, transaction_result=False, coordinator_epoch=0,
            topics=[WriteTxnMarkersRequest.WritableTxnMarkerTopic(name="m", partition_indexes=[0, 5])]))
        resp = await write_txn_markers(ctx(b, 1), req)
        assert [(m.producer_id, [(p.partition_index, p.error_code) for t in m.topics for p in t.partitions])
                for m in resp.markers] == [(PID, [(0, 0)]), (PID + 1, [(0, 0), (5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)])]
        await asyncio.sleep(0)

    run(tmp_path, body, **UNVERIFIED)


def committed_fetch(b: Broker, topic: str, offset: int, max_wait_ms: int = 0, min_bytes: int = 0):  # type: ignore[no-untyped-def]
    from kbroker.apis.fetch import fetch
    from wire.messages.fetch import FetchRequest

    req = FetchRequest(max_wait_ms=max_wait_ms, min_bytes=min_bytes, isolation_level=1, topics=[FetchRequest.FetchTopic(
        topic=topic, partitions=[FetchRequest.FetchPartition(partition=0, fetch_offset=offset,
                                                             partition_max_bytes=1 << 20)])])
    return fetch(ctx(b, 12), req)


def test_a_read_committed_long_poll_is_woken_by_the_marker(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        assert (await create(b, "lp", 1)).topics[0].error_code == 0
        assert codes(await produce(ctx(b, 9), txn_request("lp", [0]))) == [(0, 0)]
        parked = asyncio.create_task(committed_fetch(b, "lp", 0, max_wait_ms=600_000, min_bytes=1))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not parked.done()  # the transaction's data is above the last stable offset
        assert await markers(b, "lp", [0], commit=True) == [(0, 0)]
        resp = await asyncio.wait_for(parked, 10)
        p = resp.responses[0].partitions[0]
        assert (p.high_watermark, p.last_stable_offset, p.aborted_transactions) == (2, 2, [])
        assert p.records.length > 0

    run(tmp_path, body, **UNVERIFIED)


def test_list_offsets_read_committed_stops_at_the_last_stable_offset(tmp_path: Path) -> None:
    from kbroker.apis.list_offsets import list_offsets
    from wire.messages.list_offsets import ListOffsetsRequest as L

    async def offsets(b: Broker, isolation: int, timestamp: int) -> int:
        resp = await list_offsets(ctx(b, 7), L(replica_id=-1, isolation_level=isolation, topics=[L.ListOffsetsTopic(
            name="lo", partitions=[L.ListOffsetsPartition(partition_index=0, timestamp=timestamp)])]))
        return resp.topics[0].partitions[0].offset

    async def body(b: Broker) -> None:
        assert (await create(b, "lo", 1)).topics[0].error_code == 0
        assert codes(await produce(ctx(b, 9), txn_request("lo", [0]))) == [(0, 0)]  # timestamp 1
        assert [await offsets(b, 0, -1), await offsets(b, 1, -1)] == [1, 0]
        assert [await offsets(b, 0, 0), await offsets(b, 1, 0)] == [0, -1]  # the record is not stable yet
        assert await markers(b, "lo", [0], commit=True) == [(0, 0)]
        assert [await offsets(b, 1, -1), await offsets(b, 1, 0)] == [2, 0]

    run(tmp_path, body, **UNVERIFIED)


def test_describe_producers_reports_the_producer_state(tmp_path: Path) -> None:
    from kbroker.apis.describe_producers import describe_producers
    from wire.messages.describe_producers import DescribeProducersRequest as D

    async def described(b: Broker) -> list[tuple[int, int, list[tuple[int, int, int, int, int]]]]:
        resp = await describe_producers(ctx(b, 0), D(topics=[D.TopicRequest(name="dp", partition_indexes=[0, 3])]))
        return [(p.partition_index, p.error_code,
                 [(s.producer_id, s.producer_epoch, s.last_sequence, s.coordinator_epoch, s.current_txn_start_offset)
                  for s in p.active_producers]) for t in resp.topics for p in t.partitions]

    async def body(b: Broker) -> None:
        assert (await create(b, "dp", 1)).topics[0].error_code == 0
        assert codes(await produce(ctx(b, 9), txn_request("dp", [0]))) == [(0, 0)]
        assert await described(b) == [(0, 0, [(PID, EPOCH, 0, -1, 0)]),
                                      (3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, [])]
        assert await markers(b, "dp", [0], commit=True, coordinator_epoch=4) == [(0, 0)]
        assert await described(b) == [(0, 0, [(PID, EPOCH, 0, 4, -1)]),
                                      (3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, [])]

    run(tmp_path, body, **UNVERIFIED)
