"""Fire times: every interval kind, DST gaps and folds, month ends, spread, and properties."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaizen_agentic.manifest.cadence import (
    SPREAD_MINUTES,
    SPREAD_START_MINUTE,
    WEEKDAYS,
    Cadence,
    check_cron,
    compile_cadence,
    describe,
    next_runs,
    previous_run,
    spread_time,
)


def runs(cadence: Cadence, after: str, count: int) -> list[str]:
    return [r.isoformat() for r in next_runs(cadence, datetime.fromisoformat(after), count)]


CASES = [
    # (interval, zone, day, time, cronjob, after, expected next runs)
    (
        "daily",
        "UTC",
        None,
        "09:30",
        None,
        "2027-02-27T10:00:00+00:00",
        ["2027-02-28T09:30:00+00:00", "2027-03-01T09:30:00+00:00"],
    ),
    (
        "weekdays",
        "UTC",
        None,
        "08:00",
        None,
        "2027-01-01T09:00:00+00:00",  # a Friday
        ["2027-01-04T08:00:00+00:00", "2027-01-05T08:00:00+00:00"],
    ),
    (
        "weekly",
        "Asia/Tokyo",
        "sunday",
        "23:59",
        None,
        "2027-01-01T00:00:00+09:00",
        ["2027-01-03T23:59:00+09:00", "2027-01-10T23:59:00+09:00"],
    ),
    (
        "monthly",
        "UTC",
        15,
        "12:00",
        None,
        "2027-01-15T12:00:00+00:00",  # strictly after
        ["2027-02-15T12:00:00+00:00", "2027-03-15T12:00:00+00:00"],
    ),
    (
        "monthly",
        "UTC",
        "last",
        "18:00",
        None,
        "2028-01-31T18:00:00+00:00",
        ["2028-02-29T18:00:00+00:00", "2028-03-31T18:00:00+00:00", "2028-04-30T18:00:00+00:00"],
    ),
    (
        "monthly",
        "UTC",
        "last",
        "18:00",
        None,
        "2027-02-01T00:00:00+00:00",
        ["2027-02-28T18:00:00+00:00"],
    ),
    (
        "cron",
        "UTC",
        None,
        None,
        "0 0 29 2 *",
        "2027-01-01T00:00:00+00:00",  # February 29
        ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"],
    ),
    (
        "cron",
        "UTC",
        None,
        None,
        "0 6 31 * *",
        "2027-04-01T00:00:00+00:00",  # day 31
        ["2027-05-31T06:00:00+00:00", "2027-07-31T06:00:00+00:00", "2027-08-31T06:00:00+00:00"],
    ),
    # cronie's OR rule: day-of-month 1 *or* Monday when both are restricted.
    (
        "cron",
        "UTC",
        None,
        None,
        "0 9 1 * mon",
        "2027-02-27T00:00:00+00:00",
        ["2027-03-01T09:00:00+00:00", "2027-03-08T09:00:00+00:00"],
    ),
    (
        "cron",
        "UTC",
        None,
        None,
        "0 9 * jan,jul *",
        "2027-01-31T10:00:00+00:00",
        ["2027-07-01T09:00:00+00:00"],
    ),
    # Spring forward, Europe/Berlin 2027-03-28 02:00 -> 03:00: 02:30 fires once at 03:00.
    (
        "daily",
        "Europe/Berlin",
        None,
        "02:30",
        None,
        "2027-03-27T00:00:00+00:00",
        ["2027-03-27T02:30:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"],
    ),
    # Fall back, Europe/Berlin 2027-10-31 03:00 -> 02:00: 02:30 fires once, first occurrence.
    (
        "daily",
        "Europe/Berlin",
        None,
        "02:30",
        None,
        "2027-10-30T00:00:00+00:00",
        ["2027-10-30T02:30:00+02:00", "2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"],
    ),
    # Spring forward, America/New_York 2027-03-14 02:00 -> 03:00.
    (
        "weekly",
        "America/New_York",
        "sunday",
        "02:15",
        None,
        "2027-03-10T00:00:00-05:00",
        ["2027-03-14T03:00:00-04:00", "2027-03-21T02:15:00-04:00"],
    ),
    # Fall back, America/New_York 2027-11-07 02:00 -> 01:00: 01:30 fires once, at EDT.
    (
        "daily",
        "America/New_York",
        None,
        "01:30",
        None,
        "2027-11-06T12:00:00-04:00",
        ["2027-11-07T01:30:00-04:00", "2027-11-08T01:30:00-05:00"],
    ),
    # A wildcard-hour cron in the repeated hour: each wall time once (cronie would run twice).
    (
        "cron",
        "America/New_York",
        None,
        None,
        "*/30 * * * *",
        "2027-11-07T00:45:00-04:00",
        ["2027-11-07T01:00:00-04:00", "2027-11-07T01:30:00-04:00", "2027-11-07T02:00:00-05:00"],
    ),
    # Several wall times inside a gap collapse into one run at the gap's end.
    (
        "cron",
        "Europe/Berlin",
        None,
        None,
        "*/20 2-3 * * *",
        "2027-03-28T01:50:00+01:00",
        ["2027-03-28T03:00:00+02:00", "2027-03-28T03:20:00+02:00"],
    ),
]


@pytest.mark.parametrize(("interval", "zone", "day", "at", "cron", "after", "expected"), CASES)
def test_next_runs(
    interval: str,
    zone: str,
    day: object,
    at: str | None,
    cron: str | None,
    after: str,
    expected: list[str],
) -> None:
    cadence = compile_cadence(interval, timezone=zone, day=day, at=at, cronjob=cron)  # type: ignore[arg-type]
    assert runs(cadence, after, len(expected)) == expected


def test_after_in_the_second_pass_of_a_repeated_hour() -> None:
    cadence = compile_cadence("cron", timezone="America/New_York", cronjob="45 * * * *")
    after = datetime(2027, 11, 7, 6, 10, tzinfo=UTC)  # 01:10 EST, the second 01:10
    assert runs(cadence, after.isoformat(), 2) == [
        "2027-11-07T02:45:00-05:00",
        "2027-11-07T03:45:00-05:00",
    ]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2027-03-29T09:00:00+02:00", "2027-03-29T09:00:00+02:00"),  # at the slot itself
        ("2027-03-29T08:59:59+02:00", "2027-03-22T09:00:00+01:00"),
        ("2027-04-01T00:00:00Z", "2027-03-29T09:00:00+02:00"),
    ],
)
def test_previous_run_is_the_slot_at_or_before(at: str, expected: str) -> None:
    cadence = compile_cadence("weekly", timezone="Europe/Berlin", day="monday", at="09:00")
    slot = previous_run(cadence, datetime.fromisoformat(at))
    assert slot is not None and slot.isoformat() == expected


def test_previous_run_in_the_second_pass_of_a_repeated_hour() -> None:
    cadence = compile_cadence("cron", timezone="America/New_York", cronjob="45 * * * *")
    at = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # 01:30 EST, after 01:45 EDT happened
    slot = previous_run(cadence, at)
    assert slot is not None and slot.isoformat() == "2027-11-07T01:45:00-04:00"


def test_previous_run_of_a_gap_time() -> None:
    cadence = compile_cadence("daily", timezone="Europe/Berlin", at="02:30")
    slot = previous_run(cadence, datetime.fromisoformat("2027-03-28T12:00:00+02:00"))
    assert slot is not None and slot.isoformat() == "2027-03-28T03:00:00+02:00"


def test_spread_is_stable_distinct_and_inside_the_window() -> None:
    assert spread_time("acme/payments", "coach") == spread_time("acme/payments", "coach")
    assert spread_time("acme/payments", "coach") == "06:24"  # fixed across machines and runs
    minutes = set()
    for i in range(2000):
        hh, mm = spread_time(f"org/repo-{i}", "coach").split(":")
        minute = int(hh) * 60 + int(mm)
        assert SPREAD_START_MINUTE <= minute < SPREAD_START_MINUTE + SPREAD_MINUTES
        minutes.add(minute)
    assert len(minutes) > 200  # a fleet is spread, not piled on one minute


def test_omitted_time_uses_the_spread() -> None:
    cadence = compile_cadence("weekly", timezone="UTC", identity="acme/payments", agent="coach")
    assert (cadence.time, cadence.spread, cadence.cron) == ("06:24", True, "24 6 * * 1")


@pytest.mark.parametrize(
    ("cadence", "text"),
    [
        (compile_cadence("daily", timezone="UTC", at="09:00"), "every day at 09:00 UTC"),
        (
            compile_cadence("weekdays", timezone="UTC", at="09:00"),
            "every weekday (Monday to Friday) at 09:00 UTC",
        ),
        (
            compile_cadence("weekly", timezone="Europe/Berlin", day="monday", at="09:00"),
            "every Monday at 09:00 Europe/Berlin",
        ),
        (
            compile_cadence("monthly", timezone="UTC", day=15, at="09:00"),
            "on day 15 of every month at 09:00 UTC",
        ),
        (
            compile_cadence("monthly", timezone="UTC", day="last", at="09:00"),
            "on the last day of every month at 09:00 UTC",
        ),
        (
            compile_cadence("weekly", timezone="UTC", identity="acme/payments", agent="coach"),
            "every Monday at 06:24 (spread) UTC",
        ),
        (
            compile_cadence("cron", timezone="UTC", cronjob="0  9 * * 1-5"),
            'cron "0 9 * * 1-5" (at 09:00 on Monday through Friday) UTC',
        ),
    ],
)
def test_describe(cadence: Cadence, text: str) -> None:
    assert describe(cadence) == text


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 9 * * 1-5", None),
        ("*/15 9-17 * * mon-fri", None),
        ("0 0 1 jan *", None),
        ("0 0 * * 7", None),
        ("0 0 30 2 *", 'invalid cron expression "0 0 30 2 *": bad day-of-month'),
        ("0 0 30 2 mon", None),  # OR rule: every Monday in February
        ("0 24 * * *", 'invalid cron expression "0 24 * * *": bad hour'),
        ("0 0 0 * *", 'invalid cron expression "0 0 0 * *": bad day-of-month'),
        ("0 0 * 13 *", 'invalid cron expression "0 0 * 13 *": bad month'),
        ("0 0 * * 8", 'invalid cron expression "0 0 * * 8": bad day-of-week'),
        ("*/0 * * * *", 'invalid cron expression "*/0 * * * *": bad minute'),
        (
            "0 0 * * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 6: '0 0 * * * *'",
        ),
        ("@daily", None),  # cronie's macros that name a time
        ("@weekly", None),
        ("@annually", None),
        (
            "@reboot",
            '"@reboot" names no time, and kaizen runs prepare on a clock; write a time, e.g. "@daily" or "0 9 * * 1"',
        ),
        (
            "@weekley",
            'unknown macro "@weekley" (cronie\'s are @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually); did you mean "@weekly"?',
        ),
        ("0 6 L * *", None),  # what `monthly` on `day: last` compiles to (schedule list --json)
        (
            "0 6 L * 1",
            'day-of-month "L" (the month\'s last day) goes with day-of-week "*", not "1"',
        ),
        ("0 0 ? * *", 'day-of-month field "?": "?" is not cronie syntax'),
        ("0 0 LW * *", 'day-of-month field "LW": "LW" is not cronie syntax'),
        ("0 0 * * 5L", 'day-of-week field "5L": "5L" is not cronie syntax'),
        ("0 0 * mon *", 'month field "mon": "MON" is not cronie syntax'),
    ],
)
def test_check_cron(expr: str, message: str | None) -> None:
    assert check_cron(expr) == message


def test_naive_times_are_refused() -> None:
    cadence = compile_cadence("daily", timezone="UTC", at="09:00")
    with pytest.raises(ValueError, match="timezone-aware"):
        next_runs(cadence, datetime(2027, 1, 1), 1)


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Apia",
    "Europe/Dublin",
]


@st.composite
def cadences(draw: st.DrawFn) -> Cadence:
    interval = draw(st.sampled_from(["daily", "weekdays", "weekly", "monthly", "cron"]))
    zone = draw(st.sampled_from(ZONES))
    if interval == "cron":
        minute = draw(st.sampled_from(["0", "*/15", "30", "5,35"]))
        hour = draw(st.sampled_from(["*", "0-3", "2", "1,2,3", "*/6"]))
        return compile_cadence("cron", timezone=zone, cronjob=f"{minute} {hour} * * *")
    at = f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30, 59])):02d}"
    day: str | int | None = None
    if interval == "weekly":
        day = draw(st.sampled_from(WEEKDAYS))
    elif interval == "monthly":
        day = draw(st.one_of(st.integers(1, 28), st.just("last")))
    return compile_cadence(interval, timezone=zone, day=day, at=at)


@settings(max_examples=150, deadline=None)
@given(
    cadence=cadences(),
    after=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
    ),
)
def test_runs_are_increasing_after_now_and_never_repeat_a_local_time(
    cadence: Cadence, after: datetime
) -> None:
    found = next_runs(cadence, after, 12)
    assert found, "every valid schedule fires"
    assert all(b > a for a, b in itertools.pairwise(found))
    assert found[0] > after
    local = [r.replace(tzinfo=None) for r in found]
    assert len(set(local)) == len(local), "never two runs for one local date-time"
    tz = ZoneInfo(cadence.timezone)
    for run in found:
        wall = run.astimezone(tz)
        if cadence.time is not None and wall.strftime("%H:%M") != cadence.time:
            # only allowed where the named time does not exist that day: a DST gap
            named = wall.replace(hour=int(cadence.time[:2]), minute=int(cadence.time[3:]))
            naive = named.replace(tzinfo=None)
            assert (
                naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
                != naive
            )
        # the slot of each run is the run itself
        slot = previous_run(cadence, run)
        assert slot == run
        # (subtract in UTC: aware arithmetic in a zone is wall-clock arithmetic)
        assert previous_run(cadence, run.astimezone(UTC) - timedelta(seconds=1)) != run
