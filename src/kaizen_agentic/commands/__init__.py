"""The table from each verb to the command that does it, and the one place options are unpacked.

``main`` maps every verb to one of these functions; each imports its command module only when
that verb runs (start-up stays small) and calls its ``run`` with plain keyword arguments, so the
commands never see argparse and a reader and a type checker can follow every option to where it
is used. (Named ``run_<module>``: importing a submodule sets the package attribute of its own
name, which must not be one of these functions.)
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kaizen_agentic.commands.options import Source


def _source(args: argparse.Namespace, agent: str | None = None) -> Source:
    """The roster options (``--hub``, ``--roster``, ``--scan``) and filters of a fleet command."""
    from kaizen_agentic.commands.options import Source

    return Source(
        hub=args.hub,
        roster=args.roster,
        scan=args.scan,
        hostname=args.hostname,
        domain=args.domain,
        agent=agent if agent is not None else getattr(args, "agent", None),
        root=args.root,
    )


def run_schedule_init(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_init import run

    return run(
        agents=args.agents,
        timezone=args.timezone,
        repo=args.repo,
        force=args.force,
        slug=args.slug,
    )


def run_schedule_validate(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_validate import run

    return run(files=args.files, repo=args.repo, output_format=args.format)


def run_schedule_list(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_list import run

    return run(at=args.at, repo=args.repo, count=args.count, as_json=args.json)


def run_schedule_schema(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_schema import run

    return run(out_file=args.output)


def run_schedule_prepare(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_prepare import run

    return run(
        agent=args.agent,
        repo=args.repo,
        at=args.at,
        out=args.out,
        force=args.force,
        strict_secrets=args.strict_secrets,
        if_due=args.if_due,
        as_json=args.json,
        outbox=args.outbox,
        sink=args.sink,
        due=args.due,
        tick=args.tick,
        window=args.window,
        jobs=args.jobs,
        source=_source(args, agent=args.agent_filter),
    )


def run_schedule_discover(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_discover import run

    return run(source=_source(args), at=args.at, count=args.count, as_json=args.json)


def run_schedule_export(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_export import run

    return run(
        repo=args.repo,
        source=_source(args),
        output_format=args.format,
        at=args.at,
        tick=args.tick,
        window=args.window,
        bundle_dir=args.bundle_dir,
        bin=args.bin,
        task_queue=args.task_queue,
        image=args.image,
        checkout_claim=args.checkout_claim,
        bundle_claim=args.bundle_claim,
        uid=args.uid,
    )


def run_schedule_calendar(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_calendar import run

    return run(
        repo=args.repo,
        source=_source(args),
        start=args.start,
        days=args.days,
        timezone=args.tz,
        threshold=args.threshold,
        html=args.html,
        as_json=args.json,
    )


def run_schedule_register(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_register import run

    return run(hub_url=args.hub, repo=args.repo, slug=args.slug, disable=args.disable)


def run_schedule_complete(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_complete import run

    return run(
        result=args.result,
        bundle=args.bundle,
        at=args.at,
        as_json=args.json,
        outbox=args.outbox,
        sink=args.sink,
    )


def run_agents_list(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.agents import run_list

    return run_list(repo=args.repo, as_json=args.json)


def run_agents_show(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.agents import run_show

    return run_show(name=args.name, repo=args.repo, as_json=args.json)


def run_memory_show(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.memory import run_show

    return run_show(agent=args.agent, repo=args.repo, as_json=args.json)


def run_memory_add(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.memory import run_add

    return run_add(
        agent=args.agent,
        text=args.text,
        file=args.file,
        at=args.at,
        repo=args.repo,
        pin=args.pin,
        bundle=args.bundle,
        commit=args.commit,
    )


def run_metrics_record(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.metrics import run_record

    return run_record(
        agent=args.agent,
        at=args.at,
        outcome=args.outcome,
        duration=args.duration,
        tokens=args.tokens,
        measure=args.measure,
        bundle=args.bundle,
        repo=args.repo,
    )


def run_metrics_show(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.metrics import run_show

    return run_show(agent=args.agent, repo=args.repo, last=args.last, as_json=args.json)


def run_metrics_report(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.metrics_report import run

    return run(
        repo=args.repo,
        source=_source(args),
        since=args.since,
        until=args.until,
        as_json=args.json,
        html=args.html,
        openmetrics=args.openmetrics,
    )


def run_redact(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.redact import run

    return run(
        files=args.files,
        check=args.check,
        in_place=args.in_place,
        as_json=args.json,
        repo=args.repo,
        rules=args.rules,
    )
