"""The activities of a runner host: ``kaizen.host_tick`` (its share of a fleet tick),
``kaizen.prepare`` (one bundle, for ``kaizen.PrepareAgent``), ``kaizen.complete`` (a run's
result, ``temporal_complete``), ``kaizen.discover_due`` and ``kaizen.roster_hosts``.

Activities are synchronous (files, git, processes), so the host worker runs them in a thread
pool; ``kaizen.host_tick`` prepares in the host's own process pool (``jobs`` processes, kept
for the worker's life, started by a fork server: forking the threaded worker itself is not
safe). Expected failures (an invalid manifest, an unreadable roster) raise
``ApplicationError`` with ``non_retryable=True``: retrying cannot fix them.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from kaizen_agentic.errors import KaizenError
from kaizen_agentic.integrations.temporal_complete import CompleteActivity, complete
from kaizen_agentic.integrations.temporal_messages import (
    DiscoverInput,
    DiscoverOutput,
    DueRun,
    HostTickInput,
    HostTickOutput,
    PrepareInput,
    PrepareOutput,
    RosterInput,
    TickFailure,
    TickRun,
    TickRunsInput,
    TickRunsOutput,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from kaizen_agentic.fleet.discovery import Discovery
    from kaizen_agentic.fleet.host_tick import Plan

# What the processes import before they fork: a prepare then starts warm.
_PRELOAD = [
    "kaizen_agentic.fleet.due",
    "kaizen_agentic.bundle.prepare",
    "kaizen_agentic.fleet.discovery",
]


def _non_retryable(exc: KaizenError) -> ApplicationError:
    problems = getattr(exc, "problems", ())
    detail = "; ".join(str(p) for p in problems) if problems else str(exc)
    return ApplicationError(detail, type=type(exc).__name__, non_retryable=True)


class HostActivities(CompleteActivity):
    """The activities of one runner host; ``hostname`` picks checkouts from ``host_paths``.

    ``out_dir``, ``outbox`` and ``sink`` are where this host's bundles and events go unless
    the tick names them; ``jobs`` is how many processes prepare at once (default: the cores,
    up to 8)."""

    def __init__(
        self,
        hostname: str | None = None,
        out_dir: str | None = None,
        *,
        jobs: int | None = None,
        outbox: str | None = None,
        sink: str | None = None,
    ) -> None:
        self.hostname = hostname or os.uname().nodename
        self.out_dir = out_dir
        self.jobs = jobs or min(os.cpu_count() or 1, 8)
        self.outbox = outbox
        self.sink = sink
        self._pool: Executor | None = None
        self._pool_lock = threading.Lock()

    def pool(self) -> Executor | None:
        """The host's prepare processes, started on first use (None with ``jobs=1``)."""
        if self.jobs <= 1:
            return None
        with self._pool_lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPoolExecutor(self.jobs, mp_context=context)
            return self._pool

    def warm(self) -> None:
        """Start the prepare processes now, so the first tick does not pay for them."""
        pool = self.pool()
        if pool is not None:
            for future in [pool.submit(_ready) for _ in range(self.jobs)]:
                future.result()

    def close(self) -> None:
        """Stop the prepare processes."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None

    @activity.defn(name="kaizen.roster_hosts")
    def roster_hosts(self, params: RosterInput) -> list[str]:
        """Every host name the roster's records check out on, sorted."""
        from kaizen_agentic.fleet import roster

        try:
            if params.hub_url:
                found = roster.from_hub(
                    params.hub_url, os.environ.get("KAIZEN_HUB_TOKEN"), params.domain
                )
            elif params.roster_file:
                found = roster.load_roster_file(params.roster_file)
            else:
                raise KaizenError("a fleet tick needs a roster: hub_url or roster_file")
        except KaizenError as exc:
            raise _non_retryable(exc) from None
        return sorted({host for record in found.records for host in record.host_paths})

    @activity.defn(name="kaizen.host_tick")
    def host_tick(self, params: HostTickInput) -> HostTickOutput:
        """This host's share of a fleet tick: discover, prepare what is due since the host's
        watermark in parallel, journal, heartbeat; return counts (``kaizen_agentic.host_tick``).
        A retry of the same tick resumes from the journal the heartbeats point to."""
        from concurrent.futures.process import BrokenProcessPool

        from kaizen_agentic.fleet.host_tick import run_host_tick

        info = activity.info()
        plan = self._plan(params, info.workflow_run_id or info.workflow_id or "run")
        beat = _Heartbeat(info.heartbeat_timeout)
        try:
            with beat:
                done = run_host_tick(
                    plan,
                    lambda at: self._discover(params, at),
                    workers=self.jobs,
                    pool=self.pool(),
                    progress=beat.update,
                    stop=activity.is_cancelled,
                )
        except KaizenError as exc:
            raise _non_retryable(exc) from None
        except BrokenProcessPool:
            self.close()  # a prepare process died: start new ones; the retry resumes
            raise
        return _output(done, info.attempt)

    def _plan(self, params: HostTickInput, run: str) -> Plan:
        import time

        from kaizen_agentic.bundle.store import default_out_dir
        from kaizen_agentic.fleet.host_tick import Plan

        left = datetime.fromisoformat(params.deadline) - datetime.now(UTC)
        return Plan(
            at=datetime.fromisoformat(params.at),
            window=timedelta(seconds=params.window_seconds),
            hostname=params.hostname,
            out_dir=params.out_dir or self.out_dir or default_out_dir(),
            hosts=tuple(params.hosts),
            catchup=timedelta(seconds=params.catchup_seconds),
            outbox=params.outbox or self.outbox,
            sink=params.sink or self.sink,
            run=run,
            deadline=time.monotonic() + left.total_seconds(),
            failures_shown=params.failures_shown,
        )

    def _discover(self, params: HostTickInput | DiscoverInput, at: datetime) -> Discovery:
        from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
        from kaizen_agentic.manifest.cache import default_path

        try:
            return discover_kaizen_scheduled_repos(
                hub_url=params.hub_url,
                hub_token=os.environ.get("KAIZEN_HUB_TOKEN") if params.hub_url else None,
                roster_file=params.roster_file,
                scan_dir=getattr(params, "scan_dir", None),  # a tick reads a roster
                hostname=params.hostname or self.hostname,
                domain=params.domain,
                agent=params.agent,
                root=params.root,
                at=at,
                jobs=self.jobs,
                cache=default_path(),
                pool=self.pool(),
            )
        except KaizenError as exc:
            raise _non_retryable(exc) from None

    @activity.defn(name="kaizen.tick_runs")
    def tick_runs(self, params: TickRunsInput) -> TickRunsOutput:
        """A page of this host's record of a tick: what an orchestrator reads to act on each
        bundle the tick made (the tick itself returns counts only)."""
        import json

        try:
            with open(params.record, "rb") as handle:
                record = json.loads(handle.read())
        except (OSError, ValueError) as exc:
            raise _non_retryable(KaizenError(f"cannot read {params.record}: {exc}")) from None
        wanted = set(params.statuses)
        runs = [r for r in record["runs"] if r["status"] in wanted]
        page = runs[params.offset : params.offset + max(1, params.limit)]
        host = record["hostname"]
        return TickRunsOutput(
            [
                TickRun(
                    r["slug"],
                    r["agent"],
                    r["slot"],
                    host,
                    r["status"],
                    r["path"],
                    r.get("id"),
                    r["error"],
                )
                for r in page
            ],
            len(runs),
        )

    @activity.defn(name="kaizen.discover_due")
    def discover_due(self, params: DiscoverInput) -> DiscoverOutput:
        """Resolve the roster on this host and list every (repo, agent, slot) due at ``at``.
        Its result lists every roster repository: for small fleets and diagnosis."""
        from kaizen_agentic.fleet.due import due_jobs

        at = datetime.fromisoformat(params.at)
        found = self._discover(params, at)
        jobs, _ = due_jobs(found, at, timedelta(seconds=params.window_seconds))
        return DiscoverOutput(
            states={r.slug: r.state for r in found.repos},
            reasons={r.slug: r.reason for r in found.repos},
            due=[DueRun(j.slug, j.path, j.agent, j.slot.isoformat()) for j in jobs],
            hostname=params.hostname or self.hostname,
        )

    @activity.defn(name="kaizen.prepare")
    def prepare(self, params: PrepareInput) -> PrepareOutput:
        """Prepare one bundle; idempotent for the slot, so Temporal's retries are safe."""
        from kaizen_agentic.bundle.prepare import prepare as prepare_bundle
        from kaizen_agentic.bundle.store import PROMPT, default_out_dir

        try:
            done = prepare_bundle(
                params.repo_path,
                params.agent,
                at=datetime.fromisoformat(params.at),
                out_dir=params.out_dir or self.out_dir or default_out_dir(),
                host=self.hostname,
            )
        except KaizenError as exc:
            raise _non_retryable(exc) from None
        return PrepareOutput(
            done.status,
            done.path,
            os.path.join(done.path, PROMPT),
            done.digest,
            done.key,
            done.event,
            self.hostname,
        )

    def all(self) -> list[Any]:
        return [
            self.roster_hosts,
            self.host_tick,
            self.tick_runs,
            self.discover_due,
            self.prepare,
            self.complete,
        ]


