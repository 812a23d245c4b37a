"""How a Temporal server matches calendar specs, so an export can say what it will do at DST.

Temporal (1.2x-1.3x) walks a calendar spec's fields in the schedule's zone and turns wall-clock
fields into an instant the way Go's ``time.Date`` does: a wall time that does not exist moves
forward by the gap (02:30 in a one-hour gap becomes 03:30, and so fails the "same hour" check
and is skipped; in Lord Howe's 30-minute gap 02:15 becomes 02:45 and fires), and a repeated wall
time resolves by the offset in force at the wall time read as UTC, which is the *second*
occurrence east of UTC and the first west of it. After a match in the first copy of a repeated
hour, the walk finds the hour again one hour later, so west of UTC a repeated time fires twice.

This module reproduces that walk (``next_after``) and the schedule-level rules (the earliest of
several calendars, skip calendars, a start time). ``tests/integration/test_temporal_server.py``
compares it with a real server's ``ListScheduleMatchingTimes`` across DST zones; the export uses it
to name every date on which Temporal and kaizen-agentic disagree. Nothing here imports temporalio.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

MAX_YEAR: Final = 2100  # Temporal's own limit for calendar specs

Ranges = Sequence[Mapping[str, int]]  # [{"start", "end", "step"}], as the export writes them


def _matcher(ranges: Ranges, default: tuple[int, int] | None) -> Callable[[int], bool]:
    values: set[int] = set()
    items = list(ranges) or ([{"start": default[0], "end": default[1]}] if default else [])
    for item in items:
        start = int(item.get("start", 0))
        end = max(int(item.get("end", start) or start), start)
        step = int(item.get("step", 1) or 1)
        values.update(range(start, end + 1, step))
    return values.__contains__


def _days_in(month: int, year: int) -> int:
    # Temporal's table; called with month 13 on the way to the next year, where it says 30.
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return 30 + (0b1010110101010 >> month & 1)


class Calendar:
    """One compiled calendar spec (fields default as Temporal's: ``*`` for dates, 0 for times)."""

    def __init__(self, spec: Mapping[str, Any], tz: ZoneInfo) -> None:
        self.tz = tz
        self.year = _matcher(spec.get("year") or [], (2000, MAX_YEAR))
        self.month = _matcher(spec.get("month") or [], (1, 12))
        self.day = _matcher(spec.get("day_of_month") or [], (1, 31))
        dow = _matcher(spec.get("day_of_week") or [], (0, 6))
        self.weekday: Callable[[int], bool] = lambda d: dow(d) or (d == 0 and dow(7))
        self.hour = _matcher(spec.get("hour") or [], (0, 0))
        self.minute = _matcher(spec.get("minute") or [], (0, 0))
        self.second = _matcher(spec.get("second") or [], (0, 0))

    def _offset(self, instant: int) -> int:
        offset = datetime.fromtimestamp(instant, self.tz).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def wall_to_instant(self, y: int, mo: int, d: int, h: int, mi: int, s: int) -> int:
        """Go's ``time.Date`` in this zone: wall-clock fields to Unix seconds."""
        unix = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
        return unix - self._offset(unix - self._offset(unix))

    def _local(self, instant: int) -> datetime:
        return datetime.fromtimestamp(instant, self.tz)

    def matches(self, instant: int) -> bool:
        t = self._local(instant)
        return (
            self.year(t.year)
            and self.month(t.month)
            and self.day(t.day)
            and self.weekday((t.weekday() + 1) % 7)
            and self.hour(t.hour)
            and self.minute(t.minute)
            and self.second(t.second)
        )

    def next_after(self, instant: int) -> int | None:
        """The first instant after ``instant`` that the server would match, or None."""
        t = self._local(instant)
        y, mo, d, h, m, s = t.year, t.month, t.day, t.hour, t.minute, t.second
        dst = 3600 if self._local(instant - 3600).hour == h else 0
        s += 1
        date = self.wall_to_instant
        while True:
            if s >= 60:
                m, s = m + 1, 0
            if m >= 60:
                prev = date(y, mo, d, h, 0, 0)
                h, m = h + 1, 0
                if dst == 0 and date(y, mo, d, h, 0, 0) - prev > 3600:
                    h, dst = h - 1, 3600  # skipped over a repeated hour: walk it again
                else:
                    dst = 0
            if h >= 24:
                d, h = d + 1, 0
            if d > _days_in(mo, y):
                mo, d = mo + 1, 1
            if mo > 12:
                y, mo = y + 1, 1
            if y > MAX_YEAR:
                return None
            if not self.year(y):
                y, mo, d, h, m, s, dst = y + 1, 1, 1, 0, 0, 0, 0
                continue
            restart = False
            while not self.month(mo):
                mo, d, h, m, s, dst = mo + 1, 1, 0, 0, 0, 0
                if mo > 12:
                    restart = True
                    break
            while not restart and (
                not self.day(d)
                or not self.weekday((self._local(date(y, mo, d, h, m, s)).weekday() + 1) % 7)
            ):
                d, h, m, s, dst = d + 1, 0, 0, 0, 0
                if d > _days_in(mo, y):
                    restart = True
            while not restart and not self.hour(h):
                h, m, s, dst = h + 1, 0, 0, 0
                restart = h >= 24
            while not restart and not self.minute(m):
                m, s = m + 1, 0
                restart = m >= 60
            while not restart and not self.second(s):
                s += 1
                restart = s >= 60
            if restart:
                continue
            found = date(y, mo, d, h, m, s)
            if self._local(found).hour != h:  # a wall time a gap moved into the next hour
                h, m, s = h + 1, 0, 0
                continue
            return found + dst


def matching_times(spec: Mapping[str, Any], start: datetime, end: datetime) -> Iterator[datetime]:
    """What ``ListScheduleMatchingTimes`` lists for an exported spec in ``(start, end]``:
    the earliest next time of any calendar, minus those a skip calendar matches."""
    tz = ZoneInfo(spec.get("time_zone_name") or "UTC")
    calendars = [Calendar(c, tz) for c in spec.get("calendars", [])]
    skips = [Calendar(c, tz) for c in spec.get("skip", [])]
    after = int(start.timestamp())
    stop = int(end.timestamp())
    pending = {i: cal.next_after(after) for i, cal in enumerate(calendars)}
    while True:
        live = [t for t in pending.values() if t is not None]
        if not live:
            return
        nominal = min(live)
        if nominal > stop:
            return
        for i, t in pending.items():
            if t == nominal:
                pending[i] = calendars[i].next_after(nominal)
        if not any(skip.matches(nominal) for skip in skips):
            yield datetime.fromtimestamp(nominal, UTC)
