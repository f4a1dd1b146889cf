"""DescribeTransactions (key 65), v0.

Behaviour: the state of each named transactional id this broker coordinates (state name, timeout,
start time, producer id and epoch, the partitions of the ongoing transaction);
NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for ids coordinated elsewhere or being loaded,
TRANSACTIONAL_ID_NOT_FOUND for unknown ones.
Not done: authorization (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from typing import Any

from kbroker.context import RequestContext
from kbroker.registry import handler
from kbroker.txn.state import NAMES
from wire.messages.describe_transactions import DescribeTransactionsRequest, DescribeTransactionsResponse

R = DescribeTransactionsResponse


def _state(ctx: RequestContext, tid: str) -> Any:
    code, m = ctx.services.transactions.describe(tid)
    if m is None:
        return R.TransactionState(error_code=code, transactional_id=tid, transaction_state="",
                                  transaction_timeout_ms=0, transaction_start_time_ms=-1, producer_id=-1,
                                  producer_epoch=-1, topics=[])
    topics: dict[str, list[int]] = {}
    for t, p in sorted(m.partitions):
        topics.setdefault(t, []).append(p)
    return R.TransactionState(error_code=0, transactional_id=tid, transaction_state=NAMES[m.state],
                              transaction_timeout_ms=m.timeout_ms, transaction_start_time_ms=m.start_ms,
                              producer_id=m.producer_id, producer_epoch=m.producer_epoch,
                              topics=[R.TopicData(topic=t, partitions=ps) for t, ps in topics.items()])


@handler(DescribeTransactionsRequest, versions=(0, 0))
async def describe_transactions(ctx: RequestContext, req: DescribeTransactionsRequest) -> DescribeTransactionsResponse:
    return R(throttle_time_ms=0, transaction_states=[_state(ctx, tid) for tid in req.transactional_ids])
