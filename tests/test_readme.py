"""The README's tour runs as shown: every console block, top to bottom, in one test, in a fresh
home holding a fresh repository (`/home/you/src/payments`) and, for the fleet, the folder
`make demo` builds (`/home/you/kaizen-agentic/build/demo`). Each `$` line runs (the tool in
process, `git` as a program); its output must be the lines the README shows. Only what cannot
be the same on two machines is masked: the home folder, the host name, bundle digests and the
token estimate (the prompt holds the checkout's path, so its length moves the estimate).
The tour cannot drift from the tool, nor one block from the next."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from kaizen_agentic.main import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
HOME = "/home/you"
HOST = "runner-1"


class Step(NamedTuple):
    command: str
    expected: list[str]


def blocks() -> list[list[Step]]:
    """Every console block of the README, in order, as its steps."""
    out = []
    for block in re.findall(r"^```console\n(.*?)^```", README, re.M | re.S):
        steps: list[Step] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:], []))
            elif steps:
                steps[-1].expected.append(line)
        out.append([Step(s.command, _trim(s.expected)) for s in steps])
    return out


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def mask(line: str) -> str:
    line = re.sub(r"sha256:[0-9a-f]{64}", "sha256:<digest>", line)
    return re.sub(r"tokens   ~\d+ of", "tokens   ~<n> of", line).rstrip()


def broken_manifest() -> str:
    found = re.search(r"as `broken\.yml`:\n\n```yaml\n(.*?)^```", README, re.M | re.S)
    assert found is not None, "the README shows broken.yml before validating it"
    return found.group(1)


def load_demo(folder: Path) -> Any:
    spec = importlib.util.spec_from_file_location("kaizen_demo", ROOT / "examples" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DEMO = folder
    return module


def git_env(home: Path) -> dict[str, str]:
    """A git with no user configuration and a fixed clock: the commit, and so the bundle's
    pointers, are the same on every run."""
    stamp = "2027-03-26T12:00:00+01:00"
    return {
        "GIT_AUTHOR_NAME": "You",
        "GIT_AUTHOR_EMAIL": "you@example.invalid",
        "GIT_COMMITTER_NAME": "You",
        "GIT_COMMITTER_EMAIL": "you@example.invalid",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_SYSTEM": "/dev/null",
        "HOME": str(home),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }


def fresh_repository(home: Path) -> Path:
    """What the tour starts from: a repository with an origin remote and nothing else; beside
    it, the broken manifest the README shows and the agent's answer the tour records."""
    repo = home / "src" / "payments"
    repo.mkdir(parents=True)
    env = git_env(home)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "remote", "add", "origin", "git@github.com:acme/payments.git"],
        check=True,
        env=env,
    )
    (home / "src" / "broken.yml").write_text(broken_manifest())
    shutil.copy(ROOT / "examples" / "coach-answer.md", home / "src" / "answer.md")
    return repo


def run_step(step: Step, home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    argv = shlex.split(step.command)
    if argv[0] == "git":
        done = subprocess.run(argv, capture_output=True, text=True, env=git_env(home))
        code, shown = done.returncode, done.stdout + done.stderr
    else:
        assert argv[0] == "kaizen-agentic", step.command
        code = main(argv[1:])
        out, err = capsys.readouterr()
        shown = out + err
    shown = shown.replace(str(home), HOME).replace(os.uname().nodename, HOST)
    return code, _trim(shown.splitlines())


def test_the_readme_tour_runs_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "you"
    for name, value in git_env(home).items():  # the same person commits, the tool's commit too
        if name.startswith("GIT_") and not name.endswith("_DATE"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("KAIZEN_HUB_URL", raising=False)
    monkeypatch.delenv("KAIZEN_BUNDLE_DIR", raising=False)
    monkeypatch.chdir(fresh_repository(home))
    tour = blocks()
    assert len(tour) >= 5 and sum(len(b) for b in tour) >= 10
    for block in tour:
        if "--roster roster.yml" in block[0].command:  # the fleet: where `make demo` runs it
            demo = load_demo(home / "kaizen-agentic" / "build" / "demo")
            demo.build_fleet()
            monkeypatch.chdir(demo.DEMO)
        for step in block:
            code, shown = run_step(step, home, capsys)
            fails = bool(step.expected) and re.fullmatch(
                r"\d+ problems? in \d+ files?", step.expected[-1]
            )
            assert code == (1 if fails else 0), (step.command, shown)
            assert [mask(x) for x in shown] == [mask(x) for x in step.expected], step.command


def test_the_tour_is_the_readme_in_order() -> None:
    """The tour starts where a newcomer starts, and prepares only what it committed."""
    commands = [s.command for b in blocks() for s in b]
    assert commands[0] == "kaizen-agentic schedule init --timezone Europe/Berlin"
    commit = next(i for i, c in enumerate(commands) if c.startswith("git commit"))
    prepare = next(i for i, c in enumerate(commands) if "schedule prepare coach" in c)
    assert commit < prepare
    assert "--out ../bundles" in commands[prepare]  # bundles live outside the repository
