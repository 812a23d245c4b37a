"""Schedules translated for the engines that run fleets: Temporal, Kubernetes, cron.

Each enrolled agent's cadence becomes a Temporal Schedule (calendar specs in the agent's IANA
zone), a Kubernetes CronJob (``timeZone``), or a crontab line (``CRON_TZ``). The translation is
exact for every local time the schedule names that exists once. Where an engine's DST rule
differs from ours, the export says so on the entry (``notes``) instead of pretending:

* our rule: a time skipped by a spring-forward gap fires once at the gap's end; a time repeated
  by a fall-back fires once, at its first occurrence;
* Temporal matches calendar specs against wall-clock time: a repeated time matches twice and a
  skipped time never — so exported gap times get an extra one-off calendar for the gap's end,
  and repeated times are reported;
* Kubernetes CronJobs run a time repeated by a fall-back twice; cronie (crontab) keeps our rule
  for fixed-time jobs.

The spread window (03:00-06:59) keeps schedules without an explicit ``time`` clear of the
01:00-02:59 hours that DST moves in Europe and North America, so most exports carry no notes.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple

from kaizen_agentic import cadence as cad

FORMATS: Final = ("temporal", "k8s-cronjob", "crontab")
HORIZON_YEARS: Final = 10
CATCHUP_SECONDS: Final = 3600
# Names shared with kaizen_agentic.integrations.temporal (kept here: no temporalio import).
TASK_QUEUE: Final = "kaizen"
FLEET_TICK: Final = "kaizen.FleetTick"
PREPARE_AGENT: Final = "kaizen.PrepareAgent"


class Target(NamedTuple):
    """One agent of one repository, to be exported."""

    slug: str
    path: str
    agent: str
    cadence: cad.Cadence
    host: str = ""  # the runner host whose checkout ``path`` is


class Conflict(NamedTuple):
    local: datetime  # the naive wall-clock time the schedule names
    kind: str  # "gap" (does not exist) or "fold" (exists twice)
    fires_at: datetime  # when we fire it (aware, UTC)


# --- cron fields -----------------------------------------------------------------------------


class Fields(NamedTuple):
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...] | None  # None: "last day of the month"
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday
    day_and: bool  # cronie: both day fields must match when either starts with "*"


def fields(expr: str) -> Fields:
    """Expand a 5-field cron expression (cronie syntax, plus ``L`` for our ``last``)."""
    from cronsim.cronsim import Field

    def ints(field: Any, text: str) -> tuple[int, ...]:
        return tuple(sorted(v for v in field.parse(text) if isinstance(v, int)))

    parts = expr.upper().split()
    return Fields(
        ints(Field.MINUTE, parts[0]),
        ints(Field.HOUR, parts[1]),
        None if parts[2] == "L" else ints(Field.DAY, parts[2]),
        ints(Field.MONTH, parts[3]),
        tuple(sorted({d % 7 for d in ints(Field.DOW, parts[4])})),
        parts[2].startswith("*") or parts[4].startswith("*"),
    )


def ranges(values: tuple[int, ...]) -> list[dict[str, int]]:
    """Values as Temporal ranges: runs of equal steps, ``{"start", "end", "step"}``."""
    out: list[dict[str, int]] = []
    items = list(values)
    i = 0
    while i < len(items):
        j = i
        step = items[i + 1] - items[i] if i + 1 < len(items) else 1
        while j + 1 < len(items) and items[j + 1] - items[j] == step:
            j += 1
        if j == i:
            out.append({"start": items[i], "end": items[i], "step": 1})
        else:
            out.append({"start": items[i], "end": items[j], "step": step})
        i = j + 1
    return out


# --- DST ---------------------------------------------------------------------------------------

# Wall-clock effects of a DST change stay within a few hours of it (the longest shift in use is
# two hours); looking this far either side of each transition finds every affected run.
_NEAR: Final = timedelta(hours=4)


@lru_cache(maxsize=512)
def transitions(zone_name: str, start: datetime, end: datetime) -> tuple[datetime, ...]:
    """Every instant in ``[start, end)`` at which ``zone_name``'s UTC offset changes (UTC).

    Found over the whole span, not from a sample year: zones start and stop DST (Cairo resumed
    it in 2023)."""
    tz = cad.zone(zone_name)

    def offset(t: int) -> timedelta | None:
        return datetime.fromtimestamp(t, tz).utcoffset()

    out = []
    lo, stop = int(start.timestamp()), int(end.timestamp())
    day = 86_400
    while lo < stop:
        hi = min(lo + day, stop)
        if offset(lo) != offset(hi):
            a, b = lo, hi
            while b - a > 1:
                mid = (a + b) // 2
                if offset(mid) == offset(a):
                    a = mid
                else:
                    b = mid
            out.append(datetime.fromtimestamp(b, UTC))
        lo = hi
    return tuple(out)


def horizon_end(start: datetime, years: int = HORIZON_YEARS) -> datetime:
    """Where an export stops checking DST dates: ``years`` after ``start``'s day."""
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.replace(year=day.year + years)


