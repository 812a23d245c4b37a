"""The resolver: which registered repositories take part on this host, and why not.

``discover_kaizen_scheduled_repos`` reads a roster (``roster``) and gives every repository
exactly one state, with its reason; the repository's own ``.kaizen/schedule.yml`` is always the
decision, and the hub's ``kaizen_schedule_enabled`` flag only a pre-filter.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kaizen_agentic.errors import KaizenError, Problem
from kaizen_agentic.fleet.roster import (
    Record,
    canonical_path,
    from_hub,
    load_roster_file,
    scan,
    this_host,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from kaizen_agentic.manifest.schedule import AgentEntry, Manifest


STATES: Final = (
    "enrolled",
    "conflict",
    "invalid",
    "absent",
    "no-host-path",
    "missing-checkout",
    "not-enabled-in-hub",
    "paused",
)


class AgentStatus(NamedTuple):
    """One agent of an enrolled repository: its state, cadence and next runs."""

    agent: str
    state: str  # "enabled", "disabled" or "paused"
    description: str
    next_runs: tuple[datetime, ...]
    paused_until: str | None


class RepoState(NamedTuple):
    """A roster repo's one state and why."""

    slug: str
    state: str
    reason: str
    domain: str | None
    path: str | None
    agents: tuple[AgentStatus, ...]
    problems: tuple[Problem, ...]
    manifest: "Manifest | None" = None  # the validated manifest when there is one
    hosts: tuple[str, ...] = ()  # every host the roster checks it out on, sorted


class Discovery(NamedTuple):
    """What ``discover_kaizen_scheduled_repos`` returns."""

    source: str
    hostname: str
    at: datetime
    repos: tuple[RepoState, ...]  # sorted by slug
    problems: tuple[Problem, ...]  # roster records that could not be read

    def enrolled(self) -> list[RepoState]:
        return [r for r in self.repos if r.state == "enrolled"]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for repo in self.repos:
            out[repo.state] += 1
        return out


def _host_path(record: Record, hostname: str) -> str | None:
    if hostname in record.host_paths:
        return record.host_paths[hostname]
    short = hostname.split(".", 1)[0]
    for name, path in record.host_paths.items():
        if name.split(".", 1)[0] == short:
            return path
    return None


def repo_state(
    record: Record,
    *,
    hostname: str,
    at: datetime,
    agent: str | None = None,
    root: str | None = None,
    count: int = 1,
) -> RepoState:
    """The one state of one roster repo on this host at ``at``."""
    from kaizen_agentic.agents import load_repo_manifest
    from kaizen_agentic.errors import InvalidFileError
    from kaizen_agentic.manifest.schedule import MANIFEST_PATH, MISNAMED_PATH, RENAME_HINT

    def state(name: str, reason: str, path: str | None = None, **extra: Any) -> RepoState:
        found = extra.get("manifest")
        return RepoState(
            found.repo if record.from_path and found is not None else record.slug,
            name,
            reason,
            record.domain,
            path,
            extra.get("agents", ()),
            extra.get("problems", ()),
            extra.get("manifest"),
            tuple(sorted(record.host_paths)),
        )

    if record.enabled_in_hub is False:
        return state("not-enabled-in-hub", "the hub's kaizen_schedule_enabled is false")
    raw = _host_path(record, hostname)
    if raw is None:
        hosts = ", ".join(sorted(record.host_paths)) or "none"
        return state("no-host-path", f"not checked out on {hostname} (hosts: {hosts})")
    path, why = canonical_path(raw, root)
    if path is None:
        return state("missing-checkout", why)
    if not os.path.isdir(path):
        return state("missing-checkout", f"{path} does not exist", path)
    if not os.path.exists(os.path.join(path, ".git")):
        return state("missing-checkout", f"{path} is not a git work tree", path)
    manifest_file = os.path.join(path, MANIFEST_PATH)
    if not os.path.lexists(manifest_file):
        if os.path.lexists(os.path.join(path, MISNAMED_PATH)):
            why = f"named {MISNAMED_PATH}: {RENAME_HINT}"
            problem = Problem(os.path.join(path, MISNAMED_PATH), 0, 0, "", RENAME_HINT)
            return state("invalid", why, path, problems=(problem,))
        return state("absent", f"no {MANIFEST_PATH}", path)
    try:
        manifest = load_repo_manifest(path)
    except InvalidFileError as exc:
        count_ = len(exc.problems)
        return state(
            "invalid",
            f"{count_} problem{'s' if count_ != 1 else ''} in {MANIFEST_PATH}",
            path,
            problems=tuple(exc.problems),
        )
    if not record.from_path and manifest.repo != record.slug:
        return state(
            "conflict",
            f'the roster calls it {record.slug} but {MANIFEST_PATH} says "repo: {manifest.repo}"; '
            "make them agree",
            path,
            manifest=manifest,
        )
    entries = manifest.agents
    if agent is not None:
        entries = tuple(e for e in entries if e.agent == agent)
        if not entries:
            return state(
                "absent", f'no agent "{agent}" in {MANIFEST_PATH}', path, manifest=manifest
            )
    statuses = tuple(_agent_status(e, at, count) for e in entries)
    runnable = [s for s in statuses if s.state == "enabled"]
    if not runnable:
        paused = [s for s in statuses if s.state == "paused"]
        reason = (
            "every agent is disabled"
            if not paused
            else "no agent runs before " + min(s.paused_until or "" for s in paused)
        )
        return state("paused", reason, path, agents=statuses, manifest=manifest)
    names = ", ".join(s.agent for s in runnable)
    return state("enrolled", f"runs {names}", path, agents=statuses, manifest=manifest)


