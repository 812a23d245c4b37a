"""Temporal integration for activity-core: ``pip install 'kaizen-agentic[temporal]'``.

This repository runs no worker process; a runner host runs these in its own (see
``examples/temporal_worker.py``)::

    from kaizen_agentic.integrations.temporal import run_host
    await run_host(client, hostname="runner-1", task_queue="kaizen")

The recommended handoff is the **tick model**: a Temporal schedule fires ``kaizen.FleetTick``
every 15 minutes (``schedule export --format temporal --tick 15m``). The workflow takes its tick
from the schedule (``TemporalScheduledStartTime``), asks every runner host what is due in
``(tick - window, tick]`` and runs each prepare on the task queue of the host that holds the
checkout (``<queue>@<hostname>``). Our cadence engine alone decides what is due, so Temporal's
own DST behaviour never matters; bundles are idempotent per slot, so retries, overlapping
windows and backfills prepare nothing twice.

The schedules themselves are made from ``schedule export --format temporal`` items by
``kaizen_agentic.integrations.temporal_schedules.schedule_from_export``. After the agent ran,
``kaizen.complete`` (``temporal_complete``) records and commits the run on the same host queue;
``examples/temporal_loop.py`` is the whole loop.

Activities are synchronous (files and git), so the host worker uses a thread pool. Expected
failures (an invalid manifest, an unreadable roster) raise ``ApplicationError`` with
``non_retryable=True``: retrying cannot fix them.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

try:
    from temporalio import activity, workflow
    from temporalio.common import RetryPolicy, SearchAttributeKey
    from temporalio.exceptions import ActivityError, ApplicationError
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        "kaizen_agentic.integrations.temporal needs the temporal extra: "
        "pip install 'kaizen-agentic[temporal]'",
        name=exc.name,
    ) from None

with workflow.unsafe.imports_passed_through():
    from kaizen_agentic.errors import KaizenError
    from kaizen_agentic.export.temporal import FLEET_TICK, PREPARE_AGENT, TASK_QUEUE
    from kaizen_agentic.integrations.temporal_complete import CompleteActivity, complete
    from kaizen_agentic.integrations.temporal_complete import CompleteInput as CompleteInput
    from kaizen_agentic.integrations.temporal_complete import CompleteOutput as CompleteOutput

_SCHEDULED: Final = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def host_queue(task_queue: str, hostname: str) -> str:
    """The task queue of one runner host: ``<queue>@<hostname>``."""
    return f"{task_queue}@{hostname}"


# --- inputs and outputs: plain dataclasses, JSON through Temporal's default converter ---------


@dataclass
class RosterInput:
    """Where ``kaizen.roster_hosts`` reads the roster."""

    hub_url: str | None = None
    roster_file: str | None = None
    domain: str | None = None


@dataclass
class DiscoverInput:
    """What ``kaizen.discover_due`` resolves: the roster, the host and the tick."""

    at: str  # RFC 3339: the tick, so retries resolve the same slots
    hub_url: str | None = None
    roster_file: str | None = None
    scan_dir: str | None = None
    hostname: str | None = None
    domain: str | None = None
    agent: str | None = None
    root: str | None = None
    window_seconds: int = 3600


@dataclass
class DueRun:
    """One due (repository, agent, slot) on a host."""

    slug: str
    path: str
    agent: str
    slot: str


@dataclass
class DiscoverOutput:
    """Every roster repository's state and reason on a host, and what is due there."""

    states: dict[str, str]  # slug -> state
    reasons: dict[str, str]  # slug -> reason
    due: list[DueRun] = field(default_factory=list)
    hostname: str = ""


@dataclass
class PrepareInput:
    """One bundle to prepare: the checkout, the agent and a time in its slot."""

    repo_path: str
    agent: str
    at: str  # RFC 3339: the slot (or any time in it)
    out_dir: str | None = None  # default: the host worker's bundle folder


@dataclass
class PrepareOutput:
    """A prepared bundle: its status, paths, digest, key, event and host."""

    status: str  # "created", "exists" or "replaced"
    bundle_path: str
    prompt_path: str
    digest: str
    idempotency_key: str
    event: dict[str, Any]  # the kaizen.schedule.prepared CloudEvent
    hostname: str = ""


@dataclass
class FleetTickInput:
    """What a tick schedule passes to ``kaizen.FleetTick`` (one roster source)."""

    hub_url: str | None = None
    roster_file: str | None = None
    domain: str | None = None
    agent: str | None = None
    window_seconds: int = 900  # the tick; longer catches up missed ticks
    task_queue: str = TASK_QUEUE
    hosts: list[str] | None = None  # default: every host named in the roster's host_paths
    out_dir: str | None = None  # default: each host worker's bundle folder
    at: str | None = None  # used only when the workflow was not started by a schedule
    root: str | None = None  # host paths must stay under it, on every host (``--root``)
    host_wait_seconds: int = 600  # how long a host may take to pick up its work
    activity_seconds: int = 600  # start-to-close of one discover or prepare


