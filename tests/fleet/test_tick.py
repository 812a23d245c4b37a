"""The tick model: a fixed UTC tick asks the cadence engine what is due in ``(tick - window, tick]``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaizen_agentic.fleet.due import tick_floor
from kaizen_agentic.main import main
from kaizen_agentic.manifest import cadence as cad
from tests.conftest import commit_all, usage_error

HOST = "runner-1"


@pytest.mark.parametrize(
    ("moment", "tick", "expected"),
    [
        ("2027-03-29T09:37:12+00:00", "15m", "2027-03-29T09:30:00+00:00"),
        ("2027-03-29T09:30:00+00:00", "15m", "2027-03-29T09:30:00+00:00"),
        ("2027-03-29T09:29:59.999+00:00", "15m", "2027-03-29T09:15:00+00:00"),
        ("2027-03-29T11:44:00+02:00", "15m", "2027-03-29T09:30:00+00:00"),
        ("2027-03-29T09:37:12+05:45", "1h", "2027-03-29T03:00:00+00:00"),
        ("2027-03-29T23:59:59+00:00", "1d", "2027-03-29T00:00:00+00:00"),
    ],
)
def test_the_tick_is_the_moment_floored_to_the_utc_grid(
    moment: str, tick: str, expected: str
) -> None:
    from kaizen_agentic.fleet.due import parse_duration

    got = tick_floor(datetime.fromisoformat(moment), parse_duration(tick))
    assert got.isoformat() == expected


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Africa/Cairo", "UTC"]
CRONS = ["30 2 * * *", "0 1 * * *", "*/20 * * * *", "15 1-3 * * 0", "0 0 L * *", "45 2 29 2 *"]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    cron=st.sampled_from(CRONS),
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 1), timezones=st.just(UTC)
    ),
    tick_minutes=st.sampled_from([5, 15, 60]),
)
def test_ticks_tile_time_no_slot_missed_or_twice(
    zone: str, cron: str, start: datetime, tick_minutes: int
) -> None:
    """Consecutive half-open ticks give each slot exactly once, across every DST change."""
    cadence = cad.Cadence("cron", cron, zone, None, False, None, user_cron=cron)
    tick = timedelta(minutes=tick_minutes)
    first = tick_floor(start, tick)
    span = timedelta(days=3)
    seen: list[datetime] = []
    at = first
    while at < first + span:
        at += tick
        seen.extend(cad.runs_between(cadence, at - tick, at))
    expected = list(cad.runs_between(cadence, first, at))
    assert seen == expected
    assert len(set(seen)) == len(seen)


DAILY_0930 = (
    "version: 1\nrepo: acme/a\nagents:\n  - agent: coach\n"
    "    schedule: {interval: cron, cronjob: '30,40 9 * * *'}\n"
)


def test_a_late_start_prepares_exactly_its_ticks_slots(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("a", manifest=DAILY_0930)
    commit_all(repo)
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps([{"slug": "acme/a", "host_paths": {HOST: str(repo)}}]))

    def tick(at: str, *extra: str) -> dict[str, object]:
        argv = ["schedule", "prepare", "--due", "--tick", "15m", "--at", at, "--roster"]
        argv += [str(roster), "--hostname", HOST, "--out", str(tmp_path / "out"), "--json"]
        assert main([*argv, *extra]) == 0
        doc: dict[str, object] = json.loads(capsys.readouterr().out)
        return doc

    late = tick("2027-03-29T09:44:59Z")  # the 09:30 tick, started 15 s before the next one
    assert (late["at"], late["window_seconds"], late["tick_seconds"]) == (
        "2027-03-29T09:30:00+00:00",
        900,
        900,
    )
    assert [b["slot"] for b in late["bundles"]] == ["2027-03-29T09:30:00+00:00"]  # type: ignore[index]
    nxt = tick("2027-03-29T09:45:00Z")
    assert [b["slot"] for b in nxt["bundles"]] == ["2027-03-29T09:40:00+00:00"]  # type: ignore[index]
    catch_up = tick("2027-03-29T09:45:00Z", "--window", "1h")  # overlap: both exist already
    assert [(b["slot"], b["status"]) for b in catch_up["bundles"]] == [  # type: ignore[index]
        ("2027-03-29T09:30:00+00:00", "exists"),
        ("2027-03-29T09:40:00+00:00", "exists"),
    ]


def test_tick_goes_with_due(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("a", manifest=DAILY_0930)
    assert main(["schedule", "prepare", "coach", "--repo", str(repo), "--tick", "15m"]) == 2
    err = capsys.readouterr().err
    assert usage_error(err, "schedule prepare", "--tick goes with --due")
