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
)


def targets(args: argparse.Namespace, at: Any) -> list[tuple[Target, Any]]:
    """(target, paused_until) for every enabled agent: of one repo, or of a roster's repos."""
    if args.repo is not None:
        if args.hub or args.roster or args.scan:
            raise KaizenError("give --repo or a roster (--hub, --roster, --scan), not both")
        from kaizen_agentic.repo import find_root
        from kaizen_agentic.schedule import load_repo_manifest

        root = find_root(args.repo)
        manifest = load_repo_manifest(str(root))
        repos = [(manifest.repo, str(root), manifest)]
    else:
        from kaizen_agentic.commands.fleet_source import discover

        found = discover(args, at)
        repos = [
            (r.slug, r.path or "", r.manifest)
            for r in found.repos
            if r.state in ("enrolled", "paused") and r.manifest is not None
        ]
    out = []
    for slug, path, manifest in repos:
        for entry in manifest.agents:
            if entry.enabled and (args.agent is None or entry.agent == args.agent):
                out.append((Target(slug, path, entry.agent, entry.cadence), entry.paused_until))
    return out


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    at = parse_at(args.at)
    out_dir = args.bundle_dir or default_out_dir()
    chosen = targets(args, at)
    if args.format == "temporal":
        schedules = []
        for target, paused in chosen:
            item = temporal(target, start=at, command=prepare_command(target, out_dir))
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
