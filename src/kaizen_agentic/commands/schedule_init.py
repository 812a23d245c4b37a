"""``kaizen-agentic schedule init``: a commented, valid starter manifest."""

from __future__ import annotations

import os
import re
import sys

from kaizen_agentic import output
from kaizen_agentic.atomic import write_atomic
from kaizen_agentic.errors import KaizenError, UsageError
from kaizen_agentic.manifest.schedule import (
    check_timezone,
    json_schema,
    manifest_path,
    scaffold,
)
from kaizen_agentic.names import AGENT_NAME_PATTERN, SLUG_PATTERN
from kaizen_agentic.repo import find_root, folder_inside, guess_slug, is_worktree


def run(*, agents: str, timezone: str, repo: str, force: bool, slug: str | None) -> int:
    names = [a.strip() for a in agents.split(",") if a.strip()]
    if not names:
        raise UsageError("--agents needs at least one agent name")
    for name in names:
        if not re.fullmatch(AGENT_NAME_PATTERN, name):
            raise UsageError(f'"{name}" is not a valid agent name (a-z, 0-9, ".", "_", "-")')
    if len(set(names)) != len(names):
        raise UsageError("--agents lists an agent twice")
    zone_problem = check_timezone(timezone)
    if zone_problem:
        raise UsageError(f"--timezone: {zone_problem}")
    root = find_root(repo)
    if not root.is_dir():
        raise KaizenError(f"{root} is not a directory")
    target = manifest_path(root)
    if os.path.lexists(target.parent):
        folder_inside(str(root), ".kaizen")  # a link out of the repository: refused, unread
    if target.exists() and not force:
        raise KaizenError(f"{target} already exists; use --force to overwrite it")
    _check_agents(names, str(root))
    chosen, guessed = (slug, None) if slug else guess_slug(root)
    if not re.fullmatch(SLUG_PATTERN, chosen):
        how = "--slug" if slug else f"the detected slug {chosen!r}"
        raise UsageError(
            f"{how} is not a repository slug like owner/name; give one with --slug OWNER/NAME"
        )
    folder_inside(str(root), ".kaizen")
    text = scaffold(names, repo=chosen, timezone=timezone)
    write_atomic(target, text.encode())
    write_atomic(target.parent / "schedule.schema.json", output.to_json(json_schema()).encode())
    attributes = target.parent / ".gitattributes"
    wrote_attributes = force or not attributes.exists()
    if wrote_attributes:
        from kaizen_agentic.bundle.commit import GITATTRIBUTES

        write_atomic(attributes, GITATTRIBUTES.encode())
    sys.stdout.write(
        f"wrote {target} (repo: {chosen})\n"
        f"wrote {target.parent / 'schedule.schema.json'} (for editors' YAML validation)\n"
        + (
            f"wrote {attributes} (how agents' memory and metrics merge)\n"
            if wrote_attributes
            else ""
        )
        + "next: edit it, then run `kaizen-agentic schedule validate` and "
        "`kaizen-agentic schedule list`\n"
    )
    if guessed:
        sys.stdout.flush()
        sys.stderr.write(
            f'warning: {guessed}, so repo: is the folder\'s name, "{chosen}"; set the slug the '
            "state hub knows with --slug OWNER/NAME (or edit repo: in the file)"
            + ("; prepare needs a git work tree (git init)" if not is_worktree(root) else "")
            + "\n"
        )
    return 0


def _check_agents(names: list[str], root: str) -> None:
    """Refuse agents that are neither built in nor defined in the repository: the manifest
    would not validate."""
    from kaizen_agentic.agents import builtin_names, repo_names, unknown_agent

    known = sorted({*builtin_names(), *repo_names(root)})
    unknown = [unknown_agent(name, known) for name in names if name not in known]
    if unknown:
        raise UsageError(f"--agents: {'; '.join(unknown)} (known: {', '.join(known)})")
