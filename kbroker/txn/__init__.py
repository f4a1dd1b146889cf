"""Transactions (exactly-once): the transaction coordinator and what partition leaders do for it.

- ``kbroker.txn.ports``: the small interfaces between the coordinator, the partition leaders
  (markers, KIP-890 verification) and the handlers.
- The coordinator of a ``transactional.id`` is the leader of its ``__transaction_state`` partition.
"""
