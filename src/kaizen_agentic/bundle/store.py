"""Prepared bundles on disk: one offline, complete, reproducible input per scheduled run.

A bundle is a folder holding ``PROMPT.md`` (ready for any LLM runtime), the ``parts/`` it was
assembled from, and ``manifest.json`` (provenance, budget, what was dropped, redaction counts,
every file's SHA-256, and the bundle digest). The same inputs for the same schedule slot give
the same bytes. A bundle is written in a temporary sibling folder and renamed into place, so a
folder with the final name is always complete; a crash leaves only a ``.tmp-`` folder, swept
later. Making one is ``prepare``'s job; this module is its key, path, digest, write and read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from datetime import UTC, datetime
from typing import Any, Final

from kaizen_agentic import output
from kaizen_agentic.atomic import fsync_dir
from kaizen_agentic.errors import KaizenError

BUNDLE_FORMAT: Final = 1
MANIFEST: Final = "manifest.json"
PROMPT: Final = "PROMPT.md"
STALE_TMP_SECONDS: Final = 3600


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
    sweep(parent)
    tmp = os.path.join(
        parent, f".tmp-{os.path.basename(final)}-{os.getpid()}-{secrets.token_hex(4)}"
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
    """Remove temporary folders that crashed writers left in ``parent``. Returns how many."""
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
            if now - os.lstat(path).st_mtime < older_than:
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def read_manifest(path: str) -> dict[str, Any]:
    """The manifest of the bundle at ``path``. Raises ``KaizenError`` when it is unreadable."""
    try:
        with open(os.path.join(path, MANIFEST), "rb") as handle:
            value = json.loads(handle.read())
    except FileNotFoundError:
        raise KaizenError(f"{path} is not a bundle (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise KaizenError(f"{path}/{MANIFEST} is unreadable: {exc}") from None
    if not isinstance(value, dict) or value.get("format") != BUNDLE_FORMAT:
        raise KaizenError(f"{path}/{MANIFEST} is not a kaizen-agentic bundle manifest")
    return value


def verify(path: str) -> list[str]:
    """Problems with the bundle at ``path``: missing or altered files, a wrong digest."""
    try:
        manifest = read_manifest(path)
    except KaizenError as exc:
        return [str(exc)]
    problems = []
    if digest_of(manifest) != manifest.get("digest"):
        problems.append(f"{MANIFEST}: digest does not match its contents")
    for relative, info in sorted(manifest.get("files", {}).items()):
        try:
            with open(os.path.join(path, relative), "rb") as handle:
                data = handle.read()
        except OSError:
            problems.append(f"{relative}: missing")
            continue
        if hashlib.sha256(data).hexdigest() != info.get("sha256"):
            problems.append(f"{relative}: contents do not match the manifest")
    return problems


def place(
    final: str, files: dict[str, bytes], digest: str, force: bool, durable: bool
) -> tuple[str, str | None]:
    """Put a built bundle at ``final``; an existing one is kept unless ``force``.

    Returns the status (created, exists, replaced) and a note."""
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
