"""The fleet report: what the agents did, where, and whether it helps.

``build`` reads, for every (repository, agent) of a discovery, the metrics records of a period,
the agent's memory and its schedule, and answers per agent: runs by outcome, the last run, slots
that were due but have no record, tokens and durations, memory pressure and each measure's
movement; and for the fleet: totals per agent, who needs attention first and why, who is not
taking part.

A record covers a slot when it names that slot's bundle (its idempotency key); a record that
names no bundle covers the latest slot at or before its time. A slot before the manifest came
into the repository (``manifest_start``) that no record covers is not due: a repository that
opted in today has missed nothing. Records count by their time, not
their place in the file (``read_period``: the tail is parsed back to the period, the rest
scanned for lines dated in it), folded in as they come so memory does not grow with the file,
within a cap on bytes and lines per file; a file past the cap gets a note saying what was left
out. A repository whose metrics cannot be read gets a problem of its own and the others are
reported. Nothing here reads the clock.
"""

import math
import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from statistics import median
from typing import Any, NamedTuple

from kaizen_agentic.bundle import metrics
from kaizen_agentic.fleet.discovery import Discovery, RepoState
from kaizen_agentic.manifest.schedule import AgentEntry
from kaizen_agentic.views.period import Limits, Measure, Read, Tally, read_period


class AgentReport(NamedTuple):
    """One (repository, agent) over the period."""

    slug: str
    agent: str
    state: str  # enabled | paused | disabled, at the period's end
    runs: dict[str, int]  # outcome -> count in the period
    last_run: str | None
    last_outcome: str | None
    due: int  # slots in the period
    missed: tuple[str, ...]  # slots in the period with no record
    tokens_total: int
    tokens_median: float | None
    duration_total: float | None  # None: too large for a float (records of 1e308 s)
    duration_median: float | None
    memory_entries: int
    memory_dropped: int | None  # by the last run's bundle
    failures_in_row: int
    ever_ran: bool
    measures: tuple[Measure, ...]
    malformed: int
    weeks: dict[str, dict[str, int]]  # ISO week -> outcome counts and "tokens"
    note: str | None = None  # what the caps left out of the file
    problem: str | None = None  # why the metrics could not be read at all

    def attention(self) -> tuple[int, list[str]]:
        """A score (higher first) and the reasons, for the fleet's attention list: the sum of
        5 when the metrics cannot be read, 3 per failure in a row (from two on), 2 per missed
        slot, 5 more when the agent never ran, 1 for budget pressure and 1 for unreadable
        lines."""
        score, why = 0, []
        if self.problem:
            score += 5
            why.append(f"metrics unreadable: {self.problem}")
        if self.failures_in_row >= 2:
            score += 3 * self.failures_in_row
            why.append(f"{self.failures_in_row} failures in a row")
        if not self.ever_ran and self.due and not self.problem:
            score += 5
            why.append("never ran")
        if self.missed:
            score += 2 * len(self.missed)
            n = len(self.missed)
            why.append(f"{n} missed slot{'s' if n != 1 else ''}")
        if self.memory_dropped:
            score += 1
            why.append(f"budget: the last bundle left out {self.memory_dropped} memory entries")
        if self.malformed:
            score += 1
            why.append(f"{self.malformed} unreadable metrics lines")
        return score, why


class FleetReport(NamedTuple):
    """The report over a fleet: every agent, and the repositories not taking part."""

    since: datetime
    until: datetime
    source: str
    agents: tuple[AgentReport, ...]
    not_taking_part: tuple[RepoState, ...]


def manifest_start(root: str) -> datetime | None:
    """When the repository's manifest came into it: the commit that added
    ``.kaizen/schedule.yml`` (the newest, if it was removed and added again), or for a manifest
    not committed yet, the file's modification time. None when neither can be read."""
    from kaizen_agentic.manifest.schedule import MANIFEST_PATH
    from kaizen_agentic.repo import added_at

    added = added_at(root, MANIFEST_PATH)
    if added is not None:
        return added
    try:
        return datetime.fromtimestamp(os.stat(os.path.join(root, MANIFEST_PATH)).st_mtime, UTC)
    except OSError:
        return None


