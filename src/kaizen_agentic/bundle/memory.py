"""Agent memory: ``.kaizen/memory/<agent>.md``, dated entries with provenance.

The file is Markdown meant to be read and reviewed in a pull request. Each entry is a level-2
heading holding its date (RFC 3339 or ``YYYY-MM-DD``) and an optional ``(pinned)`` mark, an
optional provenance comment, and free text::

    ## 2027-03-29T09:00:00+02:00 (pinned)
    <!-- kaizen: bundle=kz-3f9c... commit=4b825dc6 -->
    Release branches are cut on Thursdays; never propose merging to main on Fridays.

Pinned entries are standing decisions: they are the last dropped when a bundle's token budget
is tight. Anything above the first heading is a preamble and is not an entry.

An entry's text cannot make structure: a line of it that the reader would take for a heading,
a code fence or a provenance comment is written with one more leading backslash (Markdown's own
escape, so it still reads as text) and read back with one less. Whatever text is added is read
back byte for byte, as one entry. Lines end at ``\n`` only.
"""

import os
import re
from datetime import UTC, date, datetime
from typing import Final, NamedTuple

from kaizen_agentic.errors import KaizenError

MEMORY_DIR: Final = os.path.join(".kaizen", "memory")
MAX_MEMORY_BYTES: Final = 16 * 1024 * 1024
MAX_ENTRY_CHARS: Final = 20_000
_HEADING = re.compile(r"## +(?P<when>\S+)(?P<rest>.*)$")
_META = re.compile(r"<!--\s*kaizen:(?P<pairs>[^>]*?)-->\s*$")
# What the reader may take for structure, after any leading backslashes: escaped on writing.
_STRUCTURE = re.compile(r"##(?:[ \t]|$)|```|~~~|\s*<!--\s*kaizen:")
_FENCES: Final = ("```", "~~~")
_PROVENANCE = re.compile(r"[A-Za-z0-9._:+-]{1,200}")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class MemoryEntry(NamedTuple):
    """One dated memory entry, with its provenance and whether it is pinned."""

    when: str  # as written in the heading
    moment: datetime  # for ordering; the epoch when the heading has no readable date
    pinned: bool
    title: str  # heading text after the date and the pinned mark
    bundle: str | None
    commit: str | None
    text: str
    line: int

    def render(self) -> str:
        """The entry as it stands in the file (a canonical form)."""
        head = f"## {self.when}"
        if self.pinned:
            head += " (pinned)"
        if self.title:
            head += f" {self.title}"
        lines = [head]
        meta = " ".join(
            f"{k}={v}" for k, v in (("bundle", self.bundle), ("commit", self.commit)) if v
        )
        if meta:
            lines.append(f"<!-- kaizen: {meta} -->")
        lines.append(escape(self.text.rstrip("\n")))
        return "\n".join(lines) + "\n"


def escape(text: str) -> str:
    """``text`` with one more leading backslash on each line the reader would take for
    structure (see the module's note); ``parse`` takes it off again."""
    return "\n".join(
        "\\" + line if _STRUCTURE.match(line.lstrip("\\")) else line for line in text.split("\n")
    )


def _unescape(line: str) -> str:
    return line[1:] if line.startswith("\\") and _STRUCTURE.match(line.lstrip("\\")) else line


def memory_path(root: str, agent: str) -> str:
    """The agent's memory file in the repository."""
    return os.path.join(root, MEMORY_DIR, f"{agent}.md")


