"""docs/configuration.md is what ``kbroker.config_reference`` renders from the config tables: a config
added to the code without regenerating the document fails here (regenerate with
``python -m kbroker.config_reference > docs/configuration.md``)."""

from __future__ import annotations

from pathlib import Path

from kbroker.config import BROKER_DEFAULTS
from kbroker.config_defs import TOPIC_CONFIGS
from kbroker.config_reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_document_is_current() -> None:
    assert DOC.read_text() == render(), "regenerate: python -m kbroker.config_reference > docs/configuration.md"


def test_every_config_has_a_row_with_its_default() -> None:
    text = render()
    for name, (default, _type, doc) in BROKER_DEFAULTS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert (f"`{default}`" if default else "(none)") in row or default == "", row
        assert doc.split()[0] in row
    for name, d in TOPIC_CONFIGS.items():
        assert any(line.startswith(f"| `{name}` |") and d.type in line for line in text.splitlines()), name
