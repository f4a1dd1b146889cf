"""Issue 13, acceptance 2, short form: a Java consume-transform-produce app (kafka-clients 4.4.0,
read_committed input, sendOffsetsToTransaction) copies 3,000 records of topic A (6 partitions) to topic B
while it is SIGKILLed 10 times at random moments and the single broker twice; after it finishes, B's
committed records hold each record of A exactly once in per-partition order, read_committed readers saw no
aborted record, aborted duplicates are seen only at read_uncommitted, and the group's offsets are at A's
end (compat/txn/campaign.py, compat/txn/checker.py ``check_copy``). The longer run:
``python -m compat.txn eos --app-kills 50 --broker-kills 10 --records 20000`` (``--kafka`` for Apache Kafka).

Runs against kbroker; ``TXN_TARGET=kafka`` runs it against the reference Apache Kafka (tests/support/txn_target.py).
Needs java/javac and the kafka-clients jars; without them it skips, except under CI=true."""

from __future__ import annotations

import pytest

from compat.txn import campaign
from tests.support.txn_target import require_txn_java, start_target


@pytest.mark.timeout(900)
def test_copy_exactly_once_under_kills(tmp_path) -> None:
    require_txn_java(("4.4.0",))
    with start_target(tmp_path / "target") as target:
        report = campaign.run(target, tmp_path / "eos", app_kills=10, broker_kills=2, records=3000, timeout=600)
    assert report["app kills"] == 10 and len(report["broker kills"]) == 2, report
    assert report["input"] == 3000 and report["output committed"] == 3000, report
    assert report["violations"] == 0, report
    print(report)