def _moment(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse(text: str) -> list[MemoryEntry]:
    """Every entry in a memory file, in file order. Headings inside code fences are text."""
    entries: list[MemoryEntry] = []
    current: dict[str, object] | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            entries.append(MemoryEntry(text="\n".join(body).strip("\n") + "\n", **current))  # type: ignore[arg-type]

    fence = False
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(_FENCES):
            fence = not fence
        match = None if fence else _HEADING.match(line)
        if match is None:
            if current is not None and not body and current["bundle"] is None:
                meta = _META.match(line.strip())
                if meta and line.strip().startswith("<!--"):
                    pairs = dict(p.split("=", 1) for p in meta["pairs"].split() if "=" in p)
                    current["bundle"], current["commit"] = pairs.get("bundle"), pairs.get("commit")
                    continue
            body.append(line if fence else _unescape(line))
            continue
        close()
        body = []
        rest = match["rest"].strip()
        pinned = rest.startswith("(pinned)")
        if pinned:
            rest = rest[len("(pinned)") :].strip()
        when = match["when"]
        current = {
            "when": when,
            "moment": _moment(when) or _EPOCH,
            "pinned": pinned,
            "title": rest,
            "bundle": None,
            "commit": None,
            "line": number,
        }
    close()
    return entries


def _open_fence(text: str) -> bool:
    """Whether ``text`` ends inside a code fence (one a hand edit left open)."""
    fence = False
    for line in text.split("\n"):
        if line.startswith(_FENCES):
            fence = not fence
    return fence


def _load(root: str, agent: str) -> tuple[str, bytes] | None:
    """The memory file's text and bytes, or None when there is no file."""
    from kaizen_agentic.repo import read_inside

    data = read_inside(root, os.path.join(MEMORY_DIR, f"{agent}.md"), MAX_MEMORY_BYTES)
    if data is None:
        return None
    try:
        return data.decode("utf-8-sig"), data
    except UnicodeDecodeError:
        raise KaizenError(f"{memory_path(root, agent)} is not UTF-8 text") from None


def read(root: str, agent: str) -> tuple[list[MemoryEntry], str | None]:
    """The agent's memory entries and the file's digest (None when there is no file)."""
    import hashlib

    loaded = _load(root, agent)
    if loaded is None:
        return [], None
    text, data = loaded
    return parse(text), "sha256:" + hashlib.sha256(data).hexdigest()


def header(agent: str) -> str:
    """The heading a new memory file starts with."""
    return (
        f"# Memory: {agent}\n\n"
        '<!-- Kept by kaizen-agentic and by you: one "## <date>" heading per entry, oldest '
        'first.\n     Edit or delete entries freely. "(pinned)" entries are standing '
        "decisions, dropped last\n     when a bundle's token budget is tight. -->\n"
    )


def add(root: str, agent: str, entries: list[MemoryEntry]) -> str:
    """Append ``entries`` to the agent's memory file, atomically and under a folder lock.

    Entries already present (same bundle provenance and same text) are not added twice.
    Returns the file's path.
    """
    from kaizen_agentic.agents import check_name
    from kaizen_agentic.atomic import locked_dir, write_atomic
    from kaizen_agentic.repo import folder_inside

    check_name(agent)
    path = memory_path(root, agent)
    for entry in entries:
        _check(entry)
    folder = folder_inside(root, MEMORY_DIR)
    with locked_dir(folder):
        loaded = _load(root, agent)
        existing = loaded[0] if loaded else ""
        known = {(e.bundle, e.text.strip()) for e in parse(existing)}
        fresh = [e for e in entries if (e.bundle, e.text.strip()) not in known or not e.bundle]
        if not fresh:
            return path
        text = existing or header(agent)
        if _open_fence(text):
            text = text.rstrip("\n") + "\n```"  # else the new entries would read as code
        text = text.rstrip("\n") + "\n\n" + "\n".join(e.render() for e in fresh)
        write_atomic(path, text.encode("utf-8"))
    return path


def _check(entry: MemoryEntry) -> None:
    size = len(entry.text.rstrip("\n"))
    if not entry.text.strip():
        raise KaizenError("a memory entry needs some text")
    if size > MAX_ENTRY_CHARS:
        raise KaizenError(f"a memory entry is {size} characters; the limit is {MAX_ENTRY_CHARS}")
    try:
        entry.text.encode("utf-8")
    except UnicodeEncodeError:
        raise KaizenError("a memory entry must be Unicode text (a lone surrogate is not)") from None
    for name, value in (("bundle", entry.bundle), ("commit", entry.commit)):
        if value is not None and not _PROVENANCE.fullmatch(value):
            raise KaizenError(
                f"a memory entry's {name} must be 1-200 characters of A-Z, a-z, 0-9, "
                f"'.', '_', ':', '+', '-'; got {value[:60]!r}"
            )


def new_entry(
    text: str,
    *,
    when: datetime,
    pinned: bool = False,
    bundle: str | None = None,
    commit: str | None = None,
) -> MemoryEntry:
    """A memory entry for ``text``, dated ``when``, with its provenance."""
    stamp = when.isoformat(timespec="seconds")
    return MemoryEntry(stamp, when, pinned, "", bundle, commit, text.strip("\n") + "\n", 0)


def merge(base: str, ours: str, theirs: str) -> tuple[str, bool]:
    """A three-way merge of one memory file, by whole entries (git's ``merge.kaizen-memory``).

    The entries each side added at its end are all kept: ours, then those of theirs that ours
    does not hold. The rest (the preamble, edits and deletions of older entries) merges as git
    merges lines; a conflict there is marked as git marks it. Returns the text and whether it
    merged cleanly. (Git's ``union`` would interleave two new entries that share lines.)"""
    known = {_identity(e) for e in parse(base)}
    our_head, our_new = _split_new(ours, known)
    their_head, their_new = _split_new(theirs, known)
    merged, clean = _merge_lines(our_head, _trimmed(base), their_head)
    kept = {key for key, _ in our_new}
    blocks = [block for _, block in our_new]
    blocks += [block for key, block in their_new if key not in kept]
    if not blocks:
        return merged, clean
    body = "\n".join(block.strip("\n") + "\n" for block in blocks)
    return (merged + "\n" if merged else "") + body, clean


def _identity(entry: MemoryEntry) -> tuple[str, str | None]:
    """What makes an entry the same entry after an edit: its date and its bundle."""
    return entry.when, entry.bundle


def _trimmed(text: str) -> str:
    return text.rstrip("\n") + "\n" if text.strip() else ""


def _split_new(text: str, known: set[tuple[str, str | None]]) -> tuple[str, list[tuple[str, str]]]:
    """``text`` up to the entries at its end that ``known`` lacks, and those entries (their
    canonical form and their lines as written)."""
    entries = parse(text)
    first = len(entries)
    while first > 0 and _identity(entries[first - 1]) not in known:
        first -= 1
    lines = text.split("\n")  # as parse() numbers them: a line ends at "\n" only
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    new = []
    for i in range(first, len(entries)):
        end = entries[i + 1].line - 1 if i + 1 < len(entries) else len(lines)
        new.append((entries[i].render(), "".join(lines[entries[i].line - 1 : end])))
    head = "".join(lines[: entries[first].line - 1]) if first < len(entries) else text
    return _trimmed(head), new


def _merge_lines(ours: str, base: str, theirs: str) -> tuple[str, bool]:
    """``git merge-file``: a line merge of three texts, conflicts marked."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kaizen-memory-") as tmp:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            paths.append(os.path.join(tmp, name))
            with open(paths[-1], "w", encoding="utf-8") as handle:
                handle.write(text)
        labels = ("-L", "ours", "-L", "base", "-L", "theirs")
        try:
            done = subprocess.run(
                ["git", "merge-file", "-p", *labels, *paths],
                capture_output=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise KaizenError(f"could not run git merge-file: {exc}") from None
    if done.returncode < 0 or done.returncode > 127:
        raise KaizenError(f"git merge-file failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8"), done.returncode == 0
