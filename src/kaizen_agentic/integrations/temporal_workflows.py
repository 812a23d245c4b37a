"""The workflows: ``kaizen.FleetTick`` (one tick of the fleet, one activity per host),
``kaizen.FleetTickHosts`` (a slice of a very large tick's hosts) and ``kaizen.PrepareAgent``
(one agent's slot, from a per-agent calendar schedule).

A tick's history and payloads grow with its hosts, never with its repositories: each host
gets one heart-beating ``kaizen.host_tick`` on its own queue and answers with counts. Hosts
never wait on each other: a host that does not pick up its work within ``host_wait_seconds``
is reported in ``hosts_failed`` while the others go on, and catches up at its next tick.
Above ``hosts_per_workflow`` hosts (Temporal allows 2,000 pending activities per workflow)
the hosts are split over child workflows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from kaizen_agentic.export.temporal import FLEET_TICK, PREPARE_AGENT
    from kaizen_agentic.integrations.temporal_messages import (
        FleetTickInput,
        FleetTickOutput,
        HostGroupInput,
        HostTickInput,
        HostTickOutput,
        PrepareAgentInput,
        PrepareInput,
        PrepareOutput,
        RosterInput,
        TickFailure,
    )

FLEET_TICK_HOSTS: Final = "kaizen.FleetTickHosts"
HOST_TICK: Final = "kaizen.host_tick"
STATUSES: Final = ("created", "exists", "replaced", "failed")
_SCHEDULED: Final = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
_NON_RETRYABLE: Final = ["KaizenError", "InvalidFileError", "HubError", "UsageError"]

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=_NON_RETRYABLE,
)
# A host's share is retried until its budget (schedule-to-close) runs out: each retry resumes.
_HOST_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=0,
    non_retryable_error_types=_NON_RETRYABLE,
)


def host_queue(task_queue: str, hostname: str) -> str:
    """The task queue of one runner host: ``<queue>@<hostname>``."""
    return f"{task_queue}@{hostname}"


def _tick_time(fallback: str | None) -> datetime:
    scheduled = workflow.info().typed_search_attributes.get(_SCHEDULED)
    if scheduled is not None:
        return scheduled.astimezone(UTC)
    if fallback:
        return datetime.fromisoformat(fallback)
    return workflow.now().astimezone(UTC)


@workflow.defn(name=FLEET_TICK)
class FleetTick:
    """One tick of the fleet: each host prepares its own share, in parallel, independently."""

    @workflow.run
    async def run(self, params: FleetTickInput) -> FleetTickOutput:
        at = _tick_time(params.at)
        hosts = sorted(params.hosts or await _roster_hosts(params))
        size = max(1, params.hosts_per_workflow)
        if len(hosts) <= size:
            out = await run_hosts(params, at, hosts)
        else:
            info = workflow.info()
            parts = await asyncio.gather(
                *(
                    workflow.execute_child_workflow(
                        FLEET_TICK_HOSTS,
                        HostGroupInput(params, at.isoformat(), hosts[i : i + size]),
                        id=f"{info.workflow_id}/hosts-{i // size}",
                        result_type=FleetTickOutput,
                    )
                    for i in range(0, len(hosts), size)
                )
            )
            out = merge(params, at, list(parts))
        _report(out)
        if hosts and len(out.hosts_failed) == len(hosts):
            raise ApplicationError(
                f"no host finished the tick: {_first(out.hosts_failed)}",
                out,
                type="NoHostFinished",
                non_retryable=True,
            )
        return out


@workflow.defn(name=FLEET_TICK_HOSTS)
class FleetTickHosts:
    """A slice of a large tick's hosts, so no workflow holds more than a few hundred."""

    @workflow.run
    async def run(self, params: HostGroupInput) -> FleetTickOutput:
        return await run_hosts(params.tick, datetime.fromisoformat(params.at), params.hosts)


async def _roster_hosts(params: FleetTickInput) -> list[str]:
    hosts: list[str] = await workflow.execute_activity(
        "kaizen.roster_hosts",
        RosterInput(params.hub_url, params.roster_file, params.domain),
        task_queue=params.task_queue,
        schedule_to_close_timeout=timedelta(
            seconds=params.host_wait_seconds + params.activity_seconds
        ),
        start_to_close_timeout=timedelta(seconds=params.activity_seconds),
        retry_policy=_RETRY,
        result_type=list[str],
    )
    return hosts


async def run_hosts(params: FleetTickInput, at: datetime, hosts: list[str]) -> FleetTickOutput:
    """Every host's share of the tick at once; a host that fails is named, not waited for.

    The hosts' budget is ``host_seconds`` from the workflow's start (the roster read counts):
    no prepare starts after the deadline, a margin before it, so a host reports what it did
    and defers the rest instead of timing out."""
    began = workflow.info().workflow_start_time
    budget = max(
        timedelta(seconds=30),
        began + timedelta(seconds=params.host_seconds) - workflow.now(),
    )
    deadline = workflow.now() + budget - min(timedelta(seconds=30), budget / 10)
    results = await asyncio.gather(
        *(_host(params, at, host, deadline.isoformat(), budget) for host in hosts),
        return_exceptions=True,
    )
    done: list[HostTickOutput] = []
    failed: dict[str, str] = {}
    for host, result in zip(hosts, results, strict=True):
        if isinstance(result, HostTickOutput):
            done.append(result)
        elif isinstance(result, ActivityError):
            failed[host] = why_host_failed(result, params)
        else:
            raise result  # not the host's doing: the workflow task retries
    return _total(params, at, done, failed)


