"""The GitHub Action (action.yml): its step, run as the runner runs it on a sample repository,
installs the tool from this checkout and annotates every problem of the manifest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import commit_all

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
BROKEN = """\
version: 1
repo: acme/payments
agents:
  - agent: coach
    enabled: yes
    schedule:
      intervall: weekly
      time: 9:30
"""


def step_env(inputs: dict[str, str]) -> dict[str, str]:
    """The step's ``env:`` with ``${{ inputs.NAME }}`` filled in as the runner fills it."""
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update(inputs)
    expression = re.compile(r"\$\{\{\s*inputs\.([a-z-]+)\s*\}\}")
    return {k: expression.sub(lambda m: values[m[1]], v) for k, v in step()["env"].items()}


def step() -> dict[str, Any]:
    (only,) = ACTION["runs"]["steps"]
    assert isinstance(only, dict)
    return only


def test_the_action_is_one_composite_bash_step_over_its_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert step()["shell"] == "bash"
    assert sorted(ACTION["inputs"]) == ["files", "python"]
    assert step_env({}) == {"KAIZEN_FILES": "", "KAIZEN_PYTHON": "python3"}
    assert os.access(ROOT / "action" / "validate.sh", os.X_OK)


def run_action(repo: Path, tmp_path: Path, **inputs: str) -> subprocess.CompletedProcess[str]:
    """The step as GitHub runs a composite ``shell: bash`` step, without the network: pip builds
    the package from this checkout with the test environment's setuptools, and finds the runtime
    dependencies there (PYTHONPATH) instead of on PyPI."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_WORKSPACE": str(repo),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "KAIZEN_PIP_OPTIONS": "--no-index --no-build-isolation",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
        **step_env({"python": sys._base_executable, **inputs}),  # type: ignore[attr-defined]
    }
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step()["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_the_action_installs_the_tool_and_annotates_each_problem(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo("sample", manifest=BROKEN)
    commit_all(repo)
    done = run_action(repo, tmp_path)  # the three-line use: no inputs
    assert done.returncode == 1, done.stderr
    assert done.stdout == (
        "::error file=.kaizen/schedule.yml,line=5,col=14::agents[0].enabled: expected true or "
        'false, got string "yes" (YAML 1.2 reads yes/no/on/off as strings)\n'
        "::error file=.kaizen/schedule.yml,line=7,col=7::agents[0].schedule: unknown key "
        '"intervall"; did you mean "interval"?\n'
        "::error file=.kaizen/schedule.yml,line=8,col=13::agents[0].schedule.time: expected "
        '"HH:MM" (24-hour, e.g. "09:30"), got string "9:30"\n'
        "3 problems in 1 file\n"
    )
    installed = tmp_path / "runner-temp" / "kaizen-agentic-action" / "bin" / "kaizen-agentic"
    assert installed.exists()  # the tool came from the checkout, into the action's own venv
