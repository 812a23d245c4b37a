"""The command line as one table: every group, verb and option, and the help they print.

The rows are data (``cli.schedule`` for the schedule verbs, ``cli.groups`` for agents, memory,
metrics and redact; their shape is in ``cli.common``). ``build_parser`` builds argparse from
them, and each verb's parser carries its row (``_verb``), so ``main`` runs the verb's command
with ``run``: the keywords its options feed, nothing else.
"""

from __future__ import annotations

import argparse

from kaizen_agentic import __version__
from kaizen_agentic.cli.common import (
    PROG,
    Formatter,
    Group,
    Parser,
    Verb,
    add_group,
    add_verb,
    examples,
)
from kaizen_agentic.cli.common import call as run

__all__ = ["PROG", "build_parser", "run", "table"]


def table() -> tuple[Group | Verb, ...]:
    """Every group and top-level verb, in the order ``--help`` lists them."""
    from kaizen_agentic.cli.groups import AGENTS, MEMORY, METRICS, REDACT
    from kaizen_agentic.cli.schedule import SCHEDULE

    return (SCHEDULE, AGENTS, MEMORY, METRICS, REDACT)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every group, command and option."""
    parser = Parser(
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
    for row in table():
        if isinstance(row, Group):
            add_group(sub, row)
        else:
            add_verb(sub, row)
    _mark_commands(parser)
    return parser


def _mark_commands(parser: argparse.ArgumentParser) -> None:
    """Let every command know its own parser: a usage error shows that command's usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(_parser=child)  # the innermost command's default wins
                _mark_commands(child)
