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
        now = "" if until else f" (default: now, {output.rfc3339(end)})"
        raise UsageError(f"--since must be before --until{now}")
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


def text(table: Any) -> str:
    """A table, worst first, with whole names (a name cut short is a name misread); then who
    needs attention first and why, totals per agent, and who is not taking part."""
    from kaizen_agentic.views import report

    colour = output.use_colour()
    ranked = report.attention(table)
    order = {(a.slug, a.agent): i for i, (a, _, _) in enumerate(ranked)}
    rows = []
    for a in sorted(
        table.agents, key=lambda a: (order.get((a.slug, a.agent), len(order)), a.slug, a.agent)
    ):
        runs = "/".join(str(a.runs[o]) for o in ("success", "partial", "failure", "skipped"))
        last = (a.last_run or "never")[:10]
        rows.append([a.slug, a.agent, runs, str(len(a.missed)), last, str(a.tokens_total)])
    head = (
        f"{table.source}\n{output.rfc3339(table.since)} to {output.rfc3339(table.until)}: "
        f"{output.plural(len(table.agents), 'agent')}\n\n"
    )
    body = (
        output.table(rows, ["REPO", "AGENT", "OK/P/F/S", "MISS", "LAST", "TOKENS"])
        if rows
        else "no agents in the period\n"
    )
    lines = ["", "OK/P/F/S: success, partial, failure, skipped runs; MISS: due slots with no run"]
    if ranked:
        lines += ["", "needs attention first:"]
        for a, _, why in ranked:
            lines.append(f"  {a.slug} {a.agent}: " + output.paint("; ".join(why), "red", colour))
    lines += ["", "per agent:"]
    for agent, t in report.totals(table).items():
        r = t["runs"]
        lines.append(
            f"  {agent}: {output.plural(t['repos'], 'repo')}, {r['success']} ok, "
            f"{r['partial']} partial, {r['failure']} failed, {r['skipped']} skipped, "
            f"{t['missed']} missed, {t['tokens']} tokens"
        )
    notes = [
        f"  {a.slug} {a.agent}: {f'metrics unreadable: {a.problem}' if a.problem else a.note}"
        for a in table.agents
        if a.problem or a.note
    ]
    if notes:
        lines += ["", "notes:", *notes]
    if table.not_taking_part:
        lines += ["", "not taking part:"]
        lines += [f"  {r.slug}: {r.state} ({r.reason})" for r in table.not_taking_part]
    return head + body + "\n".join(lines) + "\n"
