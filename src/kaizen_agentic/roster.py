"""The fleet roster and the resolver: which registered repos take part, and why not.

A roster lists repositories as records ``{slug, host_paths: {hostname: path}, domain, ...}``.
It comes from the state hub (``GET /repos/``), a local file (YAML or JSON, the same records), or
a scan of git work trees below a folder. ``discover_kaizen_scheduled_repos`` gives every roster
repo exactly one state, with its reason; the repo's own ``.kaizen/schedule.yml`` is always the
decision, and the hub's ``kaizen_schedule_enabled`` flag only a pre-filter.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kaizen_agentic.errors import KaizenError, Problem

if TYPE_CHECKING:
    from kaizen_agentic.schedule import AgentEntry, Manifest

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
MAX_ROSTER_BYTES: Final = 64 * 1024 * 1024
MAX_SCAN_DEPTH: Final = 4


class Record(NamedTuple):
    """One roster entry, validated."""

    slug: str
    host_paths: dict[str, str]
    domain: str | None
    enabled_in_hub: bool | None  # None: the source says nothing (a v1 hub, a file, a scan)
    # True when the record was found by path (a scan, --repo): its slug is only a label, and the
    # manifest's `repo:` names the repository. False: the roster's slug must match `repo:`.
    from_path: bool = False


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
    manifest: Manifest | None = None  # the validated manifest when there is one


class Roster(NamedTuple):
    """The records of one roster source and the records it could not read."""

    source: str  # "hub <url>", "roster <file>" or "scan <dir>"
    records: list[Record]
    problems: list[Problem]  # malformed records, reported on their own


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


def this_host() -> str:
    """This machine's host name, as ``host_paths`` keys name runners."""
    return os.uname().nodename


# --- records ---------------------------------------------------------------------------------


def parse_record(raw: Any, where: str, key: str) -> tuple[Record | None, Problem | None]:
    """A record from one raw roster item, or the problem that makes it unusable."""
    line = col = 0
    if isinstance(raw, tuple):  # (value, line, col) from a located YAML roster
        raw, line, col = raw

    def bad(message: str) -> tuple[None, Problem]:
        return None, Problem(where, line, col, key, message)

    if not isinstance(raw, dict):
        return bad(f"expected a mapping with a slug, got {type(raw).__name__}")
    slug = raw.get("slug")
    if not isinstance(slug, str) or not slug.strip() or len(slug) > 200:
        return bad('"slug" must be a non-empty string')
    host_paths = raw.get("host_paths") or {}
    if not isinstance(host_paths, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in host_paths.items()
    ):
        return bad(f'{slug}: "host_paths" must map host names to path strings')
    domain = raw.get("domain")
    if domain is not None and not isinstance(domain, str):
        return bad(f'{slug}: "domain" must be a string')
    flag = raw.get("kaizen_schedule_enabled")
    if flag is not None and not isinstance(flag, bool):
        return bad(f'{slug}: "kaizen_schedule_enabled" must be true or false')
    return Record(slug.strip(), dict(host_paths), domain, flag), None


def _records(items: Iterable[Any], where: str) -> tuple[list[Record], list[Problem]]:
    records, problems = [], []
    for index, raw in enumerate(items):
        record, problem = parse_record(raw, where, f"repos[{index}]")
        if record is not None:
            records.append(record)
        if problem is not None:
            problems.append(problem)
    return records, problems


