"""``kaizen-agentic schedule prepare AGENT``: one bundle for the agent's current slot."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.bundle.events import deliver, deliver_pending
from kaizen_agentic.bundle.store import default_out_dir
from kaizen_agentic.commands.options import Source, parse_at
from kaizen_agentic.errors import KaizenError, UsageError


def _due_slot(root: str, agent: str, at: datetime, window_text: str) -> datetime | None:
    """The agent's latest slot in ``(at - window, at]``, or None: disabled, paused or not due.

    What a per-agent cron entry runs: the engine's calendar may start it on a day that is not
    the agent's (cron has no "last day of the month"), during a pause, or twice in a repeated
    hour; the cadence engine decides."""
    from kaizen_agentic.agents import load_repo_manifest
    from kaizen_agentic.fleet.due import parse_duration

    window = parse_duration(window_text, "--if-due")
    manifest = load_repo_manifest(root)
    entry = manifest.get(agent)
    if entry is None:
        return at  # let prepare report the unknown agent with its usual message
    at = at.astimezone(UTC)  # subtract in real time, not on a zone's wall clock
    slots = entry.runs_between(at - window, at)
    return slots[-1] if slots else None


def _not_due(root: str, agent: str, at: datetime, window: str, as_json: bool) -> int:
    from kaizen_agentic.agents import load_repo_manifest

    manifest = load_repo_manifest(root)
    entry = manifest.get(agent)
    assert entry is not None
    state = entry.state(at)
    why = {"disabled": "disabled", "paused": f"paused until {entry.paused_until}"}.get(
        state, f"no slot in the {window} before {output.rfc3339(at)}"
    )
    if as_json:
        doc = {
            "status": "not-due",
            "repo": manifest.repo,
            "agent": agent,
            "at": output.rfc3339(at),
            "reason": why,
        }
        sys.stdout.write(output.to_json(doc))
    else:
        sys.stdout.write(f"not due: {agent} for {manifest.repo}: {why}; nothing prepared\n")
    return 0


def run(
    *,
    agent: str | None,
    repo: str,
    at: str | None,
    out: str | None,
    force: bool,
    strict_secrets: bool,
    if_due: str | None,
    as_json: bool,
    outbox: str | None,
    sink: str | None,
    due: bool,
    tick: str | None,
    window: str | None,
    jobs: int | None,
    source: Source,
) -> int:
    from kaizen_agentic.bundle.events import DeliveryError
    from kaizen_agentic.bundle.prepare import prepare
    from kaizen_agentic.repo import find_root

    if due:
        from kaizen_agentic.commands.schedule_prepare_due import run_due

        return run_due(
            agent=agent, at=at, out=out, force=force, strict_secrets=strict_secrets,
            if_due=if_due, as_json=as_json, outbox=outbox, sink=sink, tick=tick,
            window=window, jobs=jobs, source=source,
        )  # fmt: skip
    if agent is None:
        raise UsageError("name the AGENT to prepare, or use --due with a roster")
    given = {"hub": source.hub, "roster": source.roster, "scan": source.scan, "window": window,
             "tick": tick}  # fmt: skip
    for option, value in given.items():
        if value:
            raise UsageError(f"--{option} goes with --due")
    when = parse_at(at)
    root = find_root(repo)
    if if_due:
        slot = _due_slot(str(root), agent, when, if_due)
        if slot is None:
            return _not_due(str(root), agent, when, if_due, as_json)
        when = slot
    result = prepare(
        str(root),
        agent,
        at=when,
        out_dir=out or default_out_dir(),
        host=os.uname().nodename,
        force=force,
        strict_secrets=strict_secrets,
        announce=bool(outbox or sink),
    )
    try:
        # A pending event is claimed and marked delivered; a bundle that was there already
        # announces itself again, as it always has (consumers deduplicate by id).
        if not deliver_pending(result.path, result.event, outbox, sink):
            deliver(result.event, outbox, sink)
    except DeliveryError as exc:
        _report(result, as_json)
        raise KaizenError(f"bundle prepared at {result.path}, but {exc}") from None
    _report(result, as_json)
    return 0


def _report(result: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(output.to_json(result.event))
        if result.note:
            sys.stderr.write(f"note: {result.note}\n")
        return
    m = result.manifest
    verb = {"created": "prepared", "replaced": "rebuilt", "exists": "already prepared"}
    dropped_memory = len(m["dropped"]["memory"])
    dropped_runs = len(m["dropped"]["metrics_runs"])
    total_redacted = sum(m["redactions"].values())
    by_rule = ", ".join(f"{k} {v}" for k, v in m["redactions"].items())
    lines = [
        f"{verb[result.status]}: {m['agent']['name']} for {m['repo']['slug']}, slot {m['slot']}",
        f"  bundle   {result.path}",
        f"  prompt   {os.path.join(result.path, 'PROMPT.md')}",
        f"  digest   {m['digest']}",
        f"  tokens   ~{m['budget']['estimate']} of {m['budget']['tokens']}"
        + (
            f" (left out {dropped_memory} memory entries, {dropped_runs} run rows)"
            if dropped_memory or dropped_runs
            else ""
        ),
        f"  secrets  {total_redacted} redacted" + (f" ({by_rule})" if by_rule else ""),
        f"  event    {m['key']}",
    ]
    if result.note:
        lines.append(f"note: {result.note}")
    sys.stdout.write("\n".join(lines) + "\n")
