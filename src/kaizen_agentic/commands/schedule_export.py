"""``kaizen-agentic schedule export``: the fleet's schedule for Temporal, Kubernetes or cron."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.commands.options import parse_at
from kaizen_agentic.errors import KaizenError, UsageError
from kaizen_agentic.export import Target


def targets(args: argparse.Namespace, at: datetime) -> list[tuple[Target, datetime | None]]:
    """Every enabled agent, of one repo or of a roster's enrolled and paused repos, with the
    instant its pause ends when it is paused at ``at``."""
    if args.repo is not None:
        if args.hub or args.roster or args.scan:
            raise UsageError("give --repo or a roster (--hub, --roster, --scan), not both")
        from kaizen_agentic.repo import find_root
        from kaizen_agentic.roster import this_host
        from kaizen_agentic.schedule import load_repo_manifest

        root = find_root(args.repo)
        manifest = load_repo_manifest(str(root))
        host = args.hostname or this_host()
        repos = [(manifest.repo, str(root), manifest)]
    else:
        from kaizen_agentic.commands.options import discover

        found = discover(args, at)
        host = found.hostname
        repos = [
            (r.slug, r.path or "", r.manifest)
            for r in found.repos
            if r.state in ("enrolled", "paused") and r.manifest is not None
        ]
    return [
        (
            Target(slug, path, entry.agent, entry.cadence, host),
            entry.resumes_at() if entry.state(at) == "paused" else None,
        )
        for slug, path, manifest in repos
        for entry in manifest.agents
        if entry.enabled and (args.agent is None or entry.agent == args.agent)
    ]


def run(args: argparse.Namespace) -> int:
    at = parse_at(args.at)
    if args.window and not args.tick:
        raise UsageError("--window goes with --tick")
    if args.format == "temporal":
        return _temporal(args, at)
    deploy = _deploy(args)
    sys.stdout.write(_cron_ticks(args, deploy) if args.tick else _cron_agents(args, at, deploy))
    return 0


def _temporal(args: argparse.Namespace, at: datetime) -> int:
    from kaizen_agentic.export_temporal import temporal, temporal_tick
    from kaizen_agentic.fleet import parse_duration

    if args.tick:
        tick = parse_duration(args.tick)
        hub, roster = _shared_roster(args)
        item = temporal_tick(
            tick=tick,
            window=parse_duration(args.window) if args.window else tick,
            hub_url=hub,
            roster_file=roster,
            domain=args.domain,
            agent=args.agent,
            task_queue=args.task_queue,
            out_dir=args.bundle_dir,
        )
        sys.stdout.write(output.to_json({"schedules": [item]}))
        return 0
    schedules = []
    for target, resume in targets(args, at):
        item = temporal(target, start=at, task_queue=args.task_queue, out_dir=args.bundle_dir)
        if resume is not None:  # a calendar cannot say "not yet"
            item["spec"]["start_at"] = output.rfc3339(resume)
        schedules.append(item)
    if not schedules:
        sys.stderr.write("note: no enabled agents to export\n")
    sys.stdout.write(output.to_json({"schedules": schedules}))
    return 0


def _shared_roster(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The roster every host reads: the hub, or a roster file by its absolute path."""
    if args.repo:
        raise UsageError("--tick exports a fleet schedule: give a roster (--hub or --roster)")
    hub = args.hub or (None if (args.roster or args.scan) else os.environ.get("KAIZEN_HUB_URL"))
    if args.scan:
        raise UsageError(
            "--tick needs the roster every host reads (--hub or --roster); --scan is this host's"
        )
    if not (hub or args.roster):
        raise UsageError("--tick needs a roster: --hub URL (or KAIZEN_HUB_URL) or --roster FILE")
    return hub, os.path.abspath(args.roster) if args.roster else None


