"""``kaizen-agentic memory show | add AGENT``: what an agent remembers about a repository."""

from __future__ import annotations

import argparse
import sys

from kaizen_agentic import output
from kaizen_agentic.agents import check_name
from kaizen_agentic.errors import KaizenError, UsageError
from kaizen_agentic.memory import add, memory_path, new_entry, read
from kaizen_agentic.repo import find_root


def run_show(args: argparse.Namespace) -> int:
    check_name(args.agent)
    root = str(find_root(args.repo))
    entries, digest = read(root, args.agent)
    if args.json:
        doc = {
            "agent": args.agent,
            "path": memory_path(root, args.agent),
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
        sys.stdout.write(f"no memory yet for {args.agent} ({memory_path(root, args.agent)})\n")
        return 0
    pinned = sum(1 for e in entries if e.pinned)
    sys.stdout.write(
        f"{memory_path(root, args.agent)}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        f" ({pinned} pinned)\n\n" + "\n".join(e.render() for e in entries)
    )
    return 0


def run_add(args: argparse.Namespace) -> int:
    check_name(args.agent)
    if (args.text is None) == (args.file is None):
        raise UsageError("give the entry's TEXT or --file FILE (one of them)")
    if args.file == "-":
        text = sys.stdin.read()
    elif args.file is not None:
        try:
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise KaizenError(f"{args.file}: {exc.strerror}") from None
    else:
        text = args.text
    from kaizen_agentic.commands.options import parse_at

    when = parse_at(args.at)
    root = str(find_root(args.repo))
    entry = new_entry(text, when=when, pinned=args.pin, bundle=args.bundle, commit=args.commit)
    path = add(root, args.agent, [entry])
    sys.stdout.write(f"added a{' pinned' if args.pin else 'n'} entry to {path}\n")
    return 0
