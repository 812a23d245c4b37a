"""Run metrics: ``.kaizen/metrics/<agent>.jsonl``, one JSON record per run, append-only.

A record::

    {"time": "2027-03-29T09:12:44+02:00", "outcome": "success", "duration_s": 184.2,
     "tokens": 21877, "measures": {"focus_items": 3}, "bundle": "kz-3f9c..."}

Appends take an exclusive lock on the metrics folder and write one whole line with one
``write`` on an ``O_APPEND`` descriptor, so concurrent writers never interleave. Summaries read
the file from its end: only the recent window is parsed, and the total is a newline count, so a
100 MB history costs a fast scan, not a parse.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final, NamedTuple

from kaizen_agentic import names, output
from kaizen_agentic.errors import KaizenError

METRICS_DIR: Final = os.path.join(".kaizen", "metrics")
OUTCOMES: Final = ("success", "partial", "failure", "skipped")
DEFAULT_WINDOW: Final = 20
MAX_LINE_BYTES: Final = 64 * 1024
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
    if duration_s is not None and (not math.isfinite(duration_s) or duration_s < 0):
        raise KaizenError(f"duration must be a finite number of seconds >= 0; got {duration_s}")
    if tokens is not None and tokens < 0:
        raise KaizenError(f"tokens must be >= 0; got {tokens}")
    clean: dict[str, float] = {}
    for name, value in (measures or {}).items():
        if names.measure_problem(name):
            raise KaizenError(
                f"measure name {name!r} must be 1-64 characters of a-z, 0-9, '_', '.', '-'"
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise KaizenError(f"measure {name!r} must be a finite number; got {value!r}")
        clean[name] = value
    stamp = time.isoformat(timespec="seconds")
    return RunRecord(stamp, outcome, duration_s, tokens, clean, bundle, memory_dropped)


def append(root: str, agent: str, record: RunRecord) -> str:
    """Append one record, under the folder lock, as one write. Returns the file's path."""
    from kaizen_agentic.agents import check_name
    from kaizen_agentic.atomic import append_line, locked_dir

    check_name(agent)
    folder = os.path.join(root, METRICS_DIR)
    os.makedirs(folder, exist_ok=True)
    path = metrics_path(root, agent)
    line = output.compact_json(record.as_dict()) + "\n"
    data = line.encode("utf-8")
    with locked_dir(folder):
        if os.path.islink(path):
            raise KaizenError(f"{path} is a symbolic link; refusing to write through it")
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            append_line(fd, data)
        finally:
            os.close(fd)
    return path


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def parse_line(line: bytes) -> RunRecord | None:
    """A record from one line, or None when the line is not a readable record: not strict
    JSON (``NaN`` and ``Infinity`` are not numbers, nor is ``1e999``, which overflows to
    infinity), a time with a control character, a measure name outside its rule."""
    try:
        raw = json.loads(line, parse_constant=_no_constant)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("time"), str):
        return None
    outcome = raw.get("outcome")
    measures = raw.get("measures") or {}
    if outcome not in OUTCOMES or not isinstance(measures, dict):
        return None
    if names.label_problem(raw["time"]) or any(names.measure_problem(k) for k in measures):
        return None
    duration, tokens = raw.get("duration_s"), raw.get("tokens")
    floats = [v for v in (duration, *measures.values()) if isinstance(v, float)]
    if not all(map(math.isfinite, floats)):
        return None
    return RunRecord(
        raw["time"],
        outcome,
        float(duration) if isinstance(duration, int | float) else None,
        int(tokens) if isinstance(tokens, int) and not isinstance(tokens, bool) else None,
        {
            str(k): float(v)
            for k, v in measures.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        },
        raw.get("bundle") if isinstance(raw.get("bundle"), str) else None,
        _count(raw.get("memory_dropped")),
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _open_inside(root: str, agent: str) -> int | None:
    path = metrics_path(root, agent)
    if not os.path.lexists(path):
        return None
    from kaizen_agentic.repo import check_inside

    check_inside(root, path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    import stat

    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise KaizenError(f"{path} is not a regular file")
    return fd


def lines_from_end(fd: int) -> Iterator[bytes]:
    """Complete lines of the file, last first, reading backwards in blocks."""
    position = os.fstat(fd).st_size
    tail = b""
    while position > 0:
        step = min(_BLOCK, position)
        position -= step
        block = os.pread(fd, step, position) + tail
        parts = block.split(b"\n")
        tail = parts[0]
        for part in reversed(parts[1:]):
            if part.strip():
                yield part
        if len(tail) > MAX_LINE_BYTES:
            tail = b""  # an absurd line: skip it rather than buffer it
    if tail.strip():
        yield tail


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
    fd = _open_inside(root, agent)
    if fd is None:
        return False
    needle = output.compact_json({"bundle": bundle})[1:-1].encode()
    try:
        position, keep = 0, len(needle)
        previous = b""
        while True:
            block = os.pread(fd, 1 << 20, position)
            if not block:
                return False
            if needle in previous[-keep:] + block:
                return True
            previous = block
            position += len(block)
    finally:
        os.close(fd)
