"""The fleet calendar: when every enrolled agent runs, where load piles up, who never runs.

``build`` turns a discovery into the runs of a window, shown in a display zone, with an
hour-of-week heatmap (Monday 00:00 first). ``advise`` finds hours that hold more runs than a
threshold and shows how much dropping pinned times (letting the spread choose) would flatten
them. Rendering lives in ``calendar_html`` (HTML) and the command (terminal, JSON).
"""

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from kaizen_agentic import output
from kaizen_agentic.fleet.discovery import Discovery, RepoState
from kaizen_agentic.manifest import cadence as cad

DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Run(NamedTuple):
    """One run of one agent, in the display zone."""

    slug: str
    agent: str
    when: datetime  # in the display zone
    pinned: bool  # the schedule names an explicit `time` (a preset, not a spread or a cron)
    cron: bool = False  # the schedule is a cron expression (spreading cannot move it)


class Entry(NamedTuple):
    """One enrolled agent of one repository, with its cadence."""

    slug: str
    agent: str
    cadence: cad.Cadence


class Peak(NamedTuple):
    """A crowded hour: its runs, the pinned entries in it and the peak if spread."""

    day: int  # 0 = Monday
    hour: int
    runs: int
    pinned: tuple[tuple[str, str], ...]  # (slug, agent) of runs there that pin their time
    if_spread: int  # the busiest hour's count if every pinned entry dropped its `time`


class Timetable(NamedTuple):
    """The fleet's runs in a window, with the heatmap and the advisory."""

    start: datetime
    end: datetime
    zone: str
    runs: tuple[Run, ...]
    heat: tuple[tuple[int, ...], ...]  # 7 x 24
    not_taking_part: tuple[RepoState, ...]
    threshold: int
    peaks: tuple[Peak, ...]

    def busiest(self, n: int = 3) -> list[tuple[int, int, int]]:
        """The ``n`` hours of the week holding the most runs, (day, hour, runs), among those
        where more than one agent runs: one agent's runs in several weeks are not a crowd."""
        entries: dict[tuple[int, int], set[tuple[str, str]]] = {}
        for r in self.runs:
            entries.setdefault((r.when.weekday(), r.when.hour), set()).add((r.slug, r.agent))
        cells = [(self.heat[d][h], d, h) for (d, h), who in entries.items() if len(who) > 1]
        return [
            (d, h, count) for count, d, h in sorted(cells, key=lambda c: (-c[0], c[1], c[2]))[:n]
        ]

    def who(self, day: int, hour: int) -> list[Run]:
        return [r for r in self.runs if r.when.weekday() == day and r.when.hour == hour]

    def who_names(self, day: int, hour: int) -> list[str]:
        """``slug agent`` of each entry running in that hour of the week, once, in time order,
        with ``(5 times)`` after one that runs there in several weeks of the window."""
        seen = Counter(f"{r.slug} {r.agent}" for r in self.who(day, hour))
        return [name if times == 1 else f"{name} ({times} times)" for name, times in seen.items()]


# A repository paused at the window's start still runs in it once its pause ends.
_TAKING_PART: Final = ("enrolled", "paused")


def entries(found: Discovery) -> list[Entry]:
    """Every enabled agent of the repositories taking part."""
    out = []
    for repo in found.repos:
        if repo.state not in _TAKING_PART or repo.manifest is None:
            continue
        for entry in repo.manifest.agents:
            if entry.enabled:
                out.append(Entry(repo.slug, entry.agent, entry.cadence))
    return out


def runs_of(
    items: list[Entry],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    paused: dict[tuple[str, str], datetime] | None = None,
) -> list[Run]:
    """Every fire time in ``[start, end)`` of every entry, in ``zone``, in time order."""
    # Compared in UTC: two times in one zone compare by wall clock, which a repeated hour
    # makes wrong.
    out = []
    stop = end.astimezone(UTC)
    # In UTC before subtracting: "start minus a microsecond" on a zone-aware time is wall-clock
    # arithmetic, which lands inside a DST gap when a run sits at the window's start.
    first = start.astimezone(UTC) - timedelta(microseconds=1)
    for item in items:
        pinned = item.cadence.interval != "cron" and not item.cadence.spread
        resume = (paused or {}).get((item.slug, item.agent))
        resume_utc = resume.astimezone(UTC) if resume is not None else None
        for moment in cad.iter_runs(item.cadence, first):
            instant = moment.astimezone(UTC)
            if instant >= stop:
                break
            if resume_utc is not None and instant < resume_utc:
                continue
            cron = item.cadence.interval == "cron"
            out.append(Run(item.slug, item.agent, moment.astimezone(zone), pinned, cron))
    out.sort(key=lambda r: (r.when.astimezone(UTC), r.slug, r.agent))
    return out


def heatmap(runs: list[Run]) -> tuple[tuple[int, ...], ...]:
    """Runs per (weekday, hour), Monday first."""
    counts = Counter((r.when.weekday(), r.when.hour) for r in runs)
    return tuple(tuple(counts[(d, h)] for h in range(24)) for d in range(7))


def default_threshold(total: int) -> int:
    """An hour is crowded when it holds 4x its share of the week's runs, and at least 5."""
    return max(5, math.ceil(total / (7 * 24) * 4))


