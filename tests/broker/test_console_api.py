"""The web console's JSON API against a kbroker process: the console's aiohttp app runs in the test's
event loop (aiohttp's test server), its backend is kbroker.admin over kafka-python on the console's
thread pool. Errors come back as JSON with the status a user can act on; bytes come back in every
view; pages link to their neighbours; throughput comes from the broker's totals when given."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kbroker.console import add_routes
from tests.support.brokerproc import BrokerProcess
from tests.support.groups import confluent_conf, create_topic

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("console-api") / "data").start()
    yield b
    b.stop()


@dataclass
class Totals:
    """What the broker's traffic counters hand the console (kbroker.metrics' totals)."""

    messages_in: int
    bytes_in: int
    bytes_out: int


def run(bootstrap: str, scenario: Callable[[TestClient], Awaitable[None]], totals: Any = None) -> None:
    async def main() -> None:
        app = web.Application()
        add_routes(app, bootstrap=bootstrap, totals=totals)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


async def call(client: TestClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    r = await client.request(method, path, json=body)
    return r.status, await r.json()


def test_topic_lifecycle_and_errors(kb):
    async def scenario(c: TestClient) -> None:
        assert await call(c, "POST", "/api/topics", {"name": "t1", "partitions": 2,
                                                      "configs": "cleanup.policy=compact\nretention.ms=1000"}) \
            == (200, {"created": "t1"})
        status, body = await call(c, "POST", "/api/topics", {"name": "t1", "partitions": 2})
        assert status == 400 and "TOPIC_ALREADY_EXISTS" in body["error"].upper().replace(" ", "_"), body
        status, body = await call(c, "POST", "/api/topics", {"name": "t2", "configs": {"retention.ms": "soon"}})
        assert status == 400 and "retention.ms" in body["error"], body
        status, body = await call(c, "POST", "/api/topics", {"name": "t3", "configs": "novalue"})
        assert status == 400 and "name=value" in body["error"], body

        status, t = await call(c, "GET", "/api/topics/t1")
        assert status == 200
        assert [(p["partition"], p["leader"], p["isr"], p["earliest"], p["latest"]) for p in t["partitions"]] \
            == [(0, 1, [1], 0, 0), (1, 1, [1], 0, 0)]
        overridden = {x["name"]: x["value"] for x in t["configs"] if not x["default"]}
        assert overridden == {"cleanup.policy": "compact", "retention.ms": "1000"}
        assert "t1" in [x["name"] for x in (await call(c, "GET", "/api/topics"))[1]]

        assert (await call(c, "GET", "/api/topics/nope"))[0] == 404
        assert (await call(c, "GET", "/api/topics/nope/messages"))[0] == 404
        assert (await call(c, "POST", "/api/topics/nope/messages", {"value": "x"}))[0] == 404
        assert await call(c, "DELETE", "/api/topics/t1") == (200, {"deleted": "t1"})
        assert (await call(c, "GET", "/api/topics/t1"))[0] == 404

    run(kb.bootstrap, scenario)


def test_produce_every_encoding_and_read_every_view(kb):
    create_topic(kb.bootstrap, "enc", 1)

    async def scenario(c: TestClient) -> None:
        sent = [
            {"key": "00 ff 10", "key_encoding": "hex", "value": '{"a": [1, 2]}', "value_encoding": "json",
             "headers": [{"key": "bin", "value": "ff fe", "encoding": "hex"}, {"key": "txt", "value": "héllo"}]},
            {"key": "tomb", "value": "", "value_encoding": "null", "partition": 0},  # a tombstone
            {"key": "", "value": "plain text"},  # an empty text key is no key
        ]
        for i, m in enumerate(sent):
            status, body = await call(c, "POST", "/api/topics/enc/messages", m)
            assert status == 200, body
            assert (body["partition"], body["offset"]) == (0, i), body
        status, body = await call(c, "POST", "/api/topics/enc/messages", {"value": "zz", "value_encoding": "hex"})
        assert status == 400 and "hex" in body["error"]

        status, page = await call(c, "GET", "/api/topics/enc/messages?partition=0&offset=0&limit=10")
        assert status == 200
        r0, r1, r2 = page["records"]
        assert (r0["key"]["hex"], r0["key"]["text"], r0["key"]["auto"]) == ("00 ff 10", None, "hex")
        assert r0["value"]["text"] == '{"a":[1,2]}' and r0["value"]["auto"] == "json"
        assert [(h["key"], h["value"]["hex"], h["value"]["text"]) for h in r0["headers"]] == \
            [("bin", "ff fe", None), ("txt", "68 c3 a9 6c 6c 6f", "héllo")]
        assert r1["key"]["text"] == "tomb" and r1["value"]["null"] and r1["headers"] == []
        assert (r2["key"]["null"], r2["value"]["text"], r2["value"]["json"]) == (True, "plain text", None)
        assert r0["time"].endswith("Z") and r0["timestamp"] > 0

    run(kb.bootstrap, scenario)


def test_paging_and_reading_from_a_time(kb):
    from confluent_kafka import Producer

    create_topic(kb.bootstrap, "pages", 1)
    p = Producer({"bootstrap.servers": kb.bootstrap})
    base = int(time.time() * 1000) - 100_000
    for i in range(25):
        p.produce("pages", value=f"v{i}".encode(), partition=0, timestamp=base + i * 1000)
    assert p.flush(30) == 0

    async def scenario(c: TestClient) -> None:
        async def page(query: str) -> dict[str, Any]:
            status, body = await call(c, "GET", f"/api/topics/pages/messages?partition=0&{query}")
            assert status == 200, body
            return body

        first = await page("limit=10")
        assert [r["offset"] for r in first["records"]] == list(range(10))
        assert (first["prev"], first["next"], first["earliest"], first["latest"]) == (None, 10, 0, 25)
        second = await page(f"offset={first['next']}&limit=10")
        assert (second["prev"], second["next"]) == (0, 20)
        last = await page("offset=20&limit=10")
        assert [r["value"]["text"] for r in last["records"]] == [f"v{i}" for i in range(20, 25)]
        assert (last["prev"], last["next"]) == (10, None)
        at = await page(f"timestamp={base + 7000}&limit=2")
        assert [r["offset"] for r in at["records"]] == [7, 8] and at["offset"] == 7
        status, body = await call(c, "GET", "/api/topics/pages/messages?timestamp=yesterday")
        assert status == 400 and "not a time" in body["error"]
        status, body = await call(c, "GET", "/api/topics/pages/messages?partition=5")
        assert status == 404, body

    run(kb.bootstrap, scenario)


def test_group_lag_and_resets(kb):
    from confluent_kafka import Consumer, Producer, TopicPartition

    create_topic(kb.bootstrap, "lagged", 2)
    p = Producer({"bootstrap.servers": kb.bootstrap})
    for part in (0, 1):
        for i in range(4):
            p.produce("lagged", value=b"x", partition=part, timestamp=1_000_000 + i * 1000)
    assert p.flush(30) == 0
    c = Consumer(confluent_conf(kb.bootstrap, "g-api"))
    c.commit(offsets=[TopicPartition("lagged", 0, 1), TopicPartition("lagged", 1, 4)], asynchronous=False)
    c.close()

    async def scenario(cl: TestClient) -> None:
        status, groups = await call(cl, "GET", "/api/groups")
        assert status == 200
        assert [(g["state"], g["members"]) for g in groups if g["group_id"] == "g-api"] == [("Empty", 0)]
        status, g = await call(cl, "GET", "/api/groups/g-api")
        assert status == 200, g
        assert [(o["topic"], o["partition"], o["committed"], o["latest"], o["lag"]) for o in g["offsets"]] == \
            [("lagged", 0, 1, 4, 3), ("lagged", 1, 4, 4, 0)]
        status, r = await call(cl, "POST", "/api/groups/g-api/reset-offsets",
                               {"topic": "lagged", "to": "datetime", "datetime": "1970-01-01T00:16:42Z"})
        assert status == 200, r
        assert sorted((o["partition"], o["offset"]) for o in r["offsets"]) == [(0, 2), (1, 2)]
        status, r = await call(cl, "POST", "/api/groups/g-api/reset-offsets", {"to": "latest"})
        assert status == 200
        g = (await call(cl, "GET", "/api/groups/g-api"))[1]
        assert [o["lag"] for o in g["offsets"]] == [0, 0]
        assert (await call(cl, "POST", "/api/groups/g-api/reset-offsets", {"to": "sideways"}))[0] == 400

    run(kb.bootstrap, scenario)


def test_throughput_from_the_brokers_totals_or_from_end_offsets(kb):
    totals = Totals(messages_in=5, bytes_in=500, bytes_out=300)

    async def from_metrics(c: TestClient) -> None:
        status, t = await call(c, "GET", "/api/throughput")
        assert status == 200
        assert (t["source"], t["messages_in"], t["bytes_in"], t["bytes_out"]) == ("metrics", 5, 500, 300)

    run(kb.bootstrap, from_metrics, totals=lambda: totals)

    create_topic(kb.bootstrap, "counted", 1)

    async def from_offsets(c: TestClient) -> None:
        before = (await call(c, "GET", "/api/throughput"))[1]
        assert before["source"] == "offsets" and before["bytes_out"] is None
        assert (await call(c, "POST", "/api/topics/counted/messages", {"value": "abc"}))[0] == 200
        after = (await call(c, "GET", "/api/throughput"))[1]
        assert after["messages_in"] == before["messages_in"] + 1
        assert after["bytes_in"] > before["bytes_in"]

    run(kb.bootstrap, from_offsets)


def test_pages_and_static_files_are_served(kb):
    async def scenario(c: TestClient) -> None:
        for path in ("/", "/topics", "/topics/x", "/messages", "/produce", "/groups", "/groups/g"):
            r = await c.get(path)
            assert r.status == 200 and "<main id=\"main\">" in await r.text(), path
        for name in ("app.js", "charts.js", "style.css"):
            assert (await c.get(f"/static/{name}")).status == 200

    run(kb.bootstrap, scenario)
