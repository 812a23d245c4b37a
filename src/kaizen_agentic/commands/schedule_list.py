"""``kaizen-agentic schedule list``: each agent's state, cadence and next runs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.agents import load_repo_manifest
from kaizen_agentic.errors import InvalidFileError, KaizenError
from kaizen_agentic.manifest.cadence import describe
from kaizen_agentic.manifest.schedule import Manifest, manifest_path, missing
from kaizen_agentic.repo import find_root


def run(*, at: str | None, repo: str, count: int, as_json: bool) -> int:
    from kaizen_agentic.commands.options import parse_at

    when = parse_at(at)
    root = find_root(repo)
    path = manifest_path(root)
    if not path.exists():
        raise KaizenError(missing(str(root)))
    try:
        manifest = load_repo_manifest(str(root))
    except InvalidFileError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        raise KaizenError(f"{path} is not valid; nothing to list") from None
    doc = listing(manifest, slug=manifest.repo, root=str(root), at=when, count=count)
    if as_json:
        sys.stdout.write(output.to_json(doc))
    else:
        sys.stdout.write(_text(doc))
    return 0


def listing(
    manifest: Manifest, *, slug: str, root: str, at: datetime, count: int
) -> dict[str, Any]:
    """The listing as plain data: what ``--json`` prints."""
    agents = []
    for entry in manifest.agents:
        runs = entry.next_runs(at, count)
        c = entry.cadence
        agents.append(
            {
                "agent": entry.agent,
                "enabled": entry.enabled,
                "state": entry.state(at),
                "paused_until": entry.paused_until.isoformat() if entry.paused_until else None,
                "interval": c.interval,
                "cron": c.cron,
                "timezone": c.timezone,
                "time": c.time,
                "time_spread": c.spread,
                "description": describe(c),
                "next_runs": [output.rfc3339(r) for r in runs],
                "next_runs_utc": [output.rfc3339(r.astimezone(UTC)) for r in runs],
            }
        )
    return {
        "repo": slug,
        "path": root,
        "manifest": manifest.path,
        "digest": manifest.digest,
        "at": output.rfc3339(at),
        "agents": agents,
    }


def _text(doc: dict[str, Any]) -> str:
    colour = output.use_colour()
    head = f"{doc['repo']}  ({doc['manifest']})\nruns after {doc['at']}\n\n"
    rows = []
    for agent in doc["agents"]:
        state = agent["state"]
        if state == "paused":
            state = f"paused until {agent['paused_until']}"
        shade = {"enabled": "green", "disabled": "dim"}.get(agent["state"], "yellow")
        rows.append([agent["agent"], output.paint(state, shade, colour), agent["description"]])
        for local, utc in zip(agent["next_runs"], agent["next_runs_utc"], strict=True):
            when = f"{local[:10]} {local[11:16]} {local[19:]}"
            utc_when = f"{utc[:10]} {utc[11:16]} UTC"
            rows.append(["", "", output.paint(f"  {when}  ({utc_when})", "dim", colour)])
    return head + output.table(rows, ["AGENT", "STATE", "CADENCE / NEXT RUNS"])
