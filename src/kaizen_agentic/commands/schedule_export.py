"""``kaizen-agentic schedule export``: the fleet's schedule for Temporal, Kubernetes or cron."""

import os
import sys
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from kaizen_agentic import names, output
from kaizen_agentic.commands.options import Source, parse_at
from kaizen_agentic.errors import KaizenError, UsageError
from kaizen_agentic.export.common import Target


class Options(NamedTuple):
    """What ``schedule export`` was asked for."""

    repo: str | None
    source: Source
    format: str | None
    tick: str | None
    window: str | None
    bundle_dir: str | None
    bin: str | None
    task_queue: str
    host_wait: str | None
    catch_up: str | None
    image: str | None
    checkout_claim: str | None
    bundle_claim: str | None
    uid: int


def targets(opts: Options, at: datetime) -> list[tuple[Target, datetime | None]]:
    """Every enabled agent, of one repo or of a roster's enrolled and paused repos, with the
    instant its pause ends when it is paused at ``at``."""
    from kaizen_agentic.commands.options import default_repo

    opts = opts._replace(repo=default_repo(opts.repo, opts.source))
    if opts.repo is not None:
        if opts.source.hub or opts.source.roster or opts.source.scan:
            raise UsageError("give --repo or a roster (--hub, --roster, --scan), not both")
        from kaizen_agentic.agents import load_repo_manifest
        from kaizen_agentic.fleet.roster import this_host
        from kaizen_agentic.repo import find_root

        root = find_root(opts.repo)
        manifest = load_repo_manifest(str(root))
        host = opts.source.hostname or this_host()
        repos = [(manifest.repo, str(root), manifest)]
    else:
        from kaizen_agentic.commands.options import discover

        found = discover(opts.source, at)
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
        if entry.enabled and (opts.source.agent is None or entry.agent == opts.source.agent)
    ]


def run(
    *,
    repo: str | None,
    source: Source,
    output_format: str | None,
    at: str | None,
    tick: str | None,
    window: str | None,
    bundle_dir: str | None,
    bin: str | None,
    task_queue: str,
    host_wait: str | None,
    catch_up: str | None,
    image: str | None,
    checkout_claim: str | None,
    bundle_claim: str | None,
    uid: int,
) -> int:
    opts = Options(repo, source, output_format, tick, window, bundle_dir, bin, task_queue,
                   host_wait, catch_up, image, checkout_claim, bundle_claim, uid)  # fmt: skip
    when = parse_at(at)
    if opts.window and not opts.tick:
        raise UsageError("--window goes with --tick")
    _check(opts)
    for flag, value in (("--host-wait", host_wait), ("--catch-up", catch_up)):
        if value and not (opts.tick and opts.format == "temporal"):
            raise UsageError(f"{flag} goes with --format temporal --tick")
    if opts.format == "temporal":
        return _temporal(opts, when)
    deploy = _deploy(opts)
    sys.stdout.write(_cron_ticks(opts, deploy) if opts.tick else _cron_agents(opts, when, deploy))
    return 0


def _check(opts: Options) -> None:
    """Every option the format needs and was not given, at once; durations that do not parse."""
    from kaizen_agentic.fleet.due import parse_duration

    if opts.tick:
        parse_duration(opts.tick, "--tick")
    if opts.window:
        parse_duration(opts.window, "--window")
    missing = []
    if opts.format in ("crontab", "k8s-cronjob") and not opts.bundle_dir:
        missing.append(
            "--bundle-dir DIR: the absolute bundle folder on the runner host (an exporting "
            "user's home is not the runner's)"
        )
    if opts.format == "k8s-cronjob" and not (opts.image or os.environ.get("KAIZEN_IMAGE")):
        missing.append(
            "--image IMAGE (or KAIZEN_IMAGE): an image with Python 3.11+, git and "
            "kaizen-agentic installed; see docs/reference/export.md"
        )
    if missing:
        raise UsageError(f"--format {opts.format} needs " + "; and ".join(missing))