@dataclass
class TickRun:
    """What one tick did for one (repository, agent, slot)."""

    slug: str
    agent: str
    slot: str
    hostname: str
    status: str  # created, exists, replaced or failed
    bundle_path: str | None = None
    idempotency_key: str | None = None
    error: str | None = None


@dataclass
class FleetTickOutput:
    """One tick's result: its time, window, every run, and hosts that failed."""

    at: str
    window_seconds: int
    runs: list[TickRun]
    hosts_failed: dict[str, str]  # hostname -> why its discovery failed


@dataclass
class PrepareAgentInput:
    """What a per-agent calendar schedule passes to ``kaizen.PrepareAgent``."""

    repo_path: str
    agent: str
    hostname: str
    task_queue: str = TASK_QUEUE
    out_dir: str | None = None
    at: str | None = None  # used only when the workflow was not started by a schedule
    activity_seconds: int = 600


# --- activities ---------------------------------------------------------------------------------


def _non_retryable(exc: KaizenError) -> ApplicationError:
    problems = getattr(exc, "problems", ())
    detail = "; ".join(str(p) for p in problems) if problems else str(exc)
    return ApplicationError(detail, type=type(exc).__name__, non_retryable=True)


class HostActivities(CompleteActivity):
    """The activities of one runner host; ``hostname`` picks checkouts from ``host_paths``."""

    def __init__(self, hostname: str | None = None, out_dir: str | None = None) -> None:
        import os

        self.hostname = hostname or os.uname().nodename
        self.out_dir = out_dir

    @activity.defn(name="kaizen.roster_hosts")
    def roster_hosts(self, params: RosterInput) -> list[str]:
        """Every host name the roster's records check out on, sorted."""
        import os

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

    @activity.defn(name="kaizen.discover_due")
    def discover_due(self, params: DiscoverInput) -> DiscoverOutput:
        """Resolve the roster on this host and list every (repo, agent, slot) due at ``at``."""
        import os

        from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
        from kaizen_agentic.fleet.due import due_jobs

        at = datetime.fromisoformat(params.at)
        host = params.hostname or self.hostname
        try:
            found = discover_kaizen_scheduled_repos(
                hub_url=params.hub_url,
                hub_token=os.environ.get("KAIZEN_HUB_TOKEN") if params.hub_url else None,
                roster_file=params.roster_file,
                scan_dir=params.scan_dir,
                hostname=host,
                domain=params.domain,
                agent=params.agent,
                root=params.root,
                at=at,
            )
        except KaizenError as exc:
            raise _non_retryable(exc) from None
        jobs, _ = due_jobs(found, at, timedelta(seconds=params.window_seconds))
        return DiscoverOutput(
            states={r.slug: r.state for r in found.repos},
            reasons={r.slug: r.reason for r in found.repos},
            due=[DueRun(j.slug, j.path, j.agent, j.slot.isoformat()) for j in jobs],
            hostname=host,
        )

    @activity.defn(name="kaizen.prepare")
    def prepare(self, params: PrepareInput) -> PrepareOutput:
        """Prepare one bundle; idempotent for the slot, so Temporal's retries are safe."""
        import os

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
        return [self.roster_hosts, self.discover_due, self.prepare, self.complete]


_DEFAULT = HostActivities()


@activity.defn(name="kaizen.discover_due")
def discover_due(params: DiscoverInput) -> DiscoverOutput:
    """``HostActivities.discover_due`` for this machine's host name."""
    return _DEFAULT.discover_due(params)


@activity.defn(name="kaizen.prepare")
def prepare(params: PrepareInput) -> PrepareOutput:
    """``HostActivities.prepare`` for this machine's host name."""
    return _DEFAULT.prepare(params)


ACTIVITIES = [discover_due, prepare, complete]


# --- workflows ------------------------------------------------------------------------------------

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["KaizenError", "InvalidFileError", "HubError"],
)


def _tick_time(fallback: str | None) -> datetime:
    scheduled = workflow.info().typed_search_attributes.get(_SCHEDULED)
    if scheduled is not None:
        return scheduled.astimezone(UTC)
    if fallback:
        return datetime.fromisoformat(fallback)
    return workflow.now().astimezone(UTC)


def _why(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, ActivityError) and exc.cause is not None else exc
    return str(cause) or type(cause).__name__