def agent_report(
    root: str,
    slug: str,
    entry: AgentEntry,
    *,
    since: datetime,
    until: datetime,
    limits: Limits | None = None,
    start: Callable[[], datetime | None] | None = None,
) -> AgentReport:
    """The report of one agent of the repository at ``root`` for ``(since, until]``.

    ``start`` gives when the manifest came into the repository (default ``manifest_start``);
    it is asked only when a slot has no record."""
    from kaizen_agentic.bundle import memory
    from kaizen_agentic.errors import KaizenError

    slots = entry.runs_between(since, until)
    tally = Tally(slug, entry.agent, slots)
    problem = None
    try:
        found = read_period(root, entry.agent, since, until, tally, limits)
    except (KaizenError, OSError) as exc:
        problem = str(exc) if isinstance(exc, KaizenError) else f"{exc.strerror or exc}"
        tally, found = Tally(slug, entry.agent, slots), Read(0, False, None)
    if problem is None and any(s.astimezone(UTC) not in tally.covered for s in slots):
        began = (start or (lambda: manifest_start(root)))()
        if began is not None:  # an uncovered slot before the manifest existed was not due
            slots = tuple(s for s in slots if s > began or s.astimezone(UTC) in tally.covered)
    missed = tuple(
        s.astimezone(UTC).isoformat(timespec="seconds")
        for s in slots
        if s.astimezone(UTC) not in tally.covered and problem is None  # unknown, not missed
    )
    try:
        entries, _ = memory.read(root, entry.agent)
    except (KaizenError, OSError):
        entries = []
    last = tally.last[1] if tally.last else None
    failures = [f for f in tally.failures if tally.settled is None or f > tally.settled]
    return AgentReport(
        slug,
        entry.agent,
        entry.state(until),
        tally.runs,
        last.time if last else None,
        last.outcome if last else None,
        len(slots),
        missed,
        sum(tally.tokens),
        median(tally.tokens) if tally.tokens else None,
        _total(tally.durations),
        _middle(sorted(tally.durations)) if tally.durations else None,
        len(entries),
        tally.dropped[1] if tally.dropped else None,
        len(failures),
        found.ever,
        tally.measures(),
        found.malformed,
        tally.weeks,
        found.note,
        problem,
    )


def build(
    found: Discovery,
    *,
    since: datetime,
    until: datetime,
    agent: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    limits: Limits | None = None,
) -> FleetReport:
    """The report over ``found``'s enrolled and paused repositories for ``(since, until]``.

    One repository never fails the report: whatever goes wrong reading it is its problem."""
    taking_part = [r for r in found.repos if r.state in ("enrolled", "paused") and r.manifest]
    reports = []
    for done, repo in enumerate(taking_part, start=1):
        assert repo.manifest is not None and repo.path is not None
        start = _once(manifest_start, repo.path)
        for entry in repo.manifest.agents:
            if agent is not None and entry.agent != agent:
                continue
            try:
                report = agent_report(
                    repo.path, repo.slug, entry, since=since, until=until, limits=limits,
                    start=start,
                )  # fmt: skip
            except Exception as exc:  # a surprise in one repository is reported, not raised
                report = _unread(repo.slug, entry.agent, f"internal error: {exc!r}"[:500])
            reports.append(report)
        if progress is not None:
            progress(done, len(taking_part))
    others = tuple(r for r in found.repos if r.state not in ("enrolled", "paused"))
    return FleetReport(since, until, found.source, tuple(reports), others)


def _once(function: Callable[[str], datetime | None], root: str) -> Callable[[], datetime | None]:
    """``function(root)``, asked at most once: a repository's agents share its manifest."""
    memo: list[datetime | None] = []

    def call() -> datetime | None:
        if not memo:
            memo.append(function(root))
        return memo[0]

    return call


def _total(values: Iterable[float]) -> float | None:
    """The sum, or None when it is too large for a float (each value is finite, their sum
    need not be)."""
    try:
        return math.fsum(values)
    except OverflowError:
        return None


def _middle(ordered: list[float]) -> float:
    """The median of sorted values, finite for finite values however large."""
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else ordered[half - 1] / 2 + ordered[half] / 2


def _unread(slug: str, agent: str, problem: str) -> AgentReport:
    runs = dict.fromkeys(metrics.OUTCOMES, 0)
    return AgentReport(
        slug, agent, "unknown", runs, None, None, 0, (), 0, None, 0.0, None, 0, None, 0, False,
        (), 0, {}, None, problem,
    )  # fmt: skip


# --- views --------------------------------------------------------------------------------------


def attention(report: FleetReport) -> list[tuple[AgentReport, int, list[str]]]:
    """Who needs attention first: highest score first, then by repository and agent."""
    rows = [(a, *a.attention()) for a in report.agents]
    rows = [r for r in rows if r[1] > 0]
    rows.sort(key=lambda r: (-r[1], r[0].slug, r[0].agent))
    return rows


def totals(report: FleetReport) -> dict[str, dict[str, Any]]:
    """Totals per agent over the fleet."""
    out: dict[str, dict[str, Any]] = {}
    for a in report.agents:
        row = out.setdefault(
            a.agent,
            {"repos": 0, "runs": dict.fromkeys(metrics.OUTCOMES, 0), "tokens": 0, "missed": 0},
        )
        row["repos"] += 1
        for outcome, n in a.runs.items():
            row["runs"][outcome] += n
        row["tokens"] += a.tokens_total
        row["missed"] += len(a.missed)
    return dict(sorted(out.items()))


