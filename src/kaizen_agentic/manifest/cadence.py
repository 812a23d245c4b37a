"""When scheduled runs fire: presets compiled to cron, one cron matcher, one DST rule.

Every schedule is a cron expression over *local wall-clock time* in an IANA zone. cronsim (with
cronie's day-of-month/day-of-week OR rule) finds the matching wall-clock times; this module turns
each into an instant by one rule, the same for presets and hand-written crons:

* a local time that a spring-forward gap skips fires once, at the first instant after the gap
  (as cronie does for fixed-time jobs): 02:30 in Europe/Berlin on the last Sunday of March fires
  at 03:00 CEST;
* a local time that a fall-back repeats fires once, at its first occurrence (fold 0);
* several wall-clock times that land on the same instant (``*/15`` inside a gap) fire once.

Nothing here reads the clock: ``now``/``at`` are parameters, and results are timezone-aware.
"""

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INTERVALS: Final = ("daily", "weekdays", "weekly", "monthly", "cron")

# When a schedule names no `time`, its run time is spread over this local window by a stable hash
# of the repository's identity and the agent: overnight, and clear of the 01:00-02:59 hours that
# DST transitions skip or repeat in Europe and North America.
SPREAD_START_MINUTE: Final = 3 * 60
SPREAD_MINUTES: Final = 4 * 60
SPREAD_WINDOW: Final = "03:00-06:59"

_ONE_SECOND: Final = timedelta(seconds=1)


class Cadence(NamedTuple):
    """A compiled schedule: a 5-field cron over wall-clock time in ``timezone``."""

    interval: str
    cron: str
    timezone: str
    time: str | None  # "HH:MM" for presets (given or spread); None for interval "cron"
    spread: bool  # True when `time` was chosen by the spread, not written in the manifest
    day: str | int | None
    user_cron: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name (cached)."""
    return ZoneInfo(name)


def spread_time(identity: str, agent: str) -> str:
    """The deterministic run time (``HH:MM``) for a schedule that names no ``time``.

    Stable across machines, processes and Python versions (SHA-256, not ``hash()``).
    """
    digest = hashlib.sha256(f"{identity}\n{agent}".encode()).digest()
    minute = SPREAD_START_MINUTE + int.from_bytes(digest[:8], "big") % SPREAD_MINUTES
    return f"{minute // 60:02d}:{minute % 60:02d}"


def compile_cadence(
    interval: str,
    *,
    timezone: str,
    day: str | int | None = None,
    at: str | None = None,
    cronjob: str | None = None,
    identity: str = "",
    agent: str = "",
) -> Cadence:
    """Compile a validated schedule block into a ``Cadence``."""
    if interval == "cron":
        assert cronjob is not None
        expr = " ".join(cronjob.split())
        return Cadence("cron", MACROS.get(expr, expr), timezone, None, False, None, user_cron=expr)
    spread = at is None
    hhmm = spread_time(identity, agent) if at is None else at
    hour, minute = (int(part) for part in hhmm.split(":"))
    if interval == "daily":
        days = "* * *"
    elif interval == "weekdays":
        days = "* * 1-5"
    elif interval == "weekly":
        weekday = day if isinstance(day, str) else "monday"
        day = weekday
        days = f"* * {(WEEKDAYS.index(weekday) + 1) % 7}"
    elif interval == "monthly":
        day = 1 if day is None else day
        days = f"{'L' if day == 'last' else day} * *"
    else:
        raise ValueError(f"unknown interval {interval!r}")
    return Cadence(interval, f"{minute} {hour} {days}", timezone, hhmm, spread, day)


def _first_instant_after_gap(naive: datetime, tz: ZoneInfo) -> datetime:
    # For a wall time inside a gap, fold=1 maps it before the transition and fold=0 after it;
    # the transition instant is the first UTC second whose wall time is later than `naive`.
    lo = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    if lo > hi:
        lo, hi = hi, lo
    while lo < hi:
        mid = (lo + hi) // 2
        wall = datetime.fromtimestamp(mid, tz).replace(tzinfo=None)
        if wall > naive:
            hi = mid
        else:
            lo = mid + 1
    return datetime.fromtimestamp(lo, UTC)


def to_instant(naive: datetime, tz: ZoneInfo) -> datetime:
    """The instant (UTC) at which wall-clock time ``naive`` in ``tz`` fires, by the DST rule."""
    first = naive.replace(tzinfo=tz, fold=0)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(tz).replace(tzinfo=None) == naive:
        return as_utc  # exists; fold=0 is its first occurrence when it is repeated
    return _first_instant_after_gap(naive, tz)


def _cronsim(expr: str, start: datetime, reverse: bool = False) -> Iterator[datetime]:
    from cronsim import CronSim  # imported where it is used: keeps `validate` start-up lean

    return CronSim(expr, start, reverse=reverse)


def iter_runs(cadence: Cadence, after: datetime) -> Iterator[datetime]:
    """Every fire time strictly after ``after``, in order, as aware datetimes in the zone."""
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    tz = cadence.zone
    start = after.astimezone(tz).replace(tzinfo=None, fold=0)
    last: datetime | None = None
    for naive in _cronsim(cadence.cron, start):
        instant = to_instant(naive, tz)
        if instant <= after or instant == last:
            continue
        last = instant
        yield instant.astimezone(tz)


def next_runs(cadence: Cadence, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``."""
    if count <= 0:
        return []
    return list(_next_runs(cadence, after, count))


