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
from typing import Any, Final, NamedTuple

from kaizen_agentic import cadence as cad

FORMATS: Final = ("temporal", "k8s-cronjob", "crontab")
HORIZON_YEARS: Final = 10
CATCHUP_SECONDS: Final = 3600


class Target(NamedTuple):
    """One agent of one repository, to be exported."""

    slug: str
    path: str
    agent: str
    cadence: cad.Cadence


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


def conflicts(cadence: cad.Cadence, start: datetime, years: int = HORIZON_YEARS) -> list[Conflict]:
    """Local times the schedule names within ``years`` that a DST change skips or repeats."""
    tz = cadence.zone
    probe = datetime(2021, 1, 1, tzinfo=tz)
    offsets = {(probe + timedelta(days=d)).utcoffset() for d in range(0, 366, 15)}
    if len(offsets) == 1:
        return []  # no DST in this zone: nothing can conflict
    out = []
    naive_start = start.astimezone(tz).replace(tzinfo=None)
    end = naive_start.replace(year=naive_start.year + years)
    for naive in cad._cronsim(cadence.cron, naive_start):
        if naive > end:
            break
        first = naive.replace(tzinfo=tz, fold=0)
        second = naive.replace(tzinfo=tz, fold=1)
        if first.utcoffset() == second.utcoffset():
            continue
        exists = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive
        out.append(Conflict(naive, "fold" if exists else "gap", cad.to_instant(naive, tz)))
    return out


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


def temporal(target: Target, *, start: datetime, command: list[str]) -> dict[str, Any]:
    """A Temporal Schedule for ``target``: spec, policies and the action's command."""
    f = fields(target.cadence.cron)
    calendars, skips = temporal_calendars(f, start.year)
    notes = []
    for c in conflicts(target.cadence, start):
        when = c.local.isoformat(sep=" ", timespec="minutes")
        if c.kind == "gap":
            local_end = c.fires_at.astimezone(target.cadence.zone)
            one_off = _calendar(
                Fields(
                    (local_end.minute,),
                    (local_end.hour,),
                    (local_end.day,),
                    (local_end.month,),
                    (),
                    True,
                ),
                None,
                None,
                comment=f"DST gap: {when} does not exist; fire at the gap's end",
            )
            one_off["day_of_month"] = ranges((local_end.day,))
            one_off["year"] = ranges((local_end.year,))
            calendars.append(one_off)
        else:
            notes.append(
                f"{when} {target.cadence.timezone} happens twice (DST ends): Temporal "
                "fires at both; kaizen-agentic's rule fires once, at the first"
            )
    return {
        "id": schedule_id(target),
        "spec": {
            "calendars": calendars,
            "skip": skips,
            "time_zone_name": target.cadence.timezone,
            "jitter": "0s",
        },
        "policies": {
            "overlap": "SKIP",
            "catchup_window": f"{CATCHUP_SECONDS}s",
            "pause_on_failure": False,
        },
        "action": {"command": command},
        "kaizen": {
            "repo": target.slug,
            "agent": target.agent,
            "cron": target.cadence.cron,
            "description": cad.describe(target.cadence),
        },
        "notes": notes,
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
