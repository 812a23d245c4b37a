"""Exports round-trip: the fire times each engine would produce are the ones we compute."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kaizen_agentic.export.common import Target, conflicts
from kaizen_agentic.export.temporal import temporal
from kaizen_agentic.main import main
from kaizen_agentic.manifest import cadence as cad
from kaizen_agentic.manifest.schedule import load_manifest

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
EXAMPLES = [
    ROOT / "examples" / "schedule.yml",
    *sorted((ROOT / "examples" / "fleet").glob("*.yml")),
]


def example_targets() -> list[Target]:
    out = []
    for path in EXAMPLES:
        if path.name in ("docs-site.yml", "roster.template.yml"):
            continue  # deliberately invalid / not a manifest
        manifest = load_manifest(path)
        for entry in manifest.agents:
            out.append(Target(manifest.repo or path.stem, "/src/x", entry.agent, entry.cadence))
    return out


TARGETS = example_targets()
EXTRA = [  # the month's last day across February, and cron's OR rule
    Target(
        "t/last",
        "/src/x",
        "a",
        cad.compile_cadence("monthly", timezone="Europe/Berlin", day="last", at="16:00"),
    ),
    Target(
        "t/or",
        "/src/x",
        "a",
        cad.compile_cadence("cron", timezone="America/New_York", cronjob="15 10 1,15 * fri"),
    ),
]


def ours(target: Target, count: int = 10) -> list[datetime]:
    return [r.astimezone(UTC) for r in cad.next_runs(target.cadence, AT, count)]


def instants(naive: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every instant whose wall time in ``tz`` is ``naive``: none (a gap), one, or two."""
    found = set()
    for fold in (0, 1):
        moment = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if moment.astimezone(tz).replace(tzinfo=None) == naive:
            found.add(moment)
    return sorted(found)


# --- Temporal: its documented calendar semantics, read from real SDK objects ---------------------


def in_ranges(ranges: object, value: int) -> bool:
    items = list(ranges)  # type: ignore[call-overload]
    if not items:
        return True
    return any(
        r.start <= value <= (r.end or r.start) and (value - r.start) % (r.step or 1) == 0
        for r in items
    )


def calendar_times(cal: object, day: date) -> list[datetime]:
    c = cal  # a temporalio.client.ScheduleCalendarSpec
    dow = (day.weekday() + 1) % 7
    if not (
        in_ranges(c.year, day.year)
        and in_ranges(c.month, day.month)  # type: ignore[attr-defined]
        and in_ranges(c.day_of_month, day.day)
        and in_ranges(c.day_of_week, dow)
    ):  # type: ignore[attr-defined]
        return []
    hours = [h for h in range(24) if in_ranges(c.hour, h)]  # type: ignore[attr-defined]
    minutes = [m for m in range(60) if in_ranges(c.minute, m)]  # type: ignore[attr-defined]
    return [datetime(day.year, day.month, day.day, h, m) for h in hours for m in minutes]


def temporal_fires(spec: object, count: int) -> list[datetime]:
    tz = ZoneInfo(spec.time_zone_name)  # type: ignore[attr-defined]
    day = AT.astimezone(tz).date() - timedelta(days=1)
    out: set[datetime] = set()
    while len([t for t in out if t > AT]) < count:
        wall = {t for cal in spec.calendars for t in calendar_times(cal, day)}  # type: ignore[attr-defined]
        wall -= {t for cal in spec.skip for t in calendar_times(cal, day)}  # type: ignore[attr-defined]
        for naive in wall:
            out.update(instants(naive, tz))
        day += timedelta(days=1)
    return sorted(t for t in out if t > AT)[:count]


def to_sdk(item: dict) -> object:  # type: ignore[type-arg]
    from temporalio.client import ScheduleCalendarSpec, ScheduleRange, ScheduleSpec

    def cal(raw: dict) -> ScheduleCalendarSpec:  # type: ignore[type-arg]
        def rs(key: str) -> list[ScheduleRange]:
            return [ScheduleRange(r["start"], r["end"], r["step"]) for r in raw[key]]

        return ScheduleCalendarSpec(
            second=rs("second"),
            minute=rs("minute"),
            hour=rs("hour"),
            day_of_month=rs("day_of_month"),
            month=rs("month"),
            year=rs("year"),
            day_of_week=rs("day_of_week"),
            comment=raw["comment"] or None,
        )

    spec = item["spec"]
    return ScheduleSpec(
        calendars=[cal(c) for c in spec["calendars"]],
        skip=[cal(c) for c in spec["skip"]],
        time_zone_name=spec["time_zone_name"],
        jitter=timedelta(0),
    )


