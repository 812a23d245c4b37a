"""The command behind each verb, imported only when that verb runs (start-up stays small).

``main`` maps every verb to one of these functions; a reader and a type checker can follow each
to the module that does the work. (Named ``run_<module>``: importing a submodule sets the
package attribute of its own name, which must not be one of these functions.)
"""

from __future__ import annotations

import argparse


def run_schedule_init(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_init import run

    return run(args)


def run_schedule_validate(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_validate import run

    return run(args)


def run_schedule_list(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_list import run

    return run(args)


def run_schedule_schema(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_schema import run

    return run(args)


def run_schedule_prepare(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_prepare import run

    return run(args)


def run_schedule_discover(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_discover import run

    return run(args)


def run_schedule_export(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_export import run

    return run(args)


def run_schedule_calendar(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_calendar import run

    return run(args)


def run_schedule_register(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_register import run

    return run(args)


def run_schedule_complete(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.schedule_complete import run

    return run(args)


def run_agents_list(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.agents import run_list

    return run_list(args)


def run_agents_show(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.agents import run_show

    return run_show(args)


def run_memory_show(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.memory import run_show

    return run_show(args)


def run_memory_add(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.memory import run_add

    return run_add(args)


def run_metrics_record(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.metrics import run_record

    return run_record(args)


def run_metrics_show(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.metrics import run_show

    return run_show(args)


def run_metrics_report(args: argparse.Namespace) -> int:
    from kaizen_agentic.commands.metrics_report import run

    return run(args)


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
