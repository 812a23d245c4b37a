"""``kaizen-agentic metrics report``: what the fleet's agents did, where, and whether it helps."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.commands.options import Source, parse_time, repo_or_fleet
from kaizen_agentic.errors import KaizenError, UsageError

DEFAULT_PERIOD = timedelta(days=28)


def run(
    *,
    repo: str | None,
    source: Source,
    since: str | None,
    until: str | None,
    as_json: bool,
    html: str | None,
    openmetrics: str | None,
) -> int:
    from datetime import UTC

    from kaizen_agentic.views import report

    end = parse_time(until, "--until") or datetime.now(UTC)
    begin = parse_time(since, "--since") or end - DEFAULT_PERIOD
    if begin >= end:
        raise UsageError("--since must be before --until")
    found = repo_or_fleet(repo, source, end, doing="report")
    table = report.build(found, since=begin, until=end, agent=source.agent, progress=_progress())
    if html:
        from kaizen_agentic.atomic import write_atomic
        from kaizen_agentic.views.report_html import render

        _write(html, render(table), write_atomic)
    if openmetrics:
        from kaizen_agentic.atomic import write_atomic

        _write(openmetrics, report.openmetrics(table), write_atomic)
    if as_json:
        sys.stdout.write(output.to_json(report.as_dict(table)))
    else:
        sys.stdout.write(text(table))
    return 0


def _write(path: str, content: str, write_atomic: Any) -> None:
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise KaizenError(f"cannot write {path}: it is a folder")
    if not os.path.isdir(folder):
        raise KaizenError(f"cannot write {path}: no such folder {folder}")
    try:
        write_atomic(path, content.encode("utf-8"))
    except OSError as exc:
        raise KaizenError(f"cannot write {path}: {exc.strerror or exc}") from None
    sys.stderr.write(f"wrote {path}\n")


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        output.progress(f"reading {done}/{total} repositories")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def text(table: Any) -> str:
    """A compact table that fits 100 columns, worst first; then totals and who is not in."""
    from kaizen_agentic.views import report

    colour = output.use_colour()
    ranked = {(a.slug, a.agent): (score, why) for a, score, why in report.attention(table)}
    rows = []
    ordered = sorted(
        table.agents, key=lambda a: (-ranked.get((a.slug, a.agent), (0, []))[0], a.slug, a.agent)
    )
    for a in ordered:
        _, why = ranked.get((a.slug, a.agent), (0, []))
        runs = "/".join(str(a.runs[o]) for o in ("success", "partial", "failure", "skipped"))
        note = _cut("; ".join(why), 22)
        rows.append(
            [
                _cut(a.slug, 22),
                _cut(a.agent, 14),
                runs,
                str(len(a.missed)),
                (a.last_run or "never")[:10],
                str(a.tokens_total),
                output.paint(note, "red", colour) if note else "",
            ]
        )
    head = (
        f"{table.source}\n{output.rfc3339(table.since)} to {output.rfc3339(table.until)}: "
        f"{len(table.agents)} agents\n\n"
    )
    body = (
        output.table(rows, ["REPO", "AGENT", "OK/P/F/S", "MISS", "LAST", "TOKENS", "ATTENTION"])
        if rows
        else "no agents in the period\n"
    )
    lines = [
        "",
        "OK/P/F/S: success, partial, failure, skipped runs; MISS: due slots with no run",
        "",
        "per agent:",
    ]
    for agent, t in report.totals(table).items():
        r = t["runs"]
        lines.append(
            f"  {agent}: {t['repos']} repos, {r['success']} ok, {r['partial']} partial, "
            f"{r['failure']} failed, {r['skipped']} skipped, {t['missed']} missed, "
            f"{t['tokens']} tokens"
        )
    if table.not_taking_part:
        lines += ["", "not taking part:"]
        lines += [f"  {r.slug}: {r.state} ({r.reason})" for r in table.not_taking_part]
    return head + body + "\n".join(lines) + "\n"
