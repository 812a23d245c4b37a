"""``kaizen-agentic schedule export``: schedules as Temporal, Kubernetes or crontab specs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.commands.schedule_prepare import default_out_dir, parse_at
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.export import (
    Target,
    crontab_line,
    k8s_cronjob,
    prepare_command,
    temporal,
    temporal_tick,
)


def targets(args: argparse.Namespace, at: Any) -> list[tuple[Target, Any]]:
    """(target, paused_until) for every enabled agent: of one repo, or of a roster's repos."""
    if args.repo is not None:
        if args.hub or args.roster or args.scan:
            raise KaizenError("give --repo or a roster (--hub, --roster, --scan), not both")
        from kaizen_agentic.repo import find_root
        from kaizen_agentic.roster import this_host
        from kaizen_agentic.schedule import load_repo_manifest

        root = find_root(args.repo)
        manifest = load_repo_manifest(str(root))
        host = args.hostname or this_host()
        repos = [(manifest.repo, str(root), manifest)]
    else:
        from kaizen_agentic.commands.fleet_source import discover

        found = discover(args, at)
        host = found.hostname
        repos = [
            (r.slug, r.path or "", r.manifest)
            for r in found.repos
            if r.state in ("enrolled", "paused") and r.manifest is not None
        ]
    out = []
    for slug, path, manifest in repos:
        for entry in manifest.agents:
            if entry.enabled and (args.agent is None or entry.agent == args.agent):
                target = Target(slug, path, entry.agent, entry.cadence, host)
                out.append((target, entry.paused_until))
    return out


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    at = parse_at(args.at)
    if args.tick:
        return _tick(args)
    if args.window:
        raise KaizenError("--window goes with --tick")
    out_dir = args.bundle_dir or default_out_dir()
    chosen = targets(args, at)
    if args.format == "temporal":
        schedules = []
        for target, paused in chosen:
            item = temporal(target, start=at, task_queue=args.task_queue, out_dir=args.bundle_dir)
            if paused is not None:
                resume = dt.datetime.combine(paused, dt.time(), target.cadence.zone)
                item["spec"]["start_at"] = output.rfc3339(resume)
            schedules.append(item)
        sys.stdout.write(output.to_json({"schedules": schedules}))
    elif args.format == "k8s-cronjob":
        import yaml

        docs = []
        for target, paused in chosen:
            job = k8s_cronjob(
                target, start=at, command=prepare_command(target, out_dir), image=args.image
            )
            if paused is not None:
                job["spec"]["suspend"] = True
                job["metadata"]["annotations"]["kaizen-agentic/paused-until"] = paused.isoformat()
            docs.append(job)
        sys.stdout.write(
            yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False) if docs else ""
        )
    else:
        lines = []
        for target, paused in chosen:
            text = crontab_line(target, start=at, command=prepare_command(target, out_dir))
            if paused is not None:
                text = "".join(
                    line
                    if line.startswith(("#", "CRON_TZ"))
                    else f"# paused until {paused}: {line}"
                    for line in text.splitlines(keepends=True)
                )
            lines.append(text)
        sys.stdout.write("\n".join(lines))
    if not chosen:
        sys.stderr.write("note: no enabled agents to export\n")
    return 0


def _tick(args: argparse.Namespace) -> int:
    """The tick model: one schedule for the fleet, exact by construction."""
    import os

    from kaizen_agentic.fleet import parse_duration

    tick = parse_duration(args.tick)
    window = parse_duration(args.window) if args.window else tick
    if args.format != "temporal":
        raise KaizenError(f"--tick with --format {args.format} is not supported yet")
    if args.repo or args.scan:
        raise KaizenError(
            "--tick exports a fleet schedule: give the roster every host reads (--hub or --roster)"
        )
    hub = args.hub or (None if args.roster else os.environ.get("KAIZEN_HUB_URL"))
    if not (hub or args.roster):
        raise KaizenError("--tick needs a roster: --hub URL (or KAIZEN_HUB_URL) or --roster FILE")
    item = temporal_tick(
        tick=tick,
        window=window,
        hub_url=hub,
        roster_file=os.path.abspath(args.roster) if args.roster else None,
        domain=args.domain,
        agent=args.agent,
        task_queue=args.task_queue,
        out_dir=args.bundle_dir,
    )
    sys.stdout.write(output.to_json({"schedules": [item]}))
    return 0
