"""KIP-890 part 1, the partition leader's question to the coordinator: were these partitions added
to the producer's ongoing transaction?  (``kbroker.txn.ports.TxnVerifier``.)

When this broker coordinates the transactional id, the coordinator answers directly.  Otherwise,
in a cluster, AddPartitionsToTxn v4 with ``verify_only`` goes to the leader of the id's
``__transaction_state`` partition (``kbroker.cluster.peer.PeerPool``); an unreachable or unknown
coordinator answers COORDINATOR_NOT_AVAILABLE (the producer retries), as Kafka's
AddPartitionsToTxnManager does.  Single broker: this broker coordinates every id.

Not done: batching several producers' verifications into one request.
"""

from __future__ import annotations

import logging
from typing import Any

from kbroker.txn.codec import TXN_TOPIC
from kbroker.txn.ports import TopicPartition
from wire.errors import ErrorCode

log = logging.getLogger("kbroker.txn")
E = ErrorCode
VERIFY_TIMEOUT_S = 30.0


class CoordinatorVerifier:
    def __init__(self, coordinator: Any, cluster: Any = None) -> None:
        self._coordinator = coordinator
        self._cluster = cluster
        self._peers: Any = None
        if cluster is not None:
            from kbroker.cluster.peer import PeerPool

            self._peers = PeerPool(f"broker-{cluster.node_id}-txn-verify", VERIFY_TIMEOUT_S)

    async def verify(self, transactional_id: str, producer_id: int, producer_epoch: int,
                     partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        c = self._coordinator
        local = c.status(transactional_id)
        if local != E.NOT_COORDINATOR or self._cluster is None:
            if local:
                return {tp: local for tp in partitions}
            return dict(await c.verify(transactional_id, producer_id, producer_epoch, partitions))
        return await self._remote(transactional_id, producer_id, producer_epoch, partitions)

    async def _remote(self, tid: str, pid: int, epoch: int, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        # cluster only, so not loaded at start-up
        from kbroker.cluster.peer import PeerError
        from wire.messages.add_partitions_to_txn import AddPartitionsToTxnRequest

        unavailable = {tp: int(E.COORDINATOR_NOT_AVAILABLE) for tp in partitions}
        info = self._cluster.partition(TXN_TOPIC, self._coordinator.partition_of(tid))
        broker = self._cluster.metadata.brokers.get(info.leader) if info is not None else None
        if broker is None:
            return unavailable
        topics: dict[str, list[int]] = {}
        for t, p in partitions:
            topics.setdefault(t, []).append(p)
        req = AddPartitionsToTxnRequest(transactions=[AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction(
            transactional_id=tid, producer_id=pid, producer_epoch=epoch, verify_only=True,
            topics=[AddPartitionsToTxnRequest.AddPartitionsToTxnTopic(name=t, partitions=ps)
                    for t, ps in topics.items()])])
        try:
            resp = await self._peers.request(broker.broker_id, broker.host, broker.port, req, 4)
        except PeerError as e:
            log.info("verification with the coordinator of %s: %s", tid, e)
            return unavailable
        if resp.error_code:
            return {tp: int(resp.error_code) for tp in partitions}
        out = dict(unavailable)
        for r in resp.results_by_transaction:
            for t in r.topic_results:
                for p in t.results_by_partition:
                    out[(t.name, p.partition_index)] = p.partition_error_code
        return out

    def close(self) -> None:
        if self._peers is not None:
            self._peers.close()
