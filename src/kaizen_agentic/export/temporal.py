"""Temporal schedules: one fleet tick (recommended), or calendar specs per agent.

The per-agent spec fires when ``schedule list`` says for every local time that exists once; at a
DST change it adds one-off and skip calendars where Temporal would differ (what Temporal does is
``temporal_calendar``'s model, checked against a real server) and names in ``notes`` the dates
calendar fields cannot fix. The tick needs none of that: our cadence decides what is due.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from kaizen_agentic.export.common import (
    CATCHUP_SECONDS,
    HORIZON_YEARS,
    NEAR,
    Fields,
    Target,
    fields,
    horizon_end,
    ranges,
    schedule_id,
    transitions,
    unambiguous,
    utc_day,
)
from kaizen_agentic.manifest import cadence as cad

# Names shared with kaizen_agentic.integrations.temporal (kept here: no temporalio import).
TASK_QUEUE: Final = "kaizen"
FLEET_TICK: Final = "kaizen.FleetTick"
PREPARE_AGENT: Final = "kaizen.PrepareAgent"


def _calendar(
    f: Fields,
    days: list[dict[str, int]] | None,
    weekdays: list[dict[str, int]] | None,
    months: list[dict[str, int]] | None = None,
    comment: str = "",
) -> dict[str, Any]:
    return {
        "second": [{"start": 0, "end": 0, "step": 1}],
        "minute": ranges(f.minutes),
        "hour": ranges(f.hours),
        "day_of_month": days if days is not None else [{"start": 1, "end": 31, "step": 1}],
        "month": months if months is not None else ranges(f.months),
        "year": [],
        "day_of_week": weekdays if weekdays is not None else [{"start": 0, "end": 6, "step": 1}],
        "comment": comment,
    }


def _leap_years(first: int, last: int) -> list[int]:
    return [y for y in range(first, last + 1) if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)]


def temporal_calendars(
    f: Fields, start_year: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Calendar specs (and skip specs) matching exactly the days a cron names."""
    if f.days is None:  # the last day of the month, which calendar fields cannot say directly
        by_length: dict[int, list[int]] = {31: [1, 3, 5, 7, 8, 10, 12], 30: [4, 6, 9, 11]}
        calendars = [
            _calendar(
                f,
                ranges((length,)),
                None,
                ranges(tuple(m for m in months if m in f.months)),
                f"last day: months with {length} days",
            )
            for length, months in by_length.items()
            if any(m in f.months for m in months)
        ]
        skips: list[dict[str, Any]] = []
        if 2 in f.months:
            calendars.append(
                _calendar(f, ranges((29,)), None, ranges((2,)), "last day: 29 February")
            )
            calendars.append(
                _calendar(f, ranges((28,)), None, ranges((2,)), "last day: 28 February")
            )
            for year in _leap_years(start_year, start_year + 99):
                skip = _calendar(f, ranges((28,)), None, ranges((2,)), f"{year} is a leap year")
                skip["year"] = ranges((year,))
                skips.append(skip)
        return calendars, skips
    if f.day_and:
        return [_calendar(f, ranges(f.days), ranges(f.weekdays))], []
    # cronie's OR rule when both day fields are restricted: one calendar for each.
    return [
        _calendar(f, ranges(f.days), None, comment="day of month (cron OR rule)"),
        _calendar(f, None, ranges(f.weekdays), comment="day of week (cron OR rule)"),
    ], []


def _one_off(instant: datetime, tz: Any, comment: str) -> dict[str, Any]:
    local = instant.astimezone(tz)
    cal = _calendar(
        Fields((local.minute,), (local.hour,), (local.day,), (local.month,), (), True),
        ranges((local.day,)),
        None,
        comment=comment,
    )
    cal["second"] = ranges((local.second,))
    cal["year"] = ranges((local.year,))
    return cal


def _differences(
    cadence: cad.Cadence, spec: dict[str, Any], moment: datetime
) -> tuple[list[datetime], list[datetime]]:
    """Near one DST change: (runs we make that Temporal does not, runs Temporal makes that we
    do not), counting repeats."""
    from collections import Counter

    from kaizen_agentic.export.temporal_calendar import matching_times

    lo, hi = moment - NEAR, moment + NEAR
    # In UTC: aware times in one zone compare by wall clock, so a repeated hour's two copies
    # would be equal.
    ours = Counter(t.astimezone(UTC) for t in cad.runs_between(cadence, lo, hi))
    theirs = Counter(matching_times(spec, lo, hi))
    return sorted((ours - theirs).elements()), sorted((theirs - ours).elements())


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _at(instant: datetime, tz: Any) -> str:
    local = instant.astimezone(tz)
    return f"{local:%H:%M} {local.tzname()} ({instant.astimezone(UTC):%H:%M} UTC)"