def weeks(report: FleetReport) -> list[dict[str, Any]]:
    """Runs per ISO week by outcome, and tokens per week per agent, oldest week first."""
    table: dict[str, dict[str, Any]] = {}
    for a in report.agents:
        for week, counts in a.weeks.items():
            row = table.setdefault(week, {"runs": dict.fromkeys(metrics.OUTCOMES, 0), "tokens": {}})
            for outcome in metrics.OUTCOMES:
                row["runs"][outcome] += counts[outcome]
            if counts["tokens"]:
                row["tokens"][a.agent] = row["tokens"].get(a.agent, 0) + counts["tokens"]
    return [{"week": k, **v} for k, v in sorted(table.items())]


def as_dict(report: FleetReport) -> dict[str, Any]:
    """Everything, with stable keys: what ``--json`` prints."""
    from kaizen_agentic import output

    return {
        "since": output.rfc3339(report.since),
        "until": output.rfc3339(report.until),
        "source": report.source,
        "agents": [
            {
                "repo": a.slug,
                "agent": a.agent,
                "state": a.state,
                "runs": a.runs,
                "last_run": a.last_run,
                "last_outcome": a.last_outcome,
                "due_slots": a.due,
                "missed_slots": list(a.missed),
                "tokens": {"total": a.tokens_total, "median": a.tokens_median},
                "duration_s": {"total": a.duration_total, "median": a.duration_median},
                "memory": {"entries": a.memory_entries, "dropped_by_last_bundle": a.memory_dropped},
                "failures_in_row": a.failures_in_row,
                "ever_ran": a.ever_ran,
                "measures": [
                    {"name": m.name, "first": m.first, "last": m.last, "trend": m.direction}
                    for m in a.measures
                ],
                "malformed_lines": a.malformed,
                "note": a.note,
                "problem": a.problem,
            }
            for a in report.agents
        ],
        "totals": totals(report),
        "attention": [
            {"repo": a.slug, "agent": a.agent, "score": score, "reasons": why}
            for a, score, why in attention(report)
        ],
        "weeks": weeks(report),
        "not_taking_part": [
            {"repo": r.slug, "state": r.state, "reason": r.reason} for r in report.not_taking_part
        ],
    }


def _om_text(value: str, what: str) -> str:
    """A label value or HELP text for the Prometheus text format: backslash, double quote and
    newline escaped as the format defines; any other control character refused (a reader
    would take it as structure, or show it raw)."""
    from kaizen_agentic import names
    from kaizen_agentic.errors import KaizenError

    why = names.label_problem(value.replace("\n", " "))
    if why:
        raise KaizenError(f"cannot write the Prometheus text: {what} {value!r} {why}")
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _metric_name(measure: str) -> str:

    return "kaizen_measure_" + re.sub(r"[^a-zA-Z0-9_]", "_", measure)


def openmetrics(report: FleetReport) -> str:
    """The Prometheus text format for node_exporter's textfile collector. A measure's family is
    named after it (``.`` and ``-`` become ``_``); its samples carry the measure's own name in
    the ``measure`` label, so two names that map to one family stay apart and read back
    exactly. Raises ``KaizenError`` for a value the format cannot carry."""
    families: list[tuple[str, str, str, list[tuple[dict[str, str], float]]]] = []

    def fam(name: str, kind: str, text: str) -> list[tuple[dict[str, str], float]]:
        samples: list[tuple[dict[str, str], float]] = []
        families.append((name, kind, text, samples))
        return samples

    runs = fam("kaizen_runs_total", "counter", "Runs recorded in the report period, by outcome.")
    missed = fam("kaizen_missed_slots", "gauge", "Slots due in the period with no run recorded.")
    tokens = fam("kaizen_tokens_total", "counter", "Tokens the runs of the period used.")
    last = fam("kaizen_last_run_timestamp_seconds", "gauge", "When the last run in the period was.")
    measures: dict[str, list[tuple[dict[str, str], float]]] = {}
    for a in report.agents:
        labels = {"repo": a.slug, "agent": a.agent}
        for outcome, n in a.runs.items():
            runs.append(({**labels, "outcome": outcome}, n))
        missed.append((labels, len(a.missed)))
        tokens.append((labels, a.tokens_total))
        when = metrics.record_time(a.last_run) if a.last_run else None
        if when is not None:
            last.append((labels, when.timestamp()))
        for m in a.measures:
            name = _metric_name(m.name)
            if name not in measures:
                text = "The last recorded value of a run measure (the measure label names it)."
                measures[name] = fam(name, "gauge", text)
            measures[name].append(({**labels, "measure": m.name}, m.last))
    lines = []
    for name, kind, text, samples in families:
        lines += [f"# HELP {name} {_om_text(text, 'help text')}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            shown = ",".join(f'{k}="{_om_text(v, f"label {k}")}"' for k, v in labels.items())
            number = str(value) if isinstance(value, int) else repr(float(value))
            lines.append(f"{name}{{{shown}}} {number}")
    return "\n".join(lines) + "\n"
