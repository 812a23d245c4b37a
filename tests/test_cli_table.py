"""The parser table and the commands agree: every option a verb declares is a keyword of its
command, and every keyword of the command is declared (so an option is one row, used once)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from kaizen_agentic.cli import table
from kaizen_agentic.cli.common import PACKS, Group, Verb


def verbs() -> list[tuple[str, Verb]]:
    found: list[tuple[str, Verb]] = []
    for row in table():
        if isinstance(row, Group):
            found += [(f"{row.name} {v.name}", v) for v in row.verbs]
        else:
            found.append((row.name, row))
    return found


def target(spec: str) -> object:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


VERBS = verbs()


@pytest.mark.parametrize(("name", "row"), VERBS, ids=[n for n, _ in VERBS])
def test_each_verbs_options_are_its_commands_keywords(name: str, row: Verb) -> None:
    module, _, function = row.command.partition(":")
    command = target(f"kaizen_agentic.commands.{module}:{function or 'run'}")
    parameters = inspect.signature(command).parameters  # type: ignore[arg-type]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values()), name
    declared = {o.pack or o.keyword for o in row.options}
    assert declared == set(parameters), name


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_packed_options_fill_their_type_exactly(pack: str) -> None:
    fields = set(target(PACKS[pack])._fields)  # type: ignore[attr-defined]
    for name, row in VERBS:
        packed = {o.keyword for o in row.options if o.pack == pack}
        assert packed in (set(), fields), name


def test_the_table_covers_every_command_module() -> None:
    folder = Path(importlib.import_module("kaizen_agentic.commands").__file__ or "").parent
    modules = {row.command.partition(":")[0] for _, row in VERBS}
    helpers = {"__init__", "options", "schedule_prepare_due"}  # used by the commands, not verbs
    assert {p.stem for p in folder.glob("*.py")} - modules == helpers


def test_only_an_alias_shares_an_option_dest() -> None:
    for name, row in VERBS:
        dests = [o.dest for o in row.options if o.settings.get("action") != "store_const"]
        assert len(dests) == len(set(dests)), name


def outcome(argv: list[str], whole: bool, capsys: pytest.CaptureFixture[str]) -> tuple:
    from kaizen_agentic.cli import build_parser

    parser = build_parser(None if whole else argv)
    try:
        parsed = vars(parser.parse_args(argv))
        command = parsed.pop("_parser")
        code: object = (0, command.prog, command.format_usage(), command.format_help())
    except SystemExit as exc:
        parsed, code = {}, exc.code
    out, err = capsys.readouterr()
    return code, parsed, out, err


LINES = [
    ["--version"],
    ["--help"],
    [],
    ["schedule"],
    ["schedule", "valdate"],
    ["schedule", "--help"],
    ["--bogus", "schedule", "validate"],
    ["nosuch", "validate"],
    ["--vers"],
    ["--version", "schedule", "validate"],
    ["-h", "schedule", "validate"],
    ["schedule", "-h", "validate"],
    ["schedule", "validate", "-h", "--bogus"],
    ["--", "schedule", "validate"],
    ["schedule", "--", "validate"],
    ["schedule", "validate", "--", "x"],
    ["schedule", "validate", "--rep", "."],
    ["schedule", "validate", "--repo=."],
    ["redact", "schedule"],
    ["redact", "--rules", "schedule", "validate"],
    ["schedule", "schedule"],
]
for _name, _row in VERBS:
    _path = _name.split()
    LINES += [
        _path,
        [*_path, "--help"],
        [*_path, "--jsn"],
        [*_path, "--json", "x", "y", "z"],
        [*_path, "--repo", "."],
    ]


@pytest.mark.parametrize("argv", LINES, ids=[" ".join(a) or "(nothing)" for a in LINES])
def test_a_command_line_parses_alike_with_only_its_command_built(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``build_parser(argv)`` builds only the command ``argv`` names: what any command line
    prints, exits with or parses to is the same as with the whole table built."""
    assert outcome(argv, False, capsys) == outcome(argv, True, capsys)
