"""One host's share of a fleet tick: what is due on this host since it last finished a tick,
prepared in parallel, each outcome journaled so that a retry resumes, the whole record kept
on the host, and only counts returned.

An orchestrator (``kaizen.FleetTick`` on Temporal) sends each runner host one call per tick;
the work and its record stay on the host, so what crosses the orchestrator grows with the
number of hosts, never with the number of repositories. What the host keeps between ticks
and attempts (watermark, journal, record, lock) is ``ticks``'s.

A host that missed ticks (down, unreachable, a tick that ran out of time) prepares, at its
next tick, everything due since its watermark, not only the tick's window: each missed slot
once, however long the window. How far back is capped (``catchup``); a host without a
watermark uses the window alone. A bundle is made once (it is idempotent per slot), its
event delivered once to the outbox (``bundle.events.deliver_pending_many``), and a retry of
the same run resumes from its journal (``ticks.Journal``).
"""

import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kaizen_agentic.errors import KaizenError
from kaizen_agentic.fleet.due import Job, Outcome, due_jobs, existing, prepare_stream
from kaizen_agentic.fleet.ticks import (
    Journal,
    advance_watermark,
    entry,
    host_lock,
    key,
    prune,
    read_watermark,
    stamp,
    ticks_dir,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from kaizen_agentic.fleet.discovery import Discovery

STATUSES: Final = ("created", "exists", "replaced", "failed")
ERROR_CHARS: Final = 500  # a failure's reason as the orchestrator sees it; the record has all


class Plan(NamedTuple):
    """One host's share of one tick."""

    at: datetime  # the tick
    window: timedelta  # due in (at - window, at], or since the watermark
    hostname: str
    out_dir: str
    hosts: tuple[str, ...] = ()  # when the tick names its hosts: a shared checkout runs on
    # the first of these that holds it (default: the first of the roster's)
    catchup: timedelta = timedelta(days=1)  # how far behind ``at`` a watermark may reach
    outbox: str | None = None
    sink: str | None = None
    run: str = ""  # names the journal: a retry of the same run resumes it ("": a fresh run)
    deadline: float | None = None  # time.monotonic() after which no further prepare starts
    failures_shown: int = 20


class Failure(NamedTuple):
    slug: str
    agent: str
    slot: str
    error: str


class Progress(NamedTuple):
    """Where a host tick stands, for heartbeats."""

    phase: str  # "waiting", "discovering", "preparing", "recording"
    done: int
    total: int
    counts: dict[str, int]
    journal: str = ""  # where a retry of this run resumes from


class HostResult(NamedTuple):
    """What one host did in one tick: counts, the first failures, where the record is."""

    hostname: str
    at: str
    since: str  # the span prepared was (since, at]
    capped: bool  # the watermark was older than ``catchup`` allows: older slots were left
    repos: int  # roster repositories checked out on this host
    states: dict[str, int]  # of those, per state
    elsewhere: int  # due runs of shared checkouts left to an earlier host of the tick
    due: int
    counts: dict[str, int]  # per status
    deferred: int  # due runs not started before the deadline: the next tick prepares them
    resumed: int  # due runs an earlier attempt of this run had done (journaled or written)
    events: int  # events delivered by this attempt
    delivery_failed: int
    failures: list[Failure]
    record: str
    seconds: float


def span(plan: Plan, watermark: datetime | None) -> tuple[datetime, bool]:
    """The start of the span to prepare, ``(start, at]``, and whether the cap cut it: the
    window, reaching back to the watermark when the host missed ticks, at most ``catchup``."""
    start = plan.at - plan.window
    if watermark is None or watermark >= start or plan.catchup <= plan.window:
        return start, False
    floor = plan.at - plan.catchup
    return max(watermark, floor), watermark < floor


# --- what is due here --------------------------------------------------------------------------


def due_here(found: "Discovery", plan: Plan, start: datetime) -> tuple[list[Job], int]:
    """The due runs of ``(start, at]`` that this host prepares, and how many it leaves to
    another host: a checkout held by several hosts runs on the first of them by name (of the
    tick's ``hosts`` when it names them), wherever it was found."""
    jobs, _ = due_jobs(found, plan.at, plan.at - start)
    chosen = set(plan.hosts)
    owner = {
        repo.slug: min((h for h in repo.hosts if not chosen or h in chosen), default="")
        for repo in found.enrolled()
        if len(repo.hosts) > 1
    }
    mine = [job for job in jobs if owner.get(job.slug, plan.hostname) in ("", plan.hostname)]
    return mine, len(jobs) - len(mine)


# --- the tick on this host ---------------------------------------------------------------------


def run_host_tick(
    plan: Plan,
    discover: "Callable[[datetime], Discovery]",
    *,
    workers: int = 1,
    pool: "Executor | None" = None,
    progress: Callable[[Progress], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> HostResult:
    """Prepare this host's share of the tick ``plan.at``: see the module's docstring.

    ``discover(at)`` resolves the roster on this host; prepares run in ``workers`` processes
    (or ``pool``); ``progress`` is called as work moves (for heartbeats); once ``stop()`` is
    true, or ``plan.deadline`` passed, no further prepare starts and the rest is deferred to
    the next tick (the watermark then stays where it was, or starts at this span's start on a
    host that had none)."""
    began = time.monotonic()
    report = progress or (lambda _: None)
    os.makedirs(ticks_dir(plan.out_dir), mode=0o700, exist_ok=True)

    def waiting() -> None:
        if _stopping(plan, stop):
            raise KaizenError(f"{plan.hostname}: another tick held this host until the deadline")
        report(Progress("waiting", 0, 0, {}))

    with host_lock(plan.out_dir, waiting):
        start, capped = span(plan, read_watermark(plan.out_dir))
        report(Progress("discovering", 0, 0, {}))
        found = discover(plan.at)
        jobs, elsewhere = due_here(found, plan, start)
        batch = _Batch(plan, jobs, report, stop)
        batch.run(workers, pool)
        report(Progress("recording", len(jobs) - batch.deferred, len(jobs), batch.counts()))
        record = _write_record(plan, found, start, jobs, batch)
        # all done: the watermark moves to the tick; work left: it stays, or, on a host that
        # had none, starts where this span did, so the next tick reaches back for the rest
        advance_watermark(plan.out_dir, start if batch.deferred else plan.at)
        # the journal stays (pruned with the records): a retry after a lost completion finds
        # everything done and reports the same counts
        prune(plan.out_dir, plan.at)
    entries = batch.entries()
    states: dict[str, int] = {}
    for repo in found.repos:
        if repo.state != "no-host-path":
            states[repo.state] = states.get(repo.state, 0) + 1
    return HostResult(
        hostname=plan.hostname,
        at=plan.at.astimezone(UTC).isoformat(timespec="seconds"),
        since=start.astimezone(UTC).isoformat(timespec="seconds"),
        capped=capped,
        repos=sum(states.values()),
        states=states,
        elsewhere=elsewhere,
        due=len(jobs),
        counts=batch.counts(),
        deferred=batch.deferred,
        resumed=batch.resumed,
        events=batch.events,
        delivery_failed=batch.delivery_failed,
        failures=[
            Failure(e["slug"], e["agent"], e["slot"], (e["error"] or "")[:ERROR_CHARS])
            for e in entries
            if e["status"] == "failed"
        ][: plan.failures_shown],
        record=record,
        seconds=round(time.monotonic() - began, 3),
    )


def _stopping(plan: Plan, stop: Callable[[], bool] | None) -> bool:
    if plan.deadline is not None and time.monotonic() > plan.deadline:
        return True
    return stop is not None and stop()


class _Batch:
    """The prepares of one host tick, their journal and their events."""

    FLUSH_EVERY: Final = 256  # outcomes, or half a second, whichever comes first

    def __init__(
        self,
        plan: Plan,
        jobs: Sequence[Job],
        report: Callable[[Progress], None],
        stop: Callable[[], bool] | None,
    ) -> None:
        self.run_name = _safe(plan.run or f"{os.getpid()}-{time.time_ns()}")
        name = f"{stamp(plan.at)}.{self.run_name}.journal"
        self.plan, self.jobs, self.report, self.stop = plan, jobs, report, stop
        self.journal = Journal(os.path.join(ticks_dir(plan.out_dir), name))
        self.tally = dict.fromkeys(STATUSES, 0)
        for job in jobs:
            entry = self.journal.done.get(key(job))
            if entry is not None:
                self.tally[entry["status"]] += 1
        self.resumed = sum(self.tally.values())
        self.deferred = 0
        self.events = 0
        self.delivery_failed = 0
        self.buffer: list[Outcome] = []
        self.flushed = time.monotonic()

    def run(self, workers: int, pool: "Executor | None") -> None:
        plan = self.plan
        absent = []
        for job in self.jobs:
            if key(job) in self.journal.done:
                continue
            found = existing(job, plan.out_dir, plan.hostname)
            if found is None:
                absent.append(job)
            elif key(job) in self.journal.new:  # written by an earlier attempt of this run
                self.resumed += 1
                self._take(found._replace(status="created"))
            else:
                self._take(found)
        self.journal.mark_new([key(j) for j in absent if key(j) not in self.journal.new])
        taken = 0
        for _, outcome in prepare_stream(
            absent,
            at=plan.at,
            out_dir=plan.out_dir,
            host=plan.hostname,
            workers=workers,
            announce=bool(plan.outbox or plan.sink),
            pool=pool,
            stop=lambda: _stopping(plan, self.stop),
        ):
            self._take(outcome)
            taken += 1
        self._flush()
        self.deferred = len(absent) - taken

    def _take(self, outcome: Outcome) -> None:
        self.buffer.append(outcome)
        if len(self.buffer) >= self.FLUSH_EVERY or time.monotonic() - self.flushed > 0.5:
            self._flush()

    def _flush(self) -> None:
        """Deliver the events still waiting in the buffered bundles (new ones, and any an
        interrupted run left), then journal the outcomes."""
        from kaizen_agentic.bundle.events import deliver_pending_many

        plan = self.plan
        waiting = [(o.path, o.event) for o in self.buffer if o.path and o.event is not None]
        sent, refused = deliver_pending_many(waiting, plan.outbox, plan.sink)
        self.events += sent
        self.delivery_failed += len(refused)
        self.journal.record([entry(o) for o in self.buffer])
        for outcome in self.buffer:
            self.tally[outcome.status] += 1
        self.buffer = []
        self.flushed = time.monotonic()
        done = sum(self.tally.values())
        self.report(Progress("preparing", done, len(self.jobs), self.counts(), self.journal.path))

    def entries(self) -> list[dict[str, Any]]:
        done = self.journal.done
        return [done[k] for k in (key(job) for job in self.jobs) if k in done]

    def counts(self) -> dict[str, int]:
        return dict(self.tally)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:80] or "run"


def _write_record(
    plan: Plan, found: "Discovery", start: datetime, jobs: Sequence[Job], batch: _Batch
) -> str:
    from kaizen_agentic.atomic import write_atomic
    from kaizen_agentic.output import compact_json

    path = os.path.join(ticks_dir(plan.out_dir), f"{stamp(plan.at)}.{batch.run_name}.json")
    doc = {
        "format": "kaizen-agentic/host-tick/1",
        "hostname": plan.hostname,
        "at": plan.at.astimezone(UTC).isoformat(timespec="seconds"),
        "since": start.astimezone(UTC).isoformat(timespec="seconds"),
        "window_seconds": int(plan.window.total_seconds()),
        "counts": batch.counts(),
        "deferred": batch.deferred,
        "runs": [{k: v for k, v in e.items() if k != "key"} for e in batch.entries()],
        "not_taking_part": [
            {"repo": r.slug, "state": r.state, "reason": r.reason, "path": r.path}
            for r in found.repos
            if r.state not in ("enrolled", "no-host-path")
        ],
    }
    write_atomic(path, (compact_json(doc) + "\n").encode(), 0o600)
    return path
