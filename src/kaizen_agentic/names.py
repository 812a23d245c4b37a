"""What a name may be: the one place that decides the shape of an agent name, a repository slug,
a runner host name, a host path and a free-text label, for every reader (the manifest, agent
files, the roster, the command line) and every writer that embeds one in a path, a file name or
another language (a crontab line, a shell command, YAML, the Prometheus text, HTML, a terminal).

The rule under all of them: no character that another language reads as structure. A newline
ends a crontab line (and the job that follows it runs), ends a Prometheus sample, starts a YAML
key; an escape sequence moves a terminal's cursor or retitles its window. ``shlex`` quoting does
not stop a newline, so such characters are refused where a name enters, and every writer checks
again before it embeds one.

Each ``*_problem`` function returns why a value is refused (a phrase that fits after the value's
name in a message), or ``None`` when it is safe; callers raise their own located error.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Final

#: An agent's name: a file name under ``.kaizen/agents/`` and a path part of every bundle.
AGENT_NAME_PATTERN: Final = r"[a-z0-9][a-z0-9._-]{0,63}"

#: A repository's slug (``owner/name``), its identity in the roster, bundles and events.
SLUG_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}"

#: A runner host's name, as ``host_paths`` keys, ``--hostname`` and ``uname -n`` give it: letters,
#: digits, ``.``, ``-`` and ``_``, starting and ending with a letter or digit (RFC 1123, plus the
#: underscore some hosts carry). It becomes a crontab comment, a command argument and a
#: Kubernetes ``nodeSelector`` value.
HOST_NAME_PATTERN: Final = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?"

#: A run measure's name (``metrics record --measure NAME=N``), also the suffix of its metric.
MEASURE_NAME_PATTERN: Final = r"[a-z0-9_.-]{1,64}"

#: Characters no name, path or label may hold, as a regular-expression class: C0 and C1 control
#: characters and DEL (newline, carriage return, escape, NEL), Unicode line and paragraph
#: separators (line breaks to YAML and JavaScript), bidirectional embeddings, overrides and
#: isolates (they reorder what a terminal or an editor shows), and lone surrogates (no encoding
#: can write them).
UNSAFE_CHARS: Final = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"


#: Folders a container's own system lives in: never a checkout, never mounted (nor anything
#: inside them), whatever a roster says.
SYSTEM_FOLDERS: Final = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
)

#: Folders that hold many things besides checkouts: a checkout may be inside one, but the folder
#: itself is never mounted as a whole.
TOP_FOLDERS: Final = ("/", "/home", "/media", "/mnt", "/opt", "/root", "/srv", "/tmp", "/var")


@cache
def unsafe_pattern() -> re.Pattern[str]:
    """``UNSAFE_CHARS`` compiled (on first use: start-up stays small)."""
    return re.compile(f"[{UNSAFE_CHARS}]")


def unsafe_char(text: str) -> str | None:
    """The first unsafe character of ``text`` described (``a control character (U+000A) at
    position 9``), or None."""
    if text.isprintable():  # no control, separator or surrogate: the common case, at C speed
        return None
    found = unsafe_pattern().search(text)
    if found is None:
        return None
    return f"a control character (U+{ord(found.group()):04X}) at position {found.start()}"


def has_unsafe(text: str) -> bool:
    """Whether ``text`` holds a character of ``UNSAFE_CHARS``."""
    return not text.isprintable() and unsafe_pattern().search(text) is not None


def _pattern_problem(value: str, pattern: str, what: str) -> str | None:
    if re.fullmatch(pattern, value):
        return None
    bad = unsafe_char(value)
    return f"holds {bad}" if bad else f"is not {what}"


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` is not a repository slug (``owner/name``), or None."""
    return _pattern_problem(
        slug, SLUG_PATTERN, "a slug like owner/name (A-Z, a-z, 0-9, '.', '_', '/', '-')"
    )


def host_problem(name: str) -> str | None:
    """Why ``name`` is not a runner host name, or None."""
    return _pattern_problem(
        name, HOST_NAME_PATTERN, "a host name (letters, digits, '.', '-', '_'; up to 253)"
    )


def measure_problem(name: str) -> str | None:
    """Why ``name`` is not a measure name, or None."""
    return _pattern_problem(
        name, MEASURE_NAME_PATTERN, "a measure name (1-64 of a-z, 0-9, '_', '.', '-')"
    )


def label_problem(text: str) -> str | None:
    """Why free text (a description, a label value, a time as written) cannot be embedded in
    another language, or None. Any printable text is fine; control characters are not."""
    bad = unsafe_char(text)
    return f"holds {bad}" if bad else None


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a usable absolute host path, or None: it must be absolute, hold no
    ``..`` part and no control character. (Where it may be is the caller's rule: ``--root``,
    ``system_folder``.)"""
    bad = unsafe_char(path)
    if bad:
        return f"holds {bad}"
    if not path.startswith("/"):
        return "is not absolute"
    if ".." in path.replace("\\", "/").split("/"):
        return "contains '..'"
    return None


def normal_path(path: str) -> str:
    """``path`` normalised, with one leading slash: POSIX keeps a leading ``//`` (``//etc``),
    which every Linux reads as ``/etc``, so no rule below may see it."""
    clean = os.path.normpath(path)
    return "/" + clean.lstrip("/") if clean.startswith("//") else clean


def within(folder: str, path: str) -> bool:
    """Whether the normalised absolute ``path`` is ``folder`` or below it (no file system
    access: for paths on another host)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def system_folder(path: str) -> str | None:
    """The system folder that the normalised absolute ``path`` is or lies in, or None."""
    return next((f for f in SYSTEM_FOLDERS if within(f, path)), None)
