"""Issue 13, acceptance 3: an unmodified Kafka Streams word count (compat/streams: groupBy + count,
so a repartition topic and a state store with its changelog) gives exact counts under
processing.guarantee=exactly_once_v2 across a SIGKILL of the application and a SIGKILL + restart of
the broker; under at_least_once the counts are never short after the same kills, and exact without.

The tests run on kbroker; ``TXN_TARGET=kafka`` runs the same on the reference Apache Kafka (the
scenario's own proof, as for the other transaction tests). The checker is compat/streams/scenario.py (the output
read read_committed after the application was closed).
"""

from __future__ import annotations

import shutil

import pytest

from compat.streams import brokers, java, scenario
from tests.support.tools import IN_CI, require_kafka_jars, require_tool
from tests.support.txn_target import TARGET


def require_streams() -> None:
    require_tool("java")
    require_tool("javac")
    try:
        java.streams_classpath()
    except java.JavaUnavailable as e:
        if IN_CI:
            pytest.fail(f"the Streams application must build under CI=true: {e}")
        pytest.skip(str(e))


@pytest.fixture(scope="module", params=[TARGET])
def target(request, tmp_path_factory):
    require_streams()
    if request.param == "kafka":
        require_kafka_jars()
    work = tmp_path_factory.mktemp(f"streams-{request.param}")
    b = brokers.start(request.param, work)
    yield b
    b.stop()
    shutil.rmtree(work, ignore_errors=True)


def run(target, guarantee: str, kills: bool, tmp_path) -> scenario.Result:
    r = scenario.run(target, guarantee, kills=kills, workdir=tmp_path, lines_per_phase=2000)
    print(r.summary())
    return r


def test_exactly_once_survives_application_and_broker_kills(target, tmp_path) -> None:
    r = run(target, "exactly_once_v2", True, tmp_path)
    assert r.problems() == [], r.summary()
    assert r.final == r.expected


def test_at_least_once_after_kills_never_short(target, tmp_path) -> None:
    r = run(target, "at_least_once", True, tmp_path)
    assert r.problems() == [], r.summary()
    assert all(r.final[w] >= n for w, n in r.expected.items())


def test_at_least_once_without_kills_exact(target, tmp_path) -> None:
    r = run(target, "at_least_once", False, tmp_path)
    assert r.problems() == [], r.summary()
    assert r.final == r.expected
