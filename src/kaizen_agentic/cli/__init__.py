"""The command line as one table: every group, verb and option, and the help they print.

The rows are data (``cli.schedule`` for the schedule verbs, ``cli.groups`` for agents, memory,
metrics and redact; their shape is in ``cli.common``). ``build_parser`` builds argparse from
them, and each verb's parser carries its row (``_verb``), so ``main`` runs the verb's command
with ``run``: the keywords its options feed, nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line: every group, command and option.

    Given the ``argv`` it will parse, it builds only the command that ``argv`` names, since one
    command line uses one command's parser, and start-up pays for one parser instead of two
    dozen. ``--version`` needs none. Anything else (``--help``, a group alone, a mistyped
    command) gets the whole table, because its message lists the other commands. A test checks
    that both builds give the same output and exit code."""
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
    for row in _named(argv):
        if isinstance(row, Group):
            add_group(sub, row)
        else:
            add_verb(sub, row)
    _mark_commands(parser)
    return parser


def _named(argv: Sequence[str] | None) -> tuple[Group | Verb, ...]:
    """The rows ``argv`` needs: the one group (with the one verb) or top-level verb it names
    exactly, none for ``--version``, else all of them."""
    if argv is None:
        return table()
    if list(argv[:1]) == ["--version"]:
        return ()
    rows = table()
    head = next((row for row in rows if argv and row.name == argv[0]), None)
    if isinstance(head, Verb):
        return (head,)
    if isinstance(head, Group) and len(argv) > 1:
        chosen = tuple(v for v in head.verbs if v.name == argv[1])
        if chosen:
            return (head._replace(verbs=chosen),)
    return rows


def _mark_commands(parser: argparse.ArgumentParser) -> None:
    """Let every command know its own parser: a usage error shows that command's usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(_parser=child)  # the innermost command's default wins
                _mark_commands(child)
