"""The committed wire/messages/ is exactly what `python -m wire.gen` writes today."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import wire.gen as gen
import wire.messages as msgs


def test_regenerating_changes_nothing():
    files = gen.render_all(gen.default_schema_dir())
    on_disk = {p.name: p.read_text() for p in gen.OUT_DIR.glob("*.py")}
    assert sorted(files) == sorted(on_disk), "files added or removed: run `python -m wire.gen`"
    stale = [n for n in files if files[n] != on_disk[n]]
    assert stale == [], f"stale generated files (run `python -m wire.gen`): {stale}"


def test_check_mode_agrees(capsys):
    assert gen.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_generator_is_deterministic():
    a = gen.render_all(gen.default_schema_dir())
    b = gen.render_all(gen.default_schema_dir())
    assert a == b


def test_output_does_not_depend_on_where_the_definitions_live(tmp_path: Path):
    """A copy of the definitions elsewhere (written in another order) gives the same output:
    no paths or directory order leak into the generated code."""
    src = gen.default_schema_dir()
    names = sorted(p.name for p in src.glob("*.json"))
    for n in reversed(names):  # create in reverse order
        (tmp_path / n).write_text((src / n).read_text())
    assert gen.render_all(tmp_path) == gen.render_all(src)


def test_generated_code_parses_and_registry_is_complete():
    files = gen.render_all(gen.default_schema_dir())
    for name, text in files.items():
        ast.parse(text, filename=name)
    specs = gen.load_specs(gen.default_schema_dir())
    keys = {parts["request"]["apiKey"] for parts in specs.values()
            if "request" in parts and parts["request"]["validVersions"] != "none"}
    assert set(msgs.REQUESTS) == keys == set(msgs.RESPONSES)


def test_check_mode_detects_a_stale_file(tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "messages"
    out.mkdir()
    for n, t in gen.render_all(gen.default_schema_dir()).items():
        (out / n).write_text(t)
    monkeypatch.setattr(gen, "OUT_DIR", out)
    assert gen.main(["--check"]) == 0
    (out / "heartbeat.py").write_text((out / "heartbeat.py").read_text() + "# edited\n")
    assert gen.main(["--check"]) == 1
    assert "heartbeat.py" in capsys.readouterr().out
    (out / "heartbeat.py").unlink()
    (out / "extra.py").write_text("")
    assert gen.main(["--check"]) == 1


def test_versions_match_the_definitions():
    """MIN/MAX/FLEXIBLE_FROM come from validVersions/flexibleVersions (Produce keeps v0-2)."""
    for p in sorted(gen.default_schema_dir().glob("*.json")):
        spec = json.loads(gen.strip_comments(p.read_text()))
        if spec["type"] not in ("request", "response") or spec["validVersions"] == "none":
            continue
        cls = (msgs.REQUESTS if spec["type"] == "request" else msgs.RESPONSES)[spec["apiKey"]]
        lo, _, hi = spec["validVersions"].partition("-")
        expected_lo = 0 if spec["name"].startswith("Produce") else int(lo)
        assert (cls.MIN_VERSION, cls.MAX_VERSION) == (expected_lo, int(hi or lo)), spec["name"]
        fv = spec["flexibleVersions"]
        assert cls.FLEXIBLE_FROM == (10_000 if fv == "none" else int(fv.rstrip("+"))), spec["name"]


def test_the_input_is_the_pinned_kafka_release():
    assert msgs.KAFKA_RELEASE == gen.KAFKA_RELEASE
    assert gen.default_schema_dir().name == gen.KAFKA_RELEASE
    assert (gen.default_schema_dir() / ".complete").read_text().strip() == f"kafka-clients-{gen.KAFKA_RELEASE}.jar"


def test_broker_versions_follow_the_definitions():
    """BROKER_VERSIONS: every request a broker listener serves, its validVersions less an
    unstable latest version (Produce advertised from v0, as Kafka 4 does)."""
    expected = {}
    for p in sorted(gen.default_schema_dir().glob("*.json")):
        spec = json.loads(gen.strip_comments(p.read_text()))
        if spec["type"] != "request" or "broker" not in spec.get("listeners", []):
            continue
        lo, _, hi = spec["validVersions"].partition("-")
        top = int(hi or lo) - (1 if spec.get("latestVersionUnstable") else 0)
        if top >= int(lo):
            expected[spec["apiKey"]] = (0 if spec["name"] == "ProduceRequest" else int(lo), top)
    assert msgs.BROKER_VERSIONS == expected
    # facts of 4.1.1 worth pinning by hand (a wrong generator would move them)
    assert expected[3] == (0, 13) and expected[1] == (4, 18) and expected[8] == (2, 9)
    assert 4 not in expected and 52 not in expected  # LeaderAndIsr (removed), Vote (controller only)


def test_strip_comments_keeps_slashes_in_strings():
    text = '{"a": "x // not a comment", // a comment\n "b": "q\\"//"}'
    assert json.loads(gen.strip_comments(text)) == {"a": "x // not a comment", "b": 'q"//'}


def test_versions_parse():
    V = gen.Versions
    assert V.parse("3+") == V(3, None)
    assert V.parse("1-4") == V(1, 4)
    assert V.parse("7") == V(7, 7)
    assert V.parse("none").empty() and V.parse(None).empty()
    assert V.parse("3+").cond(0, 9) == "version >= 3"
    assert V.parse("0-4").cond(0, 9) == "version <= 4"
    assert V.parse("2-4").cond(0, 9) == "version >= 2 and version <= 4"
    assert V.parse("0+").cond(0, 9) is None
    assert V.parse("10+").cond(0, 9) == "False"


def test_snake_names():
    assert gen.snake("ThrottleTimeMs") == "throttle_time_ms"
    assert gen.snake("TopicID") == "topic_id"
    assert gen.snake("ZkMigrationReady") == "zk_migration_ready"
    assert gen.snake("Global") == "global_"
