"""``kaizen.complete``: finishing a run on the Temporal host that holds its checkout.

``HostActivities.complete`` (``kaizen_agentic.integrations.temporal``) runs on the host's own
queue, ``<queue>@<hostname>``, beside the prepare that made the bundle. It records the agent's
answer in the repository's metrics and memory and, with ``commit``, commits those two files and
nothing else (``bundle.commit``). It is idempotent per bundle: a retry or a second call reports
``already-completed`` with the same event and makes no second commit. Expected failures (an
invalid answer, a bundle that is not intact, a detached HEAD, ...) are non-retryable; a git lock
held by someone else (``GitBusy``) is retried.
"""

# No ``from __future__ import annotations`` here: Temporal resolves the dataclasses' field types
# by name in their module, which a workflow sandbox that imported only ``temporal`` lacks.
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from kaizen_agentic.errors import KaizenError


@dataclass
class CompleteInput:
    """One run to finish on the host holding its checkout: its bundle and the agent's answer
    (JSON, or Markdown ending in a ``kaizen-result`` block), as text or as a file on the host."""

    bundle_path: str
    result: str | None = None
    result_path: str | None = None
    at: str | None = None  # RFC 3339: when the run finished (default: when complete was scheduled)
    commit: bool = False  # commit the agent's memory and metrics files, and nothing else
    branch: str | None = None  # with commit: this branch (made from HEAD), not checked out


@dataclass
class CompleteOutput:
    """A finished run: its status, files and event, its commit, and the host."""

    status: str  # "completed" or "already-completed" (a retry, a second call)
    bundle_path: str
    metrics_path: str
    memory_path: str | None
    event: dict[str, Any] | None  # kaizen.schedule.completed: the first completion's, on a repeat
    commit_status: str | None = None  # committed, already-committed or unchanged
    commit_sha: str | None = None
    branch: str | None = None
    hostname: str = ""


class CompleteActivity:
    """The ``kaizen.complete`` activity of a runner host (``HostActivities`` is one)."""

    hostname: str

    @activity.defn(name="kaizen.complete")
    def complete(self, params: CompleteInput) -> CompleteOutput:
        """Record a run's result on this host (its checkout's), and with ``commit`` commit the
        agent's memory and metrics. Idempotent per bundle: a retry or a second call reports
        ``already-completed`` with the same event and makes no second commit."""
        return _complete(params, self.hostname)


@activity.defn(name="kaizen.complete")
def complete(params: CompleteInput) -> CompleteOutput:
    """``HostActivities.complete`` for this machine's host name."""
    import os

    return _complete(params, os.uname().nodename)


def _complete(params: CompleteInput, hostname: str) -> CompleteOutput:
    from kaizen_agentic.bundle.commit import GitBusy
    from kaizen_agentic.bundle.finish import finish
    from kaizen_agentic.bundle.result import parse_result

    at = datetime.fromisoformat(params.at) if params.at else activity.info().scheduled_time
    try:
        data, name = _answer(params)
        done = finish(
            params.bundle_path,
            parse_result(data, name),
            at=at,
            host=hostname,
            commit=params.commit,
            branch=params.branch,
        )
    except GitBusy as exc:  # a lock held by someone else: a retry can succeed
        raise ApplicationError(str(exc), type="GitBusy") from None
    except KaizenError as exc:  # as the other host activities: retrying cannot fix it
        problems = getattr(exc, "problems", ())
        detail = "; ".join(str(p) for p in problems) if problems else str(exc)
        raise ApplicationError(detail, type=type(exc).__name__, non_retryable=True) from None
    made = done.commit
    return CompleteOutput(
        done.status,
        params.bundle_path,
        done.metrics_path,
        done.memory_path,
        done.event,
        made.status if made else None,
        made.sha if made else None,
        made.branch if made else None,
        hostname,
    )


def _answer(params: CompleteInput) -> tuple[bytes, str]:
    """The agent's answer and the name its problems are located by."""
    from kaizen_agentic.atomic import read_capped
    from kaizen_agentic.bundle.result import MAX_RESULT_BYTES

    if (params.result is None) == (params.result_path is None):
        raise KaizenError("kaizen.complete needs the agent's answer: result or result_path")
    if params.result is not None:
        return params.result.encode(), "result"
    assert params.result_path is not None
    try:
        return read_capped(params.result_path, MAX_RESULT_BYTES), params.result_path
    except FileNotFoundError:
        raise KaizenError(f"{params.result_path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise KaizenError(f"{params.result_path}: {exc}") from None
