"""Temporal integration for activity-core: ``pip install 'kaizen-agentic[temporal]'``.

This repository runs no worker process; a runner host runs these in its own (see
``examples/temporal_worker.py``)::

    from kaizen_agentic.integrations.temporal import run_host
    await run_host(client, hostname="runner-1", task_queue="kaizen", jobs=4)

The recommended handoff is the **tick model**: a Temporal schedule fires ``kaizen.FleetTick``
every 15 minutes (``schedule export --format temporal --tick 15m``). The workflow takes its tick
from the schedule (``TemporalScheduledStartTime``) and gives every runner host one
``kaizen.host_tick`` on its own task queue (``<queue>@<hostname>``): the host discovers what is
due in ``(tick - window, tick]`` (or since the last tick it finished, when it missed some),
prepares it in parallel, heartbeats its progress, keeps the full record and returns counts.
So the tick's history and payloads grow with the hosts, not with the repositories; a dead host
is named in ``hosts_failed`` without holding up the others, and catches up when it returns.
Our cadence engine alone decides what is due, so Temporal's own DST behaviour never matters;
bundles are idempotent per slot and events are delivered once per bundle.

The schedules themselves are made from ``schedule export --format temporal`` items by
``kaizen_agentic.integrations.temporal_schedules.schedule_from_export``. After the agent ran,
``kaizen.complete`` (``temporal_complete``) records and commits the run on the same host queue;
``examples/temporal_loop.py`` is the whole loop.

The pieces live beside this module: ``temporal_messages`` (inputs and outputs),
``temporal_activities`` (``HostActivities``), ``temporal_workflows`` (the workflows),
``temporal_complete`` (``kaizen.complete``); this module is the one to import.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from temporalio import activity, workflow
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        "kaizen_agentic.integrations.temporal needs the temporal extra: "
        "pip install 'kaizen-agentic[temporal]'",
        name=exc.name,
    ) from None

from kaizen_agentic.export.temporal import FLEET_TICK, PREPARE_AGENT, TASK_QUEUE
from kaizen_agentic.integrations.temporal_activities import (
    ACTIVITIES,
    HostActivities,
    discover_due,
    host_tick,
    prepare,
)
from kaizen_agentic.integrations.temporal_complete import (
    CompleteActivity,
    CompleteInput,
    CompleteOutput,
    complete,
)
from kaizen_agentic.integrations.temporal_messages import (
    DiscoverInput,
    DiscoverOutput,
    DueRun,
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
    TickRun,
    TickRunsInput,
    TickRunsOutput,
)
from kaizen_agentic.integrations.temporal_workflows import (
    FLEET_TICK_HOSTS,
    HOST_TICK,
    WORKFLOWS,
    FleetTick,
    FleetTickHosts,
    PrepareAgent,
    host_queue,
)

__all__ = [
    "ACTIVITIES",
    "FLEET_TICK",
    "FLEET_TICK_HOSTS",
    "HOST_TICK",
    "PREPARE_AGENT",
    "TASK_QUEUE",
    "WORKFLOWS",
    "CompleteActivity",
    "CompleteInput",
    "CompleteOutput",
    "DiscoverInput",
    "DiscoverOutput",
    "DueRun",
    "FleetTick",
    "FleetTickHosts",
    "FleetTickInput",
    "FleetTickOutput",
    "HostActivities",
    "HostGroupInput",
    "HostTickInput",
    "HostTickOutput",
    "PrepareAgent",
    "PrepareAgentInput",
    "PrepareInput",
    "PrepareOutput",
    "RosterInput",
    "TickFailure",
    "TickRun",
    "TickRunsInput",
    "TickRunsOutput",
    "activity",
    "complete",
    "discover_due",
    "host_queue",
    "host_tick",
    "host_workers",
    "prepare",
    "run_host",
    "workflow",
]


def host_workers(
    client: Any,
    *,
    hostname: str | None = None,
    task_queue: str = TASK_QUEUE,
    out_dir: str | None = None,
    threads: int = 4,
    jobs: int | None = None,
    outbox: str | None = None,
    sink: str | None = None,
    activities: HostActivities | None = None,
) -> list[Any]:
    """The two workers of one runner host: the fleet's shared queue (workflows, roster reads)
    and the host's own ``<queue>@<hostname>`` (its share of each tick, single prepares,
    completes).

    ``jobs`` processes prepare at once (default: the cores, up to 8); ``threads`` run the
    activities themselves; ``out_dir``, ``outbox`` and ``sink`` are where the host's bundles
    and events go unless a tick names them."""
    from temporalio.worker import Worker

    acts = activities or HostActivities(hostname, out_dir, jobs=jobs, outbox=outbox, sink=sink)
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
        activities=[acts.host_tick, acts.tick_runs, acts.discover_due, acts.prepare, acts.complete],
        activity_executor=pool,
    )
    return [shared, own]


async def run_host(client: Any, **options: Any) -> None:
    """Run one runner host's workers until cancelled (options as ``host_workers``)."""
    keys = ("hostname", "out_dir", "jobs", "outbox", "sink")
    acts = HostActivities(
        options.pop("hostname", None),
        options.pop("out_dir", None),
        **{k: options.pop(k) for k in keys[2:] if k in options},
    )
    try:
        await asyncio.get_running_loop().run_in_executor(None, acts.warm)
        await asyncio.gather(*(w.run() for w in host_workers(client, activities=acts, **options)))
    finally:
        acts.close()