def _dst_note(
    cadence: cad.Cadence, moment: datetime, missing: list[datetime], extra: list[datetime]
) -> str:
    """What Temporal does differently at one DST change, and what it means for the bundles:
    a prepare started at any time makes the bundle of the latest slot at or before it."""
    tz = cadence.zone
    before, after = (moment - _ONE_SECOND).astimezone(tz), moment.astimezone(tz)
    forward = (after.utcoffset() or timedelta(0)) > (before.utcoffset() or timedelta(0))
    head = f"{after:%Y-%m-%d} {cadence.timezone} (clocks go {'forward' if forward else 'back'}): "

    def times(items: list[datetime]) -> str:
        return " and ".join(_at(t, tz) for t in items)

    # All in UTC: Python never finds a time in a repeated hour equal to one in another zone.
    slots = {t: _utc(cad.previous_run(cadence, t)) for t in extra}
    says = [
        f"Temporal starts the run at {times(extra)}"
        + (f" instead of {times(missing)}" if missing else "")
        if extra
        else f"Temporal does not start the run at {times(missing)}"
    ]
    late = [m for m in missing if m in slots.values()]
    lost = [m for m in missing if m not in slots.values()]
    again = [t for t, slot in slots.items() if slot not in missing]
    if late:
        says.append(f"the bundle for {times(late)} is prepared late")
    if lost:
        says.append(f"no bundle is prepared for {times(lost)}")
    if again:
        says.append(f"the start at {times(again)} finds its slot's bundle already made")
    return head + "; ".join(says)


_ONE_SECOND: Final = timedelta(seconds=1)


