"""The one place an option's value is parsed: times, the fleet source, a single repository.

A malformed or conflicting option raises ``UsageError`` (exit 2, with the command's usage);
a source that exists but cannot be used raises ``KaizenError`` (exit 1).
"""

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from kaizen_agentic import output
from kaizen_agentic.errors import KaizenError, UsageError

if TYPE_CHECKING:  # the fleet wing loads when a command reads a roster, not for one repository
    from kaizen_agentic.fleet.discovery import Discovery


def parse_time(text: str | None, flag: str = "--at") -> datetime | None:
    """An RFC 3339 time with its offset, or None when the option was not given."""
    if text is None:
        return None
    try:
        return output.parse_rfc3339(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def parse_at(text: str | None, flag: str = "--at") -> datetime:
    """``--at`` (or ``flag``), or now: the one clock read of a command."""
    return parse_time(text, flag) or datetime.now(UTC)


class Source(NamedTuple):
    """Where a fleet command finds its repositories, and how it filters them: the options
    ``--hub``, ``--roster``, ``--scan``, ``--hostname``, ``--domain``, ``--agent``, ``--root``."""

    hub: str | None = None
    roster: str | None = None
    scan: str | None = None
    hostname: str | None = None
    domain: str | None = None
    agent: str | None = None
    root: str | None = None

    @property
    def given(self) -> bool:
        """Whether a roster (not only a filter) was named."""
        return bool(self.hub or self.roster or self.scan)


def discover(source: Source, at: datetime, count: int = 1) -> "Discovery":
    """The fleet from ``--hub`` (or ``KAIZEN_HUB_URL``), ``--roster`` or ``--scan``."""
    from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
    from kaizen_agentic.manifest.cache import default_path

    given = [s for s in (source.hub, source.roster, source.scan) if s]
    if len(given) > 1:
        raise UsageError("give one roster: --hub, --roster or --scan")
    hub = source.hub or (None if given else os.environ.get("KAIZEN_HUB_URL"))
    if not (hub or source.roster or source.scan):
        raise UsageError(
            "no roster: give --hub URL (or set KAIZEN_HUB_URL), --roster FILE or --scan DIR"
        )
    return discover_kaizen_scheduled_repos(
        hub_url=hub,
        hub_token=os.environ.get("KAIZEN_HUB_TOKEN") if hub else None,
        roster_file=source.roster,
        scan_dir=source.scan,
        hostname=source.hostname,
        domain=source.domain,
        agent=source.agent,
        root=source.root,
        at=at,
        count=count,
        jobs=min(os.cpu_count() or 1, 4),
        cache=default_path(),
    )


def default_repo(repo: str | None, source: Source) -> str | None:
    """``--repo``; with no roster named (nor ``KAIZEN_HUB_URL`` set), the git work tree holding
    the current directory, as ``validate``, ``list`` and ``prepare`` take it."""
    if repo is not None or source.given or os.environ.get("KAIZEN_HUB_URL"):
        return repo
    from kaizen_agentic.repo import find_root, is_worktree

    if is_worktree(find_root(".")):
        return "."
    raise UsageError(
        "no repository or roster: run it inside a git work tree, or give --repo PATH, "
        "--hub URL (or set KAIZEN_HUB_URL), --roster FILE or --scan DIR"
    )


def repo_or_fleet(repo: str | None, source: Source, at: datetime, doing: str) -> "Discovery":
    """``--repo PATH`` as a one-repository fleet, or the roster: for commands that take either.
    With neither, the current repository (``default_repo``).

    A repository that cannot take part (no manifest, an invalid one) is an error here, with
    its problems, since there is nothing else to ``doing``."""
    repo = default_repo(repo, source)
    if repo is None:
        return discover(source, at)
    if source.given:
        raise UsageError("give --repo or a roster (--hub, --roster, --scan), not both")
    from kaizen_agentic.fleet.discovery import Discovery, repo_state
    from kaizen_agentic.fleet.roster import local_record, this_host
    from kaizen_agentic.repo import find_root

    root = find_root(repo)
    host = this_host()
    state = repo_state(local_record(str(root), host), hostname=host, at=at, agent=source.agent)
    if state.state in ("invalid", "absent", "missing-checkout"):
        for problem in state.problems:
            sys.stderr.write(f"{problem}\n")
        hint = "; create one with `kaizen-agentic schedule init`" if state.state == "absent" else ""
        raise KaizenError(f"{root}: {state.reason}{hint}; nothing to {doing}")
    return Discovery(f"repo {root}", host, at, (state,), ())


def warn_unscheduled(root: str, agent: str) -> None:
    """A warning on stderr when the repository's manifest does not name ``agent``: a typo or
    the wrong ``--repo`` would otherwise start a memory or metrics file no run reads."""
    from kaizen_agentic.manifest.schedule import MANIFEST_PATH, load_manifest, manifest_path

    path = manifest_path(root)
    if not path.exists():
        sys.stderr.write(
            f"warning: {root} has no {MANIFEST_PATH}, so no agent runs here (another --repo?)\n"
        )
        return
    try:
        names = [entry.agent for entry in load_manifest(path).agents]
    except KaizenError:
        return  # an invalid manifest: `schedule validate` says why; nothing to compare with
    if agent not in names:
        from kaizen_agentic.manifest.spec import suggest

        sys.stderr.write(
            f'warning: {MANIFEST_PATH} names no agent "{agent}" (it names {", ".join(names)})'
            f"{suggest(agent, names)}\n"
        )
