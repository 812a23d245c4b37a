"""``kaizen-agentic agents list | show NAME``: the agent catalog a repository sees."""

from __future__ import annotations

import sys

from kaizen_agentic import output
from kaizen_agentic.agents import AgentDefinition, list_definitions, load_definition


def _root(repo: str | None) -> str:
    from kaizen_agentic.repo import find_root

    return str(find_root(repo)) if repo is not None else str(find_root("."))


def _as_dict(d: AgentDefinition) -> dict[str, object]:
    return {
        "name": d.name,
        "version": d.version,
        "description": d.description,
        "reads": list(d.reads),
        "returns": d.returns,
        "source": d.source,
        "digest": d.digest,
    }


def run_list(*, repo: str | None, as_json: bool) -> int:
    definitions = list_definitions(_root(repo))
    if as_json:
        sys.stdout.write(output.to_json({"agents": [_as_dict(d) for d in definitions]}))
        return 0
    rows = [
        [
            d.name,
            str(d.version),
            "built in" if d.source == "builtin" else "repository",
            d.description,
        ]
        for d in definitions
    ]
    sys.stdout.write(output.table(rows, ["AGENT", "VERSION", "SOURCE", "DESCRIPTION"]))
    return 0


def run_show(*, name: str, repo: str | None, as_json: bool) -> int:
    definition = load_definition(name, _root(repo))
    if as_json:
        sys.stdout.write(output.to_json({**_as_dict(definition), "prompt": definition.prompt}))
        return 0
    source = "built in" if definition.source == "builtin" else definition.source
    sys.stdout.write(
        f"# {definition.name} (version {definition.version}, {source})\n"
        f"# {definition.description}\n"
        f"# reads: {', '.join(definition.reads)}\n"
        f"# returns: {definition.returns}\n\n"
        f"{definition.prompt}"
    )
    return 0