def _agent_status(entry: "AgentEntry", at: datetime, count: int) -> AgentStatus:
    from kaizen_agentic.manifest.cadence import describe

    return AgentStatus(
        entry.agent,
        entry.state(at),
        describe(entry.cadence),
        tuple(entry.next_runs(at, count)),
        entry.paused_until.isoformat() if entry.paused_until else None,
    )


def _states_chunk(
    args: tuple[list[Record], str, datetime, str | None, str | None, int],
) -> list[RepoState]:
    records, hostname, at, agent, root, count = args
    return [
        repo_state(r, hostname=hostname, at=at, agent=agent, root=root, count=count)
        for r in records
    ]


def resolve_states(
    records: Sequence[Record],
    *,
    hostname: str,
    at: datetime,
    agent: str | None = None,
    root: str | None = None,
    count: int = 1,
    jobs: int = 1,
    pool: "Executor | None" = None,
) -> list[RepoState]:
    """States for many records; ``jobs > 1`` spreads large rosters over processes (the given
    ``pool``'s, or new ones)."""
    if jobs <= 1 or len(records) < 2000:
        return [
            repo_state(r, hostname=hostname, at=at, agent=agent, root=root, count=count)
            for r in records
        ]
    from concurrent.futures import ProcessPoolExecutor

    size = max(len(records) // (jobs * 4), 250)
    chunks = [list(records[i : i + size]) for i in range(0, len(records), size)]
    tasks = [(c, hostname, at, agent, root, count) for c in chunks]
    if pool is not None:
        return [state for part in pool.map(_states_chunk, tasks) for state in part]
    with ProcessPoolExecutor(max_workers=jobs) as own:
        return [state for part in own.map(_states_chunk, tasks) for state in part]


_CHECKED_OUT: Final = frozenset({"enrolled", "paused", "invalid", "absent", "conflict"})


def mark_conflicts(states: list[RepoState]) -> list[RepoState]:
    """Report records that reach one repository twice instead of running it twice.

    Two records whose host paths are one checkout, or two checkouts whose manifests name one
    ``repo:``, would prepare the same (repo, agent, slot) twice. The record whose slug matches
    the manifest (else the first by slug, then path) keeps its state; the others become
    ``conflict`` with a reason naming the one kept."""
    out = list(states)
    by_checkout: dict[tuple[int, int], list[int]] = {}
    by_repo: dict[str, list[int]] = {}
    for index, st in enumerate(out):
        if st.state in _CHECKED_OUT and st.path is not None:
            try:
                info = os.stat(st.path)  # one call; symlinked paths to one folder agree
            except OSError:
                continue
            by_checkout.setdefault((info.st_dev, info.st_ino), []).append(index)
    for group in by_checkout.values():
        _keep_one(out, group, "the same checkout as")
    for index, st in enumerate(out):
        if st.state in ("enrolled", "paused") and st.manifest is not None:
            by_repo.setdefault(st.manifest.repo, []).append(index)
    for repo, group in by_repo.items():
        _keep_one(out, group, f'also "repo: {repo}", like')
    return out


def _keep_one(out: list[RepoState], group: list[int], how: str) -> None:
    if len(group) < 2:
        return

    def rank(i: int) -> tuple[bool, str, str]:
        st = out[i]
        matches = st.manifest is not None and st.manifest.repo == st.slug
        return (not matches, st.slug, st.path or "")

    keep, *others = sorted(group, key=rank)
    kept = out[keep]
    for i in others:
        st = out[i]
        reason = f"{how} {kept.slug} ({kept.path}); only {kept.slug} runs"
        out[i] = st._replace(state="conflict", reason=reason)


def discover_kaizen_scheduled_repos(
    *,
    hub_url: str | None = None,
    hub_token: str | None = None,
    roster_file: str | None = None,
    scan_dir: str | None = None,
    hostname: str | None = None,
    domain: str | None = None,
    agent: str | None = None,
    root: str | None = None,
    at: datetime | None = None,
    count: int = 1,
    jobs: int = 1,
    cache: str | None = None,
    pool: "Executor | None" = None,
) -> Discovery:
    """Resolve the fleet: which roster repos take part on this host, and why the others do not.

    Exactly one roster source must be given: ``hub_url`` (with ``hub_token``; the query always
    carries ``kaizen_schedule_enabled=true`` and ``domain``), ``roster_file`` or ``scan_dir``.
    ``hostname`` (default: this host) picks the checkout from each record's ``host_paths``;
    ``domain`` and ``agent`` filter; ``root`` confines host paths; ``at`` (default: now, the
    only clock read) is when states and the next ``count`` runs are computed. ``cache`` names
    a file (see ``manifest_cache``) that remembers validated manifests by content between runs.
    ``jobs`` > 1 spreads a large roster over processes: ``pool``'s when given (a long-running
    worker keeps one), else new ones.

    Returns a ``Discovery`` with one ``RepoState`` per roster repo, sorted by slug. Raises
    ``KaizenError`` (``HubError`` for the hub) only when the roster itself cannot be read.
    """
    sources = [s for s in (hub_url, roster_file, scan_dir) if s]
    if len(sources) != 1:
        raise KaizenError("give exactly one roster source: a hub URL, a roster file or a scan dir")
    host = hostname or this_host()
    moment = at or datetime.now(UTC)
    if hub_url:
        roster = from_hub(hub_url, hub_token, domain)
    elif roster_file:
        roster = load_roster_file(roster_file)
    else:
        roster = scan(scan_dir or ".", host)
    # The hub was asked for the domain; here only records that name another domain are dropped.
    records = [r for r in roster.records if domain is None or r.domain in (None, domain)]
    from kaizen_agentic.manifest import cache as manifest_cache

    loaded = manifest_cache.load(cache)
    # Processes pay for validation; with a warm cache only file reads are left, and forking
    # costs more than it saves.
    workers = 1 if loaded else jobs
    states = mark_conflicts(
        resolve_states(
            records,
            hostname=host,
            at=moment,
            agent=agent,
            root=root,
            count=count,
            jobs=workers,
            pool=pool,
        )
    )
    manifest_cache.save(cache, (s.manifest for s in states), loaded)
    states.sort(key=lambda s: (s.slug, s.path or ""))
    return Discovery(roster.source, host, moment, tuple(states), tuple(roster.problems))
