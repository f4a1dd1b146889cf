"""Kafka's own `kafka-transactions` tool (org.apache.kafka.tools.TransactionsCommand, from the reference
Kafka's jars) against kbroker: `list` (ListTransactions), `describe` (DescribeTransactions) and
`describe-producers` (DescribeProducers) and `find-hanging` show an open transaction of a real confluent-kafka producer, and
its completion after the commit."""

from __future__ import annotations

from pathlib import Path

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from compat import cli_compare
from tests.support.tools import require_kafka_jars

TOOL = "org.apache.kafka.tools.TransactionsCommand"


@pytest.fixture(scope="module")
def jars() -> Path:
    return require_kafka_jars()[1]


def transactions(jars: Path, bootstrap: str, *args: str) -> str:
    return cli_compare.run_tool(jars, bootstrap, cli_compare.Step("kafka-transactions", TOOL, list(args)))


def _row(out: str, needle: str) -> list[str]:
    """The whitespace-separated cells of the output line holding ``needle``."""
    for line in out.splitlines():
        if needle in line.split():
            return line.split()
    raise AssertionError(f"no line with {needle!r} in:\n{out}")


def test_list_describe_and_describe_producers(broker, jars: Path) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("tx-cli", 1, 1)])["tx-cli"].result(30)
    p = ck.Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "open-tx"})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(3):
        p.produce("tx-cli", f"v{i}".encode())
    assert p.flush(30) == 0

    out = transactions(jars, broker.bootstrap, "list")
    assert out.endswith("(exit 0)"), out
    assert "Ongoing" in _row(out, "open-tx"), out

    out = transactions(jars, broker.bootstrap, "describe", "--transactional-id", "open-tx")
    assert out.endswith("(exit 0)"), out
    row = _row(out, "Ongoing")
    assert "tx-cli-0" in row, out  # the partitions of the transaction

    out = transactions(jars, broker.bootstrap, "describe-producers", "--topic", "tx-cli", "--partition", "0")
    assert out.endswith("(exit 0)"), out
    header = out.splitlines()[0].split()
    assert "CurrentTransactionStartOffset" in header, out
    [line] = [ln.split() for ln in out.splitlines()[1:] if ln.strip() and not ln.startswith("(exit")]
    assert line[header.index("CurrentTransactionStartOffset")] == "0", out

    p.commit_transaction(30)
    out = transactions(jars, broker.bootstrap, "describe", "--transactional-id", "open-tx")
    assert "CompleteCommit" in out and "tx-cli-0" not in out, out
    out = transactions(jars, broker.bootstrap, "describe-producers", "--topic", "tx-cli", "--partition", "0")
    header = out.splitlines()[0].split()
    [line] = [ln.split() for ln in out.splitlines()[1:] if ln.strip() and not ln.startswith("(exit")]
    assert line[header.index("CurrentTransactionStartOffset")] == "None", out

    # nothing hangs: the open transaction above was known to its coordinator and is committed now
    out = transactions(jars, broker.bootstrap, "find-hanging", "--topic", "tx-cli")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Topic", "Partition", "ProducerId"] and lines[1:] == ["(exit 0)"], out