def _temporal(opts: Options, at: datetime) -> int:
    from kaizen_agentic.export.temporal import temporal, temporal_tick
    from kaizen_agentic.fleet.due import parse_duration

    if opts.tick:
        tick = parse_duration(opts.tick, "--tick")
        hub, roster = _shared_roster(opts)
        item = temporal_tick(
            root=_tick_root(opts),
            tick=tick,
            window=parse_duration(opts.window, "--window") if opts.window else tick,
            hub_url=hub,
            roster_file=roster,
            domain=opts.source.domain,
            agent=opts.source.agent,
            task_queue=opts.task_queue,
            out_dir=opts.bundle_dir,
            host_wait=parse_duration(opts.host_wait) if opts.host_wait else None,
            catchup=parse_duration(opts.catch_up) if opts.catch_up else None,
        )
        sys.stdout.write(output.to_json({"schedules": [item]}))
        return 0
    schedules = []
    for target, resume in targets(opts, at):
        item = temporal(target, start=at, task_queue=opts.task_queue, out_dir=opts.bundle_dir)
        if resume is not None:  # a calendar cannot say "not yet"
            item["spec"]["start_at"] = output.rfc3339(resume)
        schedules.append(item)
    if not schedules:
        sys.stderr.write("note: no enabled agents to export\n")
    sys.stdout.write(output.to_json({"schedules": schedules}))
    return 0


def _shared_roster(opts: Options) -> tuple[str | None, str | None]:
    """The roster every host reads: the hub, or a roster file by its absolute path."""
    if opts.repo:
        raise UsageError("--tick exports a fleet schedule: give a roster (--hub or --roster)")
    hub = opts.source.hub or (
        None if (opts.source.roster or opts.source.scan) else os.environ.get("KAIZEN_HUB_URL")
    )
    if opts.source.scan:
        raise UsageError(
            "--tick needs the roster every host reads (--hub or --roster); --scan is this host's"
        )
    if not (hub or opts.source.roster):
        raise UsageError("--tick needs a roster: --hub URL (or KAIZEN_HUB_URL) or --roster FILE")
    return hub, os.path.abspath(opts.source.roster) if opts.source.roster else None


def _deploy(opts: Options) -> Any:
    import shutil

    from kaizen_agentic.export.cron import Deploy

    assert opts.bundle_dir is not None  # _check asked for it
    if not os.path.isabs(opts.bundle_dir):
        raise UsageError(f"--bundle-dir must be absolute, got {opts.bundle_dir!r}")
    if opts.format == "crontab":
        binary = opts.bin or shutil.which("kaizen-agentic") or os.path.abspath(sys.argv[0])
        if not os.path.isabs(binary):
            raise UsageError(f"--bin must be absolute, got {binary!r}")
    else:
        binary = opts.bin or "kaizen-agentic"
    hub = opts.source.hub or (
        None if (opts.source.roster or opts.source.scan) else os.environ.get("KAIZEN_HUB_URL")
    )
    if opts.source.hostname is not None:
        why = names.host_problem(opts.source.hostname)
        if why:
            raise UsageError(f"--hostname {opts.source.hostname!r} {why}")
    deploy = Deploy(
        names.normal_path(opts.bundle_dir),
        binary,
        os.path.abspath(opts.source.roster) if opts.source.roster else None,
        hub,
        opts.source.domain,
        opts.source.agent,
        _tick_root(opts),
    )
    from kaizen_agentic.export.cron import embeddable, mount_problem

    try:
        embeddable([v for v in deploy if isinstance(v, str)], f"a {opts.format} export")
    except KaizenError as exc:
        raise UsageError(str(exc)) from None
    if opts.format == "k8s-cronjob" and not opts.bundle_claim:
        why = mount_problem(deploy.bundle_dir)
        if why:
            raise UsageError(f"--bundle-dir {deploy.bundle_dir} {why}; it cannot be mounted")
    return deploy


def _tick_root(opts: Options) -> str | None:
    """``--root`` for the tick command: absolute, since the tick runs on the runner host (a
    path relative to here means nothing there)."""
    root = opts.source.root
    if root is None or not opts.tick:
        return None
    why = names.path_problem(root)
    if why:
        raise UsageError(f"--root {root!r} {why}; the tick needs the runner host's folder")
    return names.normal_path(root)


