"""A local repository: its work tree, its slug and the manifest inside it."""

from __future__ import annotations

import re
from pathlib import Path

from kaizen_agentic.schedule import MANIFEST_PATH


def find_root(start: str | Path) -> Path:
    """The git work tree holding ``start``, or ``start`` itself when it is in none."""
    here = Path(start).absolute()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def is_worktree(folder: Path) -> bool:
    return (folder / ".git").exists()


def manifest_path(root: Path) -> Path:
    return root / MANIFEST_PATH


def origin_url(root: Path) -> str | None:
    """The ``origin`` remote's URL, or None (no git, no remote)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(root), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    url = done.stdout.strip()
    return url or None


_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?P<path>.+)$")


def slug_from_url(url: str) -> str | None:
    """``owner/name`` from a remote URL (https, ssh, scp-like or a path); None if it has none."""
    match = _SCP_LIKE.match(url)
    path = match.group("path") if match else re.sub(r"^[a-z+]+://[^/]*", "", url)
    parts = [p for p in path.strip("/").split("/") if p and p not in {".", ".."}]
    if not parts:
        return None
    parts[-1] = parts[-1].removesuffix(".git")
    return "/".join(parts[-2:]) if parts[-1] else None


def detect_slug(root: Path) -> str:
    """The repo's identity when the manifest has no ``repo:``: origin's owner/name, else the
    folder name."""
    url = origin_url(root) if is_worktree(root) else None
    slug = slug_from_url(url) if url else None
    return slug or root.name