def _deploy(args: argparse.Namespace) -> Any:
    import shutil

    from kaizen_agentic.export_cron import Deploy

    if not args.bundle_dir:
        raise UsageError(
            f"--format {args.format} needs --bundle-dir DIR: the absolute bundle folder on the "
            "runner host (an exporting user's home is not the runner's)"
        )
    if not os.path.isabs(args.bundle_dir):
        raise UsageError(f"--bundle-dir must be absolute, got {args.bundle_dir!r}")
    if args.format == "crontab":
        binary = args.bin or shutil.which("kaizen-agentic") or os.path.abspath(sys.argv[0])
        if not os.path.isabs(binary):
            raise UsageError(f"--bin must be absolute, got {binary!r}")
    else:
        binary = args.bin or "kaizen-agentic"
    hub = args.hub or (None if (args.roster or args.scan) else os.environ.get("KAIZEN_HUB_URL"))
    return Deploy(
        os.path.normpath(args.bundle_dir),
        binary,
        os.path.abspath(args.roster) if args.roster else None,
        hub,
        args.domain,
        args.agent,
    )


def _pod(args: argparse.Namespace) -> Any:
    from kaizen_agentic.export_cron import Pod

    image = args.image or os.environ.get("KAIZEN_IMAGE")
    if not image:
        raise UsageError(
            "--format k8s-cronjob needs --image (or KAIZEN_IMAGE): an image with Python 3.11+, "
            "git and kaizen-agentic installed; see docs/reference/export.md"
        )
    if args.uid < 1:
        raise UsageError(f"--uid must be a non-root user id (1 or more), got {args.uid}")
    return Pod(image, args.checkout_claim, args.bundle_claim, args.uid)


def _dump(docs: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False) if docs else ""


def _cron_agents(args: argparse.Namespace, at: datetime, deploy: Any) -> str:
    from kaizen_agentic.export_cron import crontab_line, k8s_cronjob

    chosen = [target for target, _ in targets(args, at)]  # --if-due waits out a pause
    if not chosen:
        sys.stderr.write("note: no enabled agents to export\n")
    if args.format == "k8s-cronjob":
        pod = _pod(args)
        return _dump([k8s_cronjob(t, start=at, pod=pod, deploy=deploy) for t in chosen])
    return "\n".join(crontab_line(t, start=at, deploy=deploy) for t in chosen)


def _cron_ticks(args: argparse.Namespace, deploy: Any) -> str:
    """Per runner host: one tick CronJob or crontab line."""
    from kaizen_agentic.export_cron import crontab_tick, k8s_tick
    from kaizen_agentic.fleet import parse_duration

    tick = parse_duration(args.tick)
    window = parse_duration(args.window) if args.window else max(tick, timedelta(hours=1))
    _shared_roster(args)
    hosts = _hosts(args, deploy)
    if args.format == "k8s-cronjob":
        pod = _pod(args)
        docs = [
            k8s_tick(host, paths, pod=pod, deploy=deploy, tick=tick, window=window)
            for host, paths in hosts.items()
        ]
        return _dump(docs)
    return "\n".join(crontab_tick(h, deploy=deploy, tick=tick, window=window) for h in hosts)


def _hosts(args: argparse.Namespace, deploy: Any) -> dict[str, list[str]]:
    """Runner hosts named in the roster (or --hostname alone), with their checkout paths."""
    from kaizen_agentic import roster

    if deploy.roster_file:
        found = roster.load_roster_file(deploy.roster_file)
    else:
        found = roster.from_hub(deploy.hub_url, os.environ.get("KAIZEN_HUB_TOKEN"), args.domain)
    hosts: dict[str, list[str]] = {}
    for record in found.records:
        if args.domain and record.domain not in (None, args.domain):
            continue
        for host, path in record.host_paths.items():
            if args.hostname in (None, host):
                hosts.setdefault(host, []).append(path)
    if not hosts:
        where = f" for --hostname {args.hostname}" if args.hostname else ""
        raise KaizenError(f"the roster names no runner host{where}: nothing to export")
    return {h: sorted(set(p)) for h, p in sorted(hosts.items())}