def conflicts(cadence: cad.Cadence, start: datetime, years: int = HORIZON_YEARS) -> list[Conflict]:
    """Local times the schedule names, within ``years``, that a DST change skips or repeats."""
    tz = cadence.zone
    out = []
    for moment in transitions(cadence.timezone, _day(start), horizon_end(start, years)):
        lo = (moment - _NEAR).astimezone(tz).replace(tzinfo=None)
        hi = (moment + _NEAR).astimezone(tz).replace(tzinfo=None)
        for naive in cad._cronsim(cadence.cron, lo):
            if naive > hi:
                break
            first = naive.replace(tzinfo=tz, fold=0)
            second = naive.replace(tzinfo=tz, fold=1)
            if first.utcoffset() == second.utcoffset():
                continue
            exists = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive
            if cad.to_instant(naive, tz) >= start:
                out.append(Conflict(naive, "fold" if exists else "gap", cad.to_instant(naive, tz)))
    return out


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _unambiguous(instant: datetime, tz: Any) -> bool:
    """True when the wall time at ``instant`` names that instant alone (not in a repeated hour)."""
    wall = instant.astimezone(tz).replace(tzinfo=None)
    return (
        wall.replace(tzinfo=tz, fold=0).utcoffset() == wall.replace(tzinfo=tz, fold=1).utcoffset()
    )


