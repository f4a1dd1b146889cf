"""ListOffsets on a replica that has just become leader: until its high watermark reaches the
offset its epoch began at, a consumer's `latest` (and a timestamp whose record is past the high
watermark) is OFFSET_NOT_AVAILABLE, as Kafka answers (KIP-207), not the lagging high watermark; a
timestamp whose record is not committed yet is offset -1; a follower still gets the log end.

The partition is a real replicated one over a real log in an in-process broker, moved through the
follower -> leader transition a controller drives; the follower that completes the high watermark is
its fetch position, as the leader's Fetch handler reports it."""

from __future__ import annotations

import uuid
from pathlib import Path

from kbroker.apis.list_offsets import list_offsets
from kbroker.broker import Broker
from tests.support.inproc import ctx, run
from wire.errors import ErrorCode
from wire.messages.list_offsets import ListOffsetsRequest
from wire.records import build_batch

R = ListOffsetsRequest


async def _ask(b: Broker, timestamp: int, replica_id: int = -1) -> tuple[int, int]:
    resp = await list_offsets(ctx(b, 7), R(replica_id=replica_id, topics=[R.ListOffsetsTopic(
        name="t", partitions=[R.ListOffsetsPartition(partition_index=0, timestamp=timestamp)])]))
    [p] = resp.topics[0].partitions
    return p.error_code, p.offset


def test_a_new_leader_behind_its_epoch_start_answers_offset_not_available(tmp_path: Path) -> None:
    async def body(b: Broker) -> None:
        [part] = b.topics.ensure_replicas("t", uuid.uuid4(), 1, {0}, {})
        me = part.node_id
        old, other = me + 1, me + 2
        # a follower of `old` at epoch 0 holding offsets 0-2, told a high watermark of 1 so far
        part.become_follower(old, 0, (old, me, other), (old, me, other), 1, 1)
        data = b"".join(bytes(build_batch([(None, b"v%d" % i, None, 1000 + i)], base_offset=i,
                                          partition_leader_epoch=0)) for i in range(3))
        assert part.append_from_leader(memoryview(data), leader_hw=1, leader_log_start=0) == 3
        # `old` dies; this replica leads epoch 1 from offset 3, `other` still in the ISR
        part.become_leader(1, (me, other), (old, me, other), 2, 1, now=0)
        assert (part.high_watermark, part.log_end_offset) == (1, 3)

        N = ErrorCode.OFFSET_NOT_AVAILABLE
        assert (await _ask(b, -1))[0] == N  # latest: the old leader may have committed up to 3
        assert (await _ask(b, 1002))[0] == N  # offset 2, past the high watermark
        assert await _ask(b, 1000) == (0, 0)  # below it: known
        assert await _ask(b, -2) == (0, 0)  # earliest
        assert await _ask(b, -1, replica_id=other) == (0, 3)  # a follower reads to the log end

        # `other` fetches from offset 3: it has everything, the high watermark reaches the epoch start
        assert part.follower_fetched(other, 3, now=1) == 0
        assert part.high_watermark == 3
        assert await _ask(b, -1) == (0, 3)
        assert await _ask(b, 1002) == (0, 2)

        # a record only the leader has (acks=1): not committed, so not found by its timestamp yet
        await part.append(memoryview(bytearray(build_batch([(None, b"v3", None, 5000)]))), 9, acks=1)
        assert (part.high_watermark, part.log_end_offset) == (3, 4)
        assert await _ask(b, -1) == (0, 3)
        assert await _ask(b, 5000) == (0, -1)
        assert part.follower_fetched(other, 4, now=2) == 0
        assert await _ask(b, 5000) == (0, 3)

    run(tmp_path, body)