# A pure function of its arguments, and a fleet shares cadences (every repo "weekly, Monday
# 09:00") and asks at one instant: discovery and fleet prepare hit this cache often.
@lru_cache(maxsize=8192)
def _next_runs(cadence: Cadence, after: datetime, count: int) -> tuple[datetime, ...]:
    out: list[datetime] = []
    for run in iter_runs(cadence, after):
        out.append(run)
        if len(out) >= count:
            break
    return tuple(out)


@lru_cache(maxsize=8192)
def runs_between(cadence: Cadence, start: datetime, end: datetime) -> tuple[datetime, ...]:
    """Every fire time in the half-open span ``(start, end]``, in order.

    Half-open spans tile: consecutive ticks ``(t - d, t]`` and ``(t, t + d]`` share no slot and
    miss none, whatever the DST rule had to decide inside them."""
    out: list[datetime] = []
    for run in iter_runs(cadence, start):
        if run > end:
            break
        out.append(run)
    return tuple(out)


@lru_cache(maxsize=8192)
def previous_run(cadence: Cadence, at: datetime) -> datetime | None:
    """The latest fire time at or before ``at`` (the schedule slot ``at`` belongs to)."""
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    tz = cadence.zone
    local = at.astimezone(tz)
    start = local.replace(tzinfo=None, fold=0, microsecond=0)
    # In the second pass of a repeated hour, wall times later than ours resolve to their first
    # occurrence, which is already past: search from the end of the repeated span.
    first_offset = local.replace(fold=0).utcoffset()
    now_offset = local.utcoffset()
    if local.fold and first_offset is not None and now_offset is not None:
        start += abs(first_offset - now_offset)
    for naive in _cronsim(cadence.cron, start + _ONE_SECOND, reverse=True):
        instant = to_instant(naive, tz)
        if instant <= at:
            return instant.astimezone(tz)
    return None


_NAMES: Final = {
    3: frozenset("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()),
    4: frozenset("SUN MON TUE WED THU FRI SAT".split()),
}
_FIELDS: Final = ("minute", "hour", "day-of-month", "month", "day-of-week")
_TOKEN = re.compile(r"[^,/-]+")


#: cronie's macros that name a time (``@reboot`` names none), as the 5 fields they stand for.
MACROS: Final = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@lru_cache(maxsize=4096)
def check_cron(expr: str) -> str | None:
    """Why ``expr`` is not a usable cron expression, or None when it is: 5 fields in cronie's
    syntax (plus ``L`` alone in day-of-month, the month's last day, with day-of-week ``*``: what
    ``monthly`` on the ``last`` day compiles to), or one of cronie's macros but ``@reboot``."""
    fields = expr.split()
    if expr.strip().startswith("@"):
        return _check_macro(expr.strip())
    if len(fields) != 5:
        return (
            "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as "
            f"@daily, got {len(fields)}: {expr!r}"
        )
    for index, text in enumerate(fields):
        if index == 2 and text.upper() == "L":
            if fields[4] != "*":
                return (
                    f'day-of-month "L" (the month\'s last day) goes with day-of-week "*", '
                    f'not "{fields[4]}"'
                )
            continue
        for token in _TOKEN.findall(text.upper()):
            if token == "*" or token.isdigit() or token in _NAMES.get(index, ()):
                continue
            return f'{_FIELDS[index]} field "{text}": "{token}" is not cronie syntax'
    from cronsim import CronSimError

    try:
        runs = _cronsim(expr, datetime(2000, 1, 1))
    except CronSimError as exc:
        return f'invalid cron expression "{expr}": {str(exc).lower()}'
    try:
        next(runs)
    except StopIteration:
        return f'cron expression "{expr}" never fires (no date matches it)'
    return None


def _check_macro(expr: str) -> str | None:
    if expr in MACROS:
        return None
    if expr == "@reboot":
        return (
            '"@reboot" names no time, and kaizen runs prepare on a clock; write a time, '
            'e.g. "@daily" or "0 9 * * 1"'
        )
    from kaizen_agentic.manifest.spec import suggest

    known = ", ".join(MACROS)
    return f'unknown macro "{expr}" (cronie\'s are {known}){suggest(expr, list(MACROS))}'


def describe(cadence: Cadence) -> str:
    """A human description: ``every Monday at 09:00 Europe/Berlin``."""
    zone_name = cadence.timezone
    if cadence.interval == "cron":
        return f'cron "{cadence.user_cron}" ({_explain(cadence.cron)}) {zone_name}'
    at = f"at {cadence.time}"
    if cadence.spread:
        at += " (spread)"
    if cadence.interval == "daily":
        what = "every day"
    elif cadence.interval == "weekdays":
        what = "every weekday (Monday to Friday)"
    elif cadence.interval == "weekly":
        what = f"every {str(cadence.day).capitalize()}"
    elif cadence.day == "last":
        what = "on the last day of every month"
    else:
        what = f"on day {cadence.day} of every month"
    return f"{what} {at} {zone_name}"


@lru_cache(maxsize=1024)
def _explain(expr: str) -> str:
    from cronsim import CronSim

    try:
        text: str = CronSim(expr, datetime(2000, 1, 1)).explain()
    except Exception:  # explain() is cosmetic; never let it break a listing
        return "custom"
    return text[:1].lower() + text[1:]


def local_midnight(day: date, timezone: str) -> datetime:
    """The first instant of ``day`` in ``timezone`` (midnight, or the end of a midnight gap)."""
    return to_instant(datetime.combine(day, time()), zone(timezone))