# --- Temporal --------------------------------------------------------------------------------


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

    from kaizen_agentic.temporal_calendar import matching_times

    lo, hi = moment - _NEAR, moment + _NEAR
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
    changes = [m for m in transitions(cadence.timezone, _day(start), end) if m >= start]
    for moment in changes:
        missing, extra = _differences(cadence, spec, moment)
        adds += [
            _one_off(t, tz, "DST: fire when kaizen-agentic does")
            for t in missing
            if _unambiguous(t, tz)
        ]
        skips += [
            _one_off(t, tz, "DST: not a kaizen-agentic run") for t in extra if _unambiguous(t, tz)
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
    if transitions(target.cadence.timezone, _day(start), end):
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
    return moment.strftime("%Y-%m-%d")


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
) -> dict[str, Any]:
    """One Temporal Schedule for the whole fleet: ``kaizen.FleetTick`` every ``tick`` (UTC),
    each asking our cadence engine what is due in ``(tick - window, tick]``. Exact by
    construction: no calendar, no DST, nothing to correct."""
    every = int(tick.total_seconds())
    return {
        "id": "kaizen-fleet-tick",
        "spec": {
            "calendars": [],
            "intervals": [{"every": f"{every}s", "offset": "0s"}],
            "skip": [],
            "time_zone_name": "UTC",
            "jitter": "0s",
        },
        # Ticks run one after another (none dropped); after an outage Temporal starts each
        # missed tick with its own scheduled time, up to a day back.
        "policies": {
            "overlap": "BUFFER_ALL",
            "catchup_window": "86400s",
            "pause_on_failure": False,
        },
        "action": {
            "start_workflow": {
                "workflow": FLEET_TICK,
                "workflow_id": "kaizen-fleet-tick",
                "task_queue": task_queue,
                "execution_timeout": f"{max(every * 4, 3600)}s",
                "input": {
                    "hub_url": hub_url,
                    "roster_file": roster_file,
                    "domain": domain,
                    "agent": agent,
                    "window_seconds": int(window.total_seconds()),
                    "task_queue": task_queue,
                    "out_dir": out_dir,
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


# --- Kubernetes and cron -------------------------------------------------------------------------


def _last_day_guard(command: str) -> str:
    # cron has no "last day of the month": run on 28-31 and let the shell keep the last one.
    return f'[ "$(date -d tomorrow +\\%d)" = 01 ] && {command}'


def _cron_line(target: Target) -> tuple[str, bool]:
    expr = target.cadence.cron
    parts = expr.split()
    if parts[2] == "L":
        parts[2] = "28-31"
        return " ".join(parts), True
    return expr, False


def k8s_cronjob(
    target: Target, *, start: datetime, command: list[str], image: str
) -> dict[str, Any]:
    schedule, guarded = _cron_line(target)
    args = command
    if guarded:
        args = ["/bin/sh", "-c", _last_day_guard(shlex.join(command)).replace("\\%", "%")]
    zone = target.cadence.timezone
    notes = [
        f"{c.local.isoformat(sep=' ', timespec='minutes')} {zone} "
        + (
            "happens twice (DST ends): Kubernetes runs both; kaizen-agentic's rule runs the first"
            if c.kind == "fold"
            else "does not exist (DST starts): the CronJob controller may skip it; "
            "kaizen-agentic fires at the gap's end"
        )
        for c in conflicts(target.cadence, start)
    ]
    name = schedule_id(target)[:52]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "kaizen-agentic"},
            "annotations": {
                "kaizen-agentic/repo": target.slug,
                "kaizen-agentic/agent": target.agent,
                "kaizen-agentic/schedule": cad.describe(target.cadence),
                **({"kaizen-agentic/notes": "; ".join(notes)} if notes else {}),
            },
        },
        "spec": {
            "schedule": schedule,
            "timeZone": target.cadence.timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": CATCHUP_SECONDS,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {
                                    "name": "prepare",
                                    "image": image,
                                    "args": args,
                                    "env": [{"name": "TZ", "value": target.cadence.timezone}],
                                }
                            ],
                        }
                    },
                }
            },
        },
    }


def crontab_line(target: Target, *, start: datetime, command: list[str]) -> str:
    schedule, guarded = _cron_line(target)
    text = shlex.join(command).replace("%", "\\%")
    if guarded:
        text = _last_day_guard(text)
    notes = ""
    if target.cadence.user_cron and any(
        not field.isdigit() for field in target.cadence.cron.split()[:2]
    ):
        folds = [c for c in conflicts(target.cadence, start) if c.kind == "fold"]
        if folds:
            notes = (
                "# note: cronie runs wildcard-hour jobs in both copies of a repeated hour; "
                "kaizen-agentic runs the first\n"
            )
    return (
        f"# {target.slug} {target.agent}: {cad.describe(target.cadence)}\n{notes}"
        f"CRON_TZ={target.cadence.timezone}\n{schedule} {text}\n"
    )


def schedule_id(target: Target) -> str:
    import re

    raw = f"kaizen-{target.slug}-{target.agent}".lower()
    return re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")


def prepare_command(target: Target, out_dir: str) -> list[str]:
    """What the engine runs at each fire time: prepare this agent's bundle for the slot."""
    return [
        "kaizen-agentic",
        "schedule",
        "prepare",
        target.agent,
        "--repo",
        target.path,
        "--out",
        out_dir,
        "--json",
    ]
