"""The web console in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium through /usr/bin/chromedriver, so nothing is downloaded): served by a kbroker process at
``/`` on its HTTP listener (``http.listeners``, next to ``/metrics``), the browser creates a topic and produces a message through the console's forms, finds the topic in the
list and the message (key, value, header) in the message browser; a confluent-kafka consumer group
that committed part of a topic shows its lag per partition, and a reset through the console moves it;
a topic is deleted from its page.
Screenshots of every page go to docs/screenshots/ (or $KBROKER_SCREENSHOTS).

Skipped without Chromium or its driver, except under CI=true (scripts/install-deps.sh installs them).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.brokerproc import BrokerProcess
from tests.support.console import BrokerConsole
from tests.support.metrics import http_port
from tests.support.tools import IN_CI
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(240)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("KBROKER_SCREENSHOTS") or ROOT / "docs" / "screenshots")
WAIT = 30.0


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = f"the console's browser test needs {', '.join(missing)} (scripts/install-deps.sh)"
        if IN_CI:
            pytest.fail(f"{reason}; required under CI=true")
        pytest.skip(reason)


@pytest.fixture
def broker(tmp_path):
    """A broker serving the console on an HTTP listener of a free port."""
    b = BrokerProcess(tmp_path / "data", overrides={"http.listeners": "http://127.0.0.1:0"}).start()
    yield b
    b.stop()


@pytest.fixture
def console(broker):
    return BrokerConsole(http_port(broker.log_path))


@pytest.fixture
def browser(tmp_path):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1360,900", "--force-device-scale-factor=1", "--no-first-run",
                f"--user-data-dir={tmp_path / 'chromium-profile'}", "--disable-background-networking"):
        options.add_argument(arg)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


class Page:
    """The browser on the console: open a page, wait for it, find, fill, screenshot."""

    def __init__(self, driver, url: str):
        self.d = driver
        self.url = url.rstrip("/")

    def open(self, path: str) -> None:
        self.d.get(self.url + path)
        self.ready(path.split("?")[0])

    def ready(self, path: str) -> None:
        wait_for(lambda: self.d.execute_script("return document.getElementById('main').dataset.ready") == path,
                 timeout=WAIT, what=f"the console page {path}")

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return wait_for(lambda: (self.d.find_elements(By.CSS_SELECTOR, css) or [None])[0], timeout=WAIT,
                        what=f"an element {css}")

    def all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.d.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css: str, text: str) -> None:
        e = self.find(css)
        e.clear()
        e.send_keys(text)

    def choose(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(value)

    def text_of(self, css: str, expected: str) -> str:
        """The text of ``css`` once it contains ``expected`` (pages draw after their API calls)."""
        def has() -> str | None:
            found = [e.text for e in self.all(css)]
            return next((t for t in found if expected in t), None)
        return wait_for(has, timeout=WAIT, what=f"{expected!r} in {css}")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.d.save_screenshot(str(SHOTS / f"{name}.png"))


def _committed_group(bootstrap: str, topic: str, group: str) -> object:
    """A confluent-kafka consumer in ``group``, subscribed to ``topic`` (2 partitions, 5 records each),
    that has committed offset 3 on partition 0 and 1 on partition 1, and stays a member."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    p = Producer({"bootstrap.servers": bootstrap})
    for part in (0, 1):
        for i in range(5):
            p.produce(topic, key=f"user-{i}".encode(), value=json.dumps({"event": "click", "n": i}).encode(),
                      partition=part)
    assert p.flush(WAIT) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "client.id": "billing-worker"})
    c.subscribe([topic])
    seen: set[tuple[int, int]] = set()

    def step() -> None:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            seen.add((m.partition(), m.offset()))

    wait_for(lambda: len(seen) == 10, step=step, timeout=WAIT, what="the group's consumer to read all records")
    c.commit(offsets=[TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 1)], asynchronous=False)
    return c


