"""The feature levels kbroker reports (ApiVersions v3+), as a single Apache Kafka 4.1.1 node
does: what this release supports, and what is finalized (in effect) cluster-wide.

Kafka finalizes these through its metadata log (``kafka-features upgrade``); a new 4.1.1
cluster starts at the release's defaults, which is what kbroker reports.  ``metadata.version``
27 is ``4.1-IV1``.  ``share.version`` and ``kraft.version`` are supported but not finalized
on a fresh node (share groups are off; the level-0 ``kraft.version`` is not listed), so they
are left out of the finalized list, as Kafka leaves them.

``transaction.version`` differs from a fresh 4.1.1 node on purpose: kbroker implements the
classic transaction protocol (AddPartitionsToTxn before producing, EndTxn without the epoch bump),
not KIP-890 part 2, so it finalizes level 0 — which, as Kafka does for a level-0 feature, is not
listed — and Java 4.x clients then use the classic protocol.  It still supports levels 0-2 (what
the release supports), as Kafka 4.1.1 does when the level is downgraded to 0.

The finalized epoch is the version of this set (Kafka uses the offset of the metadata record
that last changed it); it changes only if the set does.
"""

from __future__ import annotations

# name -> (min, max) levels this release supports
SUPPORTED: dict[str, tuple[int, int]] = {
    "eligible.leader.replicas.version": (0, 1),
    "group.version": (0, 1),
    "kraft.version": (0, 1),
    "metadata.version": (7, 27),
    "share.version": (0, 1),
    "transaction.version": (0, 2),
}

# name -> level in effect (a fresh Kafka 4.1.1 node's defaults)
FINALIZED: dict[str, int] = {
    "metadata.version": 27,
    "eligible.leader.replicas.version": 1,
    "group.version": 1,
}  # transaction.version: 0 (see above)

FINALIZED_EPOCH = 1

METADATA_VERSION_NAMES = {27: "4.1-IV1", 7: "3.3-IV3"}
