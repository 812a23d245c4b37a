"""The whole kaizen loop on Temporal, in a few lines: a workflow for activity-core to adapt.

``KaizenLoop`` runs one ``kaizen.FleetTick`` (the bundles due now, each prepared on the host
that holds its checkout; the tick answers with counts per host and where each host's record
is), reads from each host the bundles that tick created (``kaizen.tick_runs``, a page at a
time), then for each: activity-core's own agent activity (here ``agent.run``, which takes the
bundle's path and returns the path of the answer it wrote) on that host's agent queue, and
``kaizen.complete`` on the host's kaizen queue, which records the run and commits the agent's
memory and metrics there. Pushing the commits is the next step
(docs/design/activity-core-handoff.md). A worker polls ``agents@<host>`` with the agent
activity; ``run_host`` (examples/temporal_worker.py) serves the rest.

Each page's runs go at once, so at most ``page`` agents are pending; a loop over many thousands
of bundles would give each host its own child workflow and continue it as new every few pages,
as ``kaizen.FleetTick`` keeps its own history bounded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from kaizen_agentic.integrations.temporal import (
        CompleteInput,
        CompleteOutput,
        FleetTickInput,
        FleetTickOutput,
        HostTickOutput,
        TickRun,
        TickRunsInput,
        TickRunsOutput,
        host_queue,
    )


@dataclass
class LoopInput:
    tick: FleetTickInput = field(default_factory=FleetTickInput)
    agent_queue: str = "agents"  # the agent activity runs on <agent_queue>@<host>
    agent_seconds: int = 3600
    commit: bool = True
    branch: str | None = None  # commit on this side branch instead of HEAD's
    page: int = 200  # runs read, and agents started, at a time


@dataclass
class LoopOutput:
    completed: list[CompleteOutput]
    failed: dict[str, str]  # bundle path -> why its agent or its completion failed


@workflow.defn(name="example.KaizenLoop")
class KaizenLoop:
    @workflow.run
    async def run(self, params: LoopInput) -> LoopOutput:
        tick = await workflow.execute_child_workflow(
            "kaizen.FleetTick",
            params.tick,
            id=f"{workflow.info().workflow_id}-tick",
            task_queue=params.tick.task_queue,
            result_type=FleetTickOutput,
        )
        out = LoopOutput([], {})
        await asyncio.gather(*(self.host(params, host, out) for host in tick.hosts))
        return out

    async def host(self, params: LoopInput, host: HostTickOutput, out: LoopOutput) -> None:
        # only bundles this tick made: "exists" is an earlier tick's, finished by its own loop
        offset, total = 0, host.counts.get("created", 0) + host.counts.get("replaced", 0)
        while offset < total:
            fresh = await self.page(params, host, offset)
            done = await asyncio.gather(*(self.finish(params, run) for run in fresh))
            for run, result in zip(fresh, done, strict=True):
                if isinstance(result, str):
                    out.failed[run.bundle_path or ""] = result
                else:
                    out.completed.append(result)
            offset += len(fresh) or total

    async def page(self, params: LoopInput, host: HostTickOutput, offset: int) -> list[TickRun]:
        found: TickRunsOutput = await workflow.execute_activity(
            "kaizen.tick_runs",
            TickRunsInput(host.record, offset=offset, limit=params.page),
            task_queue=host_queue(params.tick.task_queue, host.hostname),
            start_to_close_timeout=timedelta(minutes=1),
            result_type=TickRunsOutput,
        )
        return [r for r in found.runs if r.bundle_path]

    async def finish(self, params: LoopInput, run: TickRun) -> CompleteOutput | str:
        try:
            answer: str = await workflow.execute_activity(
                "agent.run",
                run.bundle_path,
                task_queue=host_queue(params.agent_queue, run.hostname),
                start_to_close_timeout=timedelta(seconds=params.agent_seconds),
                retry_policy=RetryPolicy(maximum_attempts=3),
                result_type=str,
            )
            done: CompleteOutput = await workflow.execute_activity(
                "kaizen.complete",
                CompleteInput(
                    run.bundle_path or "",
                    result_path=answer,
                    commit=params.commit,
                    branch=params.branch,
                ),
                task_queue=host_queue(params.tick.task_queue, run.hostname),
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(minutes=1), maximum_attempts=10
                ),
                result_type=CompleteOutput,
            )
        except ActivityError as exc:  # one run failing leaves the others to finish
            return str(exc.cause or exc)
        return done