def _pod(opts: Options) -> Any:
    from kaizen_agentic.export.cron import Pod

    image = opts.image or os.environ.get("KAIZEN_IMAGE")
    assert image  # _check asked for it
    if opts.uid < 1:
        raise UsageError(f"--uid must be a non-root user id (1 or more), got {opts.uid}")
    return Pod(image, opts.checkout_claim, opts.bundle_claim, opts.uid)


def _dump(docs: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False) if docs else ""


def _cron_agents(opts: Options, at: datetime, deploy: Any) -> str:
    from kaizen_agentic.export.cron import crontab_line, k8s_cronjob

    chosen = [target for target, _ in targets(opts, at)]  # --if-due waits out a pause
    if opts.format == "k8s-cronjob":
        chosen = [t for t in chosen if _mountable(t.slug, t.host, t.path)]
    if not chosen:
        sys.stderr.write("note: no enabled agents to export\n")
    if opts.format == "k8s-cronjob":
        pod = _pod(opts)
        return _dump([k8s_cronjob(t, start=at, pod=pod, deploy=deploy) for t in chosen])
    return "\n".join(crontab_line(t, start=at, deploy=deploy) for t in chosen)


def _cron_ticks(opts: Options, deploy: Any) -> str:
    """Per runner host: one tick CronJob or crontab line."""
    from kaizen_agentic.export.cron import crontab_tick, k8s_tick
    from kaizen_agentic.fleet.due import parse_duration

    tick = parse_duration(opts.tick or "", "--tick")
    window = (
        parse_duration(opts.window, "--window") if opts.window else max(tick, timedelta(hours=1))
    )
    _shared_roster(opts)
    hosts = _hosts(opts, deploy)
    if opts.format == "k8s-cronjob":
        pod = _pod(opts)
        docs = [
            k8s_tick(host, paths, pod=pod, deploy=deploy, tick=tick, window=window)
            for host, paths in hosts.items()
        ]
        return _dump(docs)
    return "\n".join(crontab_tick(h, deploy=deploy, tick=tick, window=window) for h in hosts)


def _hosts(opts: Options, deploy: Any) -> dict[str, list[str]]:
    """Runner hosts named in the roster (or --hostname alone), with their checkout paths, each
    checked as discovery checks it (absolute, no '..', no control character, under --root) and
    mountable; a path that is not is left out with a note, as a malformed record is."""
    from kaizen_agentic.fleet import roster

    if deploy.roster_file:
        found = roster.load_roster_file(deploy.roster_file)
    else:
        found = roster.from_hub(
            deploy.hub_url, os.environ.get("KAIZEN_HUB_TOKEN"), opts.source.domain
        )
    for problem in found.problems:
        sys.stderr.write(f"note: {problem}; record left out\n")
    hosts: dict[str, list[str]] = {}
    for record in found.records:
        if opts.source.domain and record.domain not in (None, opts.source.domain):
            continue
        for host, raw in record.host_paths.items():
            if opts.source.hostname not in (None, host):
                continue
            paths = hosts.setdefault(host, [])
            path, why = roster.canonical_path(raw, deploy.root)
            if path is None:
                sys.stderr.write(f"note: {record.slug} on {host}: {why}; the tick will skip it\n")
            elif opts.format != "k8s-cronjob" or _mountable(record.slug, host, path):
                paths.append(path)
    if not hosts:
        where = f" for --hostname {opts.source.hostname}" if opts.source.hostname else ""
        raise KaizenError(f"the roster names no runner host{where}: nothing to export")
    return {h: sorted(set(p)) for h, p in sorted(hosts.items())}


def _mountable(slug: str, host: str, path: str) -> bool:
    """Whether a pod may mount the checkout ``path``; a note when it may not."""
    from kaizen_agentic.export.cron import mount_problem

    why = mount_problem(path)
    if why:
        sys.stderr.write(f"note: {slug} on {host}: host path {path} {why}; not mounted\n")
    return why is None
