"""docs/reference/library.md runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import kaizen_agentic
from tests.conftest import commit_all

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "reference" / "library.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, re.S)


def test_every_public_name_is_documented() -> None:
    assert [name for name in kaizen_agentic.__all__ if f"`{name}`" not in DOC] == []


def test_the_examples_run_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet"
    repo = fleet / "payments"
    (repo / ".kaizen" / "agents").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    shutil.copy(ROOT / "examples" / "schedule.yml", repo / ".kaizen" / "schedule.yml")
    shutil.copy(ROOT / "examples" / "agents" / "dependency-digest.md", repo / ".kaizen" / "agents")
    commit_all(repo)
    namespace = {
        "repo": str(repo),
        "fleet": str(fleet),
        "bundles": str(tmp_path / "bundles"),
        "examples": str(ROOT / "examples"),
    }
    for block in BLOCKS:
        exec(compile(block, "library.md", "exec"), namespace)
    shown = capsys.readouterr().out.splitlines()
    # every "# " line right after a print is what it printed ("..." stands for a temporary path)
    expected = [
        line.removeprefix("# ")
        for block in BLOCKS
        for line in block.splitlines()
        if line.startswith("# ")
    ]
    assert len(shown) == len(expected)
    for got, want in zip(shown, expected, strict=True):
        head, _, tail = want.partition("...")
        assert got.startswith(head) and got.endswith(tail), (got, want)
