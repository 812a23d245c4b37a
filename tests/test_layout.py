"""The house rules of the source tree: wings that stand on each other in one order, no import
circle (lazy imports included), modules of one concept (none much over 450 lines), a package
whose import loads no wing, commands that never see argparse, and records that cost nothing to
define."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import commit_all

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


def test_a_module_of_records_evaluates_its_annotations() -> None:
    """A ``NamedTuple`` class under ``from __future__ import annotations`` compiles each field's
    annotation string when it is defined (0.2 ms a class; 31 classes were 7-10 ms of a
    ``prepare``). Such a module evaluates annotations and quotes only forward references."""
    slow = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        future = any(
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
            and any(alias.name == "annotations" for alias in node.names)
            for node in tree.body
        )  # fmt: skip
        records = any(
            isinstance(node, ast.ClassDef)
            and any(isinstance(base, ast.Name) and base.id == "NamedTuple" for base in node.bases)
            for node in ast.walk(tree)
        )
        if future and records:
            slow.append(name)
    assert slow == []


def test_commands_never_see_argparse() -> None:
    for path in (SRC / "commands").glob("*.py"):
        if path.name != "__init__.py":
            assert "argparse" not in path.read_text(), path.name


# The floors, lowest first (ADR-006). A module may import its own wing and any wing on a lower
# floor; wings on one floor know nothing of each other. The top floor holds what assembles the
# whole: the package's lazy public face, the entry points and the generator of derived files.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors", "output", "atomic", "transport", "repo", "names"),  # the ground floor
    ("redact",),
    ("manifest",),
    ("agents", "export"),
    ("bundle",),
    ("fleet",),
    ("views", "integrations"),
    ("commands",),
    ("cli",),
    ("kaizen_agentic", "__main__", "main", "generate"),
)
GROUND = FLOORS[0]


def wing(module: str) -> str:
    """The wing of a module: its first part below the package (the ground floor is one wing)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "kaizen_agentic"
    return "ground" if parts[1] in GROUND else parts[1]


def floor(module: str) -> int:
    name = module.split(".")[1] if "." in module else "kaizen_agentic"
    return next(i for i, names in enumerate(FLOORS) if name in names)


def test_every_module_has_a_floor() -> None:
    assert [
        name
        for name in MODULES
        if not any((name.split(".")[1] if "." in name else name) in names for names in FLOORS)
    ] == []


def test_wings_import_only_downwards() -> None:
    wrong = sorted(
        f"{name} -> {other}"
        for name, path in MODULES.items()
        for other in imports(path)
        if wing(other) != wing(name)
        and (floor(other) > floor(name) or (floor(other) == floor(name) and floor(name) > 0))
        and floor(name) != len(FLOORS) - 1
    )
    assert wrong == []


def test_the_package_floor_is_small() -> None:
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert len(top) <= 11, top  # the ground floor, the top floor and the package's face


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import kaizen_agentic", ["kaizen_agentic"]),
        ("from kaizen_agentic import __version__", ["kaizen_agentic"]),
    ],
)
def test_importing_the_package_loads_no_wing(code: str, expected: list[str]) -> None:
    shown = "import sys; print(sorted(m for m in sys.modules if m.startswith('kaizen_agentic')))"
    done = subprocess.run(
        [sys.executable, "-c", f"{code}; {shown}"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == repr(expected)


# What one command loads: the wings it works with and the floors below them, no more.
WINGS = ("redact", "manifest", "agents", "export", "bundle", "fleet", "views", "integrations")
COMMAND_WINGS = [
    (["--version"], set()),
    (["schedule", "validate", "{repo}/.kaizen/schedule.yml"], {"manifest", "agents"}),
    (
        ["schedule", "prepare", "coach", "--repo", "{repo}", "--out", "{out}"],
        {"manifest", "agents", "bundle", "redact"},
    ),
]


@pytest.mark.parametrize(("argv", "wings"), COMMAND_WINGS, ids=lambda v: " ".join(v)[:40])
def test_a_command_loads_only_the_wings_it_works_with(
    argv: list[str], wings: set[str], make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    """A single repository's ``prepare`` needs no roster: the fleet wing (discovery, the
    roster, safe names) stays unloaded, as export and views do."""
    repo = make_repo(
        manifest="version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily}\n"
    )
    commit_all(repo)
    args = [a.format(repo=repo, out=tmp_path / "out") for a in argv]
    code = (
        "import sys; from kaizen_agentic.main import main; main(sys.argv[1:]); "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.count('.') >= 1 "
        "and m.startswith('kaizen_agentic.') and m.split('.')[1] in WINGS}), file=sys.stderr)"
    ).replace("WINGS", repr(sorted(WINGS)))
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == repr(sorted(wings))
