"""Where independent oracles disagreed with the project: each case as the user met it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaizen_agentic.errors import InvalidFileError
from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
from kaizen_agentic.main import main
from kaizen_agentic.manifest.schedule import json_schema, parse_manifest
from kaizen_agentic.manifest.yamlsafe import load, to_python
from kaizen_agentic.views.timetable import build
from tests.conftest import commit_all

HOST = "runner-1"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- the calendar -------------------------------------------------------------------------------

PAUSED = (
    "version: 1\nrepo: acme/paused\nagents:\n  - agent: coach\n    paused_until: '2027-01-03'\n"
    "    schedule: {interval: daily, time: '09:00'}\n"
)


def test_a_pause_that_ends_inside_the_window_shows_its_runs(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("paused", manifest=PAUSED)
    code, out, _ = run(
        capsys,
        "schedule",
        "calendar",
        "--repo",
        str(repo),
        "--from",
        "2027-01-01T00:00:00Z",
        "--days",
        "7",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0
    assert [r["at"] for r in doc["runs"]] == [f"2027-01-0{d}T09:00:00+00:00" for d in range(3, 8)]
    assert doc["not_taking_part"] == []
    code, out, _ = run(
        capsys,
        "schedule",
        "list",
        "--repo",
        str(repo),
        "--at",
        "2027-01-01T00:00:00Z",
        "--count",
        "5",
        "--json",
    )
    assert [t[:10] for t in json.loads(out)["agents"][0]["next_runs"]] == [
        f"2027-01-0{d}" for d in range(3, 8)
    ]


def test_the_header_is_in_the_display_zone(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("paused", manifest=PAUSED)
    page = tmp_path / "cal.html"
    argv = ["schedule", "calendar", "--repo", str(repo), "--from", "2027-03-29T10:30:00Z"]
    code, out, _ = run(capsys, *argv, "--tz", "Asia/Tokyo", "--html", str(page))
    assert code == 0
    assert out.startswith("2027-03-29 19:30 to 2027-04-05 19:29 (Asia/Tokyo): 7 runs\n")
    assert "2027-03-29 19:30 to 2027-04-05 19:30 (Asia/Tokyo)" in page.read_text()


def test_calendar_of_an_invalid_repository_fails_like_list(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("bad", manifest="version: 1\nrepo: acme/bad\nagents: []\n")
    code, out, err = run(capsys, "schedule", "calendar", "--repo", str(repo))
    manifest = repo / ".kaizen" / "schedule.yml"
    assert (code, out) == (1, "")
    assert err == (
        f"{manifest}:3:9: agents: needs at least 1 item(s)\n"
        f"kaizen-agentic: error: {repo}: 1 problem in .kaizen/schedule.yml; nothing to show\n"
    )


def test_the_advisory_says_its_closing_once_and_speaks_to_crons(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = []
    for i in range(8):
        body = (
            "  - agent: coach\n    schedule: {interval: cron, cronjob: '0 9 * * 1'}\n"
            if i % 2
            else "  - agent: coach\n    schedule: {interval: weekly, day: monday, time: '09:00'}\n"
        )
        repo = make_repo(f"r{i}", manifest=f"version: 1\nrepo: acme/r{i}\nagents:\n{body}")
        records.append({"slug": f"acme/r{i}", "host_paths": {HOST: str(repo)}})
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(records))
    code, out, _ = run(
        capsys,
        "schedule",
        "calendar",
        "--roster",
        str(roster),
        "--hostname",
        HOST,
        "--from",
        "2027-03-29T00:00:00Z",
        "--days",
        "7",
        "--threshold",
        "5",
    )
    assert code == 0
    advice = [line for line in out.splitlines() if line.startswith("advisory:")]
    assert advice == [
        "advisory: Mon 09:00 holds 8 runs (threshold 5); 4 pin an explicit time: acme/r0 coach, "
        "acme/r2 coach, acme/r4 coach, acme/r6 coach; 4 are cron schedules, which spreading "
        "cannot move: acme/r1 coach, acme/r3 coach, acme/r5 coach, acme/r7 coach; give them "
        "different minutes or hours.",
        "advisory: Omitting `time` from the pinned entries spreads each over 03:00-06:59 local "
        f"time; the busiest hour would then hold {out.split('would then hold ')[1].split()[0]} runs.",
    ]


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/St_Johns",
]
SCHEDULES = [
    "{interval: daily, time: '02:30'}",
    "{interval: weekly, day: sunday, time: '01:30'}",
    "{interval: cron, cronjob: '*/45 * * * *'}",
    "{interval: monthly, day: last, time: '23:45'}",
    "{interval: weekdays}",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    zone=st.sampled_from(ZONES),
    display=st.sampled_from(ZONES),
    schedule=st.sampled_from(SCHEDULES),
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 1), timezones=st.just(UTC)
    ),
    days=st.integers(1, 9),
    pause=st.one_of(st.none(), st.integers(-3, 10)),
    on_edge=st.booleans(),
)
def test_the_calendar_is_the_sum_of_next_runs(
    tmp_path_factory: pytest.TempPathFactory,
    zone: str,
    display: str,
    schedule: str,
    start: datetime,
    days: int,
    pause: int | None,
    on_edge: bool,
) -> None:
    text = f"version: 1\nrepo: acme/x\ntimezone: {zone}\nagents:\n  - agent: coach\n    schedule: {schedule}\n"
    if pause is not None:
        text += f"    paused_until: '{(start + timedelta(days=pause)).date().isoformat()}'\n"
    manifest = parse_manifest(text.encode(), "s.yml")
    (entry,) = manifest.agents
    if on_edge:  # start exactly on a run: [start, end) includes it
        first = entry.next_runs(start - timedelta(days=1), 1)
        start = first[0].astimezone(UTC) if first else start
    folder = tmp_path_factory.mktemp("r")
    (folder / ".git").mkdir()
    (folder / ".kaizen").mkdir()
    (folder / ".kaizen/schedule.yml").write_text(text)
    roster = folder / "roster.json"
    roster.write_text(json.dumps([{"slug": "acme/x", "host_paths": {HOST: str(folder)}}]))
    found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=HOST, at=start)
    table = build(found, start=start, days=days, zone=display)
    end = start + timedelta(days=days)
    expected = [
        r
        for r in entry.next_runs(start - timedelta(microseconds=1), 2000)
        if r.astimezone(UTC) < end
    ]
    assert [r.when.astimezone(UTC) for r in table.runs] == [r.astimezone(UTC) for r in expected]
    assert all(r.when.tzinfo is not None and str(r.when.tzinfo) == display for r in table.runs)


# --- the published schema and the validator agree -----------------------------------------------

SCALARS = st.one_of(
    st.integers(-5, 2_000_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([28.0, 1e3, 1.0, 0.5, 1000.0, 32000.0]),
    st.booleans(),
    st.none(),
    st.sampled_from(["monday", "last", "daily", "weekly", "cron", "09:00", "9:00", "UTC", "x", ""]),
)


def _place(doc: dict[str, Any], target: str) -> dict[str, Any] | None:
    if target == "top":
        return doc
    agents = doc.get("agents")
    agent = agents[0] if isinstance(agents, list) and agents else None
    if not isinstance(agent, dict):
        return None
    if target == "agent":
        return agent
    schedule = agent.get("schedule")
    return schedule if isinstance(schedule, dict) else None


def mutate(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    doc = json.loads(json.dumps(base))
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(["top", "agent", "schedule"]))
        where = _place(doc, target)
        if where is None:  # an earlier draw replaced the list or mapping it lives in
            continue
        keys = {
            "top": ["version", "token_budget", "repo", "agents"],
            "agent": ["enabled", "token_budget", "focus", "paused_until", "agent"],
            "schedule": ["day", "time", "interval", "cronjob"],
        }[target]
        key = data.draw(st.sampled_from(keys))
        if data.draw(st.booleans()) and key not in ("agents",):
            where.pop(key, None)
        else:
            where[key] = data.draw(SCALARS)
    return doc


BASE = {
    "version": 1,
    "repo": "acme/x",
    "token_budget": 32000,
    "agents": [
        {
            "agent": "coach",
            "enabled": True,
            "schedule": {"interval": "monthly", "day": 28, "time": "09:00"},
        }
    ],
}


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_schema_and_the_validator_agree(data: st.DataObject) -> None:
    doc = mutate(BASE, data)
    text = yaml.safe_dump(doc, sort_keys=False)
    root, issues = load(text, "s.yml")
    assert root is not None and not issues
    value = to_python(root)
    try:
        parse_manifest(text.encode(), "s.yml")
        ours = True
    except InvalidFileError:
        ours = False
    theirs = jsonschema.Draft202012Validator(json_schema()).is_valid(value)
    assert ours == theirs, (text, value)


@pytest.mark.parametrize(("text", "value"), [("day: 28.0", 28), ("day: 1e1", 10)])
def test_whole_number_floats_are_integers_as_json_schema_says(text: str, value: int) -> None:
    manifest = parse_manifest(
        f"version: 1\nrepo: a/b\ntoken_budget: 1e3\nagents:\n  - agent: coach\n    schedule: {{interval: monthly, {text}}}\n".encode(),
        "s.yml",
    )
    assert (manifest.token_budget, manifest.agents[0].cadence.day) == (1000, value)


# --- YAML 1.2 -------------------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    try:
        parse_manifest(text.encode(), "s.yml")
    except InvalidFileError as exc:
        return [str(p) for p in exc.problems]
    return []


ENTRY = "agents:\n  - {agent: coach, schedule: {interval: daily}}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nrepo: ! 1000\n" + ENTRY, []),  # spec example 6.28: a string
        (
            "version: ! 1\nrepo: a/b\n" + ENTRY,
            [
                's.yml:1:10: version: expected 1, got string "1" (this tool reads version 1 manifests)'
            ],
        ),
        (
            "version: 1\nrepo: a/b\n" + ENTRY + "token_budget: " + "9" * 5000 + "\n",
            [
                "s.yml:5:15: token_budget: expected an integer from 1000 to 1000000, got an integer of 5,000 digits"
            ],
        ),
        (
            "version: 1\nrepo: a/b\n" + ENTRY.replace("daily}", "daily}, focus: a\u2028b"),
            [
                's.yml:4:57: U+2028 LINE SEPARATOR: YAML 1.2 reads it as an ordinary character but this parser (libyaml) as a line break; remove it, or write "\\L" inside a double-quoted string'
            ],
        ),
        (
            "version: 1\nrepo: a/b\ntimezone: UTC\x85token_budget: 2000\n" + ENTRY,
            [
                's.yml:3:14: U+0085 NEXT LINE (NEL): YAML 1.2 reads it as an ordinary character but this parser (libyaml) as a line break; remove it, or write "\\N" inside a double-quoted string'
            ],
        ),
        (
            "version: 1\nrepo: a/b\n" + ENTRY.replace("daily}", 'daily}, focus: "a\\Lb"'),
            [],  # the escape is fine: it is the raw character that libyaml splits at
        ),
    ],
)
def test_yaml_1_2_slips(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


# --- one manifest name ----------------------------------------------------------------------------


def test_schedule_yaml_is_pointed_out_everywhere(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("pay")
    (repo / ".kaizen").mkdir()
    misnamed = repo / ".kaizen" / "schedule.yaml"
    misnamed.write_text("version: 1\nrepo: acme/pay\n" + ENTRY)
    hint = "rename it to .kaizen/schedule.yml, the one name kaizen-agentic reads"
    code, out, _ = run(capsys, "schedule", "validate", "--repo", str(repo))
    assert code == 1
    assert out.splitlines()[0].endswith(
        f"schedule.yml: not found, but .kaizen/schedule.yaml is: {hint}"
    )
    code, out, _ = run(capsys, "schedule", "validate", str(misnamed))
    assert (code, out) == (1, f"{misnamed}: {hint}\n1 problem in 1 file\n")
    code, _, err = run(capsys, "schedule", "list", "--repo", str(repo))
    assert (code, err) == (
        1,
        f"kaizen-agentic: error: {repo}/.kaizen/schedule.yml not found, but .kaizen/schedule.yaml is: {hint}\n",
    )
    commit_all(repo)
    code, _, err = run(
        capsys, "schedule", "prepare", "coach", "--repo", str(repo), "--out", str(tmp_path / "b")
    )
    assert code == 1 and "but .kaizen/schedule.yaml is: rename it" in err
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps([{"slug": "acme/pay", "host_paths": {HOST: str(repo)}}]))
    found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=HOST)
    assert [(r.state, r.reason) for r in found.repos] == [
        ("invalid", f"named .kaizen/schedule.yaml: {hint}")
    ]


def test_validate_without_a_manifest_gives_the_init_hint(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("empty")
    code, out, _ = run(capsys, "schedule", "validate", "--repo", str(repo))
    assert code == 1
    assert out.splitlines()[0].endswith(
        ".kaizen/schedule.yml: not found; create one with `kaizen-agentic schedule init`"
    )


# --- smaller ones -----------------------------------------------------------------------------------


def test_a_bad_json_result_block_is_a_json_error(tmp_path: Path) -> None:
    from kaizen_agentic.bundle.result import parse_result

    answer = 'Done.\n\n```kaizen-result\n{"outcome": "success",}\n```\n'
    with pytest.raises(InvalidFileError) as info:
        parse_result(answer.encode(), "answer.md")
    assert [str(p) for p in info.value.problems] == [
        "answer.md:4:23: JSON syntax error: Expecting property name enclosed in double quotes"
    ]


def test_the_temporal_integration_names_its_extra() -> None:
    code = (
        "import sys; sys.modules['temporalio'] = None\n"
        "try:\n    import kaizen_agentic.integrations.temporal\n"
        "except ModuleNotFoundError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == (
        "kaizen_agentic.integrations.temporal needs the temporal extra: "
        "pip install 'kaizen-agentic[temporal]'\n"
    )


def test_metrics_show_counts_one_run_and_explains_a_missing_trend(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("m", manifest="version: 1\nrepo: acme/m\n" + ENTRY)
    base = ["metrics", "record", "coach", "--repo", str(repo), "--outcome", "success"]
    assert main([*base, "--measure", "coverage=0.5"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "metrics", "show", "coach", "--repo", str(repo))
    assert code == 0
    assert ": 1 run recorded; last 1: success 1 (success rate 100%)\n" in out
    assert out.endswith("coverage: last 0.5, mean 0.5, no trend yet (it needs 4 runs)\n")


def test_the_tools_own_files_do_not_make_the_checkout_dirty(make_repo: Callable[..., Path]) -> None:
    from kaizen_agentic.repo import git_state

    repo = make_repo("d", manifest="version: 1\nrepo: acme/d\n" + ENTRY)
    commit_all(repo)
    for folder, name in (("memory", "coach.md"), ("metrics", "coach.jsonl")):
        (repo / ".kaizen" / folder).mkdir()
        (repo / ".kaizen" / folder / name).write_text("x\n")
    assert git_state(repo).dirty is False
    (repo / "README").write_text("a change\n")
    assert git_state(repo).dirty is True
