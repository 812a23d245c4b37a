"""What every command's parser shares: the help formatter, the examples epilog, and the
options several commands take (``--repo``, the roster source, event delivery)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

PROG = "kaizen-agentic"


def _width() -> int:
    # argparse would import shutil (~4 ms) just for this; os has what it needs.
    import os

    try:
        return int(os.environ["COLUMNS"]) - 2
    except (KeyError, ValueError):
        pass
    try:
        return max(os.get_terminal_size(sys.stdout.fileno()).columns - 2, 40)
    except (OSError, ValueError, AttributeError):
        return 78


class Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=_width())


def examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        metavar="PATH",
        default=".",
        help="the repository (default: the git work tree holding the current directory)",
    )


def command(sub: Any, name: str, help_: str, description: str, *lines: str) -> Any:
    """A command's parser, its help and description, and its examples as the epilog."""
    return sub.add_parser(
        name,
        help=help_,
        description=description,
        formatter_class=Formatter,
        epilog=examples(*lines),
    )


def add_source(parser: argparse.ArgumentParser, agent_dest: str = "agent") -> None:
    group = parser.add_argument_group("roster (one of)")
    group.add_argument(
        "--hub",
        metavar="URL",
        help="state hub base URL (default: $KAIZEN_HUB_URL); bearer token from $KAIZEN_HUB_TOKEN",
    )
    group.add_argument("--roster", metavar="FILE", help="a roster file (YAML or JSON)")
    group.add_argument("--scan", metavar="DIR", help="the git work trees below DIR")
    filters = parser.add_argument_group("filters")
    filters.add_argument(
        "--hostname", metavar="NAME", help="use this host's paths (default: this host)"
    )
    filters.add_argument("--domain", metavar="NAME", help="only repos of this domain")
    filters.add_argument("--agent", dest=agent_dest, metavar="NAME", help="only this agent")
    filters.add_argument("--root", metavar="DIR", help="host paths must stay under DIR")


def add_delivery(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the event as JSON")
    parser.add_argument("--outbox", metavar="FILE", help="append the event to a JSON-lines file")
    parser.add_argument("--sink", metavar="URL", help="POST the event (CloudEvents HTTP)")


def whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected 1 to 1000, got {value}")
    return value
