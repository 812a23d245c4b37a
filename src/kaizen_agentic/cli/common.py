"""The shape of the command-line table, and what every verb shares.

Each verb is declared once, as data (``Verb``: help, examples, its ``Opt`` rows, the command
that runs it); ``add_verb`` builds its parser from the row and ``call`` runs its command with
the keywords the options feed, so an option is one row and one keyword of the command. The
options several verbs take (``--repo``, the roster source, event delivery, ``--json``) are
rows here."""

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

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


_MISSING_COMMAND = "the following arguments are required: COMMAND"


class Parser(argparse.ArgumentParser):
    """argparse, answering ordinary mistakes as a newcomer needs: an unknown option gets the
    usage of the command it was given to and the option meant; a mistyped command or choice
    gets the one meant; a group named without its command lists its commands.

    Subparsers are made of this class too (argparse builds them with the parent's type)."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # argparse reports a verb's unknown options at the top, with the top's usage.
            command: Parser = getattr(parsed, "_parser", self)
            command.error(f"unrecognized arguments: {' '.join(extras)}{command.meant(extras)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        if message == _MISSING_COMMAND:  # `kaizen-agentic` or `kaizen-agentic schedule` alone
            self.print_help(sys.stderr)
            self.exit(2, f"{self.prog}: error: choose a COMMAND from the list above\n")
        super().error(_choice_meant(message))

    def meant(self, extras: Sequence[str]) -> str:
        """``; did you mean --format?`` for the first unknown option close to one of ours."""
        flags = [f for a in self._actions for f in a.option_strings if f.startswith("--")]
        for extra in extras:
            if extra.startswith("--"):
                close = _closest(extra.partition("=")[0], flags)
                if close:
                    return f"; did you mean {close}?"
        return f"; see {self.prog} --help"


def _closest(word: str, options: Sequence[str]) -> str | None:
    import difflib  # only when there is a mistake to explain

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return close[0] if close else None


def _choice_meant(message: str) -> str:
    """argparse's "invalid choice" message, in one form whatever Python's version quotes, with
    ``; did you mean 'validate'?``; any other message as it is."""
    import re

    match = re.search(r"^(.*)invalid choice: '([^']*)' \(choose from (.*)\)$", message)
    if match is None:
        return message
    head, value, listed = match.groups()
    choices = [c.strip().strip("'") for c in listed.split(",")]
    close = _closest(value, choices)
    meant = f"; did you mean '{close}'?" if close else ""
    return f"{head}invalid choice: '{value}' (choose from {', '.join(choices)}){meant}"


def examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


class Opt(NamedTuple):
    """One option of a verb, declared once: its flags, the command keyword it feeds, and what
    argparse needs beside them. ``pack`` names a keyword that gathers several options into one
    value (``source``: the roster options, a ``commands.options.Source``)."""

    flags: tuple[str, ...]
    keyword: str
    settings: dict[str, Any]
    group: str | None = None  # an argument group's title in --help
    exclusive: str | None = None  # options sharing this name exclude each other
    pack: str | None = None

    @property
    def dest(self) -> str:
        return f"{self.pack}.{self.keyword}" if self.pack else self.keyword


def opt(
    *flags: str,
    keyword: str | None = None,
    group: str | None = None,
    exclusive: str | None = None,
    pack: str | None = None,
    **settings: Any,
) -> Opt:
    """An option; its keyword defaults to the long flag's name (``--if-due`` feeds ``if_due``)."""
    name = keyword or flags[0].lstrip("-").replace("-", "_")
    return Opt(flags, name, settings, group, exclusive, pack)


class Verb(NamedTuple):
    """A command: its help, its examples, its options, and the function that runs it
    (``module`` or ``module:function`` under ``kaizen_agentic.commands``; default ``run``)."""

    name: str
    help: str
    description: str
    examples: tuple[str, ...]
    options: tuple[Opt, ...]
    command: str


class Group(NamedTuple):
    """A command group (``schedule``, ``agents``, ...) and its verbs."""

    name: str
    help: str
    description: str
    examples: tuple[str, ...]
    verbs: tuple[Verb, ...]


def verb(
    name: str, help_: str, description: str, examples_: Sequence[str], command_: str, *options: Opt
) -> Verb:
    return Verb(name, help_, description, tuple(examples_), options, command_)


#: The keywords that gather options into one value, and the type that holds them.
PACKS: dict[str, str] = {"source": "kaizen_agentic.commands.options:Source"}