@pytest.mark.parametrize("target", TARGETS + EXTRA, ids=lambda t: f"{t.slug}:{t.agent}")
def test_temporal_round_trip(target: Target) -> None:
    from kaizen_agentic.export.temporal_calendar import matching_times

    item = temporal(target, start=AT)
    assert [n for n in item["notes"] if not n.startswith("DST dates are checked")] == []
    assert temporal_fires(to_sdk(item), 10) == ours(target)
    fires = matching_times(item["spec"], AT, AT + timedelta(days=800))
    assert [t for _, t in zip(range(10), fires, strict=False)] == ours(target)


# --- DST: what each engine cannot keep is said, and Temporal's gaps are patched ---------------------


def test_a_schedule_in_the_dst_hours_gets_notes_and_one_off_calendars() -> None:
    target = Target(
        "t/dst", "/src", "coach", cad.compile_cadence("daily", timezone="Europe/Berlin", at="02:30")
    )
    found = conflicts(target.cadence, AT, years=1)
    assert [(c.local.date().isoformat(), c.kind) for c in found] == [
        ("2027-03-28", "gap"),
        ("2027-10-31", "fold"),
    ]
    item = temporal(target, start=AT, years=1)
    assert item["notes"] == [
        "2027-10-31 Europe/Berlin (clocks go back): Temporal starts the run at 02:30 CET "
        "(01:30 UTC) instead of 02:30 CEST (00:30 UTC); the bundle for 02:30 CEST (00:30 UTC) "
        "is prepared late",
        "DST dates are checked and corrected up to 2028-01-20; export again before then, or use "
        "the tick export (--tick), which needs no correction",
    ]
    gap_fix = [c for c in item["spec"]["calendars"] if c["comment"].startswith("DST:")]
    assert gap_fix[0]["year"] == [{"start": 2027, "end": 2027, "step": 1}]
    assert (gap_fix[0]["month"], gap_fix[0]["day_of_month"], gap_fix[0]["hour"]) == (
        [{"start": 3, "end": 3, "step": 1}],
        [{"start": 28, "end": 28, "step": 1}],
        [{"start": 3, "end": 3, "step": 1}],
    )


def test_cli_export_temporal(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    from kaizen_agentic.integrations.temporal_schedules import schedule_from_export

    repo = make_repo(manifest=(ROOT / "examples" / "fleet" / "web-frontend.yml").read_text())
    assert (
        main(
            [
                "schedule",
                "export",
                "--repo",
                str(repo),
                "--format",
                "temporal",
                "--at",
                AT.isoformat(),
            ]
        )
        == 0
    )
    (schedule,) = json.loads(capsys.readouterr().out)["schedules"]
    assert schedule["id"] == "kaizen-acme-web-frontend-coach"
    assert schedule_from_export(schedule).action.workflow == "kaizen.PrepareAgent"
    assert schedule["spec"]["time_zone_name"] == "America/New_York"
    action = schedule["action"]["start_workflow"]
    assert (action["workflow"], action["task_queue"], action["input"]["agent"]) == (
        "kaizen.PrepareAgent",
        "kaizen",
        "coach",
    )


def test_temporal_activities_run_in_the_sdk_environment(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from kaizen_agentic.integrations.temporal import (
        DiscoverInput,
        PrepareInput,
        discover_due,
        prepare,
    )
    from tests.conftest import commit_all

    manifest = (
        "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily, time: '09:00'}\n"
    )
    repo = make_repo(manifest=manifest, slug="acme/x")
    commit_all(repo)
    roster = tmp_path / "r.json"
    roster.write_text(json.dumps([{"slug": "acme/x", "host_paths": {"h": str(repo)}}]))
    env = ActivityEnvironment()
    found = env.run(
        discover_due,
        DiscoverInput(at="2027-03-29T09:30:00+00:00", roster_file=str(roster), hostname="h"),
    )
    assert found.states == {"acme/x": "enrolled"}
    (due,) = found.due
    assert (due.agent, due.slot) == ("coach", "2027-03-29T09:00:00+00:00")
    done = env.run(
        prepare,
        PrepareInput(due.path, due.agent, "2027-03-29T09:30:00+00:00", str(tmp_path / "out")),
    )
    assert done.status == "created" and Path(done.prompt_path).exists()
    again = env.run(
        prepare,
        PrepareInput(due.path, due.agent, "2027-03-29T09:30:00+00:00", str(tmp_path / "out")),
    )
    assert (again.status, again.digest) == ("exists", done.digest)
    with pytest.raises(ApplicationError) as info:
        env.run(
            prepare,
            PrepareInput(due.path, "nobody", "2027-03-29T09:30:00+00:00", str(tmp_path / "out")),
        )
    assert info.value.non_retryable


def tick_export(capsys: pytest.CaptureFixture[str], roster: Path, *extra: str) -> tuple[int, str]:
    argv = ["schedule", "export", "--roster", str(roster), "--format", "temporal", *extra]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


def test_the_tick_export_bounds_each_tick_by_its_interval(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from temporalio.client import ScheduleOverlapPolicy

    from kaizen_agentic.integrations.temporal_schedules import schedule_from_export

    roster = tmp_path / "roster.json"
    roster.write_text("[]")
    code, out = tick_export(capsys, roster, "--tick", "15m")
    assert code == 0
    (item,) = json.loads(out)["schedules"]
    action = item["action"]["start_workflow"]
    assert (item["policies"]["overlap"], action["execution_timeout"]) == ("BUFFER_ONE", "900s")
    assert {k: action["input"][k] for k in ("window_seconds", "host_wait_seconds")} == {
        "window_seconds": 900,
        "host_wait_seconds": 120,
    }
    assert (action["input"]["host_seconds"], action["input"]["catchup_seconds"]) == (840, 86400)
    schedule = schedule_from_export(item)
    assert schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE
    assert schedule.action.args[0].heartbeat_seconds == 30

    code, out = tick_export(
        capsys, roster, "--tick", "5m", "--host-wait", "45s", "--catch-up", "6h"
    )
    action = json.loads(out)["schedules"][0]["action"]["start_workflow"]
    assert (action["execution_timeout"], action["input"]["host_seconds"]) == ("300s", 270)
    assert (action["input"]["host_wait_seconds"], action["input"]["catchup_seconds"]) == (45, 21600)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--tick", "15m", "--host-wait", "15m"],
            "--host-wait must be shorter than a host's share of the tick (840 s)",
        ),
        (["--host-wait", "1m"], "--host-wait goes with --format temporal --tick"),
        (
            ["--tick", "15m", "--catch-up", "never"],
            "'never' is not a duration like 90m, 1h, 2h30m or 1d",
        ),
    ],
)
def test_tick_options_are_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    from tests.conftest import usage_error

    roster = tmp_path / "roster.json"
    roster.write_text("[]")
    code, err = tick_export(capsys, roster, *extra)
    assert code == 2
    assert usage_error(err, "schedule export", message), err