def _ready() -> bool:
    return True


def _output(done: Any, attempt: int) -> HostTickOutput:
    return HostTickOutput(
        hostname=done.hostname,
        at=done.at,
        since=done.since,
        capped=done.capped,
        repos=done.repos,
        states=done.states,
        elsewhere=done.elsewhere,
        due=done.due,
        counts=done.counts,
        deferred=done.deferred,
        resumed=done.resumed,
        events=done.events,
        delivery_failed=done.delivery_failed,
        failures=[TickFailure(done.hostname, *f) for f in done.failures],
        record=done.record,
        seconds=done.seconds,
        attempt=attempt,
    )


class _Heartbeat:
    """Heartbeats from a thread of their own, with the latest progress as details, so that a
    long discovery or a slow prepare never looks like a dead host."""

    def __init__(self, timeout: timedelta | None) -> None:
        seconds = timeout.total_seconds() if timeout else 30.0
        self.every = max(0.5, min(seconds / 4, 10.0))
        self.details: dict[str, Any] = {"phase": "starting"}
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def update(self, progress: Any) -> None:
        """New progress: heartbeat it now (the SDK throttles what it sends to the server)."""
        self.details = {
            "phase": progress.phase,
            "done": progress.done,
            "total": progress.total,
            "counts": progress.counts,
            "journal": progress.journal,
        }
        activity.heartbeat(self.details)

    def __enter__(self) -> _Heartbeat:
        import contextvars

        context = contextvars.copy_context()  # the activity's: heartbeat() needs it
        self.thread = threading.Thread(target=context.run, args=(self._run,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                activity.heartbeat(self.details)
            except Exception:  # the worker is shutting down; the activity's own thread decides
                return
            self.stopped.wait(self.every)


_DEFAULT = HostActivities()


@activity.defn(name="kaizen.discover_due")
def discover_due(params: DiscoverInput) -> DiscoverOutput:
    """``HostActivities.discover_due`` for this machine's host name."""
    return _DEFAULT.discover_due(params)


@activity.defn(name="kaizen.prepare")
def prepare(params: PrepareInput) -> PrepareOutput:
    """``HostActivities.prepare`` for this machine's host name."""
    return _DEFAULT.prepare(params)


@activity.defn(name="kaizen.host_tick")
def host_tick(params: HostTickInput) -> HostTickOutput:
    """``HostActivities.host_tick`` for this machine's host name."""
    return _DEFAULT.host_tick(params)


ACTIVITIES = [discover_due, prepare, host_tick, complete]
