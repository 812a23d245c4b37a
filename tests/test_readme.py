"""The README's console examples run: each `$ kaizen-agentic ...` is executed in a sandbox like
the one it describes, and its output has the shape the README shows (paths, digests and numbers
aside), so the README cannot drift from the tool again."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from kaizen_agentic.main import main
from tests.conftest import git

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def examples() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(first command, [(command, expected output lines)]) for each console block."""
    out = []
    for block in re.findall(r"^```console\n(.*?)^```", README, re.M | re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        out.append((steps[0][0], [(c, _trim(lines)) for c, lines in steps]))
    return out


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def shape(line: str) -> str:
    line = re.sub(r"(?<![\w.])/[^\s:()]+", "<path>", line)  # absolute paths
    line = re.sub(r"\b[0-9a-f]{12,}\b", "<hex>", line)
    line = re.sub(r"\d+", "<n>", line)
    return " ".join(line.split())


def load_demo(folder: Path) -> Any:
    spec = importlib.util.spec_from_file_location("kaizen_demo", ROOT / "examples" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DEMO = folder
    return module


def sandbox(first: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lay out what the block's first command expects, and step into it."""
    demo = load_demo(tmp_path)
    if "schedule init" in first or "validate broken.yml" in first:
        repo = tmp_path / "src" / "payments"
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "remote", "add", "origin", "git@github.com:acme/payments.git")
        (repo / "broken.yml").write_text(demo.BROKEN)
        monkeypatch.chdir(repo)
    elif "prepare coach" in first:
        repo = tmp_path / "src" / "payments"
        manifest = re.search(r"## The manifest\n\n```yaml\n(.*?)```", README, re.S)
        assert manifest is not None
        (tmp_path / "manifest.yml").write_text(manifest.group(1))
        demo.new_repo(repo, tmp_path / "manifest.yml")
        shutil.copy(ROOT / "examples" / "coach-answer.md", repo / "answer.md")
        monkeypatch.chdir(repo)
    else:  # the fleet
        demo.build_fleet()
        monkeypatch.chdir(tmp_path)


BLOCKS = examples()


@pytest.mark.parametrize(("first", "steps"), BLOCKS, ids=[b[0][:50] for b in BLOCKS])
def test_the_readme_example_runs_as_shown(
    first: str,
    steps: list[tuple[str, list[str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox(first, tmp_path, monkeypatch)
    monkeypatch.setenv("COLUMNS", "200")
    host = os.uname().nodename
    for command, expected in steps:
        argv = shlex.split(command)
        assert argv[0] == "kaizen-agentic"
        code = main(argv[1:])
        out, err = capsys.readouterr()
        wants_failure = bool(expected) and bool(
            re.fullmatch(r"\d+ problems? in \d+ files?", expected[-1])
        )
        assert code == (1 if wants_failure else 0), (command, err)
        shown = (out + err).replace(host, "runner-1").splitlines()
        for want, got in zip(expected, shown, strict=False):
            if want.strip() == "...":
                break
            assert shape(got) == shape(want), (command, got, want)
        if "..." not in [w.strip() for w in expected]:
            assert len(shown) == len(expected), (command, shown)
