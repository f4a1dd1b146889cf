"""Issue 13, acceptance 6: the exactly-once copy of test_txn_eos.py on 3 brokers, topics with RF 3 and
min.insync.replicas=2, while the app is SIGKILLed 10 times and brokers 3 times — alternately the broker of
the app's transaction coordinator and the leader of a partition of B or A, each restarted and the ISRs
full again before the next kill (compat/txn/campaign.py), each kill once the app's current run has
committed a transaction; the report counts the app kills that landed inside one. The same checks: each record of A exactly once
in B's committed records, in order, no aborted read. The longer run:
``python -m compat.txn --brokers 3 eos --app-kills 30 --broker-kills 10 --records 10000``.

Runs against a kbroker cluster (compat/cluster/launcher.py, with ZooKeeper); ``TXN_TARGET=kafka`` runs it
against a 3-node Apache Kafka (compat/cluster/kafka.py). Needs java/javac and the kafka-clients jars (and
ZooKeeper for kbroker's cluster); without them it skips, except under CI=true."""

from __future__ import annotations

import pytest

from compat.txn import campaign
from tests.support.txn_target import require_txn_java, start_target


@pytest.mark.timeout(1200)
def test_cluster_copy_exactly_once_under_kills(tmp_path) -> None:
    require_txn_java(("4.4.0",))
    with start_target(tmp_path / "target", brokers=3) as target:
        report = campaign.run(target, tmp_path / "eos", app_kills=10, broker_kills=3, records=3000, timeout=900)
    assert report["app kills"] == 10 and len(report["broker kills"]) == 3, report
    # every kill came once the app's current run had committed a transaction, so kills land in the copy loop
    assert report["kills before the run's first commit"] == 0, report
    assert report["app kills mid-transaction"] > 0, report
    assert report["input"] == 3000 and report["output committed"] == 3000, report
    assert report["violations"] == 0, report
    print(report)
