"""Finishing a run: record its result once, keep its event, and commit what it changed.

``schedule complete`` and the ``kaizen.complete`` activity both come here. ``complete``
(``bundle.result``) records the result in the repository's metrics and memory; the completed
event is kept beside the bundle's manifest (``completed.json``), so a retry or a second call
reports "already completed" with the same event. With ``commit``, the agent's memory and
metrics become one commit (``bundle.commit``); where it would go is checked before anything is
written, so a refusal (a detached HEAD, a bare repository, files outside the checkout) changes
nothing.
"""

import json
import os
from datetime import datetime
from typing import Any, Final, NamedTuple

from kaizen_agentic.bundle import commit as git_commit
from kaizen_agentic.bundle import store
from kaizen_agentic.bundle.metrics import metrics_path
from kaizen_agentic.bundle.result import complete
from kaizen_agentic.errors import KaizenError

EVENT_FILE: Final = "completed.json"


class Finished(NamedTuple):
    """A finished run: its status, files, event, and the commit when one was asked for."""

    status: str  # "completed" or "already-completed"
    metrics_path: str
    memory_path: str | None
    event: dict[str, Any] | None  # the first completion's event (None: completed elsewhere)
    commit: git_commit.Committed | None


def finish(
    bundle_dir: str,
    result: dict[str, Any],
    *,
    at: datetime,
    host: str,
    commit: bool = False,
    branch: str | None = None,
) -> Finished:
    """Record ``result`` against the bundle (once), and with ``commit`` commit the agent's
    memory and metrics on HEAD's branch, or on ``branch`` without checking it out."""
    from kaizen_agentic.atomic import locked_dir, write_atomic

    manifest = store.read_manifest(bundle_dir)
    named = store.named_run(manifest)  # its shape only: complete() binds it to the checkout
    where = None
    if commit and os.path.isdir(named.root):  # a missing checkout is complete()'s to report
        where = git_commit.target(named.root, named.agent, branch)  # checks; writes nothing
    with locked_dir(bundle_dir):  # a concurrent repeat waits for the event to be kept
        done = complete(bundle_dir, result, at=at, host=host)
        if done.event is not None:
            data = store.json_bytes(done.event)
            write_atomic(os.path.join(bundle_dir, EVENT_FILE), data, mode=0o600)
        event = done.event or kept_event(bundle_dir)
    committed = None
    if where is not None and done.metrics_path != metrics_path(named.root, named.agent):
        # complete() bound what it read to its checkout; this is not that checkout (the
        # manifest was rewritten between the two reads): commit nothing
        raise KaizenError(f"{bundle_dir} changed while it was completed; nothing committed")
    if where is not None:
        key = manifest["key"]
        committed = git_commit.commit_run(
            where,
            agent=named.agent,
            slot=manifest["slot"],
            key=key,
            event_id=f"{key}.completed",
            at=datetime.fromisoformat(event["time"]) if event else at,
            host=host,
        )
    return Finished(done.status, done.metrics_path, done.memory_path, event, committed)


def kept_event(bundle_dir: str) -> dict[str, Any] | None:
    """The completed event kept in the bundle, or None (never completed here, or unreadable)."""
    try:  # the bundle's own regular file, capped, no link followed (store.read_member)
        value = json.loads(store.read_member(bundle_dir, EVENT_FILE, store.MAX_MANIFEST_BYTES))
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
