"""``kaizen-agentic memory show | add AGENT``: what an agent remembers about a repository; and
``memory merge``, git's merge driver for memory files."""

from __future__ import annotations

import sys

from kaizen_agentic import output
from kaizen_agentic.agents import check_name
from kaizen_agentic.bundle.memory import add, memory_path, new_entry, read
from kaizen_agentic.errors import KaizenError, UsageError
from kaizen_agentic.repo import find_root


def run_show(*, agent: str, repo: str, as_json: bool) -> int:
    check_name(agent)
    root = str(find_root(repo))
    from kaizen_agentic.commands.options import warn_unscheduled

    warn_unscheduled(root, agent)
    entries, digest = read(root, agent)
    if as_json:
        doc = {
            "agent": agent,
            "path": memory_path(root, agent),
            "digest": digest,
            "entries": [
                {
                    "when": e.when,
                    "pinned": e.pinned,
                    "title": e.title,
                    "bundle": e.bundle,
                    "commit": e.commit,
                    "line": e.line,
                    "text": e.text,
                }
                for e in entries
            ],
        }
        sys.stdout.write(output.to_json(doc))
        return 0
    if digest is None:
        sys.stdout.write(f"no memory yet for {agent} ({memory_path(root, agent)})\n")
        return 0
    pinned = sum(1 for e in entries if e.pinned)
    sys.stdout.write(
        f"{memory_path(root, agent)}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        f" ({pinned} pinned)\n\n" + "\n".join(e.render() for e in entries)
    )
    return 0


def run_add(
    *,
    agent: str,
    text: str | None,
    file: str | None,
    at: str | None,
    repo: str,
    pin: bool,
    bundle: str | None,
    commit: str | None,
) -> int:
    check_name(agent)
    if (text is None) == (file is None):
        raise UsageError("give the entry's TEXT or --file FILE (one of them)")
    if file == "-":
        body = sys.stdin.read()
    elif file is not None:
        try:
            with open(file, encoding="utf-8") as handle:
                body = handle.read()
        except OSError as exc:
            raise KaizenError(f"{file}: {exc.strerror}") from None
    else:
        assert text is not None
        body = text
    from kaizen_agentic.commands.options import parse_at

    when = parse_at(at)
    root = str(find_root(repo))
    from kaizen_agentic.commands.options import warn_unscheduled

    warn_unscheduled(root, agent)
    entry = new_entry(body, when=when, pinned=pin, bundle=bundle, commit=commit)
    path = add(root, agent, [entry])
    sys.stdout.write(f"added a{' pinned' if pin else 'n'} entry to {path}\n")
    return 0


def run_merge(*, base: str, ours: str, theirs: str) -> int:
    from kaizen_agentic.atomic import read_capped, write_atomic
    from kaizen_agentic.bundle.memory import MAX_MEMORY_BYTES, merge

    texts = []
    for path in (base, ours, theirs):
        try:
            texts.append(read_capped(path, MAX_MEMORY_BYTES).decode("utf-8-sig"))
        except FileNotFoundError:
            raise KaizenError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise KaizenError(f"{path} is not UTF-8 text") from None
        except (OSError, ValueError) as exc:
            raise KaizenError(f"{path}: {exc}") from None
    merged, clean = merge(*texts)
    write_atomic(ours, merged.encode("utf-8"))
    if not clean:
        raise KaizenError(f"{ours}: conflicting edits to the same entries; marked for a person")
    return 0
