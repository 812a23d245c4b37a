"""A local repository: its work tree, its slug and the manifest inside it."""

import os
import re
import stat
from typing import TYPE_CHECKING, Final, NamedTuple

from kaizen_agentic.errors import KaizenError

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path


def find_root(start: "str | Path") -> "Path":
    """The git work tree holding ``start``, or ``start`` itself when it is in none."""
    from pathlib import Path  # lazily: `schedule validate` checks containment, not work trees

    here = Path(start).absolute()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def is_worktree(folder: "Path") -> bool:
    """Whether ``folder`` is the top of a git work tree."""
    return (folder / ".git").exists()


def origin_url(root: "Path") -> str | None:
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


def detect_slug(root: "Path") -> str:
    """The repo's identity when the manifest has no ``repo:``: origin's owner/name, else the
    folder name."""
    return guess_slug(root)[0]


def guess_slug(root: "Path") -> tuple[str, str | None]:
    """``detect_slug``, and why it is only the folder's name when it is (else None)."""
    worktree = is_worktree(root)
    url = origin_url(root) if worktree else None
    slug = slug_from_url(url) if url else None
    if slug:
        return slug, None
    if not worktree:
        return root.name, f"{root} is not a git work tree"
    if url is None:
        return root.name, f"{root} has no origin remote"
    return root.name, f"the origin remote {url!r} names no owner/name"


def added_at(root: str, relative: str) -> "datetime | None":
    """When ``relative`` entered the history of the work tree at ``root``: the commit time of
    the newest commit that added it (a file removed and added again counts from its return).
    None when it is not committed, or git cannot say."""
    import subprocess
    from datetime import datetime

    try:
        done = subprocess.run(
            ["git", "-C", root, "log", "-1", "--diff-filter=A", "--format=%cI", "--", relative],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    stamp = done.stdout.strip()
    if done.returncode != 0 or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


class GitState(NamedTuple):
    """Where a work tree stands: what a bundle points at."""

    head: str  # full commit SHA
    branch: str | None  # None when HEAD is detached
    dirty: bool  # tracked or untracked changes present
    remote_url: str | None


def git_state(root: "Path") -> GitState:
    """HEAD, branch, dirty flag and origin URL of the work tree at ``root``.

    Raises ``KaizenError`` when ``root`` is not a git work tree or has no commit yet.
    """
    import subprocess

    if not is_worktree(root):
        raise KaizenError(f"{root} is not a git work tree")
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain=v2", "--branch", "-z"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise KaizenError(f"could not run git in {root}: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise KaizenError(f"git status failed in {root}: {reason[0]}")
    head, branch, dirty = "", None, False
    for record in done.stdout.split(b"\0"):
        if record.startswith(b"# branch.oid "):
            head = record[13:].decode()
        elif record.startswith(b"# branch.head "):
            name = record[14:].decode()
            branch = None if name == "(detached)" else name
        elif record and not record.startswith(b"#") and not _own(record):
            dirty = True
    if not head or head == "(initial)":
        raise KaizenError(f"{root} has no commit yet; commit before preparing a bundle")
    return GitState(head, branch, dirty, origin_url(root))


# What `schedule complete` writes into the checkout: it changes after every run, so it must not
# mark the work tree dirty (the agent saw the commit; its own notes are not code changes).
_OWN_PATHS: Final = (b".kaizen/memory/", b".kaizen/metrics/")


def _own(record: bytes) -> bool:
    """True when a ``git status --porcelain=v2 -z`` record is about this tool's own files."""
    kind = record[:1]
    if kind == b"?" or kind == b"!":
        path = record[2:]
    elif kind == b"1":
        path = record.split(b" ", 8)[-1]
    elif kind == b"2":
        path = record.split(b" ", 9)[-1]
    elif kind == b"u":
        path = record.split(b" ", 10)[-1]
    else:
        return False
    return path.startswith(_OWN_PATHS)


# The one containment rule. Every file this tool reads from a repository, and every folder it
# writes in, is checked here: resolved with its symbolic links followed, it must stay inside the
# work tree. A link inside the repository that points inside it is fine; one that leaves is not.
# Files are read with a size cap and only when regular (no FIFO, no device). The repository's
# author is the one this guards against: committed links are theirs, so no race is in play.


def inside(root: str, path: str) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or below it."""
    if _plainly_below(root, path):
        return True
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


def _plainly_below(root: str, path: str) -> bool:
    """``path`` is ``root`` joined with names that are neither ``..`` nor links: then it stays
    inside whatever ``root`` resolves to, known from one ``lstat`` per name instead of two
    ``realpath`` walks over every folder from ``/`` (a tick checks each checkout's manifest)."""
    prefix = root.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return False
    current = root
    for name in path[len(prefix) :].split(os.sep):
        if name in ("", "."):
            continue
        if name == "..":
            return False
        current = os.path.join(current, name)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return False
        except OSError:
            return False  # not there (yet): the full check decides
    return True


def outside(root: str, path: str) -> str | None:
    """Why ``path`` may not be used, when it resolves outside ``root``; None when it stays in."""
    if inside(root, path):
        return None
    return f"points outside the repository ({os.path.realpath(path)})"


def check_inside(root: str, path: str) -> None:
    """Refuse ``path`` when it resolves (symlinks followed) outside ``root``."""
    why = outside(root, path)
    if why:
        raise KaizenError(f"{path} {why}; refusing to read it")


def read_inside(root: str, relative: str, limit: int) -> bytes | None:
    """Bytes of ``root/relative`` when it is a regular file that stays inside ``root``."""
    from kaizen_agentic import atomic

    path = os.path.join(root, relative)
    if not os.path.lexists(path):
        return None
    check_inside(root, path)
    try:
        return atomic.read_capped(path, limit)
    except ValueError as exc:
        raise KaizenError(f"{path}: {exc}") from None


def folder_inside(root: str, relative: str) -> str:
    """The folder ``root/relative``, made where missing, each part checked before anything is
    written in it: a part that is a link out of the repository, or not a folder, is refused."""
    path = root
    for part in relative.split(os.sep):
        path = os.path.join(path, part)
        if not os.path.lexists(path):
            try:
                os.mkdir(path)
            except FileExistsError:
                pass  # another writer made it: checked below like any other
            except OSError as exc:
                raise KaizenError(f"cannot make {path}: {exc.strerror}") from None
        why = outside(root, path)
        if why:
            raise KaizenError(f"{path} {why}; refusing to write there")
        if not os.path.isdir(path):
            raise KaizenError(f"cannot write in {path}: it is not a folder")
    return path
