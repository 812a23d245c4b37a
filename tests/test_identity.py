"""One checkout, reached every way the tool can reach it, is one repository: the same run times,
the same bundle path and the same idempotency key (issue: a spread minute that depended on the
caller's name for the repo)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kaizen_agentic.main import main
from kaizen_agentic.manifest.schedule import load_manifest
from tests.conftest import commit_all
from tests.loopback import Reply, serve

HOST = "runner-1"
AT = "2027-03-30T12:00:00+00:00"  # a Tuesday
# No `time`: the minute is spread by identity, which made the old entry points disagree.
MANIFEST = (
    "version: 1\nrepo: acme/payments\ntimezone: Europe/Berlin\nagents:\n"
    "  - agent: coach\n    schedule: {interval: weekly, day: tuesday}\n"
)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out) if out.lstrip().startswith(("{", "[")) else out


@pytest.fixture
def checkout(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    # The folder and the remote both name it differently from the manifest, on purpose.
    repo = make_repo(
        "src/pay-checkout", manifest=MANIFEST, origin="git@github.com:someone/fork-of-pay.git"
    )
    commit_all(repo)
    return repo


def test_every_entry_point_sees_the_same_repository(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.json"
    record = {"slug": "acme/payments", "host_paths": {HOST: str(checkout)}}
    roster.write_text(json.dumps([record]))
    at = datetime.fromisoformat(AT)
    runs: dict[str, list[str]] = {}

    (entry,) = load_manifest(checkout / ".kaizen" / "schedule.yml").agents
    runs["load_manifest"] = [r.isoformat() for r in entry.next_runs(at, 2)]
    listed = cli(capsys, "schedule", "list", "--repo", str(checkout), "--at", AT, "--json")
    runs["list"] = listed["agents"][0]["next_runs"]

    def discovered(*source: str) -> list[str]:
        doc = cli(
            capsys,
            "schedule",
            "discover",
            *source,
            "--hostname",
            HOST,
            "--at",
            AT,
            "--count",
            "2",
            "--json",
        )
        (repo,) = doc["repos"]
        assert (repo["slug"], repo["state"]) == ("acme/payments", "enrolled")
        runs: list[str] = repo["agents"][0]["next_runs"]
        return runs

    runs["discover --roster"] = discovered("--roster", str(roster))
    runs["discover --scan"] = discovered("--scan", str(tmp_path / "src"))
    with serve([Reply(200, json.dumps([record]).encode())]) as hub:
        runs["discover --hub"] = discovered("--hub", hub.url)
    local = {
        name: [datetime.fromisoformat(t).astimezone(UTC) for t in times[:2]]
        for name, times in runs.items()
    }
    assert len({tuple(v) for v in local.values()}) == 1, runs
    first = local["list"][0]

    # The crontab exported from the roster fires at that minute, in that zone.
    crontab = cli(
        capsys,
        "schedule",
        "export",
        "--roster",
        str(roster),
        "--hostname",
        HOST,
        "--format",
        "crontab",
        "--at",
        AT,
        "--bundle-dir",
        "/srv/b",
    )
    berlin = first.astimezone(entry.cadence.zone)
    assert f"\n{berlin.minute} {berlin.hour} * * 2 " in crontab
    crontab_repo = cli(
        capsys,
        "schedule",
        "export",
        "--repo",
        str(checkout),
        "--format",
        "crontab",
        "--at",
        AT,
        "--bundle-dir",
        "/srv/b",
    )
    assert crontab_repo == crontab

    # Every prepare of the slot after it names the same folder and key.
    tick = (first + timedelta(minutes=5)).isoformat()
    out = tmp_path / "bundles"
    made: dict[str, tuple[str, str]] = {}
    single = cli(
        capsys,
        "schedule",
        "prepare",
        "coach",
        "--repo",
        str(checkout),
        "--at",
        tick,
        "--out",
        str(out),
        "--json",
    )
    made["prepare --repo"] = (single["data"]["bundle"]["path"], single["data"]["idempotency_key"])
    for name, source in (
        ("roster", ["--roster", str(roster)]),
        ("scan", ["--scan", str(tmp_path / "src")]),
    ):
        doc = cli(
            capsys,
            "schedule",
            "prepare",
            "--due",
            "--at",
            tick,
            *source,
            "--hostname",
            HOST,
            "--out",
            str(out),
            "--json",
        )
        (bundle,) = doc["bundles"]
        assert bundle["status"] == "exists"
        made[f"prepare --due --{name}"] = (bundle["path"], bundle["key"])

    from temporalio.testing import ActivityEnvironment

    from kaizen_agentic.integrations.temporal import DiscoverInput, HostActivities, PrepareInput

    acts = HostActivities(HOST, str(out))
    env = ActivityEnvironment()
    found = env.run(
        acts.discover_due, DiscoverInput(at=tick, roster_file=str(roster), window_seconds=3600)
    )
    (due,) = found.due
    assert datetime.fromisoformat(due.slot) == first
    done = env.run(acts.prepare, PrepareInput(due.path, due.agent, due.slot))
    made["temporal activities"] = (done.bundle_path, done.idempotency_key)
    assert len(set(made.values())) == 1, made
    assert Path(single["data"]["bundle"]["path"]).parts[-3:] == (
        "acme__payments",
        "coach",
        first.strftime("%Y%m%dT%H%M%SZ"),
    )

    # The calendar puts the run in the same hour whichever way it is asked.
    cal_repo = cli(capsys, "schedule", "calendar", "--repo", str(checkout), "--from", AT, "--json")
    cal_roster = cli(
        capsys,
        "schedule",
        "calendar",
        "--roster",
        str(roster),
        "--hostname",
        HOST,
        "--from",
        AT,
        "--json",
    )
    assert cal_repo["heatmap"] == cal_roster["heatmap"]
    assert any(
        datetime.fromisoformat(r["at"]) == first and r["repo"] == "acme/payments"
        for r in cal_roster["runs"]
    )
