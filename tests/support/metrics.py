"""Helpers for the metrics tests: find a broker's HTTP port in its log, scrape ``/metrics`` and parse it
with prometheus-client's text parser, and list the TCP ports a process listens on."""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from tests.support.waiting import WAIT

_HTTP_LINE = re.compile(r"kbroker http on [^\s]+:(\d+) ")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def http_port(log_path: Path, timeout: float = WAIT) -> int:
    """The port the broker logged for its HTTP listener (``http.listeners`` with port 0)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = _HTTP_LINE.search(Path(log_path).read_text(errors="replace"))
        except OSError:
            found = None
        if found:
            return int(found.group(1))
        if time.monotonic() > deadline:
            raise AssertionError(f"no 'kbroker http on' line in {log_path} after {timeout}s")
        time.sleep(0.05)


def scrape_text(port: int, timeout: float = 10) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as resp:
        return resp.read().decode()


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by (sample name, sorted labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name, tuple(sorted(s.labels.items()))] = s.value
    return out


def scrape(port: int) -> Samples:
    return parse(scrape_text(port))


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def select(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples named ``name``, by their labels."""
    return {labels: v for (n, labels), v in samples.items() if n == name}


def listening_ports(pid: int) -> set[int]:
    """The TCP ports (IPv4 and IPv6) process ``pid`` holds a listening socket on, read from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in _tables(pid):
        for line in table[1:]:
            cols = line.split()
            if len(cols) > 9 and cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def _tables(pid: int) -> Iterable[list[str]]:
    for name in ("tcp", "tcp6"):
        try:
            yield Path(f"/proc/{pid}/net/{name}").read_text().splitlines()
        except OSError:
            continue
