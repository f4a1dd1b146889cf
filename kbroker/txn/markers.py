"""Sending a transaction's commit/abort markers (Kafka's TransactionMarkerChannelManager).

The partitions of an ending transaction are grouped by their leader: those this broker leads go to
the local ``MarkerWriter`` (``kbroker.txn_markers``); the others, in a cluster, in one
WriteTxnMarkers (API 27, v1) request to each leader (``kbroker.cluster.peer.PeerPool``).  Each
partition is retried until its leader answers NONE: on NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS
(_AFTER_APPEND), REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR, a partition with no leader and a broker
that cannot be reached, with a backoff from 50 ms doubling to 1 s.  A partition whose topic no
longer exists is dropped (UNKNOWN_TOPIC_OR_PARTITION, or gone from the metadata).
INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED (the partition has a newer producer
epoch or coordinator: this transaction was ended there already) also drop the partition — Kafka
stops sending the transaction's markers then and leaves it in Prepare*, which blocks the id until
the coordinator moves; dropping lets it complete.

Not done: batching the markers of several transactions into one request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kbroker.topics import TopicService
from kbroker.txn.ports import MarkerWriter, TopicPartition, TxnMarker
from kbroker.txn.state import TxnMeta, TxnState
from wire.errors import ErrorCode

log = logging.getLogger("kbroker.txn")
E = ErrorCode
MARKER_TIMEOUT_MS = 30000  # request.timeout.ms of Kafka's marker channel
DROP = {E.UNKNOWN_TOPIC_OR_PARTITION, E.INVALID_PRODUCER_EPOCH, E.TRANSACTION_COORDINATOR_FENCED}
UNREACHABLE = int(E.REQUEST_TIMED_OUT)


class MarkerSender:
    def __init__(self, topics: TopicService, writer: MarkerWriter | None, cluster: Any = None) -> None:
        self._topics = topics
        self._writer = writer
        self._cluster = cluster
        self._peers: Any = None
        if cluster is not None:
            from kbroker.cluster.peer import PeerPool

            self._peers = PeerPool(f"broker-{cluster.node_id}-txn-markers", MARKER_TIMEOUT_MS / 1000)

    async def close(self) -> None:
        if self._peers is not None:
            self._peers.close()

    def _exists(self, topic: str) -> bool:
        if self._cluster is not None:
            return bool(self._cluster.has_topic(topic))
        return self._topics.get(topic) is not None

    def _leader(self, tp: TopicPartition) -> int:
        if self._cluster is None:
            return -2  # this broker
        info = self._cluster.partition(*tp)
        if info is None or info.leader < 0:
            return -1
        return -2 if info.leader == self._cluster.node_id else int(info.leader)

    async def send(self, m: TxnMeta, coordinator_epoch: int, current: Callable[[], bool]) -> bool:
        """True once every partition has its marker; False when ``current()`` turns false first."""
        commit = m.state == TxnState.PREPARE_COMMIT
        pending = set(m.partitions)
        delay = 0.05
        while pending:
            if not current():
                return False
            pending = {tp for tp in pending if self._exists(tp[0])}
            by_leader: dict[int, list[TopicPartition]] = {}
            for tp in sorted(pending):
                by_leader.setdefault(self._leader(tp), []).append(tp)
            jobs = []
            for leader, tps in by_leader.items():
                if leader == -1:
                    continue  # no leader now: retried
                marker = TxnMarker(m.producer_id, m.producer_epoch, commit, coordinator_epoch, tuple(tps))
                jobs.append(self._local(marker) if leader == -2 else self._remote(leader, marker))
            for result in await asyncio.gather(*jobs):
                for tp, code in result.items():
                    if code == E.NONE or code in DROP:
                        if code:
                            log.warning("%s: marker for %s-%d dropped: error %d", m.transactional_id, tp[0], tp[1], code)
                        pending.discard(tp)
            if pending:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        return True

    async def _local(self, marker: TxnMarker) -> dict[TopicPartition, int]:
        if self._writer is None:
            return {tp: E.NOT_LEADER_OR_FOLLOWER for tp in marker.partitions}
        try:
            return await self._writer.write(marker, MARKER_TIMEOUT_MS)
        except Exception:
            log.exception("writing markers locally failed")
            return {tp: E.KAFKA_STORAGE_ERROR for tp in marker.partitions}

    async def _remote(self, broker_id: int, marker: TxnMarker) -> dict[TopicPartition, int]:
        # cluster only, so not loaded at start-up
        from kbroker.cluster.peer import PeerError
        from wire.messages.write_txn_markers import WriteTxnMarkersRequest

        info = self._cluster.metadata.brokers.get(broker_id)
        if info is None:
            return {tp: UNREACHABLE for tp in marker.partitions}
        topics: dict[str, list[int]] = {}
        for t, p in marker.partitions:
            topics.setdefault(t, []).append(p)
        req = WriteTxnMarkersRequest(markers=[WriteTxnMarkersRequest.WritableTxnMarker(
            producer_id=marker.producer_id, producer_epoch=marker.producer_epoch, transaction_result=marker.commit,
            topics=[WriteTxnMarkersRequest.WritableTxnMarkerTopic(name=t, partition_indexes=ps)
                    for t, ps in topics.items()],
            coordinator_epoch=marker.coordinator_epoch)])
        try:
            resp = await self._peers.request(broker_id, info.host, info.port, req, 1)
        except PeerError as e:
            log.info("markers to broker %d: %s", broker_id, e)
            return {tp: UNREACHABLE for tp in marker.partitions}
        out: dict[TopicPartition, int] = {tp: UNREACHABLE for tp in marker.partitions}
        for r in resp.markers:
            for t in r.topics:
                for p in t.partitions:
                    out[(t.name, p.partition_index)] = p.error_code
        return out
