"""Prepared bundles on disk: one offline, complete, reproducible input per scheduled run.

A bundle is a folder holding ``PROMPT.md`` (ready for any LLM runtime), the ``parts/`` it was
assembled from, and ``manifest.json`` (provenance, budget, what was dropped, redaction counts,
every file's SHA-256, and the bundle digest). The same inputs for the same schedule slot give
the same bytes. A bundle is written in a temporary sibling folder and renamed into place, so a
folder with the final name is always complete; a crash leaves only a ``.tmp-`` folder, swept
later. Making one is ``prepare``'s job; this module is its key, path, digest, write and read.
"""

import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from kaizen_agentic import output
from kaizen_agentic.atomic import fsync_dir
from kaizen_agentic.errors import KaizenError

BUNDLE_FORMAT: Final = 1
MANIFEST: Final = "manifest.json"
PROMPT: Final = "PROMPT.md"
STALE_TMP_SECONDS: Final = 3600
# What reading a bundle may cost: its files are written by `prepare` (a prompt within a budget
# of at most a million tokens), so anything larger was put there by someone else.
MAX_MANIFEST_BYTES: Final = 4 * 1024 * 1024
MAX_FILE_BYTES: Final = 32 * 1024 * 1024


def default_out_dir() -> str:
    """Where bundles go when no folder is named: ``$KAIZEN_BUNDLE_DIR``, else the user's cache."""
    explicit = os.environ.get("KAIZEN_BUNDLE_DIR")
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "kaizen-agentic", "bundles")


def idempotency_key(slug: str, agent: str, slot: datetime) -> str:
    """Stable id of one (repo, agent, slot): the event id and the bundle's identity."""
    slot_utc = slot.astimezone(UTC).isoformat(timespec="seconds")
    digest = hashlib.sha256(f"{slug}\n{agent}\n{slot_utc}".encode()).hexdigest()
    return f"kz-{digest[:40]}"


def safe_name(text: str) -> str:
    """A single path segment for ``text`` (a slug): no separators, no leading dot."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", text.replace("/", "__")).lstrip(".")
    return name[:150] or "_"


def bundle_path(out_dir: str, slug: str, agent: str, slot: datetime) -> str:
    """Where the bundle of ``(slug, agent, slot)`` lives below ``out_dir``."""
    stamp = slot.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(out_dir, safe_name(slug), agent, stamp)


def check_out_dir(out_dir: str, final: str) -> None:
    """Refuse an output folder, or a folder below it, that is a symbolic link: a planted link
    could send a bundle (repository content) anywhere."""
    current = out_dir
    for part in ["", *os.path.relpath(final, out_dir).split(os.sep)]:
        current = os.path.join(current, part) if part else current
        if os.path.islink(current.rstrip(os.sep) or os.sep):
            raise KaizenError(
                f"{current} is a symbolic link; refusing to write a bundle through it"
            )


def digest_of(manifest: dict[str, Any]) -> str:
    """The bundle digest: SHA-256 of its manifest without the digest itself."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    canonical = output.compact_json(body)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def json_bytes(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, two-space indent, final newline)."""
    return output.to_json(value).encode()


