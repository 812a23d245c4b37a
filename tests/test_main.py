"""The command line as a user meets it: output, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kaizen_agentic import __version__
from tests.conftest import add_agent
from tests.test_schedule_cli import GOOD, run

ROOT = Path(__file__).resolve().parent.parent


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
        ([], "choose a COMMAND from the list above"),
        (["schedule"], "choose a COMMAND from the list above"),
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

    def boom(**options: object) -> int:
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
    add_agent(tmp_path, "digest")
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


# --- the exit-code contract: a table of bad invocations -----------------------------------------

BAD_INVOCATIONS = [
    # (argv, exit code, the message's end); 2 = the caller's mistake, 1 = bad input or failed work
    (
        ["memory", "add", "coach", "x", "--at", "yesterday"],
        2,
        "--at: expected an RFC 3339 time with a UTC offset, e.g. 2027-03-29T09:00:00+02:00 or 2027-03-29T07:00:00Z; got 'yesterday'",
    ),
    (
        ["metrics", "record", "coach", "--outcome", "success", "--at", "2027-01-01T00:00"],
        2,
        "--at: '2027-01-01T00:00' has no UTC offset; add Z for UTC or the local offset, e.g. 2027-01-01T00:00Z or 2027-01-01T00:00+02:00",
    ),
    (["schedule", "prepare"], 2, "name the AGENT to prepare, or use --due with a roster"),
    (
        ["schedule", "prepare", "--due", "--roster", "r.yml"],
        2,
        "--due needs --at (the tick time, so a re-run prepares the same slots) or --tick",
    ),
    (
        ["schedule", "prepare", "--due", "--at", "2027-03-29T09:00:00Z"],
        2,
        "no roster: give --hub URL (or set KAIZEN_HUB_URL), --roster FILE or --scan DIR",
    ),
    (
        [
            "schedule",
            "prepare",
            "--due",
            "--at",
            "2027-03-29T09:00:00Z",
            "--roster",
            "a.yml",
            "--scan",
            ".",
        ],
        2,
        "give one roster: --hub, --roster or --scan",
    ),
    (
        [
            "schedule",
            "prepare",
            "--due",
            "--at",
            "2027-03-29T09:00:00Z",
            "--roster",
            "a.yml",
            "--window",
            "0m",
        ],
        2,
        "--window: '0m': a duration must be longer than zero",
    ),
    (
        [
            "schedule",
            "prepare",
            "--due",
            "--at",
            "2027-03-29T09:00:00Z",
            "--roster",
            "a.yml",
            "--window",
            "1x",
        ],
        2,
        "--window: '1x' is not a duration like 90m, 1h, 2h30m or 1d",
    ),
    (
        ["schedule", "prepare", "coach", "--at", "tomorrow"],
        2,
        "--at: expected an RFC 3339 time with a UTC offset, e.g. 2027-03-29T09:00:00+02:00 or 2027-03-29T07:00:00Z; got 'tomorrow'",
    ),
    (
        ["schedule", "calendar", "--repo", ".", "--roster", "a.yml"],
        2,
        "give --repo or a roster (--hub, --roster, --scan), not both",
    ),
    (
        ["schedule", "calendar", "--roster", "a.yml", "--timezone", "Mars/Base"],
        2,
        '--tz: unknown time zone "Mars/Base"',
    ),
    (
        ["schedule", "list", "--at", "2027-03-26T12:00:00"],
        2,
        "--at: '2027-03-26T12:00:00' has no UTC offset; add Z for UTC or the local offset, e.g. 2027-03-26T12:00:00Z or 2027-03-26T12:00:00+02:00",
    ),
    (
        ["schedule", "export", "--format", "crontab", "--roster", "a.yml"],
        2,
        "--format crontab needs --bundle-dir DIR: the absolute bundle folder on the runner host (an exporting user's home is not the runner's)",
    ),
    (
        ["metrics", "report", "--since", "2027-01-02T00:00:00Z", "--until", "2027-01-01T00:00:00Z"],
        2,
        "--since must be before --until",
    ),
    (
        ["schedule", "schema", "--output", "nodir/s.json"],
        1,
        "cannot write nodir/s.json: no such folder nodir",
    ),
    (["schedule", "prepare", "coach", "--out", "/proc/kaizen-bundles"], 1, None),
    (["redact"], 2, "the following arguments are required: FILE"),
    (
        ["redact", "--check", "--in-place", "a.md"],
        2,
        "argument --in-place: not allowed with argument --check",
    ),
    (["redact", "--check", "-", "-"], 2, "- (standard input) can be read only once"),
    (["redact", "--repo", "nowhere", "a.md"], 2, "--repo nowhere: not a folder"),
    (["redact", "missing.md"], 1, "missing.md: No such file or directory"),
    (["redact", "--rules", "missing.toml", "-"], 1, "missing.toml: No such file or directory"),
]


@pytest.mark.parametrize(
    ("argv", "code", "message"), BAD_INVOCATIONS, ids=[" ".join(b[0][:4]) for b in BAD_INVOCATIONS]
)
def test_bad_invocations_exit_by_contract(
    argv: list[str],
    code: int,
    message: str | None,
    make_repo: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo(
        manifest="version: 1\nrepo: acme/r\nagents:\n  - {agent: coach, schedule: {interval: daily}}\n"
    )
    from tests.conftest import commit_all

    commit_all(repo)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("KAIZEN_HUB_URL", raising=False)
    got, _, err = run(capsys, *argv)
    assert got == code, err
    assert "internal error" not in err and "Traceback" not in err
    if code == 2:
        verb = " ".join(a for a in argv[:2] if not a.startswith("-"))
        assert err.startswith(f"usage: kaizen-agentic {verb}"), err
        assert err.endswith(f"kaizen-agentic {verb}: error: {message}\n"), err
    elif message is not None:
        assert err == f"kaizen-agentic: error: {message}\n"
    else:
        assert err.startswith("kaizen-agentic: error: ") and err.count("\n") == 1, err


def test_a_failure_under_json_is_data_on_stdout(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    code, out, err = run(capsys, "schedule", "list", "--repo", str(repo), "--json")
    assert code == 1
    assert json.loads(out) == {
        "error": f"{repo}/.kaizen/schedule.yml not found; create one with `kaizen-agentic schedule init`",
        "exit_code": 1,
        "problems": [],
    }
    assert err.startswith("kaizen-agentic: error: ")


def test_validate_reports_unknown_agents_with_every_other_problem(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(
        manifest="version: 1\nrepo: acme/r\nagents:\n  - {agent: nobody, schedule: {interval: daily, time: 9:30}}\n"
    )
    code, out, _ = run(capsys, "schedule", "validate", "--repo", str(repo), "--format", "github")
    assert code == 1
    manifest = repo / ".kaizen" / "schedule.yml"
    assert out.splitlines() == [
        f'::error file={manifest},line=4,col=5::agents[0].agent: no agent "nobody": it is not built in and .kaizen/agents/nobody.md does not exist',
        f'::error file={manifest},line=4,col=55::agents[0].schedule.time: expected "HH:MM" (24-hour, e.g. "09:30"), got string "9:30"',
        "2 problems in 1 file",
    ]
