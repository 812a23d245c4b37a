"""One agent's metrics records of a period, found wherever they stand in its file.

Records are mostly appended in time order, but not always (a run recorded late, a backfill with
``metrics record --at``, two branches' lines merged, a hand edit), and a report must not depend
on line order. ``read_period`` reads the file's tail back to the period, parsing every line,
then scans the rest at C speed for lines dated in the period and parses only those. Records are
folded into a ``Tally`` as they come, so memory follows what is kept, not the file; one file
may cost at most ``MAX_FILE_BYTES`` from its end and ``MAX_FILE_LINES`` parsed lines, and the
note says what a cap left out.
"""

import heapq
import os
import re
from array import array
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, NamedTuple

from kaizen_agentic.bundle import metrics

# Records are appended in time order, but a slow run may land after a quicker later one: reading
# back from the end parses every line back to this far before the period.
SLACK: Final = timedelta(days=2)
MAX_FILE_BYTES: Final = 8 * 1024 * 1024  # ~40,000 runs of ~200 bytes: a century of daily runs
MAX_FILE_LINES: Final = 100_000
MAX_POINTS: Final = 1_000  # a measure's latest points kept for its chart and its trend
MAX_MEASURES: Final = 100  # measure names per agent


class Limits(NamedTuple):
    """What reading one metrics file may cost: bytes and lines, read from its end."""

    bytes: int
    lines: int


def default_limits() -> Limits:
    """``MAX_FILE_BYTES`` and ``MAX_FILE_LINES``, as they are when called."""
    return Limits(MAX_FILE_BYTES, MAX_FILE_LINES)


class Measure(NamedTuple):
    """One recorded measure over the period: first, last, trend and points."""

    name: str
    first: float
    last: float
    direction: str  # rising | falling | flat | n/a (fewer than 4 values); over the points
    points: tuple[tuple[str, float], ...]  # (time, value), oldest first; the latest MAX_POINTS


Order = tuple[float, int]  # a record's time, then a checksum of its line: the same for any order


class _Series:
    """One measure's values: the earliest, the latest, and the latest MAX_POINTS."""

    def __init__(self) -> None:
        self.first: tuple[Order, float] | None = None
        self.last: tuple[Order, float] | None = None
        self.recent: list[tuple[Order, str, float]] = []  # a heap: the oldest on top

    def add(self, order: Order, time: str, value: float) -> None:
        if self.first is None or order < self.first[0]:
            self.first = (order, value)
        if self.last is None or order > self.last[0]:
            self.last = (order, value)
        if len(self.recent) < MAX_POINTS:
            heapq.heappush(self.recent, (order, time, value))
        elif order > self.recent[0][0]:
            heapq.heapreplace(self.recent, (order, time, value))


class Tally:
    """One agent's records of a period, folded in one at a time, in any order."""

    def __init__(self, slug: str, agent: str, slots: tuple[datetime, ...]) -> None:
        from kaizen_agentic.bundle.store import idempotency_key

        self.slots = sorted(slot.astimezone(UTC) for slot in slots)
        self.by_key = {idempotency_key(slug, agent, s): s.astimezone(UTC) for s in slots}
        self.covered: set[datetime] = set()
        self.runs = dict.fromkeys(metrics.OUTCOMES, 0)
        self.tokens: array[int] = array("q")
        self.durations: array[float] = array("d")
        self.last: tuple[Order, metrics.RunRecord] | None = None
        self.dropped: tuple[Order, int] | None = None
        self.failures: list[Order] = []  # failures after the latest other outcome
        self.settled: Order | None = None  # the latest record that was not a failure
        self.series: dict[str, _Series] = {}
        self.weeks: dict[str, dict[str, int]] = {}
        self.measures_left_out = False

    def add(self, record: metrics.RunRecord, when: datetime, order: Order) -> None:
        """Count one record of the period."""
        self.runs[record.outcome] += 1
        if record.tokens is not None:
            self.tokens.append(record.tokens)
        if record.duration_s is not None:
            self.durations.append(record.duration_s)
        if self.last is None or order > self.last[0]:
            self.last = (order, record)
        if record.memory_dropped is not None and (self.dropped is None or order > self.dropped[0]):
            self.dropped = (order, record.memory_dropped)
        if record.outcome == "failure":
            if self.settled is None or order > self.settled:
                self.failures.append(order)
        elif self.settled is None or order > self.settled:
            self.settled = order
            self.failures = [f for f in self.failures if f > order]
        self._cover(record, when)
        self._week(record, when)
        for name, value in record.measures.items():
            series = self.series.get(name)
            if series is None:
                if len(self.series) >= MAX_MEASURES:
                    self.measures_left_out = True
                    continue
                series = self.series[name] = _Series()
            series.add(order, record.time, value)

    def _cover(self, record: metrics.RunRecord, when: datetime) -> None:
        if record.bundle is not None:
            if record.bundle in self.by_key:
                self.covered.add(self.by_key[record.bundle])
            return
        # The latest slot at or before the record: slots between the period's start and the
        # record are all in `slots`, so when one of them qualifies it is that latest slot.
        index = bisect_right(self.slots, when) - 1
        if index >= 0:
            self.covered.add(self.slots[index])

    def _week(self, record: metrics.RunRecord, when: datetime) -> None:
        year, week, _ = when.isocalendar()
        label = f"{year}-W{week:02d}"
        row = self.weeks.get(label)
        if row is None:
            row = self.weeks[label] = {**dict.fromkeys(metrics.OUTCOMES, 0), "tokens": 0}
        row[record.outcome] += 1
        row["tokens"] += record.tokens or 0

    def measures(self) -> tuple[Measure, ...]:
        out = []
        for name, series in sorted(self.series.items()):
            assert series.first is not None and series.last is not None
            points = tuple((time, value) for _, time, value in sorted(series.recent))
            direction = metrics._trend(name, [v for _, v in points]).direction
            out.append(Measure(name, series.first[1], series.last[1], direction, points))
        return tuple(out)