def test_console_in_chromium(broker, console, browser):
    page = Page(browser, console.url)

    # create a topic through the console's form; it shows in the topic list
    page.open("/topics")
    page.fill("#topic-name", "orders")
    page.fill("#topic-partitions", "3")
    page.fill("#topic-configs", "retention.ms=604800000")
    page.find("#create-topic").click()
    row = page.text_of("#topics-table tbody tr", "orders")
    assert row.split()[:2] == ["orders", "3"], row

    # produce a message with a key and a header to partition 1
    page.open("/produce?topic=orders")
    page.fill("#produce-partition", "1")
    page.fill("#produce-key", "order-42")
    page.fill("#produce-value", '{"item": "book", "qty": 2}')
    page.choose("#produce-value-encoding", "json")
    page.fill("#headers .h-key", "source")
    page.fill("#headers .h-value", "console")
    page.find("#produce").click()
    assert "Produced to orders partition 1 at offset 0" in page.text_of("#produce-result", "Produced")
    page.shot("produce")

    # the message browser shows it: key as text, value as JSON, the header
    page.open("/messages?topic=orders&partition=1")
    record = page.find("#messages-table tr.record")
    assert record.get_attribute("data-offset") == "0"
    assert page.find("tr.record td.key").text == "order-42"
    assert json.loads(page.find("tr.record td.value").text) == {"item": "book", "qty": 2}
    assert page.find("tr.record td.headers").text.replace("\n", " ") == "source: console"
    page.shot("messages")
    page.choose("#browse-view", "hex")
    page.find("#browse").click()
    assert page.text_of("tr.record td.key", "6f 72 64").startswith("6f 72 64 65 72 2d 34 32")

    # the topic's page: partitions with offsets, leader and ISR, its configs
    page.open("/topics/orders")
    assert page.text_of("#partitions-table tbody tr:nth-child(2)", "1").split()[:6] == ["1", "1", "1", "1", "0", "1"]
    page.text_of("table", "retention.ms")
    page.shot("topic")

    # a consumer group with committed offsets: lag per partition
    events = "events"
    status, body = console.api("POST", "/api/topics", {"name": events, "partitions": 2})
    assert status == 200, body
    consumer = _committed_group(broker.bootstrap, events, "billing")
    try:
        page.open("/groups")
        page.text_of("#groups-table", "billing")
        page.open("/groups/billing")
        lag = {r.get_attribute("data-partition"): r.find_element("css selector", "td.lag").text
               for r in page.all("#lag-table tr.lag-row")}
        assert lag == {"0": "2", "1": "4"}, lag
        assert page.find("#total-lag").text == "6"
        page.text_of("#main", "billing-worker")  # the member and its assignment
        page.shot("group")
    finally:
        consumer.close()  # leaves the group: its offsets may now be reset

    # reset the group's offsets to the earliest through the console: lag becomes the whole topic
    def empty() -> bool:
        page.open("/groups/billing")
        return page.find("#group-state").text == "Empty"

    wait_for(empty, timeout=WAIT, interval=0.5, what="the group to be empty once its consumer left")
    page.choose("#reset-to", "earliest")
    page.find("#reset-offsets").click()
    wait_for(lambda: page.find("#total-lag").text == "10", timeout=WAIT, what="the lag after a reset to earliest")

    page.open("/topics")
    assert [r.get_attribute("data-topic") for r in page.all("#topics-table tbody tr")] == ["events", "orders"]
    page.shot("topics")

    # the overview with live throughput while a producer runs
    stop = threading.Event()
    traffic = threading.Thread(target=_traffic, args=(broker.bootstrap, events, stop), daemon=True)
    traffic.start()
    try:
        page.open("/")
        assert page.find("#topics-count").text == "2"
        assert page.find("#partitions-count").text == "5"
        page.text_of("#throughput-source", "broker's metrics")  # the broker serves its own counters
        time.sleep(9)  # a few 2 s samples so the charts have lines to draw (a picture, not an assert)
        page.shot("overview")
    finally:
        stop.set()
        traffic.join(WAIT)

    # delete a topic from its page (the browser's confirm dialog accepted); the list no longer has it
    page.open("/topics/orders")
    page.find("#delete-topic").click()
    wait_for(lambda: _alert(browser), timeout=WAIT, what="the delete confirmation").accept()
    page.ready("/topics")
    wait_for(lambda: [r.get_attribute("data-topic") for r in page.all("#topics-table tbody tr")] == ["events"],
             timeout=WAIT, what="the deleted topic to leave the list")


def _alert(driver):
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return driver.switch_to.alert
    except NoAlertPresentException:
        return None


def _traffic(bootstrap: str, topic: str, stop: threading.Event) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    i = 0
    while not stop.is_set():
        for _ in range(200):
            p.produce(topic, value=b"x" * 200, key=str(i).encode())
            i += 1
        p.poll(0)
        stop.wait(0.1)
    p.flush(WAIT)

