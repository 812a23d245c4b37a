"""Fleet prepare: every due bundle in one start, idempotent, and one failure stops nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from kaizen_agentic.errors import KaizenError
from kaizen_agentic.fleet.due import parse_duration
from kaizen_agentic.main import main
from tests.conftest import commit_all, with_repo
from tests.loopback import Reply, serve

HOST = "runner-1"
AT = "2027-03-29T09:30:00+00:00"  # a Monday
DAILY = "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily, time: '09:00'}\n"
WEEKLY_BERLIN = (
    "version: 1\ntimezone: Europe/Berlin\nagents:\n  - agent: coach\n"
    "    schedule: {interval: weekly, day: monday, time: '11:15'}\n"
    "  - agent: optimization-review\n    schedule: {interval: weekly, day: friday}\n"
)
NOT_DUE = "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily, time: '20:00'}\n"
BROKEN_AGENT = "---\nname: coach\nversion: 1\ndescription: d\nreturns: r\n---\n\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("90m", timedelta(minutes=90)),
        ("2h30m", timedelta(hours=2.5)),
        ("1d", timedelta(days=1)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1x", "h", "-1h", "0m", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(KaizenError):
        parse_duration(text)


@pytest.fixture
def roster(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    repos = {
        "daily": make_repo("daily", manifest=DAILY),
        "berlin": make_repo("berlin", manifest=WEEKLY_BERLIN),
        "later": make_repo("later", manifest=NOT_DUE),
        "broken": make_repo("broken", manifest=DAILY),
    }
    (repos["broken"] / ".kaizen" / "agents").mkdir()
    (repos["broken"] / ".kaizen" / "agents" / "coach.md").write_text(BROKEN_AGENT)
    for path in repos.values():
        commit_all(path)
    records = [{"slug": f"acme/{n}", "host_paths": {HOST: str(p)}} for n, p in repos.items()]
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(records))
    return path


def due(roster: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "schedule",
        "prepare",
        "--due",
        "--at",
        AT,
        "--window",
        "1h",
        "--roster",
        str(roster),
        "--hostname",
        HOST,
        "--out",
        str(tmp_path / "out"),
        "--outbox",
        str(tmp_path / "events.jsonl"),
        *extra,
    ]


def test_prepares_what_is_due_and_survives_a_failure(
    roster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(due(roster, tmp_path, "--json")) == 1  # one repo failed
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == {"created": 2, "exists": 0, "replaced": 0, "failed": 1}
    assert doc["not_due"] == 2  # berlin's optimization-review and later's coach
    by_repo = {b["repo"]: b for b in doc["bundles"]}
    assert by_repo["acme/daily"]["slot"] == "2027-03-29T09:00:00+00:00"
    assert by_repo["acme/berlin"]["slot"] == "2027-03-29T11:15:00+02:00"
    broken = roster.parent / "broken" / ".kaizen" / "agents" / "coach.md"
    assert by_repo["acme/broken"]["error"] == f"{broken}:7:1: the prompt body is empty"
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert sorted(e["subject"] for e in events) == ["acme/berlin", "acme/daily"]

    assert main(due(roster, tmp_path, "--json")) == 1  # the broken repo still fails
    again = json.loads(capsys.readouterr().out)
    assert again["summary"] == {"created": 0, "exists": 2, "replaced": 0, "failed": 1}
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 2  # nothing emitted twice
    # a bundle already in place is reported from its manifest, as it was made
    before = {b["repo"]: (b["path"], b["key"], b["digest"]) for b in doc["bundles"]}
    after = {b["repo"]: (b["path"], b["key"], b["digest"]) for b in again["bundles"]}
    assert after["acme/daily"] == before["acme/daily"] and None not in after["acme/daily"]


def test_text_summary(roster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(due(roster, tmp_path))
    out = capsys.readouterr().out
    assert out.startswith(
        f"roster {roster} at {AT} (window 3600 s): 4 repos, 4 enrolled; "
        "2 prepared, 0 already prepared, 1 failed, 2 agents not due\n"
    )
    assert "acme/broken  coach  2027-03-29T09:00:00+00:00  failed" in out


def test_due_needs_at(roster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "prepare", "--due", "--roster", str(roster)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: kaizen-agentic schedule prepare ")
    assert err.endswith(
        "kaizen-agentic schedule prepare: error: --due needs --at (the tick time, so a re-run "
        "prepares the same slots) or --tick\n"
    )


def test_sink_receives_each_new_event_once(
    roster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve([Reply(202)]) as sink:
        main(due(roster, tmp_path, "--sink", sink.url))
        main(due(roster, tmp_path, "--sink", sink.url))
    assert len(sink.seen) == 2


def test_a_1000_repo_fleet(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = make_repo("template", manifest=DAILY)
    commit_all(template)
    records = []
    for i in range(1000):
        dest = tmp_path / "fleet" / f"r{i:04d}"
        shutil.copytree(template, dest, symlinks=True)
        manifest = dest / ".kaizen" / "schedule.yml"
        manifest.write_text(with_repo(DAILY, f"org/r{i:04d}"))
        records.append({"slug": f"org/r{i:04d}", "host_paths": {HOST: str(dest)}})
    roster = tmp_path / "fleet.json"
    roster.write_text(json.dumps(records))
    assert main(due(roster, tmp_path, "--json", "--jobs", "2")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["created"] == 1000
    assert len({b["key"] for b in doc["bundles"]}) == 1000
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 1000


def test_register(make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(manifest="version: 1\nrepo: acme/payments\n" + DAILY.split("\n", 1)[1])
    with serve([Reply(204)]) as hub:
        assert main(["schedule", "register", "--hub", hub.url, "--repo", str(repo)]) == 0
        assert (
            main(
                [
                    "schedule",
                    "register",
                    "--hub",
                    hub.url,
                    "--repo",
                    str(repo),
                    "--disable",
                    "--slug",
                    "acme/other",
                ]
            )
            == 0
        )
    first, second = (json.loads(s.body) for s in hub.seen)
    assert [s.path for s in hub.seen] == ["/repos/acme%2Fpayments", "/repos/acme%2Fother"]
    assert (first["kaizen_schedule_enabled"], second["kaizen_schedule_enabled"]) == (True, False)
    assert capsys.readouterr().out.startswith(
        f"acme/payments: kaizen_schedule_enabled=true (enabled) on {hub.url}\n"
        "note: the flag is advisory"
    )


def test_register_refuses_an_invalid_manifest(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(manifest="version: 1\n")
    with serve([Reply(204)]) as hub:
        assert main(["schedule", "register", "--hub", hub.url, "--repo", str(repo)]) == 1
    assert hub.seen == []
    assert 'missing required key "agents"' in capsys.readouterr().err