class Read(NamedTuple):
    """What reading one metrics file found besides the period's records."""

    malformed: int
    ever: bool  # the file holds a readable record, in the period or not
    note: str | None  # what the caps left out


def read_period(
    root: str,
    agent: str,
    since: datetime,
    until: datetime,
    tally: Tally,
    limits: Limits | None = None,
) -> Read:
    """Fold the records in ``(since, until]`` into ``tally``, wherever they stand in the file.

    Records are mostly appended in time order, so the file is read from its end, every line
    parsed, back to the first record from before the period (and two days of slack). What
    comes before that is not trusted to be older: one C-level scan of it finds the lines whose
    time falls on a date of the period (or that hold an escape, which could hide one), and only
    those are parsed. At most ``limits.bytes`` from the end are looked at and ``limits.lines``
    parsed; past either, the note says so."""
    limits = limits or default_limits()
    fd = metrics._open_inside(root, agent)
    if fd is None:
        return Read(0, False, None)
    try:
        size = os.fstat(fd).st_size
        floor = max(0, size - limits.bytes)
        reader = _Reader(since, until, tally, limits.lines)
        head = reader.tail(fd, floor)
        if head is not None and head > floor:
            reader.scan(os.pread(fd, head - floor, floor), cut=floor > 0)
    finally:
        os.close(fd)
    return Read(reader.malformed, reader.ever, _note(reader, size, floor, limits))


class _Reader:
    """One file's lines as they are read: parsed, counted, and folded in when in the period."""

    def __init__(self, since: datetime, until: datetime, tally: Tally, most: int) -> None:
        self.since, self.until, self.tally = since, until, tally
        self.left = most  # lines that may still be parsed
        self.malformed = 0
        self.ever = False
        self.capped = False

    def take(self, line: bytes) -> datetime | None:
        """Parse one line; fold it in when it is a record of the period. Returns its time."""
        import zlib

        self.left -= 1
        read = metrics.read_line(line)
        if read is None:
            self.malformed += 1
            return None
        record, when = read
        self.ever = True
        if self.since < when <= self.until:
            self.tally.add(record, when, (when.timestamp(), zlib.crc32(line)))
        return when

    def tail(self, fd: int, floor: int) -> int | None:
        """Read back from the end to the first record before the period's slack. Returns the
        offset where that record starts (``floor`` when none was met), or None at the cap."""
        stop = self.since - SLACK
        for line, start in metrics.lines_back(fd, floor):
            if self.left <= 0:
                self.capped = True
                return None
            when = self.take(line)
            if when is not None and when < stop:
                return start
        return floor

    def scan(self, head: bytes, cut: bool) -> None:
        """Parse the lines of ``head`` that may hold a record of the period: those with a date
        of it after a quote, and those with a backslash (an escape may spell the key or the
        time another way). Two C-level searches; ``cut``: the first line began before the
        bytes read (the cap), so it is not whole and not read."""
        pattern = _candidates(self.since.astimezone(UTC).date(), self.until.astimezone(UTC).date())
        starts = {head.rfind(b"\n", 0, m.start()) + 1 for m in pattern.finditer(head)}
        escape = head.find(b"\\")
        while escape >= 0:
            starts.add(head.rfind(b"\n", 0, escape) + 1)
            end = head.find(b"\n", escape)
            escape = head.find(b"\\", end) if end >= 0 else -1
        for start in sorted(starts):
            if start == 0 and cut:
                continue
            if self.left <= 0:
                self.capped = True
                return
            end = head.find(b"\n", start)
            self.take(head[start : len(head) if end < 0 else end])


@lru_cache(maxsize=64)
def _candidates(first: date, last: date) -> re.Pattern[bytes]:
    """A quote and a date within a day of ``[first, last]`` (UTC dates; a record's time
    carries its local date, at most a day away)."""
    low = first - _DAY if first > date.min else first
    high = last + _DAY if last < date.max else last
    return re.compile(b'"(?:' + _dates(low, high).encode() + b")")


_DAY: Final = timedelta(days=1)


def _dates(first: date, last: date) -> str:
    """A regular expression for the dates ``first`` to ``last``: whole years, whole months,
    then single days, so a period of decades is a few hundred alternatives."""
    parts = []
    day = first
    while day <= last:
        year_end = date(day.year, 12, 31)
        month_end = year_end if day.month == 12 else date(day.year, day.month + 1, 1) - _DAY
        if day.month == 1 and day.day == 1 and year_end <= last:
            parts.append(rf"{day.year:04d}-\d\d-\d\d")
            step = year_end
        elif day.day == 1 and month_end <= last:
            parts.append(rf"{day.year:04d}-{day.month:02d}-\d\d")
            step = month_end
        else:
            parts.append(day.isoformat())
            step = day
        if step >= date.max:
            break
        day = step + _DAY
    return "|".join(parts)


def _note(reader: _Reader, size: int, floor: int, limits: Limits) -> str | None:
    from kaizen_agentic.atomic import human_size

    notes = []
    if reader.capped:
        notes.append(
            f"parsed only {limits.lines:,} lines of {human_size(size)}, the cap per file; "
            "older records are not counted"
        )
    elif floor:
        notes.append(
            f"looked only at the last {human_size(limits.bytes)} of {human_size(size)}, the cap "
            "per file; older records are not counted"
        )
    if reader.tally.measures_left_out:
        notes.append(f"only the first {MAX_MEASURES} measure names are reported")
    return "; ".join(notes) or None
