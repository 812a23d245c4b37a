"""Temporal schedules from ``schedule export --format temporal`` items: the calendar or
interval spec, the policies, and the start-workflow action for ``kaizen.FleetTick`` or
``kaizen.PrepareAgent`` (``pip install 'kaizen-agentic[temporal]'``)::

    from kaizen_agentic.integrations.temporal_schedules import schedule_from_export
    for item in export["schedules"]:
        await client.create_schedule(item["id"], schedule_from_export(item))
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from kaizen_agentic.export.temporal import FLEET_TICK
from kaizen_agentic.integrations.temporal import FleetTickInput, PrepareAgentInput


def _seconds(text: str) -> timedelta:
    return timedelta(seconds=float(text.removesuffix("s")))


def _ranges(items: Sequence[dict[str, int]]) -> list[Any]:
    from temporalio.client import ScheduleRange

    return [
        ScheduleRange(int(r["start"]), int(r.get("end", r["start"])), int(r.get("step", 1)))
        for r in items
    ]


def _calendar(spec: dict[str, Any]) -> Any:
    from temporalio.client import ScheduleCalendarSpec

    return ScheduleCalendarSpec(
        second=_ranges(spec["second"]),
        minute=_ranges(spec["minute"]),
        hour=_ranges(spec["hour"]),
        day_of_month=_ranges(spec["day_of_month"]),
        month=_ranges(spec["month"]),
        year=_ranges(spec["year"]),
        day_of_week=_ranges(spec["day_of_week"]),
        comment=spec.get("comment") or None,
    )


def schedule_from_export(item: dict[str, Any], *, task_queue: str | None = None) -> Any:
    """A ``temporalio.client.Schedule`` from one item of ``schedule export --format temporal``
    (a per-agent calendar schedule or a fleet tick), with its start-workflow action.

    ``task_queue`` overrides the queue the export named."""
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleIntervalSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
    )

    spec = item["spec"]
    start_at = spec.get("start_at")
    action = item["action"]["start_workflow"]
    arg = dict(action["input"])
    queue = task_queue or action["task_queue"]
    if task_queue:
        arg["task_queue"] = task_queue
    payload: Any = (
        FleetTickInput(**arg) if action["workflow"] == FLEET_TICK else PrepareAgentInput(**arg)
    )
    policies = item["policies"]
    return Schedule(
        action=ScheduleActionStartWorkflow(
            action["workflow"],
            payload,
            id=action["workflow_id"],
            task_queue=queue,
            execution_timeout=_seconds(action["execution_timeout"]),
        ),
        spec=ScheduleSpec(
            calendars=[_calendar(c) for c in spec.get("calendars", [])],
            intervals=[
                ScheduleIntervalSpec(_seconds(i["every"]), _seconds(i.get("offset", "0s")))
                for i in spec.get("intervals", [])
            ],
            skip=[_calendar(c) for c in spec.get("skip", [])],
            start_at=datetime.fromisoformat(start_at) if start_at else None,
            time_zone_name=spec.get("time_zone_name"),
            jitter=_seconds(spec.get("jitter", "0s")),
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy[policies["overlap"]],
            catchup_window=_seconds(policies["catchup_window"]),
            pause_on_failure=bool(policies.get("pause_on_failure", False)),
        ),
    )
