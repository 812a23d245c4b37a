"""``kaizen-agentic schedule prepare --due``: every due bundle of a fleet in one start."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.bundle.store import default_out_dir
from kaizen_agentic.commands.options import Source, discover, parse_at
from kaizen_agentic.errors import UsageError
from kaizen_agentic.fleet.due import Outcome, due_jobs, parse_duration, prepare_due, tick_floor

#: Roster repositories that would take part but cannot, named after every tick: the others
#: (absent, paused, no-host-path, not-enabled-in-hub) are where they chose to be.
SKIPPED = ("invalid", "conflict", "missing-checkout")


def run_due(
    *,
    agent: str | None,
    at: str | None,
    out: str | None,
    force: bool,
    strict_secrets: bool,
    if_due: str | None,
    as_json: bool,
    outbox: str | None,
    sink: str | None,
    tick: str | None,
    window: str | None,
    jobs: int | None,
    source: Source,
) -> int:
    if agent is not None and source.agent is None:
        source = source._replace(agent=agent)  # `--due coach` filters like `--agent coach`
    if at is None and tick is None:
        raise UsageError(
            "--due needs --at (the tick time, so a re-run prepares the same slots) or --tick"
        )
    if force:
        raise UsageError("--force does not go with --due")
    if if_due:
        raise UsageError("--if-due goes with one AGENT; --due prepares only what is due already")
    grid = parse_duration(tick, "--tick") if tick else None
    when = parse_at(at)
    if grid is not None:
        when = tick_floor(when, grid)
    span = parse_duration(window, "--window") if window else (grid or timedelta(hours=1))
    found = discover(source, when)
    due_list, not_due = due_jobs(found, when, span)
    workers = jobs or min(os.cpu_count() or 1, 8)
    delivery: list[str] = []
    results = prepare_due(
        due_list,
        at=when,
        out_dir=out or default_out_dir(),
        host=os.uname().nodename,
        workers=workers,
        progress=_progress(),
        strict_secrets=strict_secrets,
        each=lambda result: _deliver(result, outbox, sink, delivery),
        announce=bool(outbox or sink),
    )
    doc = _document(found, when, span, results, not_due, delivery)
    if grid is not None:
        doc["tick_seconds"] = int(grid.total_seconds())
    sys.stdout.write(output.to_json(doc) if as_json else _text(doc))
    failed = [r for r in results if r.status == "failed"]
    return 1 if failed or delivery else 0


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        output.progress(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} prepared")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _deliver(result: Outcome, outbox: str | None, sink: str | None, failures: list[str]) -> None:
    """Deliver the bundle's event as its job ends, if it is still pending: a new bundle's, or
    one a killed run left undelivered (events.deliver_pending). Nothing is sent twice."""
    from kaizen_agentic.bundle import events

    if result.path is None or result.event is None:
        return
    try:
        events.deliver_pending(result.path, result.event, outbox, sink)
    except events.DeliveryError as exc:
        failures.append(f"{result.slug} {result.agent}: {exc}")


def _document(
    found: Any,
    at: Any,
    window: timedelta,
    results: list[Outcome],
    not_due: int,
    delivery: list[str],
) -> dict[str, Any]:
    counts = {
        s: sum(1 for r in results if r.status == s)
        for s in ("created", "exists", "replaced", "failed")
    }
    return {
        "at": output.rfc3339(at),
        "window_seconds": int(window.total_seconds()),
        "source": found.source,
        "hostname": found.hostname,
        "repos": len(found.repos),
        "enrolled": len(found.enrolled()),
        "not_due": not_due,
        "summary": counts,
        "delivery_failures": delivery,
        "skipped": [
            {"repo": r.slug, "state": r.state, "reason": r.reason}
            for r in found.repos
            if r.state in SKIPPED
        ],
        "roster_problems": [str(p) for p in found.problems],
        "bundles": [
            {
                "repo": r.slug,
                "agent": r.agent,
                "slot": r.slot,
                "status": r.status,
                "path": r.path,
                "key": r.key,
                "digest": r.digest,
                "error": r.error,
            }
            for r in results
        ],
    }


def _text(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    head = (
        f"{doc['source']} at {doc['at']} (window {doc['window_seconds']} s): "
        f"{output.plural(doc['repos'], 'repo')}, {doc['enrolled']} enrolled; "
        f"{s['created']} prepared, {s['exists']} already prepared, {s['failed']} failed, "
        f"{doc['not_due']} agent{'' if doc['not_due'] == 1 else 's'} not due\n\n"
    )
    rows = [
        [b["repo"], b["agent"], b["slot"], b["status"], b["path"] or b["error"] or ""]
        for b in doc["bundles"]
    ]
    body = output.table(rows, ["REPO", "AGENT", "SLOT", "STATUS", "BUNDLE / ERROR"]) if rows else ""
    tail = "".join(f"delivery failed: {f}\n" for f in doc["delivery_failures"])
    if doc["skipped"] or doc["roster_problems"]:
        tail += "\nskipped, until fixed:\n" + "".join(
            f"  {r['repo']}: {r['state']} ({r['reason']})\n" for r in doc["skipped"]
        )
        tail += "".join(f"  roster problem: {p}\n" for p in doc["roster_problems"])
    return head + body + tail
