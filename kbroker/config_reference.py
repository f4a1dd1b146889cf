"""The configuration reference: every broker config and every topic config kbroker knows, with its
default and meaning, rendered as Markdown from the tables that define them (``kbroker.config``'s
``BROKER_DEFAULTS``, ``kbroker.config_defs``'s ``TOPIC_CONFIGS``, ``kbroker.group_config``'s
``GROUP_CONFIGS``), so the document cannot drift from the code.

    python -m kbroker.config_reference > docs/configuration.md

``tests/unit/test_config_reference.py`` fails when docs/configuration.md is not what this renders.
"""

from __future__ import annotations

import sys

from kbroker.config import BROKER_DEFAULTS
from kbroker.config_defs import TOPIC_CONFIGS
from kbroker.group_config import GROUP_CONFIGS

HEADER = """# Configuration reference

Generated from the broker's own config tables by `python -m kbroker.config_reference`; a test keeps
it current.  Broker configs go in the properties file given to `kbroker serve`, as
`--override key=value`, or (in the container image) as `KBROKER_*` environment variables; topic
configs are set per topic (CreateTopics, `kbroker topics create --config`, `kbroker configs alter`),
their broker synonym giving the default.  Names, types and defaults are Kafka's unless the meaning
says `kbroker:`.
"""


def _cell(text: str | None) -> str:
    if text is None or text == "":
        return "(none)"
    return text.replace("|", "\\|").replace("\n", " ")


def _value(default: str | None) -> str:
    """A default in code style; none (Kafka's null: another config decides) in words."""
    if default is None:
        return "(none)"
    return f"`{_cell(default)}`" if default else '`""` (empty)'


def render() -> str:
    lines = [HEADER, "## Broker configs", "", "| config | type | default | meaning |", "|---|---|---|---|"]
    for name in sorted(BROKER_DEFAULTS):
        default, type_, doc = BROKER_DEFAULTS[name]
        lines.append(f"| `{name}` | {type_} | {_value(default)} | {_cell(doc)} |")
    lines += ["", "## Topic configs", "",
              "| config | type | default | broker synonym | meaning |", "|---|---|---|---|---|"]
    for name in sorted(TOPIC_CONFIGS):
        d = TOPIC_CONFIGS[name]
        syn = ", ".join(f"`{s}`" for s in d.synonyms) or "(none)"
        lines.append(f"| `{name}` | {d.type} | {_value(d.default)} | {syn} | {_cell(d.doc)} |")
    lines += ["", "## Group configs", "",
              "Per consumer group (`kafka-configs --entity-type groups`); the default is the broker config named.",
              "", "| config | type | default | broker config |", "|---|---|---|---|"]
    for name in sorted(GROUP_CONFIGS):
        g = GROUP_CONFIGS[name]
        lines.append(f"| `{name}` | {g.type} | {_value(g.default)} | `{g.synonym}` |")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
