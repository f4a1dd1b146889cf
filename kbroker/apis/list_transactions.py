"""ListTransactions (key 66), v0-2.

Behaviour: the transactional ids this broker coordinates (of the ``__transaction_state``
partitions it leads), filtered by state names (unknown names are answered in
``unknown_state_filters`` and match nothing), by producer ids, from v1 by duration (running at
least that many ms: now - start time, as Kafka computes it), from v2 by a regular expression on the
id (whole match; an invalid one answers INVALID_REQUEST).  COORDINATOR_LOAD_IN_PROGRESS while a partition is being loaded.
Version notes: v0 flexible · v1 duration_filter · v2 transactional_id_pattern.
Not done: authorization (ids the client may not describe are not hidden).
"""

from __future__ import annotations

import re

from kbroker.clock import now_ms
from kbroker.context import RequestContext
from kbroker.registry import handler
from kbroker.txn.state import BY_NAME, NAMES
from wire.errors import ErrorCode
from wire.messages.list_transactions import ListTransactionsRequest, ListTransactionsResponse

R = ListTransactionsResponse


@handler(ListTransactionsRequest, versions=(0, 2))
async def list_transactions(ctx: RequestContext, req: ListTransactionsRequest) -> ListTransactionsResponse:
    unknown = [s for s in req.state_filters if s not in BY_NAME]
    states = {BY_NAME[s] for s in req.state_filters if s in BY_NAME}
    pids = set(req.producer_id_filters)
    duration = req.duration_filter if ctx.api_version >= 1 else -1
    pattern = None
    if ctx.api_version >= 2 and req.transactional_id_pattern:
        try:
            pattern = re.compile(req.transactional_id_pattern)
        except re.error:
            return R(throttle_time_ms=0, error_code=ErrorCode.INVALID_REQUEST,
                     unknown_state_filters=unknown, transaction_states=[])
    code, txns = ctx.services.transactions.listing()
    now = now_ms()
    out = []
    if not code and not (unknown and not states):
        for m in sorted(txns, key=lambda m: m.transactional_id):
            if states and m.state not in states:
                continue
            if pids and m.producer_id not in pids:
                continue
            if duration >= 0 and now - m.start_ms < duration:
                continue
            if pattern is not None and not pattern.fullmatch(m.transactional_id):
                continue
            out.append(R.TransactionState(transactional_id=m.transactional_id, producer_id=m.producer_id,
                                          transaction_state=NAMES[m.state]))
    return R(throttle_time_ms=0, error_code=code, unknown_state_filters=unknown, transaction_states=out)