def test_a_host_tick_heartbeats_and_a_retry_resumes(tmp_path: Path) -> None:
    """``kaizen.host_tick`` in the SDK's activity environment: it heartbeats its progress, and
    a second attempt of the same run reports what the first did instead of doing it again."""
    import dataclasses

    from temporalio.testing import ActivityEnvironment

    from kaizen_agentic.integrations.temporal import HostActivities, HostTickInput, TickRunsInput
    from tests.fakefleet import every_ten_minutes, make_fleet, release

    roster = make_fleet(tmp_path / "fleet", 3, ["h"], every_ten_minutes)
    acts = HostActivities("h", str(tmp_path / "out"), jobs=1, outbox=str(tmp_path / "e.jsonl"))
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(seconds=2))
    beats: list[object] = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    params = HostTickInput(
        at="2027-03-29T09:15:00+00:00",
        window_seconds=3600,
        hostname="h",
        deadline=(datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        roster_file=str(roster),
    )
    try:
        first = env.run(acts.host_tick, params)
        env.info = dataclasses.replace(env.info, attempt=2)
        second = env.run(acts.host_tick, params)
        page = env.run(acts.tick_runs, TickRunsInput(first.record, offset=16, limit=5))
        none = env.run(acts.tick_runs, TickRunsInput(first.record, statuses=["failed"]))
    finally:
        release(tmp_path / "fleet")
    assert (page.total, len(none.runs), none.total) == (18, 0, 0)
    assert [(r.slug, r.slot, r.status, r.hostname) for r in page.runs] == [
        ("org/r000002", "2027-03-29T09:00:00+00:00", "created", "h"),
        ("org/r000002", "2027-03-29T09:10:00+00:00", "created", "h"),
    ]
    assert page.runs[0].bundle_path and page.runs[0].idempotency_key
    assert (first.due, first.counts["created"], first.events, first.attempt) == (18, 18, 18, 1)
    assert (second.resumed, second.counts["created"], second.events, second.attempt) == (
        18,
        18,
        0,
        2,
    )
    assert first.record == second.record and Path(first.record).name.startswith("20270329T091500Z.")
    preparing = [b for b in beats if b["phase"] == "preparing"]  # type: ignore[index]
    assert 0 < preparing[-1]["done"] <= 18 and preparing[-1]["journal"].endswith(".journal")  # type: ignore[index]
    assert len((tmp_path / "e.jsonl").read_text().splitlines()) == 18
