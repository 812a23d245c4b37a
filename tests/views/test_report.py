"""The fleet report on a generated fleet whose records are known: exact figures in JSON, the
same values in the Prometheus text, a page that opens offline in a real browser."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kaizen_agentic.bundle.store import idempotency_key
from kaizen_agentic.main import main
from kaizen_agentic.manifest.schedule import load_manifest
from tests.conftest import usage_error

ROOT = Path(__file__).resolve().parents[2]
HOST = "runner-1"
SINCE = "2027-03-22T00:00:00+00:00"
UNTIL = "2027-04-01T00:00:00+00:00"  # Europe/Berlin skips 02:00-02:59 on 2027-03-28
BEFORE = datetime(2027, 1, 1, tzinfo=UTC).timestamp()  # the manifests were there before SINCE

ALPHA = (
    "version: 1\nrepo: acme/alpha\ntimezone: Europe/Berlin\nagents:\n"
    "  - agent: coach\n    schedule: {interval: daily, time: '02:30'}\n"
)
BETA = (  # paused through the period: no slots, nothing missed
    "version: 1\nrepo: acme/beta\nagents:\n  - agent: coach\n    paused_until: 2027-05-01\n"
    "    schedule: {interval: daily, time: '09:00'}\n"
)
GAMMA = (  # never ran
    "version: 1\nrepo: acme/gamma\nagents:\n"
    "  - agent: coach\n    schedule: {interval: weekly, day: monday, time: '09:00'}\n"
)
DELTA = (
    "version: 1\nrepo: acme/delta\nagents:\n"
    "  - agent: optimization-review\n    schedule: {interval: weekly, day: friday, time: '18:00'}\n"
)


def line(time: str, outcome: str, **extra: Any) -> str:
    record = {"time": time, "outcome": outcome, "measures": {}, **extra}
    return json.dumps(record) + "\n"


@pytest.fixture
def fleet(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    alpha = make_repo("alpha", manifest=ALPHA)
    entry = load_manifest(alpha / ".kaizen/schedule.yml").agents[0]
    slots = entry.runs_between(datetime.fromisoformat(SINCE), datetime.fromisoformat(UNTIL))
    assert len(slots) == 10
    lines = [line("2027-03-01T02:40:00+01:00", "success", tokens=999)]  # before the period
    for i, slot in enumerate(slots):
        if i in (3, 6):  # 03-25 and 03-28, the day of the gap: missed
            continue
        stamp = (slot + timedelta(minutes=10)).isoformat()
        extra: dict[str, Any] = {"tokens": 1000 + i, "duration_s": 60.0 + i}
        extra["measures"] = {"coverage": 0.50 + i / 100}
        if i % 2:  # every other record names its bundle; the rest count by their time
            extra["bundle"] = idempotency_key("acme/alpha", "coach", slot)
        lines.append(line(stamp, "success" if i != 9 else "partial", **extra))
    (alpha / ".kaizen/metrics").mkdir()
    (alpha / ".kaizen/metrics/coach.jsonl").write_text("".join(lines))
    (alpha / ".kaizen/memory").mkdir()
    (alpha / ".kaizen/memory/coach.md").write_text(
        "# Memory: coach\n\n## 2027-03-20\nKeep the retry tests.\n\n## 2027-03-21\nNo flakes.\n"
    )
    make_repo("beta", manifest=BETA)
    make_repo("gamma", manifest=GAMMA)
    delta = make_repo("delta", manifest=DELTA)
    (delta / ".kaizen/metrics").mkdir()
    (delta / ".kaizen/metrics/optimization-review.jsonl").write_text(
        line("2027-03-26T18:05:00+00:00", "failure", tokens=500)
        + "{not json\n"
        + line("2027-03-31T20:00:00+00:00", "failure", tokens=700, memory_dropped=4)
        + '{"time": "x", "outcome": "success"}\n'
    )
    for name in ("alpha", "beta", "gamma", "delta"):  # not committed: their files' times count
        os.utime(tmp_path / name / ".kaizen/schedule.yml", (BEFORE, BEFORE))
    absent = make_repo("absent")
    records = [
        {"slug": f"acme/{name}", "host_paths": {HOST: str(tmp_path / name)}}
        for name in ("alpha", "beta", "gamma", "delta")
    ] + [{"slug": "acme/absent", "host_paths": {HOST: str(absent)}}]
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(records))
    return roster


def report(capsys: pytest.CaptureFixture[str], roster: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["metrics", "report", "--roster", str(roster), "--hostname", HOST]
    code = main([*argv, "--since", SINCE, "--until", UNTIL, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_json_has_the_known_figures(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report(capsys, fleet, "--json")
    assert code == 0
    doc = json.loads(out)
    by = {(a["repo"], a["agent"]): a for a in doc["agents"]}
    alpha = by[("acme/alpha", "coach")]
    assert alpha["runs"] == {"success": 7, "partial": 1, "failure": 0, "skipped": 0}
    assert alpha["due_slots"] == 10
    assert alpha["missed_slots"] == ["2027-03-25T01:30:00+00:00", "2027-03-28T01:00:00+00:00"]
    assert alpha["tokens"] == {"total": 8036, "median": 1004.5}
    assert alpha["duration_s"] == {"total": 516.0, "median": 64.5}
    assert alpha["memory"] == {"entries": 2, "dropped_by_last_bundle": None}
    assert alpha["measures"] == [
        {"name": "coverage", "first": 0.5, "last": 0.59, "trend": "rising"}
    ]
    assert (alpha["last_run"], alpha["last_outcome"]) == ("2027-03-31T02:40:00+02:00", "partial")
    beta = by[("acme/beta", "coach")]
    assert (beta["state"], beta["due_slots"], beta["missed_slots"]) == ("paused", 0, [])
    gamma = by[("acme/gamma", "coach")]
    assert (gamma["ever_ran"], gamma["due_slots"], len(gamma["missed_slots"])) == (False, 2, 2)
    delta = by[("acme/delta", "optimization-review")]
    assert delta["runs"]["failure"] == 2 and delta["failures_in_row"] == 2
    assert delta["malformed_lines"] == 2
    assert delta["memory"]["dropped_by_last_bundle"] == 4
    assert doc["attention"] == [
        {
            "repo": "acme/gamma",
            "agent": "coach",
            "score": 9,  # 2 per missed slot, 5 more for never having run
            "reasons": ["never ran", "2 missed slots"],
        },
        {
            "repo": "acme/delta",
            "agent": "optimization-review",
            "score": 8,
            "reasons": [
                "2 failures in a row",
                "budget: the last bundle left out 4 memory entries",
                "2 unreadable metrics lines",
            ],
        },
        {"repo": "acme/alpha", "agent": "coach", "score": 4, "reasons": ["2 missed slots"]},
    ]
    assert doc["totals"]["coach"] == {
        "repos": 3,
        "runs": {"success": 7, "partial": 1, "failure": 0, "skipped": 0},
        "tokens": 8036,
        "missed": 4,
    }
    assert doc["not_taking_part"] == [
        {"repo": "acme/absent", "state": "absent", "reason": "no .kaizen/schedule.yml"}
    ]
    assert [w["week"] for w in doc["weeks"]] == ["2027-W12", "2027-W13"]


@pytest.mark.parametrize("columns", ["100", "140"])
def test_the_terminal_table_is_worst_first_with_whole_names(
    fleet: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    code, out, _ = report(capsys, fleet)
    assert code == 0
    assert max(len(x) for x in out.splitlines()[3:8]) <= 100  # the table; reasons are sentences
    assert "\nacme/delta  optimization-review  0/0/2/0 " in out  # never cut to "optimization-…"
    rows = [x.split()[0] for x in out.splitlines()[4:8]]
    assert rows == ["acme/gamma", "acme/delta", "acme/alpha", "acme/beta"]
    assert (
        "\nneeds attention first:\n"
        "  acme/gamma coach: never ran; 2 missed slots\n"
        "  acme/delta optimization-review: 2 failures in a row; budget: the last bundle left out 4 memory entries; 2 unreadable metrics lines\n"
        "  acme/alpha coach: 2 missed slots\n"
    ) in out
    assert "not taking part:\n  acme/absent: absent (no .kaizen/schedule.yml)\n" in out


def test_the_prometheus_text_parses_and_equals_the_json(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    prom = tmp_path / "kaizen.prom"
    code, out, err = report(capsys, fleet, "--json", "--openmetrics", str(prom))
    assert (code, err) == (0, f"wrote {prom}\n")
    doc = json.loads(out)
    samples = {}
    for family in text_string_to_metric_families(prom.read_text()):
        for s in family.samples:
            key = (s.name, s.labels.get("repo"), s.labels.get("agent"), s.labels.get("outcome"))
            samples[key] = s.value
    for a in doc["agents"]:
        repo, agent = a["repo"], a["agent"]
        for outcome, n in a["runs"].items():
            assert samples[("kaizen_runs_total", repo, agent, outcome)] == n
        assert samples[("kaizen_missed_slots", repo, agent, None)] == len(a["missed_slots"])
        assert samples[("kaizen_tokens_total", repo, agent, None)] == a["tokens"]["total"]
        if a["last_run"]:
            when = datetime.fromisoformat(a["last_run"]).timestamp()
            assert samples[("kaizen_last_run_timestamp_seconds", repo, agent, None)] == when
        for m in a["measures"]:
            assert samples[(f"kaizen_measure_{m['name']}", repo, agent, None)] == m["last"]


def test_a_single_repository_and_bad_options(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["metrics", "report", "--repo", str(tmp_path / "alpha"), "--until", UNTIL, "--json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and [a["repo"] for a in doc["agents"]] == ["acme/alpha"]
    assert doc["since"] == "2027-03-04T00:00:00+00:00"  # 28 days by default
    code = main(
        ["metrics", "report", "--repo", str(tmp_path / "alpha"), "--since", UNTIL, "--until", SINCE]
    )
    err = capsys.readouterr().err
    assert code == 2 and usage_error(err, "metrics report", "--since must be before --until")
    code, _, err = report(capsys, fleet, "--html", str(tmp_path / "nowhere" / "r.html"))
    assert (code, err) == (
        1,
        f"kaizen-agentic: error: cannot write {tmp_path}/nowhere/r.html: no such folder "
        f"{tmp_path}/nowhere\n",
    )


def test_the_page_opens_offline_in_a_real_browser(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.browser import chromium, open_page

    chromium()
    page_file = tmp_path / "report.html"
    assert report(capsys, fleet, "--html", str(page_file))[0] == 0
    html = page_file.read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    shot = ROOT / "build" / "report.png"

    def look(page: Any) -> dict[str, Any]:
        return {
            "bars": page.locator("#runs-per-week rect").count(),
            "attention": page.locator("#attention tr").count(),
            "measures": page.locator("svg.measure").count(),
        }

    seen, console, requests = open_page(page_file, shot, look, (1100, 1400))
    assert [c for c in console if c[0] in ("error", "pageerror")] == []
    assert requests == [page_file.as_uri()]
    assert seen["bars"] >= 3 and seen["attention"] == 4 and seen["measures"] >= 1
    assert shot.stat().st_size > 10_000


def test_a_long_history_costs_its_tail_and_one_scan(
    make_repo: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records count by their time wherever they stand in the file, yet a long history in time
    order is parsed only back to the period: what comes before is scanned, not parsed, except
    the lines whose time is on a date of the period."""
    from kaizen_agentic.bundle import metrics
    from kaizen_agentic.views import period as core

    repo = make_repo("long", manifest=GAMMA.replace("gamma", "long"))
    (repo / ".kaizen/metrics").mkdir()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    since, until = start + timedelta(hours=49_000), start + timedelta(hours=50_000)
    with open(repo / ".kaizen/metrics/coach.jsonl", "w") as handle:
        handle.write(line((since + timedelta(minutes=1)).isoformat(), "failure"))  # first line
        for i in range(50_000):
            handle.write(line((start + timedelta(hours=i)).isoformat(), "success"))
    parsed = []
    real = metrics.read_line
    monkeypatch.setattr(metrics, "read_line", lambda raw: parsed.append(raw) or real(raw))
    tally = core.Tally("acme/long", "coach", ())
    found = core.read_period(str(repo), "coach", since, until, tally)
    assert found == core.Read(0, True, None)
    assert tally.runs == {"success": 999, "partial": 0, "failure": 1, "skipped": 0}
    assert tally.last is not None and tally.last[1].time == (until - timedelta(hours=1)).isoformat()
    assert len(parsed) < 1_100  # of 50,001 lines: the period, two days of slack, one more


def test_the_reference_shows_the_terminal_report_as_it_is(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = (ROOT / "docs" / "reference" / "report.md").read_text()
    shown = doc.split("## Terminal", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    code, out, _ = report(capsys, fleet)
    assert code == 0
    assert out.replace(str(fleet), "fleet.json") == shown