async def _host(
    params: FleetTickInput, at: datetime, host: str, deadline: str, budget: timedelta
) -> HostTickOutput:
    result: HostTickOutput = await workflow.execute_activity(
        HOST_TICK,
        HostTickInput(
            at=at.isoformat(),
            window_seconds=params.window_seconds,
            hostname=host,
            deadline=deadline,
            hub_url=params.hub_url,
            roster_file=params.roster_file,
            domain=params.domain,
            agent=params.agent,
            hosts=sorted(params.hosts) if params.hosts else [],
            root=params.root,
            out_dir=params.out_dir,
            outbox=params.outbox,
            sink=params.sink,
            catchup_seconds=params.catchup_seconds,
            failures_shown=params.failures_shown,
        ),
        task_queue=host_queue(params.task_queue, host),
        schedule_to_start_timeout=timedelta(seconds=params.host_wait_seconds),
        schedule_to_close_timeout=budget,
        heartbeat_timeout=timedelta(seconds=params.heartbeat_seconds),
        retry_policy=_HOST_RETRY,
        result_type=HostTickOutput,
    )
    return result


def why_host_failed(exc: ActivityError, params: FleetTickInput) -> str:
    """What a user should read about a host that did not finish its share."""
    cause = exc.cause if exc.cause is not None else exc
    if isinstance(cause, TimeoutError):
        progress = ""
        details = cause.last_heartbeat_details
        if details and isinstance(details[0], dict) and details[0].get("total"):
            last = details[0]
            progress = f"; its last heartbeat said {last['done']} of {last['total']} done"
        if cause.type == TimeoutType.SCHEDULE_TO_START:
            return (
                f"did not pick up its work within {params.host_wait_seconds} s "
                "(host_wait_seconds): is its worker running? It catches up at its next tick"
            )
        if cause.type == TimeoutType.HEARTBEAT:
            return f"stopped heart-beating for {params.heartbeat_seconds} s{progress}"
        return (
            f"did not finish within {params.host_seconds} s (host_seconds){progress}; "
            "the next tick resumes"
        )
    return str(cause) or type(cause).__name__


def _total(
    params: FleetTickInput, at: datetime, done: list[HostTickOutput], failed: dict[str, str]
) -> FleetTickOutput:
    counts = dict.fromkeys(STATUSES, 0)
    failures: list[TickFailure] = []
    for host in done:
        for status, n in host.counts.items():
            counts[status] = counts.get(status, 0) + n
        failures += host.failures
        host.failures = []
    return FleetTickOutput(
        at=at.isoformat(),
        window_seconds=params.window_seconds,
        due=sum(h.due for h in done),
        counts=counts,
        deferred=sum(h.deferred for h in done),
        hosts=done,
        failures=failures[: params.failures_shown],
        hosts_failed=failed,
    )


def merge(params: FleetTickInput, at: datetime, parts: list[FleetTickOutput]) -> FleetTickOutput:
    """One tick's result from its slices'."""
    hosts = [h for part in parts for h in part.hosts]
    failed = {k: v for part in parts for k, v in part.hosts_failed.items()}
    out = _total(params, at, hosts, failed)
    out.failures = [f for part in parts for f in part.failures][: params.failures_shown]
    return out


def _report(out: FleetTickOutput) -> None:
    """Counts as the worker's metrics and the workflow's current details (shown in the UI)."""
    meter = workflow.metric_meter()
    runs = meter.create_counter("kaizen_tick_runs", "due runs of fleet ticks, by status")
    for status, n in out.counts.items():
        runs.add(n, {"status": status})
    meter.create_counter("kaizen_tick_deferred", "due runs left to the next tick").add(out.deferred)
    failed = meter.create_counter("kaizen_tick_hosts_failed", "hosts that did not finish a tick")
    for host in out.hosts_failed:
        failed.add(1, {"host": host})
    line = ", ".join(f"{n} {s}" for s, n in out.counts.items() if n) or "nothing due"
    if out.deferred:
        line += f"; {out.deferred} deferred to the next tick"
    if out.hosts_failed:
        line += f"; hosts failed: {_first(out.hosts_failed)}"
    workflow.set_current_details(f"tick {out.at}: {line}")


def _first(failed: dict[str, str]) -> str:
    names = sorted(failed)
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return "; ".join(f"{h}: {failed[h]}" for h in names[:3]) + more


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


WORKFLOWS = [FleetTick, FleetTickHosts, PrepareAgent]
