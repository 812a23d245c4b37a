"""Kubernetes and crontab exports that run: valid objects, mounted paths, unique names, a
last-day job that exits 0 on other days, and a crontab tick that prepares exactly the calendar."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kaizen_agentic.export.common import Target
from kaizen_agentic.export.cron import (
    Deploy,
    Pod,
    cronjob_name,
    crontab_line,
    crontab_tick,
    k8s_cronjob,
    k8s_tick,
)
from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
from kaizen_agentic.main import main
from kaizen_agentic.manifest import cadence as cad
from kaizen_agentic.manifest.schedule import load_manifest
from kaizen_agentic.names import AGENT_NAME_PATTERN, SLUG_PATTERN
from kaizen_agentic.views.timetable import build
from tests.conftest import commit_all, usage_error

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
DEPLOY = Deploy("/srv/kaizen/bundles", "kaizen-agentic", "/srv/kaizen/roster.yml")
POD = Pod("registry.example.com/kaizen-agentic:0.1")
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def example_targets() -> list[Target]:
    out = []
    for path in [ROOT / "examples/schedule.yml", *sorted((ROOT / "examples/fleet").glob("*.yml"))]:
        if path.name in ("docs-site.yml", "roster.template.yml"):
            continue
        manifest = load_manifest(path)
        name = manifest.repo.split("/")[1]
        out += [
            Target(manifest.repo, f"/srv/checkouts/{name}", e.agent, e.cadence, "runner-1")
            for e in manifest.agents
        ]
    out.append(  # the month's last day, in a zone with DST
        Target(
            "acme-corporation/payments-reconciliation-service",
            "/srv/checkouts/payments-reconciliation-service",
            "optimization-review",
            cad.compile_cadence("monthly", timezone="Europe/Berlin", day="last", at="02:30"),
            "runner-2",
        )
    )
    return out


TARGETS = example_targets()


def all_objects() -> list[dict[str, Any]]:
    docs = [k8s_cronjob(t, start=AT, pod=POD, deploy=DEPLOY) for t in TARGETS]
    claim = POD._replace(checkout_claim="checkouts", bundle_claim="bundles")
    docs += [k8s_cronjob(TARGETS[0], start=AT, pod=claim, deploy=DEPLOY)]
    hub = DEPLOY._replace(roster_file=None, hub_url="https://hub.example.com")
    for deploy in (DEPLOY, hub):
        docs += [
            k8s_tick(
                "runner-1",
                ["/srv/checkouts/a", "/srv/checkouts/b"],
                pod=POD,
                deploy=deploy,
                tick=timedelta(minutes=15),
                window=timedelta(hours=1),
            )
        ]
    return docs


@pytest.mark.parametrize("version", ["1.29.0", "1.37.0"])
def test_every_cronjob_validates_strictly(version: str, tmp_path: Path) -> None:
    path = tmp_path / "cronjobs.yaml"
    path.write_text(yaml.safe_dump_all(all_objects(), sort_keys=False))
    cli = Path(sys.executable).parent / "kubernetes-validate"
    done = subprocess.run(
        [str(cli), "--strict", "-k", version, str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" passed for resource cronjob/") == len(all_objects())


@pytest.mark.parametrize("job", all_objects(), ids=lambda j: j["metadata"]["name"])
def test_every_path_an_argument_names_is_mounted(job: dict[str, Any]) -> None:
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    paths = [a for a in container["args"] if a.startswith("/")]
    assert paths
    for path in paths:
        assert any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts), path
    volumes = {v["name"] for v in pod["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} == volumes
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["image"] == POD.image
    assert LABEL.fullmatch(job["metadata"]["name"]) and len(job["metadata"]["name"]) <= 52
    if "checkouts" not in {v["name"] for v in pod["volumes"] if "persistentVolumeClaim" in v}:
        assert pod["nodeSelector"]["kubernetes.io/hostname"].startswith("runner-")


def test_a_tick_cronjob_fires_every_15_minutes_in_utc() -> None:
    job = all_objects()[-2]
    spec = job["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == (
        "*/15 * * * *",
        "Etc/UTC",
        "Forbid",
    )
    assert spec["startingDeadlineSeconds"] < 900
    args = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == [
        "schedule",
        "prepare",
        "--due",
        "--tick",
        "15m",
        "--window",
        "60m",
        "--roster",
        "/srv/kaizen/roster.yml",
        "--hostname",
        "runner-1",
        "--out",
        "/srv/kaizen/bundles",
        "--json",
    ]


slugs = st.from_regex(re.compile(SLUG_PATTERN), fullmatch=True)
agents = st.from_regex(re.compile(AGENT_NAME_PATTERN), fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(a=st.tuples(slugs, agents), b=st.tuples(slugs, agents))
def test_names_are_valid_labels_unique_per_repo_and_agent(
    a: tuple[str, str], b: tuple[str, str]
) -> None:
    cadence = cad.compile_cadence("daily", timezone="UTC", at="09:00")
    name_a = cronjob_name(Target(a[0], "/x", a[1], cadence))
    name_b = cronjob_name(Target(b[0], "/x", b[1], cadence))
    for name in (name_a, name_b):
        assert LABEL.fullmatch(name) and len(name) <= 52, name
    assert (name_a == name_b) == (a == b)


def test_two_agents_of_a_long_slug_get_two_names() -> None:
    slug = "acme-corporation/payments-reconciliation-service"
    cadence = cad.compile_cadence("daily", timezone="UTC", at="09:00")
    names = {
        cronjob_name(Target(slug, "/x", agent, cadence))
        for agent in ("coach", "optimization-review")
    }
    assert len(names) == 2


LAST_DAY = (
    "version: 1\nrepo: acme/ledger\ntimezone: Europe/Berlin\nagents:\n"
    "  - agent: coach\n    schedule: {interval: monthly, day: last, time: '16:00'}\n"
    "  - agent: optimization-review\n    paused_until: 2027-02-01\n"
    "    schedule: {interval: daily, time: '08:00'}\n"
)


@pytest.mark.parametrize(
    ("day", "prepared"),
    [("2027-01-28", False), ("2027-01-30", False), ("2027-01-31", True), ("2027-02-28", True)],
)
def test_the_last_day_job_exits_0_on_other_days(
    make_repo: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    day: str,
    prepared: bool,
) -> None:
    repo = make_repo("ledger", manifest=LAST_DAY)
    commit_all(repo)
    deploy = DEPLOY._replace(bundle_dir=str(tmp_path / "bundles"))
    entry = load_manifest(repo / ".kaizen/schedule.yml").agents[0]
    job = k8s_cronjob(
        Target("acme/ledger", str(repo), "coach", entry.cadence, "runner-1"),
        start=AT,
        pod=POD,
        deploy=deploy,
    )
    assert job["spec"]["schedule"] == "0 16 28-31 * *"
    args = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    fired = f"{day}T16:00:05+01:00"  # the CronJob controller starts it a few seconds late
    assert main([*args, "--at", fired]) == 0
    doc = json.loads(capsys.readouterr().out)
    if prepared:
        assert doc["data"]["slot"] == f"{day}T16:00:00+01:00"
    else:
        assert doc == {
            "status": "not-due",
            "repo": "acme/ledger",
            "agent": "coach",
            "at": fired,
            "reason": f"no slot in the 1h before {fired}",
        }


def test_a_paused_agent_resumes_by_itself(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("ledger", manifest=LAST_DAY)
    commit_all(repo)
    argv = ["schedule", "prepare", "optimization-review", "--repo", str(repo), "--if-due", "1h"]
    argv += ["--out", str(tmp_path / "b")]
    assert main([*argv, "--at", "2027-01-31T08:00:00+01:00"]) == 0
    assert capsys.readouterr().out == (
        "not due: optimization-review for acme/ledger: paused until 2027-02-01; nothing prepared\n"
    )
    assert main([*argv, "--at", "2027-02-01T08:00:00+01:00"]) == 0
    assert capsys.readouterr().out.startswith("prepared: optimization-review for acme/ledger")


def test_a_crontab_line_names_absolute_paths_only() -> None:
    deploy = DEPLOY._replace(binary="/opt/kaizen/bin/kaizen-agentic")
    line = crontab_line(TARGETS[0], start=AT, deploy=deploy)
    command = line.splitlines()[-1].split(" ", 5)[5]
    paths = [w for w in command.split() if "/" in w and not w.startswith("--")]
    assert all(p.startswith("/") for p in paths), paths
    assert "--if-due 1h" in command


def test_export_refuses_what_cannot_run(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo("a", manifest=(ROOT / "examples/fleet/infra.yml").read_text())
    base = ["schedule", "export", "--repo", str(repo), "--format"]
    assert main([*base, "k8s-cronjob", "--bundle-dir", "/srv/b"]) == 2
    assert "needs --image IMAGE (or KAIZEN_IMAGE)" in capsys.readouterr().err
    assert main([*base, "crontab"]) == 2
    assert "needs --bundle-dir DIR" in capsys.readouterr().err
    assert main([*base, "crontab", "--bundle-dir", "rel/b"]) == 2
    err = capsys.readouterr().err
    assert usage_error(err, "schedule export", "--bundle-dir must be absolute, got 'rel/b'")


# --- the crontab tick, run through simulated ticks across a DST gap and fold ------------------

FLEET = {
    "acme/berlin": "timezone: Europe/Berlin\nagents:\n"
    "  - agent: coach\n    schedule: {interval: daily, time: '02:30'}\n"
    "  - agent: optimization-review\n    schedule: {interval: cron, cronjob: '*/20 1-3 * * *'}\n",
    "acme/sydney": "timezone: Australia/Sydney\nagents:\n"
    "  - agent: coach\n    schedule: {interval: daily, time: '02:30'}\n"
    "  - agent: optimization-review\n    schedule: {interval: cron, cronjob: '*/30 2 * * *'}\n",
}
GAP = (datetime(2027, 3, 28, 0, 0, tzinfo=UTC), datetime(2027, 3, 28, 2, 30, tzinfo=UTC))
FOLD = (datetime(2027, 4, 3, 14, 30, tzinfo=UTC), datetime(2027, 4, 3, 17, 30, tzinfo=UTC))


@pytest.mark.slow
def test_a_crontab_tick_prepares_exactly_the_calendar_across_dst(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = []
    for slug, body in FLEET.items():
        repo = make_repo(slug.split("/")[1], manifest=f"version: 1\nrepo: {slug}\n{body}")
        commit_all(repo)
        records.append({"slug": slug, "host_paths": {"runner-1": str(repo)}})
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(records))
    out = tmp_path / "bundles"
    argv = ["schedule", "export", "--roster", str(roster), "--format", "crontab", "--tick", "15m"]
    assert main([*argv, "--bundle-dir", str(out), "--bin", "/usr/local/bin/kaizen-agentic"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[1:3] == ["CRON_TZ=UTC", text.splitlines()[2]]
    schedule, command = text.splitlines()[2].split(" /usr/local/bin/kaizen-agentic ")
    assert schedule == "*/15 * * * *"
    args = command.split()
    expected: set[tuple[str, str, str]] = set()
    for lo, hi in (GAP, FOLD):
        tick = lo
        while tick <= hi:  # cron starts each tick a little late; --tick floors it back
            assert main([*args, "--at", (tick + timedelta(seconds=40)).isoformat()]) == 0
            capsys.readouterr()
            tick += timedelta(minutes=15)
        found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname="runner-1", at=lo)
        first = lo - timedelta(hours=1)  # the first tick's window reaches back an hour
        for run in build(found, start=first, days=1, zone="UTC").runs:
            if first < run.when <= hi:
                expected.add((run.slug, run.agent, run.when.astimezone(UTC).isoformat()))
    made = []
    for manifest in out.glob("*/*/*/manifest.json"):
        doc = json.loads(manifest.read_text())
        made.append((doc["repo"]["slug"], doc["agent"]["name"], doc["slot_utc"]))
    assert len(made) == len(set(made))
    assert set(made) == expected
    assert ("acme/berlin", "coach", "2027-03-28T01:00:00+00:00") in expected  # the gap's end
    assert ("acme/sydney", "coach", "2027-04-03T15:30:00+00:00") in expected  # the first 02:30
    assert ("acme/sydney", "coach", "2027-04-03T16:30:00+00:00") not in expected


def test_crontab_tick_for_one_host() -> None:
    text = crontab_tick(
        "runner-1", deploy=DEPLOY, tick=timedelta(minutes=15), window=timedelta(hours=1)
    )
    assert text == (
        "# kaizen-agentic tick for runner-1: every 15m, prepare what is due in the last 60m\n"
        "CRON_TZ=UTC\n"
        "*/15 * * * * kaizen-agentic schedule prepare --due --tick 15m --window 60m --roster "
        "/srv/kaizen/roster.yml --hostname runner-1 --out /srv/kaizen/bundles --json\n"
    )