def temporal_dst(
    cadence: cad.Cadence, spec: dict[str, Any], start: datetime, end: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Make a calendar spec fire when we do at every DST change in ``[start, end)``.

    Returns one-off calendars (a run of ours that Temporal would not start), skip calendars (a
    run Temporal would start that we do not, where its wall time is unambiguous) and a note for
    each date where Temporal still differs: only a repeated wall time, which calendar fields
    cannot tell apart. What Temporal does is taken from ``temporal_calendar``, a model checked
    against a real server."""
    tz = cadence.zone
    adds: list[dict[str, Any]] = []
    skips: list[dict[str, Any]] = []
    changes = [m for m in transitions(cadence.timezone, utc_day(start), end) if m >= start]
    for moment in changes:
        missing, extra = _differences(cadence, spec, moment)
        adds += [
            _one_off(t, tz, "DST: fire when kaizen-agentic does")
            for t in missing
            if unambiguous(t, tz)
        ]
        skips += [
            _one_off(t, tz, "DST: not a kaizen-agentic run") for t in extra if unambiguous(t, tz)
        ]
    fixed = {**spec, "calendars": spec["calendars"] + adds, "skip": spec["skip"] + skips}
    notes = []
    for moment in changes:
        missing, extra = _differences(cadence, fixed, moment)
        if missing or extra:
            notes.append(_dst_note(cadence, moment, missing, extra))
    return adds, skips, notes


def temporal(
    target: Target,
    *,
    start: datetime,
    task_queue: str = TASK_QUEUE,
    out_dir: str | None = None,
    years: int = HORIZON_YEARS,
) -> dict[str, Any]:
    """A Temporal Schedule for ``target``: calendar specs that fire when ``schedule list`` says
    (DST dates corrected up to the horizon), policies, and a start-workflow action for
    ``kaizen.PrepareAgent`` on the target host's queue."""
    f = fields(target.cadence.cron)
    calendars, skips = temporal_calendars(f, start.year)
    spec: dict[str, Any] = {
        "calendars": calendars,
        "skip": skips,
        "time_zone_name": target.cadence.timezone,
        "jitter": "0s",
    }
    end = horizon_end(start, years)
    adds, more_skips, notes = temporal_dst(target.cadence, spec, start, end)
    spec["calendars"] = calendars + adds
    spec["skip"] = skips + more_skips
    if transitions(target.cadence.timezone, utc_day(start), end):
        notes.append(
            f"DST dates are checked and corrected up to {end:%Y-%m-%d}; export again before "
            "then, or use the tick export (--tick), which needs no correction"
        )
    ident = schedule_id(target)
    return {
        "id": ident,
        "spec": spec,
        "policies": {
            "overlap": "SKIP",
            "catchup_window": f"{CATCHUP_SECONDS}s",
            "pause_on_failure": False,
        },
        "action": {
            "start_workflow": {
                "workflow": PREPARE_AGENT,
                "workflow_id": ident,
                "task_queue": task_queue,
                "execution_timeout": f"{CATCHUP_SECONDS}s",
                "input": {
                    "repo_path": target.path,
                    "agent": target.agent,
                    "hostname": target.host,
                    "task_queue": task_queue,
                    "out_dir": out_dir,
                },
            }
        },
        "kaizen": {
            "repo": target.slug,
            "agent": target.agent,
            "cron": target.cadence.cron,
            "description": cad.describe(target.cadence),
            "host": target.host,
            "valid_until": output_date(end),
        },
        "notes": notes,
    }


def output_date(moment: datetime) -> str:
    """``moment`` as a ``YYYY-MM-DD`` date."""
    return moment.strftime("%Y-%m-%d")


def tick_budget(every: int) -> tuple[int, int]:
    """A tick's defaults from its interval: (host wait, host budget) in seconds. A host's share
    must end inside the interval, so a tick never runs into the next one."""
    return min(120, max(10, every // 4)), every - min(60, every // 10)


def temporal_tick(
    *,
    tick: timedelta,
    window: timedelta,
    hub_url: str | None = None,
    roster_file: str | None = None,
    domain: str | None = None,
    agent: str | None = None,
    task_queue: str = TASK_QUEUE,
    out_dir: str | None = None,
    root: str | None = None,
    host_wait: timedelta | None = None,
    catchup: timedelta | None = None,
) -> dict[str, Any]:
    """One Temporal Schedule for the whole fleet: ``kaizen.FleetTick`` every ``tick`` (UTC),
    each asking our cadence engine what is due in ``(tick - window, tick]``. Exact by
    construction: no calendar, no DST, nothing to correct.

    ``host_wait``: how long a host may take to pick up its share before the tick names it in
    ``hosts_failed`` (default: a quarter of the tick, 10 s to 2 min). ``catchup``: how far
    back a host that missed ticks catches up (default: one day)."""
    from kaizen_agentic.errors import UsageError

    every = int(tick.total_seconds())
    wait, budget = tick_budget(every)
    if host_wait is not None:
        wait = int(host_wait.total_seconds())
        if wait >= budget:
            raise UsageError(
                f"--host-wait must be shorter than a host's share of the tick ({budget} s)"
            )
    return {
        "id": "kaizen-fleet-tick",
        "spec": {
            "calendars": [],
            "intervals": [{"every": f"{every}s", "offset": "0s"}],
            "skip": [],
            "time_zone_name": "UTC",
            "jitter": "0s",
        },
        # One tick at a time and at most one waiting: a tick ends within its interval (its
        # execution timeout), so a stuck tick never holds more than the next one back, and
        # each host catches up whatever a lost tick left.
        "policies": {
            "overlap": "BUFFER_ONE",
            "catchup_window": "86400s",
            "pause_on_failure": False,
        },
        "action": {
            "start_workflow": {
                "workflow": FLEET_TICK,
                "workflow_id": "kaizen-fleet-tick",
                "task_queue": task_queue,
                "execution_timeout": f"{every}s",
                "input": {
                    "hub_url": hub_url,
                    "roster_file": roster_file,
                    "domain": domain,
                    "agent": agent,
                    "window_seconds": int(window.total_seconds()),
                    "task_queue": task_queue,
                    "out_dir": out_dir,
                    **({"root": root} if root else {}),
                    "host_wait_seconds": wait,
                    "host_seconds": budget,
                    "heartbeat_seconds": 30,
                    "catchup_seconds": int((catchup or timedelta(days=1)).total_seconds()),
                },
            }
        },
        "kaizen": {
            "tick_seconds": every,
            "description": f"every {every} s (UTC grid): prepare what is due in the last "
            f"{int(window.total_seconds())} s",
        },
        "notes": [],
    }
