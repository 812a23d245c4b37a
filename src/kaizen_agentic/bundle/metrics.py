"""Run metrics: ``.kaizen/metrics/<agent>.jsonl``, one JSON record per run, append-only.

A record::

    {"time": "2027-03-29T09:12:44+02:00", "outcome": "success", "duration_s": 184.2,
     "tokens": 21877, "measures": {"focus_items": 3}, "bundle": "kz-3f9c..."}

Appends take an exclusive lock on the metrics folder and write one whole line with one
``write`` on an ``O_APPEND`` descriptor, so concurrent writers never interleave. Summaries read
the file from its end: only the recent window is parsed, and the total is a newline count, so a
100 MB history costs a fast scan, not a parse.
"""

import json
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from kaizen_agentic import names, output
from kaizen_agentic.errors import KaizenError

METRICS_DIR: Final = os.path.join(".kaizen", "metrics")
OUTCOMES: Final = ("success", "partial", "failure", "skipped")
DEFAULT_WINDOW: Final = 20
MAX_LINE_BYTES: Final = 64 * 1024
# A record's numbers, for writers and readers alike, are finite floats: NaN, the infinities and
# an integer too long for a float (Python's JSON reads 400 digits happily; float() of them
# raises) make a line malformed, not a crash in a sum. Token counts are whole and bounded, as
# results have them.
MAX_TOKENS: Final = 10**12
_MEASURE_NAME: Final = re.compile(names.MEASURE_NAME_PATTERN)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


# Strict JSON: NaN and Infinity are not numbers (nor is 1e999, which overflows to infinity:
# ``number`` refuses it with every other value out of bounds).
_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)
_BLOCK: Final = 1 << 16


class RunRecord(NamedTuple):
    """One run's record: time, outcome, duration, tokens, measures and bundle."""

    time: str
    outcome: str
    duration_s: float | None
    tokens: int | None
    measures: dict[str, float]
    bundle: str | None
    memory_dropped: int | None = None  # memory entries the run's bundle left out for budget

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time": self.time,
            "outcome": self.outcome,
            "duration_s": self.duration_s,
            "tokens": self.tokens,
            "measures": dict(sorted(self.measures.items())),
            "bundle": self.bundle,
        }
        if self.memory_dropped is not None:
            out["memory_dropped"] = self.memory_dropped
        return out


class Trend(NamedTuple):
    """A measure's last value, mean and direction over recent runs."""

    measure: str
    last: float
    mean: float
    direction: str  # "rising" | "falling" | "flat" | "n/a"


class Summary(NamedTuple):
    """What a bundle carries about past runs: counts and trends, not raw lines."""

    total_runs: int
    window: tuple[RunRecord, ...]  # the most recent runs, oldest first
    outcomes: dict[str, int]  # over the window
    success_rate: float | None  # over the window, 0..1
    mean_duration_s: float | None
    mean_tokens: float | None
    trends: tuple[Trend, ...]
    malformed: int  # unreadable lines met in the window


def metrics_path(root: str, agent: str) -> str:
    """The agent's metrics file in the repository."""
    return os.path.join(root, METRICS_DIR, f"{agent}.jsonl")


def make_record(
    *,
    time: datetime,
    outcome: str,
    duration_s: float | None = None,
    tokens: int | None = None,
    measures: dict[str, float] | None = None,
    bundle: str | None = None,
    memory_dropped: int | None = None,
) -> RunRecord:
    """A validated record. Raises ``KaizenError`` with a message fit for users."""
    if time.tzinfo is None:
        raise KaizenError("a run's time needs a UTC offset")
    if outcome not in OUTCOMES:
        raise KaizenError(f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}")
    if duration_s is not None and number(duration_s, 0) is None:
        raise KaizenError(
            f"duration must be a finite number of seconds >= 0; got {_shown(duration_s)}"
        )
    if tokens is not None and tokens < 0:
        raise KaizenError(f"tokens must be >= 0; got {_shown(tokens)}")
    if tokens is not None and tokens > MAX_TOKENS:
        raise KaizenError(f"tokens must be at most {MAX_TOKENS}; got {_shown(tokens)}")
    clean: dict[str, float] = {}
    for name, value in (measures or {}).items():
        if not measure_name(name):
            raise KaizenError(
                f"measure name {name!r} must be 1-64 characters of a-z, 0-9, '_', '.', '-'"
            )
        if number(value) is None:
            raise KaizenError(f"measure {name!r} must be a finite number; got {_shown(value)}")
        clean[name] = value
    stamp = time.isoformat(timespec="seconds")
    return RunRecord(stamp, outcome, duration_s, tokens, clean, bundle, memory_dropped)


