"""The command line as a user meets it: output, exit codes, and no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kaizen_agentic import __version__
from kaizen_agentic.main import main

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
version: 1
repo: acme/payments
timezone: Europe/Berlin
agents:
  - agent: coach
    schedule: {interval: weekly, day: monday, time: "09:00"}
  - agent: optimization-review
    schedule: {interval: weekly, day: friday}
  - agent: digest
    paused_until: 2027-04-05
    schedule: {interval: cron, cronjob: "30 7 * * mon-fri", timezone: America/New_York}
  - agent: retro
    enabled: false
    schedule: {interval: monthly, day: last, time: "16:00"}
"""

BAD = """\
version: 1
agents:
  - agent: coach
    enabled: yes
    schedule: {interval: weekly, time: 9:30}
repo: acme/payments
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"kaizen-agentic {__version__}\n", "")


def test_python_dash_m_and_the_console_script_agree() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kaizen_agentic", "--version"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, f"kaizen-agentic {__version__}\n")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["schedule"], "the following arguments are required: COMMAND"),
        (["schedule", "bogus"], "invalid choice: 'bogus'"),
        (["schedule", "list", "--count", "0"], "expected 1 to 1000, got 0"),
        (["schedule", "list", "--count", "x"], "expected a whole number, got 'x'"),
        (["schedule", "validate", "--format", "xml"], "invalid choice: 'xml'"),
        (["schedule", "validate", "--repo", ".", "x.yml"], "not allowed with argument"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["schedule", "--help"],
        ["schedule", "init", "--help"],
        ["schedule", "validate", "--help"],
        ["schedule", "list", "--help"],
        ["schedule", "schema", "--help"],
    ],
)
def test_help_shows_examples(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "examples:\n  kaizen-agentic " in out


def test_an_unexpected_error_is_exit_3_with_the_traceback_in_a_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kaizen_agentic.commands.schedule_schema as command

    def boom(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(command, "run", boom)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    code, _, err = run(capsys, "schedule", "schema")
    assert code == 3
    assert "Traceback" not in err
    assert err.startswith("kaizen-agentic: internal error (RuntimeError); this is a bug.")
    (log,) = tmp_path.glob("kaizen-agentic-crash-*.log")
    assert "RuntimeError: boom" in log.read_text()


def test_no_colour_when_not_a_terminal_and_with_no_color(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "g.yml"
    good.write_text(GOOD)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\033[32mvalid\033[0m" in run(capsys, "schedule", "validate", str(good))[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in run(capsys, "schedule", "validate", str(good))[1]


def test_a_closed_pipe_is_not_a_crash(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(manifest=GOOD, agents=("digest",))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        f"{sys.executable} -m kaizen_agentic schedule list --repo {repo} --count 1000 | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
    )
    assert "Traceback" not in done.stderr