@workflow.defn(name=FLEET_TICK)
class FleetTick:
    """One tick of the fleet: discover on every host, prepare each due slot where it lives."""

    @workflow.run
    async def run(self, params: FleetTickInput) -> FleetTickOutput:
        at = _tick_time(params.at)
        hosts = params.hosts or await workflow.execute_activity(
            "kaizen.roster_hosts",
            RosterInput(params.hub_url, params.roster_file, params.domain),
            task_queue=params.task_queue,
            start_to_close_timeout=timedelta(seconds=params.activity_seconds),
            retry_policy=_RETRY,
            result_type=list[str],
        )
        found = await asyncio.gather(
            *(self._discover(params, at, host) for host in sorted(hosts)),
            return_exceptions=True,
        )
        hosts_failed: dict[str, str] = {}
        chosen: dict[tuple[str, str, str], tuple[str, DueRun]] = {}
        for host, result in zip(sorted(hosts), found, strict=True):
            if isinstance(result, BaseException):
                hosts_failed[host] = _why(result)
                continue
            for run in result.due:  # a repo checked out on two hosts runs on the first
                chosen.setdefault((run.slug, run.agent, run.slot), (host, run))
        runs = await asyncio.gather(
            *(self._prepare(params, host, run) for host, run in chosen.values())
        )
        return FleetTickOutput(
            at.isoformat(), params.window_seconds, sorted(runs, key=_order), hosts_failed
        )

    async def _discover(self, params: FleetTickInput, at: datetime, host: str) -> DiscoverOutput:
        found: DiscoverOutput = await workflow.execute_activity(
            "kaizen.discover_due",
            DiscoverInput(
                at=at.isoformat(),
                hub_url=params.hub_url,
                roster_file=params.roster_file,
                hostname=host,
                domain=params.domain,
                agent=params.agent,
                root=params.root,
                window_seconds=params.window_seconds,
            ),
            task_queue=host_queue(params.task_queue, host),
            schedule_to_start_timeout=timedelta(seconds=params.host_wait_seconds),
            start_to_close_timeout=timedelta(seconds=params.activity_seconds),
            retry_policy=_RETRY,
            result_type=DiscoverOutput,
        )
        return found

    async def _prepare(self, params: FleetTickInput, host: str, run: DueRun) -> TickRun:
        try:
            done = await workflow.execute_activity(
                "kaizen.prepare",
                PrepareInput(run.path, run.agent, run.slot, params.out_dir),
                task_queue=host_queue(params.task_queue, host),
                schedule_to_start_timeout=timedelta(seconds=params.host_wait_seconds),
                start_to_close_timeout=timedelta(seconds=params.activity_seconds),
                retry_policy=_RETRY,
                result_type=PrepareOutput,
            )
        except ActivityError as exc:
            return TickRun(run.slug, run.agent, run.slot, host, "failed", error=_why(exc))
        return TickRun(
            run.slug,
            run.agent,
            run.slot,
            host,
            done.status,
            done.bundle_path,
            done.idempotency_key,
        )


def _order(run: TickRun) -> tuple[str, str, str]:
    return (run.slot, run.slug, run.agent)


@workflow.defn(name=PREPARE_AGENT)
class PrepareAgent:
    """One agent's slot, started by a per-agent calendar schedule, prepared on its host."""

    @workflow.run
    async def run(self, params: PrepareAgentInput) -> PrepareOutput:
        at = _tick_time(params.at)
        result: PrepareOutput = await workflow.execute_activity(
            "kaizen.prepare",
            PrepareInput(params.repo_path, params.agent, at.isoformat(), params.out_dir),
            task_queue=host_queue(params.task_queue, params.hostname),
            start_to_close_timeout=timedelta(seconds=params.activity_seconds),
            retry_policy=_RETRY,
            result_type=PrepareOutput,
        )
        return result


WORKFLOWS = [FleetTick, PrepareAgent]


# --- a runner host ------------------------------------------------------------------------------


def host_workers(
    client: Any,
    *,
    hostname: str | None = None,
    task_queue: str = TASK_QUEUE,
    out_dir: str | None = None,
    threads: int = 4,
) -> list[Any]:
    """The two workers of one runner host: the fleet's shared queue (workflows, roster reads)
    and the host's own ``<queue>@<hostname>`` (discover, prepare, complete on its checkouts)."""
    from temporalio.worker import Worker

    acts = HostActivities(hostname, out_dir)
    pool = ThreadPoolExecutor(threads)
    shared = Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[acts.roster_hosts],
        activity_executor=pool,
    )
    own = Worker(
        client,
        task_queue=host_queue(task_queue, acts.hostname),
        activities=[acts.discover_due, acts.prepare, acts.complete],
        activity_executor=pool,
    )
    return [shared, own]


async def run_host(client: Any, **options: Any) -> None:
    """Run one runner host's workers until cancelled."""
    await asyncio.gather(*(w.run() for w in host_workers(client, **options)))
