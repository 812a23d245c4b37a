"""Committing what a run changed: the agent's memory and metrics, in one commit, and nothing else.

``schedule complete --commit`` and the ``kaizen.complete`` activity come here after recording a
result. The commit is made with git's plumbing through a temporary index (``GIT_INDEX_FILE``):
its tree is the branch's tree with the two files taken from the work tree, so nothing the
checkout has staged or modified is touched or included, and no hook runs. The branch moves with
``update-ref`` against the value it was built on. On HEAD's branch the checkout's index takes the
two new entries first (only those), so ``git status`` shows what it showed before; ``--branch``
commits on a side branch and leaves HEAD, the index and the work tree alone. Nothing is pushed:
the orchestrator holds the credentials (docs/design/activity-core-handoff.md).

Every commit names its run in trailers; ``Kaizen-Event`` is the completed event's id, so a
retried completion finds its commit instead of making a second one. The commit is dated when the
run was recorded, so a commit rebuilt after a crash is the same commit.
"""

import os
import subprocess
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from kaizen_agentic.bundle import memory, metrics
from kaizen_agentic.errors import KaizenError

# Variables that would point git at another repository, index or work tree than the checkout's.
_LOCATING: Final = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
    }
)
FALLBACK_NAME: Final = "kaizen-agentic"
# ``.kaizen/.gitattributes``, written by ``schedule init``: how memory and metrics merge when two
# hosts (or a host and a person) both committed to them before pulling.
GITATTRIBUTES: Final = """\
# Written by `kaizen-agentic schedule init`: how the agents' files merge when two hosts, or a
# host and a person, both changed them before pulling (docs/reference/bundle.md).
# Run metrics are JSON lines, only ever appended: keep the new lines of both sides.
metrics/*.jsonl merge=union
# Agent memory is whole entries: `kaizen-agentic memory merge` keeps both sides' new entries.
# Tell git once per machine (without it, git's own line merge applies):
#   git config --global merge.kaizen-memory.driver "kaizen-agentic memory merge %O %A %B"
memory/*.md merge=kaizen-memory
"""
_ATTEMPTS: Final = 5  # the branch moved under us (another writer): build on its new tip again
_SEARCH_SLACK: Final = timedelta(days=7)  # how far before the slot a run's commit is looked for


class GitBusy(KaizenError):
    """Git held a lock, or the branch kept moving: trying again later can succeed."""


class Target(NamedTuple):
    """Where a run's commit goes, checked before anything is written."""

    top: str  # the work tree's top folder
    common_dir: str  # the repository's git folder (shared by linked work trees): locked
    branch: str
    on_head: bool  # the branch is HEAD's: the checkout's index follows the commit
    paths: tuple[str, ...]  # the agent's memory and metrics files, relative to ``top``


class Committed(NamedTuple):
    """What committing did: ``committed``, ``already-committed`` or ``unchanged`` (the branch
    already holds these files as they are; no commit)."""

    status: str
    sha: str | None
    branch: str
    subject: str


def subject(agent: str, slot: str) -> str:
    """The commit's subject line: the agent and its slot in the repository's time zone."""
    when = datetime.fromisoformat(slot).strftime("%Y-%m-%d %H:%M")
    return f"kaizen({agent}): memory and metrics for {when}"


def message(agent: str, slot: str, key: str, event_id: str) -> str:
    """The whole commit message: the subject, then the trailers naming the run."""
    return (
        f"{subject(agent, slot)}\n\n"
        f"Kaizen-Agent: {agent}\nKaizen-Slot: {slot}\nKaizen-Key: {key}\nKaizen-Event: {event_id}\n"
    )


