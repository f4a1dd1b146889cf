"""A produced batch's header is parsed once on its way to disk (the validator's parse is the one the
log uses), whatever the topic: plain, LogAppendTime, compacted; a recompressed batch is a new batch
whose header is read once too."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbroker.broker import Broker
from tests.support.inproc import create, produce_one, run
from wire import records

RECORDS = [(b"k1", b"v1", None, 1), (b"k2", b"v2", None, 2)]


@pytest.mark.parametrize(("configs", "parses"), [
    ({}, 1),
    ({"message.timestamp.type": "LogAppendTime"}, 1),
    ({"cleanup.policy": "compact"}, 1),
    ({"compression.type": "gzip"}, 2),  # the produced batch, then the one the broker wrote in gzip
])
def test_each_batch_header_is_parsed_once(tmp_path: Path, monkeypatch, configs, parses) -> None:  # type: ignore[no-untyped-def]
    counted = []
    original = records.BatchHeader.__init__

    def counting(self, buf, pos=0):  # type: ignore[no-untyped-def]
        counted.append(pos)
        original(self, buf, pos)

    async def body(b: Broker) -> None:
        assert (await create(b, "t", 1, configs)).topics[0].error_code == 0
        monkeypatch.setattr(records.BatchHeader, "__init__", counting)
        out = await produce_one(b, "t", 0, RECORDS)
        monkeypatch.setattr(records.BatchHeader, "__init__", original)
        assert out is not None and out.responses[0].partition_responses[0].error_code == 0
        assert len(counted) == parses, counted
        assert b.topics.partition("t", 0).high_watermark == 2  # type: ignore[union-attr]

    run(tmp_path, body)
