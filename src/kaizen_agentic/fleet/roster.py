"""The fleet roster: which repositories are registered, and where each is checked out.

A roster lists repositories as records ``{slug, host_paths: {hostname: path}, domain, ...}``.
It comes from the state hub (``GET /repos/``), a local file (YAML or JSON, the same records), or
a scan of git work trees below a folder. ``discovery`` gives every roster repo its state.
"""

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kaizen_agentic import names
from kaizen_agentic.errors import KaizenError, Problem

if TYPE_CHECKING:
    pass


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


class Roster(NamedTuple):
    """The records of one roster source and the records it could not read."""

    source: str  # "hub <url>", "roster <file>" or "scan <dir>"
    records: list[Record]
    problems: list[Problem]  # malformed records, reported on their own


def this_host() -> str:
    """This machine's host name, as ``host_paths`` keys name runners."""
    return os.uname().nodename


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
    slug = slug.strip()
    why = names.slug_problem(slug)
    if why:
        return bad(f'"slug" {slug!r} {why}')
    host_paths = raw.get("host_paths") or {}
    if not isinstance(host_paths, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in host_paths.items()
    ):
        return bad(f'{slug}: "host_paths" must map host names to path strings')
    for host in host_paths:
        why = names.host_problem(host)
        if why:
            return bad(f'{slug}: "host_paths" key {host!r} {why}')
    domain = raw.get("domain")
    if domain is not None and (not isinstance(domain, str) or names.label_problem(domain)):
        return bad(f'{slug}: "domain" must be a string without control characters')
    flag = raw.get("kaizen_schedule_enabled")
    if flag is not None and not isinstance(flag, bool):
        return bad(f'{slug}: "kaizen_schedule_enabled" must be true or false')
    return Record(slug, dict(host_paths), domain, flag), None


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
    from kaizen_agentic import atomic

    try:
        data = atomic.read_capped(path, MAX_ROSTER_BYTES)
    except FileNotFoundError:
        raise KaizenError(f"roster {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise KaizenError(f"roster {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if path.endswith(".json"):
        import json

        from kaizen_agentic.fleet.hub import MAX_RECORDS, json_values

        if json_values(data) > 20 * MAX_RECORDS:
            raise KaizenError(
                f"roster {path}: more JSON values than {MAX_RECORDS} repositories could need; "
                "refusing to parse it"
            )
        try:
            doc: Any = json.loads(data)
        except ValueError as exc:
            raise KaizenError(f"roster {path}: malformed JSON: {exc}") from None
        except RecursionError:
            raise KaizenError(f"roster {path}: JSON nested too deeply") from None
        items = _items(doc, path)
    else:
        items = _located_items(data, path)
    from kaizen_agentic.fleet.hub import MAX_RECORDS

    if len(items) > MAX_RECORDS:
        raise KaizenError(
            f"roster {path} lists {len(items)} repositories; the limit is {MAX_RECORDS}"
        )
    records, problems = _records(items, path)
    return Roster(f"roster {path}", records, problems)


def _items(doc: Any, path: str) -> list[Any]:
    from kaizen_agentic.fleet.hub import LIST_KEYS

    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in LIST_KEYS:
            if isinstance(doc.get(key), list):
                return list(doc[key])
    raise KaizenError(f'roster {path}: expected a list of repos, or an object with "repos"')


def _located_items(data: bytes, path: str) -> list[Any]:
    from kaizen_agentic.errors import InvalidFileError
    from kaizen_agentic.manifest import yamlsafe

    root, problems = yamlsafe.load(yamlsafe.decode_strict(data, path), path)
    if root is None or problems:
        raise InvalidFileError(path, problems)
    if isinstance(root, yamlsafe.Mapping):
        from kaizen_agentic.fleet.hub import LIST_KEYS

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
    from kaizen_agentic import transport
    from kaizen_agentic.fleet import hub

    client = hub.Client(url, token)
    raw, pages = hub.fetch_repos(client, domain)
    records, problems = _records(raw, f"hub {transport.shown(url)}")
    return Roster(
        f"hub {transport.shown(url)} ({pages} page{'s' if pages != 1 else ''})", records, problems
    )


def canonical_path(path: str, root: str | None) -> tuple[str | None, str]:
    """The absolute, normalised host path, or None and why it is refused."""
    why = names.path_problem(path)
    if why:
        return None, f"host path {path!r} {why}"
    clean = names.normal_path(path)
    if root is not None:
        from kaizen_agentic.repo import inside

        if not inside(root, clean):
            return None, f"host path {clean} is outside --root {root}"
    return clean, ""


def local_record(root: str, hostname: str) -> Record:
    """A one-repository roster for a checkout reached by path (``--repo``)."""
    return Record(os.path.basename(root) or root, {hostname: root}, None, None, from_path=True)
