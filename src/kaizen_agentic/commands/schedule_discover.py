"""``kaizen-agentic schedule discover``: every roster repo's state on this host, and why."""

from __future__ import annotations

import sys
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.commands.options import Source, discover, parse_at
from kaizen_agentic.fleet.discovery import STATES, Discovery


def as_dict(found: Discovery) -> dict[str, Any]:
    return {
        "source": found.source,
        "hostname": found.hostname,
        "at": output.rfc3339(found.at),
        "summary": found.counts(),
        "roster_problems": [p.as_dict() for p in found.problems],
        "repos": [
            {
                "slug": r.slug,
                "state": r.state,
                "reason": r.reason,
                "domain": r.domain,
                "path": r.path,
                "agents": [
                    {
                        "agent": a.agent,
                        "state": a.state,
                        "description": a.description,
                        "paused_until": a.paused_until,
                        "next_runs": [output.rfc3339(t) for t in a.next_runs],
                    }
                    for a in r.agents
                ],
                "problems": [p.as_dict() for p in r.problems],
            }
            for r in found.repos
        ],
    }


def run(*, source: Source, at: str | None, count: int, as_json: bool) -> int:
    found = discover(source, parse_at(at), count)
    if as_json:
        sys.stdout.write(output.to_json(as_dict(found)))
        return 0
    sys.stdout.write(text(found))
    return 0


def text(found: Discovery) -> str:
    colour = output.use_colour()
    shade = {"enrolled": "green", "invalid": "red", "conflict": "red", "paused": "yellow"}
    rows = []
    for repo in found.repos:
        rows.append(
            [repo.slug, output.paint(repo.state, shade.get(repo.state, "dim"), colour), repo.reason]
        )
        for agent in repo.agents:
            when = ", ".join(output.rfc3339(t) for t in agent.next_runs)
            note = f"next {when}" if agent.state == "enabled" and when else agent.state
            if agent.state == "paused":
                note = f"paused until {agent.paused_until}" + (f"; next {when}" if when else "")
            rows.append(["", "", f"  {agent.agent}: {agent.description}; {note}"])
        rows.extend(["", "", f"  {p}"] for p in repo.problems)
    counts = found.counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
    head = (
        f"{found.source} on {found.hostname} at {output.rfc3339(found.at)}: "
        f"{output.plural(len(found.repos), 'repo')} ({summary or 'none'})\n\n"
    )
    tail = "".join(f"roster problem: {p}\n" for p in found.problems)
    return head + output.table(rows, ["REPO", "STATE", "REASON"]) + (("\n" + tail) if tail else "")