def load_roster_file(path: str) -> Roster:
    """Records from a YAML or JSON roster: a list, or ``{"repos": [...]}`` (or items/results/
    data). Raises ``KaizenError`` when the file itself cannot be read."""
    from kaizen_agentic import yamlsafe

    try:
        data = yamlsafe.read_capped(path, MAX_ROSTER_BYTES)
    except FileNotFoundError:
        raise KaizenError(f"roster {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise KaizenError(f"roster {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if path.endswith(".json"):
        import json

        try:
            doc: Any = json.loads(data)
        except ValueError as exc:
            raise KaizenError(f"roster {path}: malformed JSON: {exc}") from None
        items = _items(doc, path)
    else:
        items = _located_items(data, path)
    records, problems = _records(items, path)
    return Roster(f"roster {path}", records, problems)


def _items(doc: Any, path: str) -> list[Any]:
    from kaizen_agentic.hub import LIST_KEYS

    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in LIST_KEYS:
            if isinstance(doc.get(key), list):
                return list(doc[key])
    raise KaizenError(f'roster {path}: expected a list of repos, or an object with "repos"')


def _located_items(data: bytes, path: str) -> list[Any]:
    from kaizen_agentic import yamlsafe
    from kaizen_agentic.errors import InvalidFileError

    root, problems = yamlsafe.load(yamlsafe.decode_strict(data, path), path)
    if root is None or problems:
        raise InvalidFileError(path, problems)
    if isinstance(root, yamlsafe.Mapping):
        from kaizen_agentic.hub import LIST_KEYS

        for key in LIST_KEYS:
            found = root.get(key)
            if isinstance(found, yamlsafe.Sequence):
                root = found
                break
    if not isinstance(root, yamlsafe.Sequence):
        raise KaizenError(f'roster {path}: expected a list of repos, or a mapping with "repos"')
    return [(yamlsafe.to_python(node), node.line, node.col) for node in root.items]


def scan(folder: str, hostname: str, max_depth: int = MAX_SCAN_DEPTH) -> Roster:
    """A roster of the git work trees below ``folder`` (not descending into one once found)."""
    base = os.path.abspath(folder)
    if not os.path.isdir(base):
        raise KaizenError(f"--scan {folder}: not a directory")
    records = []
    stack = [(base, 0)]
    while stack:
        current, depth = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        if any(e.name == ".git" for e in entries):
            slug = os.path.relpath(current, base) if current != base else os.path.basename(base)
            records.append(Record(slug, {hostname: current}, None, None, from_path=True))
            continue
        if depth >= max_depth:
            continue
        for entry in reversed(entries):
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                stack.append((entry.path, depth + 1))
    return Roster(f"scan {base}", records, [])


def from_hub(url: str, token: str | None, domain: str | None) -> Roster:
    """The roster from the state hub's ``GET /repos/`` (every page)."""
    from kaizen_agentic import hub, transport

    client = hub.Client(url, token)
    raw, pages = hub.fetch_repos(client, domain)
    records, problems = _records(raw, f"hub {transport.shown(url)}")
    return Roster(
        f"hub {transport.shown(url)} ({pages} page{'s' if pages != 1 else ''})", records, problems
    )


# --- states ----------------------------------------------------------------------------------


def canonical_path(path: str, root: str | None) -> tuple[str | None, str]:
    """The absolute, normalised host path, or None and why it is refused."""
    if not os.path.isabs(path):
        return None, f"host path {path!r} is not absolute"
    if ".." in path.replace("\\", "/").split("/"):
        return None, f"host path {path!r} contains '..'"
    clean = os.path.normpath(path)
    if root is not None:
        real_root = os.path.realpath(root)
        real = os.path.realpath(clean)
        if os.path.commonpath([real_root, real]) != real_root:
            return None, f"host path {clean} is outside --root {root}"
    return clean, ""


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
    from kaizen_agentic.errors import InvalidFileError
    from kaizen_agentic.schedule import (
        MANIFEST_PATH,
        MISNAMED_PATH,
        RENAME_HINT,
        load_repo_manifest,
    )

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


def _agent_status(entry: AgentEntry, at: datetime, count: int) -> AgentStatus:
    from kaizen_agentic.cadence import describe

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
) -> list[RepoState]:
    """States for many records; ``jobs > 1`` spreads large rosters over processes."""
    if jobs <= 1 or len(records) < 2000:
        return [
            repo_state(r, hostname=hostname, at=at, agent=agent, root=root, count=count)
            for r in records
        ]
    from concurrent.futures import ProcessPoolExecutor

    size = max(len(records) // (jobs * 4), 250)
    chunks = [list(records[i : i + size]) for i in range(0, len(records), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        parts = pool.map(_states_chunk, [(c, hostname, at, agent, root, count) for c in chunks])
        return [state for part in parts for state in part]


def local_record(root: str, hostname: str) -> Record:
    """A one-repository roster for a checkout reached by path (``--repo``)."""
    return Record(os.path.basename(root) or root, {hostname: root}, None, None, from_path=True)


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
) -> Discovery:
    """Resolve the fleet: which roster repos take part on this host, and why the others do not.

    Exactly one roster source must be given: ``hub_url`` (with ``hub_token``; the query always
    carries ``kaizen_schedule_enabled=true`` and ``domain``), ``roster_file`` or ``scan_dir``.
    ``hostname`` (default: this host) picks the checkout from each record's ``host_paths``;
    ``domain`` and ``agent`` filter; ``root`` confines host paths; ``at`` (default: now, the
    only clock read) is when states and the next ``count`` runs are computed. ``cache`` names
    a file (see ``manifest_cache``) that remembers validated manifests by content between runs.

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
    from kaizen_agentic import manifest_cache

    loaded = manifest_cache.load(cache)
    # Processes pay for validation; with a warm cache only file reads are left, and forking
    # costs more than it saves.
    workers = 1 if loaded else jobs
    states = mark_conflicts(
        resolve_states(
            records, hostname=host, at=moment, agent=agent, root=root, count=count, jobs=workers
        )
    )
    manifest_cache.save(cache, (s.manifest for s in states), loaded)
    states.sort(key=lambda s: (s.slug, s.path or ""))
    return Discovery(roster.source, host, moment, tuple(states), tuple(roster.problems))