def _run(
    cwd: str,
    *args: str,
    index: str | None = None,
    stdin: str | None = None,
    extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCATING}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", **(extra or {}))
    if index is not None:
        env["GIT_INDEX_FILE"] = index
    try:
        return subprocess.run(
            ["git", "-C", cwd, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise KaizenError(f"could not run git in {cwd}: {exc}") from None


def _out(
    cwd: str,
    *args: str,
    index: str | None = None,
    stdin: str | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    done = _run(cwd, *args, index=index, stdin=stdin, extra=extra)
    if done.returncode == 0:
        return done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    reason = lines[-1].removeprefix("fatal: ").removeprefix("error: ") if lines else "failed"
    busy = ".lock" in done.stderr or "but expected" in done.stderr
    raise (GitBusy if busy else KaizenError)(f"git {args[0]} failed in {cwd}: {reason}")


def target(root: str, agent: str, branch: str | None = None) -> Target:
    """Where the commit of ``agent``'s files in the checkout at ``root`` goes.

    Refuses a folder that is not a checkout, a bare repository, a detached HEAD without
    ``branch``, a repository with no commit, and files that resolve outside the checkout."""
    done = _run(root, "rev-parse", "--is-bare-repository", "--is-inside-work-tree")
    if done.returncode != 0:
        raise KaizenError(f"{root} is not a git checkout; there is nowhere to commit to")
    bare, inside = [*done.stdout.split(), "", ""][:2]
    if bare == "true":
        raise KaizenError(
            f"{root} is a bare repository; memory and metrics are committed from a checkout"
        )
    if inside != "true":
        raise KaizenError(f"{root} is not inside a git work tree; there is nowhere to commit to")
    top, common = _out(root, "rev-parse", "--show-toplevel", "--git-common-dir").splitlines()
    common = os.path.join(root, common)  # relative to root when git gives it relative
    base = os.path.relpath(os.path.realpath(root), os.path.realpath(top))
    paths = tuple(
        _inside(top, os.path.normpath(os.path.join(base, rel)), path)
        for rel, path in (
            (os.path.join(memory.MEMORY_DIR, f"{agent}.md"), memory.memory_path(root, agent)),
            (
                os.path.join(metrics.METRICS_DIR, f"{agent}.jsonl"),
                metrics.metrics_path(root, agent),
            ),
        )
    )
    head = _run(top, "symbolic-ref", "-q", "HEAD")
    current = head.stdout.strip().removeprefix("refs/heads/") if head.returncode == 0 else None
    if branch is None:
        if current is None:
            raise KaizenError(
                f"HEAD is detached in {top}; name a branch to commit on (--branch NAME)"
            )
        branch = current
    else:
        _check_branch(top, branch, current)
    if _rev(top, "HEAD") is None:
        raise KaizenError(f"{top} has no commit yet; commit once before committing memory")
    return Target(top, common, branch, branch == current, paths)


def _inside(top: str, relative: str, path: str) -> str:
    """``relative`` when ``path`` is that file of the checkout, reached without a symbolic link
    (git would not follow one; a link out of the checkout would commit someone else's file)."""
    expected = os.path.join(os.path.realpath(top), relative)
    real = os.path.realpath(path)
    if relative.startswith(os.pardir) or real != expected:
        raise KaizenError(
            f"{path} is not inside the checkout {top} (it resolves to {real}); "
            "refusing to commit it"
        )
    return relative


def _check_branch(top: str, branch: str, current: str | None) -> None:
    checked = _run(top, "check-ref-format", "--branch", branch)
    if branch.startswith("-") or checked.returncode != 0 or checked.stdout.strip() != branch:
        raise KaizenError(f"--branch {branch!r} is not a valid branch name")
    if branch == current:
        return
    listing = _out(top, "worktree", "list", "--porcelain")
    for block in listing.split("\n\n"):
        lines = block.splitlines()
        if f"branch refs/heads/{branch}" in lines:
            where = lines[0].removeprefix("worktree ")
            raise KaizenError(
                f"branch {branch} is checked out in {where}; commit there, or name a branch "
                "no work tree has checked out"
            )


def _rev(top: str, name: str) -> str | None:
    done = _run(top, "rev-parse", "--verify", "-q", f"{name}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def commit_run(
    where: Target, *, agent: str, slot: str, key: str, event_id: str, at: datetime, host: str
) -> Committed:
    """Commit ``agent``'s memory and metrics files as they are in the work tree, once per run.

    ``at`` (when the run was recorded) dates the commit. A commit on the branch whose
    ``Kaizen-Event`` trailer is ``event_id`` means the run is already committed."""
    from kaizen_agentic.atomic import locked_dir

    ref = f"refs/heads/{where.branch}"
    text = message(agent, slot, key, event_id)
    title = subject(agent, slot)
    busy = GitBusy("")
    with locked_dir(where.common_dir):  # our own writers queue; anyone else is caught below
        for _ in range(_ATTEMPTS):
            tip = _rev(where.top, ref)
            found = tip and _find(where.top, ref, event_id, slot)
            if found:
                return Committed("already-committed", found, where.branch, title)
            parent = tip or _rev(where.top, "HEAD")
            assert parent is not None  # target() saw a commit
            tree, entries = _tree(where, parent)
            if tree == _out(where.top, "rev-parse", f"{parent}^{{tree}}").strip():
                return Committed("unchanged", None, where.branch, title)
            sha = _commit_tree(where.top, tree, parent, text, at, host)
            if where.on_head:  # first: a crash after it leaves our files staged, not reverted
                _out(where.top, "update-index", "-z", "--index-info", stdin=entries)
            try:  # only if the branch is still where we built on (or, when new, still absent)
                _out(where.top, "update-ref", "-m", f"kaizen-agentic: {title}", ref, sha, tip or "")
            except GitBusy as exc:  # it moved, or someone holds its lock: build again
                busy = exc
                continue
            return Committed("committed", sha, where.branch, title)
    raise GitBusy(f"branch {where.branch} kept moving or stayed locked: {busy}; try again")


def _find(top: str, ref: str, event_id: str, slot: str) -> str | None:
    since = (datetime.fromisoformat(slot) - _SEARCH_SLACK).isoformat()
    grep = f"Kaizen-Event: {event_id}"
    found = _out(top, "log", "-n1", "--format=%H", "-F", f"--grep={grep}", f"--since={since}", ref)
    return found.strip() or None


def _tree(where: Target, parent: str) -> tuple[str, str]:
    """The tree of ``parent`` with the agent's files from the work tree, built in a temporary
    index; and those files' index entries (``ls-files -s -z``), for the checkout's index."""
    import tempfile

    present = [p for p in where.paths if os.path.isfile(os.path.join(where.top, p))]
    with tempfile.TemporaryDirectory(prefix="kaizen-index-") as tmp:
        index = os.path.join(tmp, "index")
        _out(where.top, "read-tree", parent, index=index)
        if present:
            _out(where.top, "update-index", "--add", "--", *present, index=index)
        tree = _out(where.top, "write-tree", index=index).strip()
        entries = _out(where.top, "ls-files", "-s", "-z", "--", *present, index=index)
    return tree, entries if present else ""


def _commit_tree(top: str, tree: str, parent: str, text: str, at: datetime, host: str) -> str:
    """``git commit-tree``, dated ``at``; with a fallback identity when git has none."""
    stamp = at.isoformat(timespec="seconds")
    extra = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    if _run(top, "var", "GIT_COMMITTER_IDENT").returncode != 0:
        for role in ("AUTHOR", "COMMITTER"):
            extra[f"GIT_{role}_NAME"] = FALLBACK_NAME
            extra[f"GIT_{role}_EMAIL"] = f"{FALLBACK_NAME}@{host}"
    return _out(top, "commit-tree", tree, "-p", parent, "-F", "-", stdin=text, extra=extra).strip()
