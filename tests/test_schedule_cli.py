"""The schedule command line as a user meets it: init, validate, list, schema and prepare (the
design notes' fifteen behaviours, and more). The general front door (version, usage errors, exit
codes, colour) is in tests/test_main.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kaizen_agentic.main import main
from tests.conftest import add_agent, commit_all, usage_error

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


def test_init_writes_a_valid_scaffold_and_refuses_to_overwrite(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo(origin="git@github.com:acme/payments.git")
    code, out, _ = run(
        capsys, "schedule", "init", "--repo", str(repo), "--timezone", "Europe/Berlin"
    )
    assert code == 0
    manifest = repo / ".kaizen" / "schedule.yml"
    assert out.startswith(f"wrote {manifest} (repo: acme/payments)\n")
    text = manifest.read_text()
    assert "repo: acme/payments\n" in text and "timezone: Europe/Berlin\n" in text
    assert (repo / ".kaizen" / "schedule.schema.json").exists()
    attributes = (repo / ".kaizen" / ".gitattributes").read_text()
    assert "metrics/*.jsonl merge=union\n" in attributes
    assert "memory/*.md merge=kaizen-memory\n" in attributes
    assert run(capsys, "schedule", "validate", "--repo", str(repo))[0] == 0

    manifest.write_text("# my edits\n")
    code, out, err = run(capsys, "schedule", "init", "--repo", str(repo))
    assert (code, out) == (1, "")
    assert err == (
        f"kaizen-agentic: error: {manifest} already exists; use --force to overwrite it\n"
    )
    assert manifest.read_text() == "# my edits\n"  # nothing lost
    assert run(capsys, "schedule", "init", "--repo", str(repo), "--force")[0] == 0
    assert manifest.read_text() != "# my edits\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--agents", "Coach"], '"Coach" is not a valid agent name (a-z, 0-9, ".", "_", "-")'),
        (["--agents", ","], "--agents needs at least one agent name"),
        (["--agents", "a,a"], "--agents lists an agent twice"),
        (
            ["--timezone", "Europe/Berln"],
            '--timezone: unknown time zone "Europe/Berln"; did you mean "Europe/Berlin"?',
        ),
    ],
)
def test_init_refuses_bad_options(
    capsys: pytest.CaptureFixture[str],
    make_repo: Callable[..., Path],
    argv: list[str],
    message: str,
) -> None:
    repo = make_repo()
    code, _, err = run(capsys, "schedule", "init", "--repo", str(repo), *argv)
    assert code == 2
    assert err.startswith("usage: kaizen-agentic schedule init ")
    assert err.endswith(f"\nkaizen-agentic schedule init: error: {message}\n")
    assert not (repo / ".kaizen").exists()


def test_init_uses_the_folder_name_without_a_remote(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo(name="billing-service")
    run(capsys, "schedule", "init", "--repo", str(repo), "--agents", "coach")
    assert "repo: billing-service\n" in (repo / ".kaizen" / "schedule.yml").read_text()


def test_validate_reports_each_problem_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    good = tmp_path / "good.yml"
    good.write_text(GOOD)
    add_agent(tmp_path, "digest")  # GOOD's own agent, defined where the file is
    add_agent(tmp_path, "retro")
    code, out, err = run(capsys, "schedule", "validate", str(good), str(bad))
    assert code == 1
    assert err == ""
    assert out == (
        f"{good}: valid (4 agents)\n"
        f'{bad}:4:14: agents[0].enabled: expected true or false, got string "yes" '
        "(YAML 1.2 reads yes/no/on/off as strings)\n"
        f'{bad}:5:40: agents[0].schedule.time: expected "HH:MM" (24-hour, e.g. "09:30"), '
        'got string "9:30"\n'
        "2 problems in 1 file\n"
    )


def test_validate_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    code, out, _ = run(capsys, "schedule", "validate", "--format", "json", str(bad))
    assert code == 1
    doc = json.loads(out)
    assert doc["valid"] is False
    assert doc["files"][0]["problems"][0] == {
        "path": str(bad),
        "line": 4,
        "col": 14,
        "key": "agents[0].enabled",
        "message": 'expected true or false, got string "yes" '
        "(YAML 1.2 reads yes/no/on/off as strings)",
    }


def test_validate_defaults_to_the_repo_holding_the_current_directory(
    capsys: pytest.CaptureFixture[str],
    make_repo: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo(manifest=GOOD, agents=("digest",))
    (repo / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(repo / "src" / "deep")
    assert run(capsys, "schedule", "validate") == (
        0,
        ".kaizen/schedule.yml: valid (4 agents)\n".replace(".kaizen", str(repo / ".kaizen")),
        "",
    )


def test_validate_a_missing_manifest(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo()
    code, out, _ = run(capsys, "schedule", "validate", "--repo", str(repo))
    assert (code, out) == (
        1,
        f"{repo}/.kaizen/schedule.yml: not found; create one with `kaizen-agentic schedule init`"
        "\n1 problem in 1 file\n",
    )


def test_list_text(capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]) -> None:
    repo = make_repo(manifest=GOOD, agents=("digest",))
    code, out, err = run(
        capsys,
        "schedule",
        "list",
        "--repo",
        str(repo),
        "--at",
        "2027-03-26T12:00:00+01:00",
        "--count",
        "2",
    )
    assert (code, err) == (0, "")
    assert out == (
        f"acme/payments  ({repo}/.kaizen/schedule.yml)\n"
        "runs after 2027-03-26T12:00:00+01:00\n\n"
        "AGENT                STATE                    CADENCE / NEXT RUNS\n"
        "coach                enabled                  every Monday at 09:00 Europe/Berlin\n"
        "                                                2027-03-29 09:00 +02:00  (2027-03-29 07:00 UTC)\n"
        "                                                2027-04-05 09:00 +02:00  (2027-04-05 07:00 UTC)\n"
        "optimization-review  enabled                  every Friday at 03:02 (spread) Europe/Berlin\n"
        "                                                2027-04-02 03:02 +02:00  (2027-04-02 01:02 UTC)\n"
        "                                                2027-04-09 03:02 +02:00  (2027-04-09 01:02 UTC)\n"
        'digest               paused until 2027-04-05  cron "30 7 * * mon-fri" (at 07:30 on Monday through Friday) America/New_York\n'
        "                                                2027-04-05 07:30 -04:00  (2027-04-05 11:30 UTC)\n"
        "                                                2027-04-06 07:30 -04:00  (2027-04-06 11:30 UTC)\n"
        "retro                disabled                 on the last day of every month at 16:00 Europe/Berlin\n"
    )


def test_list_json(capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]) -> None:
    repo = make_repo(manifest=GOOD, agents=("digest",))
    code, out, _ = run(
        capsys,
        "schedule",
        "list",
        "--repo",
        str(repo),
        "--at",
        "2027-03-26T12:00:00Z",
        "--count",
        "1",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["repo"] == "acme/payments"
    assert doc["at"] == "2027-03-26T12:00:00+00:00"
    coach = doc["agents"][0]
    assert coach == {
        "agent": "coach",
        "enabled": True,
        "state": "enabled",
        "paused_until": None,
        "interval": "weekly",
        "cron": "0 9 * * 1",
        "timezone": "Europe/Berlin",
        "time": "09:00",
        "time_spread": False,
        "description": "every Monday at 09:00 Europe/Berlin",
        "next_runs": ["2027-03-29T09:00:00+02:00"],
        "next_runs_utc": ["2027-03-29T07:00:00+00:00"],
    }
    assert [a["state"] for a in doc["agents"]] == ["enabled", "enabled", "paused", "disabled"]
    assert doc["agents"][3]["next_runs"] == []


def test_a_manifest_without_repo_is_refused_everywhere(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    """Identity is declared, never guessed from how the checkout was reached."""
    text = "version: 1\nagents:\n  - {agent: coach, schedule: {interval: weekly}}\n"
    repo = make_repo(manifest="# no repo: line\n" + text, origin="https://github.com/acme/p.git")
    manifest = repo / ".kaizen" / "schedule.yml"
    missing = (
        f'{manifest}:2:1: missing required key "repo" (the repository\'s slug, e.g. '
        '"repo: acme/payments", as the state hub names it)\n'
    )
    code, out, _ = run(capsys, "schedule", "validate", str(manifest))
    assert (code, out) == (1, missing + "1 problem in 1 file\n")
    code, _, err = run(capsys, "schedule", "list", "--repo", str(repo))
    assert (code, err) == (
        1,
        missing + f"kaizen-agentic: error: {manifest} is not valid; nothing to list\n",
    )


def test_init_takes_the_slug_from_the_flag_or_refuses_a_bad_one(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo("my repo")
    code, _, err = run(capsys, "schedule", "init", "--repo", str(repo))
    assert code == 2 and usage_error(
        err,
        "schedule init",
        "the detected slug 'my repo' is not a repository slug like owner/name; give one with "
        "--slug OWNER/NAME",
    )
    code, out, _ = run(capsys, "schedule", "init", "--repo", str(repo), "--slug", "acme/mine")
    assert code == 0 and "(repo: acme/mine)" in out
    assert "\nrepo: acme/mine\n" in (repo / ".kaizen" / "schedule.yml").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--at", "tomorrow"],
            "--at: expected an RFC 3339 time with a UTC offset, e.g. 2027-03-29T09:00:00+02:00 or 2027-03-29T07:00:00Z; got 'tomorrow'",
        ),
        (
            ["--at", "2027-03-26T12:00:00"],
            "--at: '2027-03-26T12:00:00' has no UTC offset; add Z for UTC or the local offset, e.g. 2027-03-26T12:00:00Z or 2027-03-26T12:00:00+02:00",
        ),
    ],
)
def test_list_refuses_bad_times(
    capsys: pytest.CaptureFixture[str],
    make_repo: Callable[..., Path],
    argv: list[str],
    message: str,
) -> None:
    repo = make_repo(manifest=GOOD, agents=("digest",))
    code, _, err = run(capsys, "schedule", "list", "--repo", str(repo), *argv)
    assert code == 2 and usage_error(err, "schedule list", message)


def test_list_an_invalid_manifest(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo(manifest=BAD)
    code, out, err = run(capsys, "schedule", "list", "--repo", str(repo))
    path = repo / ".kaizen" / "schedule.yml"
    assert (code, out) == (1, "")
    assert err.endswith(f"kaizen-agentic: error: {path} is not valid; nothing to list\n")
    assert f"{path}:4:14: agents[0].enabled" in err


def test_list_without_a_manifest(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo()
    code, _, err = run(capsys, "schedule", "list", "--repo", str(repo))
    path = repo / ".kaizen" / "schedule.yml"
    assert (code, err) == (
        1,
        f"kaizen-agentic: error: {path} not found; create one with "
        "`kaizen-agentic schedule init`\n",
    )


def test_schema_prints_the_committed_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    committed = (ROOT / "src/kaizen_agentic/schemas/schedule.v1.schema.json").read_text()
    assert run(capsys, "schedule", "schema") == (0, committed, "")
    out_file = tmp_path / "s.json"
    assert run(capsys, "schedule", "schema", "--output", str(out_file))[0] == 0
    assert out_file.read_text() == committed


def test_validate_in_a_repository_checks_that_agents_exist(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    text = GOOD.replace("agent: digest", "agent: digest-x")
    repo = make_repo(manifest=text)
    code, out, _ = run(capsys, "schedule", "validate", "--repo", str(repo))
    path = repo / ".kaizen" / "schedule.yml"
    assert code == 1
    assert out == (
        f'{path}:9:5: agents[2].agent: no agent "digest-x": it is not built in and '
        ".kaizen/agents/digest-x.md does not exist\n1 problem in 1 file\n"
    )
    (repo / ".kaizen" / "agents").mkdir()
    (repo / ".kaizen" / "agents" / "digest-x.md").write_text("anything")
    assert run(capsys, "schedule", "validate", "--repo", str(repo))[0] == 0


# --- prepare -----------------------------------------------------------------------------------

PREPARE_AT = "2027-03-29T12:00:00+02:00"  # a Monday: coach's 09:00 slot is the current one


def prepared_repo(make_repo: Callable[..., Path]) -> Path:
    repo = make_repo(manifest=GOOD, agents=("digest",))
    commit_all(repo)
    return repo


def test_prepare_writes_a_bundle_with_its_parts(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = prepared_repo(make_repo)
    out = tmp_path / "bundles"
    code, stdout, _ = run(
        capsys,
        "schedule",
        "prepare",
        "coach",
        "--repo",
        str(repo),
        "--at",
        PREPARE_AT,
        "--out",
        str(out),
        "--json",
    )
    assert code == 0
    event = json.loads(stdout)
    bundle = Path(event["data"]["bundle"]["path"])
    assert bundle == out / "acme__payments" / "coach" / "20270329T070000Z"
    assert sorted(p.name for p in bundle.iterdir()) == ["PROMPT.md", "manifest.json", "parts"]
    prompt = (bundle / "PROMPT.md").read_text()
    assert "acme/payments" in prompt and "# Memory" in prompt
    assert (event["type"], event["data"]["slot"]) == (
        "kaizen.schedule.prepared",
        "2027-03-29T09:00:00+02:00",
    )


def test_prepare_is_idempotent_per_slot(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = prepared_repo(make_repo)
    argv = ["schedule", "prepare", "coach", "--repo", str(repo), "--out", str(tmp_path / "b")]
    _, first, _ = run(capsys, *argv, "--at", PREPARE_AT, "--json")
    _, again, _ = run(capsys, *argv, "--at", "2027-03-29T18:00:00+02:00", "--json")
    assert json.loads(again) == json.loads(first)  # same slot: same bundle, same event
    assert len(list((tmp_path / "b" / "acme__payments" / "coach").iterdir())) == 1


def test_prepare_needs_no_network(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    """In a network namespace with no interface up, a prepare still succeeds."""
    import shutil

    repo = prepared_repo(make_repo)
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode:
        pytest.skip("unshare -rn is not available here")
    done = subprocess.run(
        [
            unshare,
            "-rn",
            sys.executable,
            "-m",
            "kaizen_agentic",
            "schedule",
            "prepare",
            "coach",
            "--repo",
            str(repo),
            "--at",
            PREPARE_AT,
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "prepared: coach for acme/payments, slot 2027-03-29T09:00:00+02:00\n"
    )


def test_prepare_an_unknown_agent(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = prepared_repo(make_repo)
    code, out, err = run(
        capsys, "schedule", "prepare", "nobody", "--repo", str(repo), "--out", str(tmp_path / "b")
    )
    assert (code, out) == (1, "")
    assert err == (
        f'kaizen-agentic: error: agent "nobody" is not in {repo}/.kaizen/schedule.yml '
        "(it lists: coach, optimization-review, digest, retro)\n"
    )


@pytest.mark.parametrize(
    ("agent", "why"),
    [("retro", "disabled"), ("digest", "paused until 2027-04-05")],
)
def test_prepare_a_disabled_or_paused_agent_needs_force(
    capsys: pytest.CaptureFixture[str],
    make_repo: Callable[..., Path],
    tmp_path: Path,
    agent: str,
    why: str,
) -> None:
    repo = prepared_repo(make_repo)
    argv = ["schedule", "prepare", agent, "--repo", str(repo), "--at", PREPARE_AT]
    code, _, err = run(capsys, *argv, "--out", str(tmp_path / "b"))
    assert (code, err) == (
        1,
        f'kaizen-agentic: error: agent "{agent}" is {why} in {repo}/.kaizen/schedule.yml; '
        "use --force to prepare anyway\n",
    )


def test_list_shows_paused_and_disabled_agents_without_runs(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo(manifest=GOOD, agents=("digest",))
    code, out, _ = run(
        capsys, "schedule", "list", "--repo", str(repo), "--at", PREPARE_AT, "--json"
    )
    states = {a["agent"]: (a["state"], len(a["next_runs"])) for a in json.loads(out)["agents"]}
    assert code == 0
    assert states["retro"] == ("disabled", 0)
    assert states["digest"][0] == "paused"
    assert json.loads(out)["agents"][2]["next_runs"][0].startswith("2027-04-05T07:30:00")
