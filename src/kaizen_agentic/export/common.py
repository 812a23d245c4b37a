"""What every export shares: the targets, cron fields, DST transitions and names.

Each enabled agent's cadence is exported for an engine: Temporal (``export_temporal``), a
Kubernetes CronJob or a crontab (``export_cron``), either as one fleet tick that asks our cadence
what is due (exact by construction; recommended) or as one schedule per agent. Our DST rule: a
time skipped by a spring-forward gap fires once at the gap's end; a time repeated by a fall-back
fires once, at its first occurrence. Where an engine's per-agent schedule would differ, the
export corrects what it can and says so, per date, instead of pretending.
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple

from kaizen_agentic.manifest import cadence as cad

FORMATS: Final = ("temporal", "k8s-cronjob", "crontab")
HORIZON_YEARS: Final = 10
CATCHUP_SECONDS: Final = 3600


class Target(NamedTuple):
    """One agent of one repository, to be exported."""

    slug: str
    path: str
    agent: str
    cadence: cad.Cadence
    host: str = ""  # the runner host whose checkout ``path`` is


class Conflict(NamedTuple):
    """A local time the schedule names that a DST change skips (gap) or repeats (fold)."""

    local: datetime  # the naive wall-clock time the schedule names
    kind: str  # "gap" (does not exist) or "fold" (exists twice)
    fires_at: datetime  # when we fire it (aware, UTC)


# --- cron fields -----------------------------------------------------------------------------


class Fields(NamedTuple):
    """A cron expression expanded into its values."""

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
NEAR: Final = timedelta(hours=4)


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
    for moment in transitions(cadence.timezone, utc_day(start), horizon_end(start, years)):
        lo = (moment - NEAR).astimezone(tz).replace(tzinfo=None)
        hi = (moment + NEAR).astimezone(tz).replace(tzinfo=None)
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


def utc_day(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def unambiguous(instant: datetime, tz: Any) -> bool:
    """True when the wall time at ``instant`` names that instant alone (not in a repeated hour)."""
    wall = instant.astimezone(tz).replace(tzinfo=None)
    return (
        wall.replace(tzinfo=tz, fold=0).utcoffset() == wall.replace(tzinfo=tz, fold=1).utcoffset()
    )


def schedule_id(target: Target) -> str:
    """A stable, readable id for the target's schedule: ``kaizen-<slug>-<agent>``."""
    import re

    raw = f"kaizen-{target.slug}-{target.agent}".lower()
    return re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")
