"""The house rules of the source tree: no import circle (lazy imports included), modules of one
concept (none much over 450 lines), and commands that never see argparse."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "kaizen_agentic"
MODULES = {
    "kaizen_agentic." + ".".join(path.relative_to(SRC).with_suffix("").parts): path
    for path in SRC.rglob("*.py")
}
MODULES = {name.removesuffix(".__init__"): path for name, path in MODULES.items()}


def imports(path: Path) -> set[str]:
    """Every kaizen_agentic module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kaizen_agentic"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else str(node.module))
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("kaizen_agentic")}
    # the package itself is every module's parent, imported first: not a circle
    return {name for name in found if name in MODULES and name != "kaizen_agentic"}


def test_no_import_circle_even_through_lazy_imports() -> None:
    graph = {name: imports(path) - {name} for name, path in MODULES.items()}
    circles = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                circles.append(" -> ".join([*path, start]))
            elif nxt not in path:
                walk(start, nxt, [*path, nxt])

    for name in sorted(graph):
        walk(name, name, [name])
    assert circles == []


def test_modules_stay_small() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > 470} == {}
    assert sizes["kaizen_agentic.main"] < 600


def test_commands_never_see_argparse() -> None:
    for path in (SRC / "commands").glob("*.py"):
        if path.name != "__init__.py":
            assert "argparse" not in path.read_text(), path.name
