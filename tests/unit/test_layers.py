"""The imports that must never exist (ARCHITECTURE.md, "Layers"): read from the source with ``ast``.

- ``wire`` imports neither ``storage`` nor ``kbroker``; ``storage`` imports nothing from ``kbroker``;
- no module under ``kbroker/`` imports ``kbroker.broker`` (the composition root) but the entry
  point ``kbroker.cli``;
- no import circle among the modules of ``kbroker/``, counting the imports made for annotations
  only (under ``if TYPE_CHECKING:``) too: a circle of types is a circle of rooms.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("wire", "storage", "kbroker")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, known: dict[str, Path], typing: bool = False) -> set[str]:
    """The project modules ``name`` imports (any depth; ``typing``: TYPE_CHECKING blocks included)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node) and not typing:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            for alias in node.names:
                found.add(f"{base}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in known and m != name}


def _graph(typing: bool = False) -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known, typing) for name, path in known.items()}


def test_lower_layers_never_import_higher_ones() -> None:
    bad = [(m, d) for m, deps in _graph().items() for d in deps
           if (m.startswith("wire") and d.split(".")[0] in ("storage", "kbroker"))
           or (m.startswith("storage") and d.split(".")[0] == "kbroker")]
    assert bad == []


def test_only_the_entry_point_imports_the_composition_root() -> None:
    users = sorted(m for m, deps in _graph().items() if "kbroker.broker" in deps)
    assert users == ["kbroker.cli"]


def test_no_import_circle_inside_kbroker() -> None:
    graph = {m: {d for d in deps if d.startswith("kbroker")} for m, deps in _graph(typing=True).items()
             if m.startswith("kbroker")}
    # a package's __init__ importing its own submodules (kbroker.apis registers the handlers) is
    # how Python packages work, not a circle between rooms: count submodule -> package edges only
    # where the package is not the submodule's own parent
    for m, deps in graph.items():
        graph[m] = {d for d in deps if not m.startswith(d + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def walk(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                circles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                walk(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m)
    assert circles == []


def test_the_checks_see_the_imports() -> None:
    """The graph is not empty by accident: known edges are found."""
    graph = _graph()
    assert "storage.log" in graph["kbroker.partition"]
    assert "wire.records" in graph["storage.log"]
    assert "kbroker.topics" in graph["kbroker.broker"]
