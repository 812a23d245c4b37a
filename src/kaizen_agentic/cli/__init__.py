"""The command line's parsers: every group, command and option, and the help they print.

``build_parser`` assembles the groups (``cli.schedule`` for the schedule verbs, ``cli.groups``
for agents, memory, metrics and redact); each command's ``func`` default is its entry in the
verb table (``kaizen_agentic.commands``). ``main`` parses with it and maps errors to exit codes.
"""

from __future__ import annotations

import argparse

from kaizen_agentic import __version__
from kaizen_agentic.cli.common import PROG, Formatter, examples

__all__ = ["PROG", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every group, command and option."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Declare, validate, preview and prepare scheduled kaizen agent runs\n"
            "across a fleet of git repositories."
        ),
        formatter_class=Formatter,
        epilog=examples(
            "kaizen-agentic schedule init",
            "kaizen-agentic schedule validate",
            "kaizen-agentic schedule list",
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    from kaizen_agentic.cli import groups, schedule

    schedule.add(sub)
    groups.add(sub)
    _mark_commands(parser)
    return parser


def _mark_commands(parser: argparse.ArgumentParser) -> None:
    """Let every command know its own parser: a usage error shows that command's usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(_parser=child)  # the innermost command's default wins
                _mark_commands(child)