def advise(
    items: list[Entry],
    runs: list[Run],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    threshold: int,
) -> list[Peak]:
    """The crowded hours, and how much omitting pinned times would flatten them."""
    heat = heatmap(runs)
    crowded = [(d, h) for d in range(7) for h in range(24) if heat[d][h] > threshold]
    if not crowded:
        return []
    pinned_keys = {
        (r.slug, r.agent)
        for r in runs
        if r.pinned and (r.when.weekday(), r.when.hour) in set(crowded)
    }
    respread = [
        Entry(
            i.slug,
            i.agent,
            cad.compile_cadence(
                i.cadence.interval,
                timezone=i.cadence.timezone,
                day=i.cadence.day,
                at=None,
                identity=i.slug,
                agent=i.agent,
            ),
        )
        if (i.slug, i.agent) in pinned_keys
        else i
        for i in items
    ]
    after = heatmap(runs_of(respread, start, end, zone))
    flattened = max(max(row) for row in after) if after else 0
    peaks = []
    for d, h in sorted(crowded, key=lambda c: (-heat[c[0]][c[1]], c)):
        here = sorted(
            {
                (r.slug, r.agent)
                for r in runs
                if r.pinned and r.when.weekday() == d and r.when.hour == h
            }
        )
        peaks.append(Peak(d, h, heat[d][h], tuple(here), flattened))
    return peaks


def build(
    found: Discovery, *, start: datetime, days: int, zone: str, threshold: int | None = None
) -> Timetable:
    """The calendar of ``found``'s enrolled agents for ``days`` days from ``start``."""
    tz = cad.zone(zone)
    # In the display zone, header included; the span is counted in real time (aware
    # arithmetic within one zone would count wall-clock days across a DST change).
    end = (start.astimezone(UTC) + timedelta(days=days)).astimezone(tz)
    start = start.astimezone(tz)
    items = entries(found)
    paused = {}
    for repo in found.repos:
        if repo.state in _TAKING_PART and repo.manifest is not None:
            for e in repo.manifest.agents:
                if e.enabled and e.paused_until is not None:
                    paused[(repo.slug, e.agent)] = e.resumes_at()
    runs = runs_of(items, start, end, tz, paused)
    limit = default_threshold(len(runs)) if threshold is None else threshold
    running = {r.slug for r in runs}
    others = tuple(
        r
        for r in found.repos
        if r.state not in _TAKING_PART or (r.state == "paused" and r.slug not in running)
    )
    return Timetable(
        start,
        end,
        zone,
        tuple(runs),
        heatmap(runs),
        others,
        limit,
        tuple(advise(items, runs, start, end, tz, limit)),
    )


def _names(pairs: list[tuple[str, str]], limit: int = 6) -> str:
    shown = ", ".join(f"{s} {a}" for s, a in pairs[:limit])
    return shown + (f" (+{len(pairs) - limit} more)" if len(pairs) > limit else "")


def advice(table: Timetable) -> tuple[list[str], str]:
    """One sentence per crowded hour, and the closing sentence (said once; empty when no
    crowded hour holds a pinned time)."""
    lines = []
    for peak in table.peaks:
        here = table.who(peak.day, peak.hour)
        crons = sorted({(r.slug, r.agent) for r in here if r.cron})
        parts = []
        if peak.pinned:
            n = len(peak.pinned)
            parts.append(
                f"{n} pin{'s' if n == 1 else ''} an explicit time: {_names(list(peak.pinned))}"
            )
        if crons:
            n = len(crons)
            parts.append(
                f"{n} {'is a cron schedule' if n == 1 else 'are cron schedules'}, which spreading "
                f"cannot move: {_names(crons)}; give them different minutes or hours"
            )
        if not parts:
            parts.append("its runs are spread times that fell together")
        lines.append(
            f"{DAYS[peak.day]} {peak.hour:02d}:00 holds {peak.runs} runs (threshold "
            f"{table.threshold}); " + "; ".join(parts) + "."
        )
    closing = ""
    if any(p.pinned for p in table.peaks):
        closing = (
            f"Omitting `time` from the pinned entries spreads each over {cad.SPREAD_WINDOW} "
            f"local time; the busiest hour would then hold "
            f"{output.plural(table.peaks[0].if_spread, 'run')}."
        )
    return lines, closing


def as_dict(table: Timetable) -> dict[str, Any]:
    """The calendar as plain data: what ``--json`` prints."""
    return {
        "from": output.rfc3339(table.start),
        "to": output.rfc3339(table.end),
        "timezone": table.zone,
        "total_runs": len(table.runs),
        "threshold": table.threshold,
        "heatmap": {
            "rows": list(DAYS),
            "hours": list(range(24)),
            "counts": [list(row) for row in table.heat],
        },
        "busiest": [
            {
                "day": DAYS[d],
                "hour": h,
                "runs": n,
                "who": table.who_names(d, h),
            }
            for d, h, n in table.busiest()
        ],
        "peaks": [
            {
                "day": DAYS[p.day],
                "hour": p.hour,
                "runs": p.runs,
                "pinned": [f"{s} {a}" for s, a in p.pinned],
                "busiest_if_spread": p.if_spread,
            }
            for p in table.peaks
        ],
        "runs": [
            {
                "repo": r.slug,
                "agent": r.agent,
                "at": output.rfc3339(r.when),
                "pinned_time": r.pinned,
            }
            for r in table.runs
        ],
        "not_taking_part": [
            {"repo": r.slug, "state": r.state, "reason": r.reason} for r in table.not_taking_part
        ],
    }
