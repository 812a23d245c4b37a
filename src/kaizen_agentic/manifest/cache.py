"""Validated manifests remembered by content, so a tick over unchanged repositories re-reads
each file but does not re-validate it.

The key is the SHA-256 of the file's bytes (and this tool's version), so an entry can never be
stale: a changed file has another key, and an invalid file is never stored. ``schedule`` keeps
the memo in memory (``schedule.MEMO``); this module loads it from and saves it to one JSON file
(``$KAIZEN_CACHE_DIR`` or ``~/.cache/kaizen-agentic/manifests.json``), written atomically. A
missing, unreadable or foreign file is simply an empty cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import date
from typing import Any, Final

from kaizen_agentic import __version__, output
from kaizen_agentic.manifest.cadence import Cadence
from kaizen_agentic.manifest.schedule import MEMO, AgentEntry, Manifest

FORMAT: Final = f"kaizen-agentic/manifests/{__version__}/1"
MAX_ENTRIES: Final = 200_000


def default_path() -> str | None:
    """Where the cache lives; None when ``KAIZEN_CACHE_DIR`` is set to an empty string."""
    explicit = os.environ.get("KAIZEN_CACHE_DIR")
    if explicit is not None:
        return os.path.join(explicit, "manifests.json") if explicit else None
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "kaizen-agentic", "manifests.json")


def _encode(m: Manifest) -> list[Any]:
    agents = [
        [
            e.agent,
            e.enabled,
            list(e.cadence),
            e.paused_until.isoformat() if e.paused_until else None,
            e.focus,
            e.instructions,
            e.token_budget,
            e.line,
            e.col,
        ]
        for e in m.agents
    ]
    return [m.repo, m.timezone, m.token_budget, agents]


def _decode(digest: str, raw: list[Any]) -> Manifest:
    repo, zone, budget, agents = raw
    entries = tuple(
        AgentEntry(
            name,
            enabled,
            Cadence(*cadence),
            date.fromisoformat(paused) if paused else None,
            focus,
            instructions,
            tokens,
            line,
            col,
        )
        for name, enabled, cadence, paused, focus, instructions, tokens, line, col in agents
    )
    return Manifest("", repo, zone, budget, entries, digest)


def load(path: str | None) -> frozenset[str]:
    """Fill the memo from ``path``; returns the digests it held."""
    if path is None:
        return frozenset()
    try:
        with open(path, "rb") as handle:
            doc = json.loads(handle.read())
        if doc.get("format") != FORMAT:
            return frozenset()
        entries = doc["entries"]
        for digest, raw in entries.items():
            MEMO.setdefault(digest, _decode(digest, raw))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return frozenset()  # a cache that cannot be read is an empty one
    return frozenset(entries)


def save(path: str | None, manifests: Iterable[Manifest | None], loaded: frozenset[str]) -> bool:
    """Write the manifests this run used, unless they are exactly the ones ``loaded``.

    Only the run's own manifests are kept, so the file follows the fleet instead of growing."""
    from kaizen_agentic.atomic import write_atomic

    if path is None:
        return False
    used = {m.digest: m for m in manifests if m is not None}
    if used.keys() == loaded:
        return False
    entries = {d: _encode(m) for d, m in list(used.items())[:MAX_ENTRIES]}
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        data = output.compact_json({"format": FORMAT, "entries": entries})
        write_atomic(path, data.encode(), mode=0o600)
    except OSError:
        return False  # a cache is an optimisation: never fail the run for it
    return True
