"""``kaizen-agentic schedule complete BUNDLE --result FILE``: close the kaizen loop."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kaizen_agentic import output
from kaizen_agentic.bundle.events import deliver
from kaizen_agentic.commands.options import parse_at
from kaizen_agentic.errors import KaizenError, UsageError

if TYPE_CHECKING:
    from kaizen_agentic.bundle.commit import Committed
    from kaizen_agentic.bundle.finish import Finished


def run(
    *,
    result: str | None,
    bundle: str | None,
    at: str | None,
    as_json: bool,
    outbox: str | None,
    sink: str | None,
    commit: bool = False,
    branch: str | None = None,
) -> int:
    from kaizen_agentic.bundle.events import DeliveryError
    from kaizen_agentic.bundle.finish import finish
    from kaizen_agentic.bundle.result import parse_result

    if bundle is None or result is None:  # the command line requires both
        raise UsageError("name the BUNDLE and its --result")
    if branch is not None and not commit:
        raise UsageError("--branch names where --commit commits; add --commit")
    data, name = _read(result)
    parsed = parse_result(data, name)
    when = parse_at(at)
    done = finish(bundle, parsed, at=when, host=os.uname().nodename, commit=commit, branch=branch)
    if done.status == "completed":
        assert done.event is not None
        try:
            deliver(done.event, outbox, sink)
        except DeliveryError as exc:
            raise KaizenError(f"result recorded, but {exc}") from None
    if as_json:
        sys.stdout.write(output.to_json(_as_json(done)))
    else:
        sys.stdout.write(_as_text(done, bundle))
    if done.status == "completed" and done.event is not None:
        _early(when, done.event["data"]["slot"], given=at is not None)
    return 0


def _read(result: str) -> tuple[bytes, str]:
    from kaizen_agentic.atomic import read_capped

    if result == "-":
        return sys.stdin.buffer.read(1024 * 1024 + 1), "<stdin>"
    try:
        return read_capped(result, 1024 * 1024), result
    except FileNotFoundError:
        raise KaizenError(f"{result}: no such file") from None
    except (OSError, ValueError) as exc:
        raise KaizenError(f"{result}: {exc}") from None


def _as_json(done: Finished) -> dict[str, Any]:
    """The event (as before), or with --commit: the status, the event and the commit."""
    if done.commit is not None:
        return {"status": done.status, "event": done.event, "commit": done.commit._asdict()}
    if done.status == "completed":
        assert done.event is not None
        return done.event
    return {"status": done.status, "event": done.event}


def _as_text(done: Finished, bundle: str) -> str:
    event = done.event
    if done.status == "completed":
        assert event is not None
        learned = event["data"]["learnings_added"]
        lines = [f"completed: {event['data']['outcome']} recorded in {done.metrics_path}"]
        if learned:
            plural = "y" if learned == 1 else "ies"
            lines.append(f"  memory   {learned} entr{plural} added to {done.memory_path}")
    else:
        lines = [f"already completed: {bundle} (nothing changed)"]
    if event is not None:
        lines.append(f"  event    {event['id']}")
    if done.commit is not None:
        lines.append(f"  commit   {_commit_line(done.commit)}")
    return "".join(line + "\n" for line in lines)


def _commit_line(done: Committed) -> str:
    if done.status == "unchanged":
        return f"none: branch {done.branch} already holds these files as they are"
    assert done.sha is not None
    if done.status == "already-committed":
        return f"{done.sha[:12]} on {done.branch} (already committed)"
    return f"{done.sha[:12]} on {done.branch}: {done.subject}"


def _early(when: datetime, slot: str, *, given: bool) -> None:
    """Warn when the run is recorded as finished before its slot: a bundle prepared ahead with
    ``--at``, completed now."""
    if when >= datetime.fromisoformat(slot):
        return
    how = "--at" if given else "now: no --at"
    sys.stdout.flush()
    sys.stderr.write(
        f"warning: recorded as finished at {output.rfc3339(when)} ({how}), before its slot "
        f"{slot}; give --at the time the run finished\n"
    )