def write_bundle(final: str, files: dict[str, bytes], durable: bool = True) -> bool:
    """Write ``files`` into a new folder at ``final`` atomically (0700 folders, 0600 files).

    Returns False, writing nothing, when ``final`` already exists (another writer won).
    """
    parent = os.path.dirname(final)
    os.makedirs(parent, mode=0o700, exist_ok=True)
    tmp = os.path.join(
        parent,
        f".tmp-{os.path.basename(final)}-{secrets.token_hex(4)}-{os.getpid()}-{_host()}",
    )
    os.mkdir(tmp, 0o700)
    try:
        for relative, data in sorted(files.items()):
            path = os.path.join(tmp, relative)
            folder = os.path.dirname(path)
            if not os.path.isdir(folder):
                os.mkdir(folder, 0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        if durable:
            for folder in {os.path.dirname(os.path.join(tmp, r)) for r in files}:
                fsync_dir(folder)
        try:
            os.rename(tmp, final)
        except OSError as exc:
            if os.path.isdir(final):
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            raise KaizenError(f"could not move the bundle into {final}: {exc.strerror}") from None
        if durable:
            fsync_dir(parent)
        return True
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep(parent: str, older_than: float = STALE_TMP_SECONDS) -> int:
    """Remove temporary folders that crashed writers left in ``parent``: at once when the
    writer was a process of this host that is gone, else once older than ``older_than``
    seconds. Returns how many."""
    removed = 0
    now = time.time()
    try:
        names = os.listdir(parent)
    except OSError:
        return 0
    for name in names:
        if not (name.startswith(".tmp-") or name.startswith(".old-")):
            continue
        path = os.path.join(parent, name)
        try:
            if now - os.lstat(path).st_mtime < older_than and not _gone(name):
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


@functools.cache
def _host() -> str:
    """Who can tell whether a writer's pid is alive: this host's name and PID namespace (two
    containers that share a bundle folder, and even a host name, do not share pids)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        namespace = "?"  # no way to tell: such folders only ever expire by age
    return re.sub(r"[^A-Za-z0-9.]", "_", f"{os.uname().nodename}.{namespace}")[:80]


def _gone(name: str) -> bool:
    """Whether the writer of ``.tmp-<name>-<hex>-<pid>-<host>`` ran here and is gone."""
    parts = name[len(".tmp-") :].split("-", 3)
    if not name.startswith(".tmp-") or len(parts) != 4 or parts[3] != _host():
        return False
    if _host().endswith(".?"):
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False  # alive under another user, or not a pid
    return False


def read_member(path: str, relative: str, limit: int) -> bytes:
    """The bytes of the bundle's file ``relative`` (``/``-separated): a regular file below the
    bundle folder, reached without following any link, of at most ``limit`` bytes.

    Raises ``FileNotFoundError`` when it is missing and ``ValueError`` saying why it may not be
    read: a path leaving the bundle, a symbolic link, a FIFO or device, too large."""
    import errno

    from kaizen_agentic.atomic import read_fd_capped

    parts = relative.split("/")
    if relative.startswith("/") or "\0" in relative or any(p in ("", ".", "..") for p in parts):
        raise ValueError("not a path inside the bundle")
    nofollow = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # One component at a time, relative to the folder already open: a link swapped in
        # between a check and an open cannot lead the read out of the bundle.
        for part in parts[:-1]:
            inner = os.open(part, nofollow | os.O_DIRECTORY, dir_fd=folder)
            os.close(folder)
            folder = inner
        fd = os.open(parts[-1], nofollow | os.O_NONBLOCK, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (
            exc.errno == errno.ENOTDIR and os.path.islink(os.path.join(path, *parts[:-1]))
        ):  # O_NOFOLLOW refused a link
            raise ValueError("a symbolic link (a bundle holds only regular files)") from None
        if exc.errno == errno.ENOTDIR:
            raise ValueError("not a path inside the bundle") from None
        raise
    finally:
        os.close(folder)
    try:
        return read_fd_capped(fd, limit)
    finally:
        os.close(fd)


def read_manifest(path: str) -> dict[str, Any]:
    """The manifest of the bundle at ``path``. Raises ``KaizenError`` when it is unreadable."""
    try:
        value = json.loads(read_member(path, MANIFEST, MAX_MANIFEST_BYTES))
    except FileNotFoundError:
        raise KaizenError(f"{path} is not a bundle (no {MANIFEST})") from None
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise KaizenError(f"{path}/{MANIFEST} is unreadable: {reason}") from None
    if not isinstance(value, dict) or value.get("format") != BUNDLE_FORMAT:
        raise KaizenError(f"{path}/{MANIFEST} is not a kaizen-agentic bundle manifest")
    return value


def verify(path: str) -> list[str]:
    """Problems with the bundle at ``path``: missing or altered files, a wrong digest, files
    that are not the bundle's own (outside it, links, FIFOs, devices, over the size cap)."""
    try:
        manifest = read_manifest(path)
    except KaizenError as exc:
        return [str(exc)]
    problems = []
    if digest_of(manifest) != manifest.get("digest"):
        problems.append(f"{MANIFEST}: digest does not match its contents")
    files = manifest.get("files")
    if not isinstance(files, dict):
        return [*problems, f"{MANIFEST}: files is not a mapping of names to digests"]
    for relative, info in sorted(files.items()):
        expected = info.get("sha256") if isinstance(info, dict) else None
        try:
            data = read_member(path, relative, MAX_FILE_BYTES)
        except FileNotFoundError:
            problems.append(f"{relative}: missing")
            continue
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(f"{relative}: {reason}")
            continue
        if hashlib.sha256(data).hexdigest() != expected:
            problems.append(f"{relative}: contents do not match the manifest")
    return problems


class Binding(NamedTuple):
    """The checkout a verified bundle may record its result in, and the run it names."""

    root: str
    slug: str
    agent: str
    key: str
    head: str


def named_run(manifest: dict[str, Any]) -> Binding:
    """The checkout, slug, agent, key and commit a manifest names, once they have the shape of
    its run (strings; a key that its slug, agent and slot give). Nothing about the checkout is
    checked here: ``binding`` does that. Raises ``KaizenError``."""
    repo, agent = manifest.get("repo"), manifest.get("agent")
    fields = (
        repo.get("path") if isinstance(repo, dict) else None,
        repo.get("slug") if isinstance(repo, dict) else None,
        repo.get("head") if isinstance(repo, dict) else None,
        agent.get("name") if isinstance(agent, dict) else None,
        manifest.get("key"),
        manifest.get("slot"),
    )
    if not all(isinstance(f, str) for f in fields):
        raise KaizenError(f"{MANIFEST} lacks the repository, agent, key or slot of its run")
    root, slug, head, name, key, slot = (str(f) for f in fields)
    try:
        expected = idempotency_key(slug, name, datetime.fromisoformat(slot))
    except (ValueError, OverflowError):
        expected = None
    if key != expected:
        raise KaizenError(f"{MANIFEST}: the key does not match its repository, agent and slot")
    return Binding(root, slug, name, key, head)


def binding(manifest: dict[str, Any]) -> Binding:
    """Where a bundle's result may be written: the checkout it names, once that checkout is
    shown to be the repository the bundle was prepared from. Raises ``KaizenError``.

    The bundle's word is not enough: whoever can write the bundle folder can rewrite
    ``manifest.json`` and recompute its plain digest. So the checkout vouches for itself: it
    must be the top of a git work tree whose own ``.kaizen/schedule.yml`` says ``repo:`` is the
    bundle's slug, and whose history holds the commit the bundle was prepared at; the bundle's
    key must be the one its slug, agent and slot give. A forged bundle can then point only at
    a checkout of the same repository, never at another folder (docs/reliability.md)."""
    named = named_run(manifest)
    _bound(named.root, named.slug, named.head)
    return named


def _bound(root: str, slug: str, head: str) -> None:
    import subprocess

    from kaizen_agentic.errors import InvalidFileError
    from kaizen_agentic.manifest.schedule import MANIFEST_PATH, load_manifest
    from kaizen_agentic.repo import is_worktree

    if not os.path.isabs(root) or not os.path.isdir(root):
        raise KaizenError(f"the bundle's repository {root} is not on this host")
    from pathlib import Path

    if not is_worktree(Path(root)):
        raise KaizenError(
            f"{root} is not the top of a git work tree; a result is recorded only in the "
            f"checkout of {slug} its bundle was prepared from"
        )
    try:
        declared = load_manifest(os.path.join(root, MANIFEST_PATH), root).repo
    except InvalidFileError as exc:
        first = exc.problems[0] if exc.problems else exc
        raise KaizenError(f"cannot tell whether {root} is {slug}: {first}") from None
    if declared != slug:
        raise KaizenError(
            f'{root} is not {slug}: its {MANIFEST_PATH} says "repo: {declared}"; '
            "the result was not recorded"
        )
    known = re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", head) and subprocess.run(
        ["git", "-C", root, "cat-file", "-e", f"{head}^{{commit}}"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if not known or known.returncode != 0:
        raise KaizenError(
            f"{root} has no commit {head[:40]}: it is not the checkout of {slug} the bundle "
            "was prepared from; the result was not recorded"
        )


def place(
    final: str, files: dict[str, bytes], digest: str, force: bool, durable: bool
) -> tuple[str, str | None]:
    """Put a built bundle at ``final``; an existing one is kept unless ``force``.

    Returns the status (created, exists, replaced) and a note."""
    sweep(os.path.dirname(final))  # a writer killed here before: its folder goes now
    if os.path.isdir(final) and not force:
        return "exists", compare(final, digest)
    if write_bundle(final, files, durable):
        return "created", None
    if not force:
        return "exists", compare(final, digest)
    # --force over an existing bundle: move it aside, move ours in, then delete the old one.
    parent = os.path.dirname(final)
    aside = os.path.join(parent, f".old-{os.path.basename(final)}-{secrets.token_hex(4)}")
    os.rename(final, aside)
    if not write_bundle(final, files, durable):
        shutil.rmtree(aside, ignore_errors=True)
        return "exists", compare(final, digest)
    shutil.rmtree(aside, ignore_errors=True)
    return "replaced", None


def compare(final: str, digest: str) -> str | None:
    """A note when the bundle already at ``final`` was made from other inputs, else None."""
    existing = read_manifest(final).get("digest")
    if existing == digest:
        return None
    return (
        "the slot was already prepared from other inputs (the repository changed since); "
        "kept the existing bundle. Use --force to rebuild it."
    )
