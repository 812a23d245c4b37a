"""The fleet calendar: counts agree with the cadence engine, and the page renders offline."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
from kaizen_agentic.main import main
from kaizen_agentic.manifest import cadence as cad
from kaizen_agentic.manifest.schedule import parse_manifest
from kaizen_agentic.views.calendar_html import render
from kaizen_agentic.views.timetable import build
from tests.conftest import usage_error, with_repo

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2027, 3, 29, 0, 0, tzinfo=UTC)  # a Monday
HOST = "runner-1"

CADENCES = [
    "{interval: weekly, day: monday, time: '09:00'}",  # the Dependabot habit: a Monday peak
    "{interval: weekly, day: monday, time: '09:00'}",
    "{interval: weekly, day: monday, time: '09:00'}",
    "{interval: weekly}",
    "{interval: daily}",
    "{interval: weekdays, time: '08:30'}",
    "{interval: cron, cronjob: '0 7 * * 1-5'}",
]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]


def fleet(tmp_path: Path, size: int) -> tuple[Path, dict[str, str]]:
    records, manifests = [], {}
    for i in range(size):
        repo = tmp_path / "fleet" / f"r{i:04d}"
        (repo / ".git").mkdir(parents=True)
        (repo / ".kaizen").mkdir()
        text = (
            f"version: 1\ntimezone: {ZONES[i % len(ZONES)]}\nagents:\n"
            f"  - agent: coach\n    schedule: {CADENCES[i % len(CADENCES)]}\n"
        )
        if i % 50 == 7:
            text = "version: 1\nagents: oops\n"  # invalid: not taking part
        text = with_repo(text, f"org/r{i:04d}")
        (repo / ".kaizen" / "schedule.yml").write_text(text)
        manifests[f"org/r{i:04d}"] = text
        records.append({"slug": f"org/r{i:04d}", "host_paths": {HOST: str(repo)}})
    roster = tmp_path / "fleet.json"
    roster.write_text(json.dumps(records))
    return roster, manifests


def test_a_1000_repo_fleet_counts_agree_with_the_cadence_engine(tmp_path: Path) -> None:
    roster, manifests = fleet(tmp_path, 1000)
    found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=HOST, at=START)
    table = build(found, start=START, days=7, zone="Europe/Berlin")
    expected: Counter[tuple[int, int]] = Counter()
    total = 0
    berlin = cad.zone("Europe/Berlin")
    for text in manifests.values():
        if "oops" in text:
            continue
        (entry,) = parse_manifest(text.encode(), "m.yml").agents
        for run in cad.iter_runs(entry.cadence, START - timedelta(microseconds=1)):
            if run >= START + timedelta(days=7):
                break
            local = run.astimezone(berlin)
            expected[(local.weekday(), local.hour)] += 1
            total += 1
    assert len(table.runs) == total
    assert table.heat == tuple(tuple(expected[(d, h)] for h in range(24)) for d in range(7))
    assert len(table.not_taking_part) == 20
    assert {r.state for r in table.not_taking_part} == {"invalid"}
    # 3 of every 7 repos pin Monday 09:00 local: Berlin's land at 09:00, UTC's at 11:00 CEST
    assert {(p.day, p.hour) for p in table.peaks} >= {(0, 9), (0, 11)}
    for peak in table.peaks:
        assert peak.runs > table.threshold
        assert 0 < len(peak.pinned) <= peak.runs  # the pinned entries there are named
        assert peak.if_spread < peak.runs  # dropping `time` flattens the peak


def test_cli_text_json_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster, _ = fleet(tmp_path, 60)
    page = tmp_path / "cal.html"
    argv = [
        "schedule",
        "calendar",
        "--roster",
        str(roster),
        "--hostname",
        HOST,
        "--from",
        START.isoformat(),
        "--days",
        "7",
        "--tz",
        "Europe/Berlin",
    ]
    assert main([*argv, "--html", str(page)]) == 0
    out, err = capsys.readouterr()
    assert err == f"wrote {page}\n"
    assert out.startswith("2027-03-29 02:00 to 2027-04-05 01:59 (Europe/Berlin): ")
    assert "\nMon     " in out and "\nbusiest: Mon " in out
    assert "not taking part:\n  org/r0007: invalid" in out
    html = page.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["heatmap"]["rows"][0] == "Mon"
    assert sum(map(sum, doc["heatmap"]["counts"])) == doc["total_runs"] == len(doc["runs"])
    assert main([*argv, "--tz", "Mars/Base"]) == 2
    err = capsys.readouterr().err
    assert usage_error(err, "schedule calendar", '--tz: unknown time zone "Mars/Base"'), err


def test_one_repository(make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(manifest=(ROOT / "examples" / "fleet" / "web-frontend.yml").read_text())
    assert (
        main(["schedule", "calendar", "--repo", str(repo), "--from", START.isoformat(), "--json"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["total_runs"] == 5  # weekdays at 08:30 New York
    assert {r["at"][11:16] for r in doc["runs"]} == {"12:30"}  # in UTC


def test_the_page_renders_offline_in_a_real_browser(tmp_path: Path) -> None:
    from tests.browser import chromium, open_page

    chromium()
    roster, _ = fleet(tmp_path, 200)
    found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=HOST, at=START)
    page_file = tmp_path / "calendar.html"
    page_file.write_text(render(build(found, start=START, days=7, zone="Europe/Berlin")))
    shot = ROOT / "build" / "calendar.png"

    def look(page: Any) -> dict[str, Any]:
        return {
            "rows": page.locator("#heatmap tbody tr").count(),
            "cells": page.locator("#heatmap tbody td").count(),
            "title": page.title(),
        }

    seen, console, requests = open_page(page_file, shot, look, (1280, 900))
    assert (seen["rows"], seen["cells"]) == (7, 7 * 24)
    assert seen["title"] == "Kaizen fleet calendar"
    assert [c for c in console if c[0] in ("error", "pageerror")] == []
    assert requests == [page_file.as_uri()]  # the page itself, nothing else
    assert shot.stat().st_size > 10_000