def number(value: object, minimum: float = -math.inf) -> float | None:
    """``value`` as a float when it is a number (not a bool), finite as a float and at least
    ``minimum``; None for anything else: NaN, infinities, an integer too long for a float."""
    if type(value) is float:  # the common case first: a report reads every value of a file
        as_float = value
    elif type(value) is int:
        try:
            as_float = float(value)
        except OverflowError:
            return None
    else:
        return None  # not a number, or a bool
    return as_float if -math.inf < as_float < math.inf and as_float >= minimum else None


def measure_name(name: object) -> bool:
    """Whether ``name`` is a measure name: 1-64 characters of a-z, 0-9, '_', '.', '-'."""
    return isinstance(name, str) and _MEASURE_NAME.fullmatch(name) is not None


# RFC 3339 (seconds optional): what records hold. Other spellings Python would read (basic
# format, week dates) are refused, so that a time is always found by its date (views.report).
_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d\d:\d\d)"
)


def record_time(text: str) -> datetime | None:
    """A record's time in UTC, or None when it is not an RFC 3339 time with an offset that
    stays within the calendar in UTC (``9999-12-31T23:59:59-23:59`` does not)."""
    if not _RFC3339.fullmatch(text):
        return None
    try:
        value = datetime.fromisoformat(text)
        return value.astimezone(UTC) if value.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def _shown(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        sign = "a negative" if value < 0 else "an"
        return f"{sign} integer of {len(str(abs(value))):,} digits"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def append(root: str, agent: str, record: RunRecord) -> str:
    """Append one record, under the folder lock, as one write. Returns the file's path."""
    with ledger(root, agent) as log:
        log.append(record)
    return metrics_path(root, agent)


class Ledger(NamedTuple):
    """An agent's metrics file while its folder's lock is held (see ``ledger``)."""

    root: str
    agent: str

    def has(self, bundle: str) -> bool:
        """Whether a record for ``bundle`` is in the file."""
        return has_bundle(self.root, self.agent, bundle)

    def append(self, record: RunRecord) -> None:
        """Append one record as one write on an ``O_APPEND`` descriptor, fsynced."""
        from kaizen_agentic.atomic import append_line

        path = metrics_path(self.root, self.agent)
        line = output.compact_json(record.as_dict()) + "\n"
        if os.path.islink(path):
            raise KaizenError(f"{path} is a symbolic link; refusing to write through it")
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            append_line(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


@contextmanager
def ledger(root: str, agent: str) -> Iterator[Ledger]:
    """Hold the agent's metrics folder locked (made inside the repository if missing): what is
    checked and appended under it is one step for every other writer, in any process."""
    from kaizen_agentic.agents import check_name
    from kaizen_agentic.atomic import locked_dir
    from kaizen_agentic.repo import folder_inside

    check_name(agent)
    folder = folder_inside(root, METRICS_DIR)
    with locked_dir(folder):
        yield Ledger(root, agent)


def parse_line(line: bytes) -> RunRecord | None:
    """A record from one line, or None when the line is not a readable record: any field that
    is present with a value out of its type or bounds makes the whole line malformed."""
    read = read_line(line)
    return read[0] if read is not None else None


def read_line(line: bytes) -> tuple[RunRecord, datetime] | None:
    """``parse_line``, with the record's time in UTC."""
    try:
        raw = _DECODER.decode(line.decode())
    except (ValueError, RecursionError):  # ValueError: not UTF-8, not JSON, over 4,300 digits
        return None
    if not isinstance(raw, dict):
        return None
    when, outcome = raw.get("time"), raw.get("outcome")
    if not isinstance(when, str) or outcome not in OUTCOMES:
        return None
    moment = record_time(when)
    if moment is None:
        return None
    duration, tokens = raw.get("duration_s"), raw.get("tokens")
    measures = raw.get("measures") or {}
    bundle, dropped = raw.get("bundle"), raw.get("memory_dropped")
    seconds = None if duration is None else number(duration, 0)
    if (
        (duration is not None and seconds is None)
        or not (tokens is None or _count(tokens, MAX_TOKENS))
        or not (dropped is None or _count(dropped, 10**9))
        or not (bundle is None or isinstance(bundle, str))
        or not isinstance(measures, dict)
    ):
        return None
    values: dict[str, float] = {}
    for name, value in measures.items():
        checked = number(value)
        if checked is None or not measure_name(name):
            return None
        values[name] = checked
    return RunRecord(when, outcome, seconds, tokens, values, bundle, dropped), moment


def _count(value: object, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _open_inside(root: str, agent: str) -> int | None:
    path = metrics_path(root, agent)
    if not os.path.lexists(path):
        return None
    from kaizen_agentic.repo import check_inside

    check_inside(root, path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise KaizenError(f"cannot read {path}: {exc.strerror}") from None
    import stat

    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise KaizenError(f"{path} is not a regular file")
    return fd


def lines_from_end(fd: int) -> Iterator[bytes]:
    """Complete lines of the file, last first, reading backwards in blocks."""
    for line, _ in lines_back(fd):
        yield line


def lines_back(fd: int, floor: int = 0) -> Iterator[tuple[bytes, int]]:
    """Non-blank lines of the file at or after byte ``floor``, last first, each with the offset
    it starts at; a line that starts before ``floor`` is not read."""
    position = os.fstat(fd).st_size
    tail = b""
    while position > floor:
        step = min(_BLOCK, position - floor)
        position -= step
        block = os.pread(fd, step, position) + tail
        parts = block.split(b"\n")
        tail = parts[0]
        end = position + len(block)
        for part in reversed(parts[1:]):
            end -= len(part) + 1
            if part.strip():
                yield part, end + 1
        if len(tail) > MAX_LINE_BYTES:
            tail = b""  # an absurd line: skip it rather than buffer it
    if floor == 0 and tail.strip():
        yield tail, 0


def count_lines(fd: int) -> int:
    """Lines in the file, by counting newlines in blocks (no parsing)."""
    count = 0
    position = 0
    last = b"\n"
    while True:
        block = os.pread(fd, 1 << 20, position)
        if not block:
            break
        count += block.count(b"\n")
        position += len(block)
        last = block[-1:]
    if position and last != b"\n":
        count += 1
    return count


def summarize(root: str, agent: str, window: int = DEFAULT_WINDOW) -> Summary:
    """Counts, outcomes and trends over the last ``window`` runs; the file is never loaded."""
    fd = _open_inside(root, agent)
    if fd is None:
        return Summary(0, (), {}, None, None, None, (), 0)
    try:
        recent: list[RunRecord] = []
        malformed = 0
        for line in lines_from_end(fd):
            record = parse_line(line)
            if record is None:
                malformed += 1
            else:
                recent.append(record)
            if len(recent) >= window or malformed > window:
                break
        total = count_lines(fd)
    finally:
        os.close(fd)
    recent.reverse()
    return _summary(total, recent, malformed)


def _summary(total: int, recent: list[RunRecord], malformed: int) -> Summary:
    outcomes: dict[str, int] = {}
    for record in recent:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    judged = sum(n for k, n in outcomes.items() if k != "skipped")
    rate = outcomes.get("success", 0) / judged if judged else None
    durations = [r.duration_s for r in recent if r.duration_s is not None]
    tokens = [r.tokens for r in recent if r.tokens is not None]
    names = sorted({name for r in recent for name in r.measures})
    trends = tuple(
        _trend(name, [r.measures[name] for r in recent if name in r.measures]) for name in names
    )
    return Summary(
        total,
        tuple(recent),
        dict(sorted(outcomes.items())),
        rate,
        _mean(durations) if durations else None,
        _mean(tokens) if tokens else None,
        trends,
        malformed,
    )


def _mean(values: list[float] | list[int]) -> float:
    """The mean, finite for finite values however large (a sum of 1e308s would overflow)."""
    return sum(v / len(values) for v in values)


def _trend(name: str, values: list[float]) -> Trend:
    mean = _mean(values)
    if len(values) < 4:
        return Trend(name, values[-1], mean, "n/a")
    half = len(values) // 2
    older, newer = _mean(values[:half]), _mean(values[half:])
    scale = max(abs(older), abs(newer), 1e-9)
    change = newer / scale - older / scale
    direction = "rising" if change > 0.05 else "falling" if change < -0.05 else "flat"
    return Trend(name, values[-1], mean, direction)


def has_bundle(root: str, agent: str, bundle: str) -> bool:
    """Whether a record for ``bundle`` is already in the file (a byte scan, no parsing)."""
    from kaizen_agentic.atomic import file_contains

    fd = _open_inside(root, agent)
    if fd is None:
        return False
    needle = output.compact_json({"bundle": bundle})[1:-1].encode()
    try:
        return file_contains(fd, needle)
    finally:
        os.close(fd)