REPO = opt(
    "--repo",
    metavar="PATH",
    default=".",
    help="the repository (default: the git work tree holding the current directory)",
)

#: ``--repo`` of the commands that take one repository or a roster.
ONE_REPO = opt(
    "--repo",
    metavar="PATH",
    help="one repository instead of a roster (default, when no roster is named: the git "
    "work tree holding the current directory)",
)

_ROSTER, _FILTERS = "roster (one of)", "filters"

#: ``--hub``, ``--roster``, ``--scan`` and the filters: where a fleet command finds its repos.
SOURCE: tuple[Opt, ...] = (
    opt(
        "--hub",
        metavar="URL",
        group=_ROSTER,
        pack="source",
        help="state hub base URL (default: $KAIZEN_HUB_URL); bearer token from $KAIZEN_HUB_TOKEN",
    ),
    opt(
        "--roster",
        metavar="FILE",
        group=_ROSTER,
        pack="source",
        help="a roster file (YAML or JSON)",
    ),
    opt("--scan", metavar="DIR", group=_ROSTER, pack="source", help="the git work trees below DIR"),
    opt(
        "--hostname",
        metavar="NAME",
        group=_FILTERS,
        pack="source",
        help="use this host's paths (default: this host)",
    ),
    opt(
        "--domain", metavar="NAME", group=_FILTERS, pack="source", help="only repos of this domain"
    ),
    opt("--agent", metavar="NAME", group=_FILTERS, pack="source", help="only this agent"),
    opt(
        "--root",
        metavar="DIR",
        group=_FILTERS,
        pack="source",
        help="host paths must stay under DIR",
    ),
)

#: Where a command's event goes.
DELIVERY: tuple[Opt, ...] = (
    opt("--json", keyword="as_json", action="store_true", help="print the event as JSON"),
    opt("--outbox", metavar="FILE", help="append the event to a JSON-lines file"),
    opt("--sink", metavar="URL", help="POST the event (CloudEvents HTTP)"),
)

JSON = opt("--json", keyword="as_json", action="store_true", help="machine-readable output")


def command(sub: Any, name: str, help_: str, description: str, *lines: str) -> Any:
    """A command's (or a group's) parser, its help and description, and its examples."""
    return sub.add_parser(
        name,
        help=help_,
        description=description,
        formatter_class=Formatter,
        epilog=examples(*lines),
    )


def add_group(sub: Any, group: Group) -> None:
    """A command group's parser and every verb of it."""
    parser = command(sub, group.name, group.help, group.description, *group.examples)
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for row in group.verbs:
        add_verb(verbs, row)


def add_verb(sub: Any, verb_: Verb) -> argparse.ArgumentParser:
    """The parser of one verb, from its row: groups and exclusive groups in first-use order."""
    parser: argparse.ArgumentParser = command(
        sub, verb_.name, verb_.help, verb_.description, *verb_.examples
    )
    groups: dict[str, Any] = {}
    for option in verb_.options:
        target: Any = parser
        if option.exclusive:
            target = groups.get("!" + option.exclusive)
            if target is None:
                target = groups["!" + option.exclusive] = parser.add_mutually_exclusive_group()
        elif option.group:
            target = groups.get(option.group)
            if target is None:
                target = groups[option.group] = parser.add_argument_group(option.group)
        if option.flags[0].startswith("-"):
            target.add_argument(*option.flags, dest=option.dest, **option.settings)
        else:  # a positional's name is its dest
            target.add_argument(option.keyword, **option.settings)
    parser.set_defaults(_verb=verb_)
    return parser


def _load(spec: str) -> Any:
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def call(verb_: Verb, args: argparse.Namespace) -> int:
    """Run ``verb_``'s command with the keywords its options feed (the one unpacking)."""
    keywords: dict[str, Any] = {}
    packed: dict[str, dict[str, Any]] = {}
    for option in verb_.options:
        value = getattr(args, option.dest)
        if option.pack:
            packed.setdefault(option.pack, {})[option.keyword] = value
        else:
            keywords[option.keyword] = value
    for name, fields in packed.items():
        keywords[name] = _load(PACKS[name])(**fields)
    module, _, function = verb_.command.partition(":")
    code: int = _load(f"kaizen_agentic.commands.{module}:{function or 'run'}")(**keywords)
    return code


def whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected 1 to 1000, got {value}")
    return value
