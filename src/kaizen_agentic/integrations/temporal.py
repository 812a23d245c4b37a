"""Temporal activities for activity-core's worker: ``pip install kaizen-agentic[temporal]``.

This repository ships no worker: activity-core registers these activities in its own::

    from kaizen_agentic.integrations.temporal import ACTIVITIES
    worker = Worker(client, task_queue="kaizen", activities=ACTIVITIES,
                    activity_executor=ThreadPoolExecutor(4))

Both are synchronous (they read files and run git), so the worker needs an activity executor.
Inputs and outputs are dataclasses of plain values, which Temporal's default converter encodes
as JSON. Expected failures (an invalid manifest, an unreadable roster) raise
``ApplicationError`` with ``non_retryable=True``: retrying cannot fix them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from kaizen_agentic.errors import KaizenError


@dataclass
class DiscoverInput:
    at: str  # RFC 3339: the workflow's scheduled time, so retries resolve the same tick
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
    slug: str
    path: str
    agent: str
    slot: str


@dataclass
class DiscoverOutput:
    states: dict[str, str]  # slug -> state
    reasons: dict[str, str]  # slug -> reason
    due: list[DueRun] = field(default_factory=list)


@dataclass
class PrepareInput:
    repo_path: str
    agent: str
    at: str  # RFC 3339
    out_dir: str
    slug: str | None = None


@dataclass
class PrepareOutput:
    status: str  # "created", "exists" or "replaced"
    bundle_path: str
    prompt_path: str
    digest: str
    idempotency_key: str
    event: dict[str, object]


def _non_retryable(exc: KaizenError) -> ApplicationError:
    problems = getattr(exc, "problems", ())
    detail = "; ".join(str(p) for p in problems) if problems else str(exc)
    return ApplicationError(detail, type=type(exc).__name__, non_retryable=True)


@activity.defn(name="kaizen.discover_due")
def discover_due(params: DiscoverInput) -> DiscoverOutput:
    """Resolve the roster and list the (repo, agent) pairs whose slot is due at ``at``."""
    import os
    from datetime import timedelta

    from kaizen_agentic.fleet import due_jobs
    from kaizen_agentic.roster import discover_kaizen_scheduled_repos

    at = datetime.fromisoformat(params.at)
    try:
        found = discover_kaizen_scheduled_repos(
            hub_url=params.hub_url,
            hub_token=os.environ.get("KAIZEN_HUB_TOKEN") if params.hub_url else None,
            roster_file=params.roster_file,
            scan_dir=params.scan_dir,
            hostname=params.hostname,
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
    )


@activity.defn(name="kaizen.prepare")
def prepare(params: PrepareInput) -> PrepareOutput:
    """Prepare one bundle; idempotent for the slot, so Temporal's retries are safe."""
    import os

    from kaizen_agentic.bundle import PROMPT
    from kaizen_agentic.bundle import prepare as prepare_bundle

    try:
        done = prepare_bundle(
            params.repo_path,
            params.agent,
            at=datetime.fromisoformat(params.at),
            out_dir=params.out_dir,
            host=os.uname().nodename,
        )
    except KaizenError as exc:
        raise _non_retryable(exc) from None
    return PrepareOutput(
        done.status, done.path, os.path.join(done.path, PROMPT), done.digest, done.key, done.event
    )


ACTIVITIES = [discover_due, prepare]
