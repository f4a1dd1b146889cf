"""kbroker advertises, for every API it serves, exactly the range one Apache Kafka release
advertises (wire.messages.KAFKA_RELEASE), and that release's feature levels.

Two references: the definitions the message classes are generated from
(wire.messages.BROKER_VERSIONS, from Kafka's own JSON files), and what the reference Kafka
broker of that release really answered (tests/golden/kafka-<release>-api-versions.json,
captured by `python -m compat.capture_apiversions`)."""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest

import kbroker.apis
from kbroker import features
from kbroker.registry import HANDLERS, supported_versions
from tests.support import ROOT
from tests.support.rawclient import RawClient
from wire.errors import ErrorCode
from wire.messages import BROKER_VERSIONS, KAFKA_RELEASE
from wire.messages.api_versions import ApiVersionsRequest

GOLDEN = ROOT / "tests" / "golden" / f"kafka-{KAFKA_RELEASE}-api-versions.json"


def _load_handlers() -> None:
    for m in pkgutil.iter_modules(kbroker.apis.__path__):
        importlib.import_module(f"kbroker.apis.{m.name}")


def reference() -> dict:
    return json.loads(GOLDEN.read_text())


def test_every_served_api_has_the_release_range():
    _load_handlers()
    wrong = {k: ((lo, hi), BROKER_VERSIONS.get(k)) for k, lo, hi in supported_versions()
             if BROKER_VERSIONS.get(k) != (lo, hi)}
    assert wrong == {}, "served range != Kafka's range: {key: (ours, Kafka's)}"


def test_the_release_ranges_are_what_the_real_broker_advertised():
    real = {k: (lo, hi) for k, lo, hi in reference()["api_keys"]}
    _load_handlers()
    for key in HANDLERS:
        assert real.get(key) == BROKER_VERSIONS[key], key


def test_feature_levels_are_the_release_ones():
    ref = reference()
    assert {n: (lo, hi) for n, lo, hi in ref["supported_features"]} == features.SUPPORTED
    finalized = {n: hi for n, lo, hi in ref["finalized_features"] if lo == hi}
    # kbroker implements the classic transaction protocol: transaction.version finalized at 0
    # (not listed, as Kafka lists no level-0 feature) instead of the release's default 2
    assert finalized.pop("transaction.version") == 2
    assert "transaction.version" not in features.FINALIZED
    assert finalized == features.FINALIZED


@pytest.mark.parametrize("version", range(0, 5))
def test_api_versions_answer(shared_broker, version):
    with RawClient.connect(shared_broker.bootstrap) as c:
        r = c.api_versions(version)
    assert r.error_code == 0
    got = {a.api_key: (a.min_version, a.max_version) for a in r.api_keys}
    assert got == {k: (lo, hi) for k, lo, hi in supported_versions()}
    if version >= 3:
        ref = reference()
        # below v4 Kafka leaves out features whose minimum is 0 (the 4.1.1 broker answered
        # v3 with metadata.version alone): older clients reject such a range
        want = [f for f in ref["supported_features"] if version >= 4 or f[1] >= 1]
        assert sorted([f.name, f.min_version, f.max_version] for f in r.supported_features) == sorted(want)
        # transaction.version is finalized at 0 here (not listed): see kbroker.features
        want_finalized = [f for f in ref["finalized_features"] if f[0] != "transaction.version"]
        assert sorted([f.name, f.min_version_level, f.max_version_level] for f in r.finalized_features) == \
            sorted(want_finalized)
        assert r.finalized_features_epoch >= 0


@pytest.mark.parametrize(("name", "ver"), [("", "1"), ("kafka python", "1"), ("ok", "-1"), ("-x", "1")])
def test_bad_client_software_name_is_invalid_request(shared_broker, name, ver):
    with RawClient.connect(shared_broker.bootstrap) as c:
        r = c.request(ApiVersionsRequest(client_software_name=name, client_software_version=ver), 3)
        assert r.error_code == ErrorCode.INVALID_REQUEST
        assert c.api_versions(3).error_code == 0  # the connection stays usable, as in Kafka
