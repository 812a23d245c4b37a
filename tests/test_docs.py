"""The docs stay true: every `kaizen-agentic ...` they show parses, and links resolve."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kaizen_agentic.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "activities").glob("*.yaml")]
)
SKIP = {ROOT / "docs" / "reference" / "cli.md"}  # generated from --help itself


SYNOPSIS = re.compile(r"[\[\]()|<>]|\.\.\.|\bFILE\b|\bPATH\b|\bAGENT\b")


def _commands(text: str) -> list[str]:
    """Invocations in fenced code, inline code and YAML `run:` lines."""
    out = []
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    for block in fenced:
        joined = block.replace("\\\n", " ")
        out += [m.group(1) for m in re.finditer(r"^\s*(?:\$ )?(kaizen-agentic .+)$", joined, re.M)]
    outside = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    out += re.findall(r"`(kaizen-agentic [^`]+)`", outside)
    out += re.findall(r"^\s*run: (kaizen-agentic .+)$", text, re.M)
    return [c.strip() for c in out]


def invocations() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        if path in SKIP:
            continue
        for command in _commands(path.read_text()):
            if SYNOPSIS.search(command):
                continue  # a synopsis such as `schedule prepare AGENT [--repo PATH]`
            found.append((str(path.relative_to(ROOT)), command))
    return found


CASES = invocations()


def test_the_docs_show_many_commands() -> None:
    assert len(CASES) > 25


@pytest.mark.parametrize(("where", "command"), CASES, ids=[f"{w}:{c[:60]}" for w, c in CASES])
def test_every_documented_invocation_parses(where: str, command: str) -> None:
    text = re.sub(r"\$\{?(\w+)\}?", r"\1", command)  # shell variables stand for values
    text = text.split(" < ")[0].split(" > ")[0]  # shell redirections are not arguments
    argv = shlex.split(text)[1:]
    if not any(a.startswith("-") for a in argv):
        argv.append("--help")  # a command named in prose: the command itself must exist
    parser = build_parser()
    try:
        parser.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0, f"{where}: {command!r} does not parse"


@pytest.mark.parametrize("path", [p for p in DOCS if p.suffix == ".md"], ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


def test_the_readme_links_the_doc_set() -> None:
    readme = (ROOT / "README.md").read_text()
    for doc in [
        "docs/adr/ADR-005-scheduled-agent-execution.md",
        "docs/design/activity-core-handoff.md",
        "docs/INTEGRATION_PATTERNS.md",
        "docs/agency-framework.md",
        "docs/reference/cli.md",
        "docs/PACKAGE_RELEASE.md",
        "docs/EcosystemIntegration.md",
        "TODO.md",
        "docs/reference/export.md",
        "docs/cheatsheet.md",
        "docs/workplans/WP-0006.md",
    ]:
        assert f"({doc})" in readme, doc
