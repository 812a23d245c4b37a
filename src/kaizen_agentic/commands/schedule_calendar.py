"""``kaizen-agentic schedule calendar``: when the fleet runs, where load piles up, who never
runs."""

from __future__ import annotations

import sys
from datetime import timedelta

from kaizen_agentic import output
from kaizen_agentic.commands.options import Source, parse_at, repo_or_fleet
from kaizen_agentic.errors import UsageError
from kaizen_agentic.views.timetable import DAYS, Timetable, advice, as_dict, build


def run(
    *,
    repo: str | None,
    source: Source,
    start: str | None,
    days: int,
    timezone: str | None,
    threshold: int | None,
    html: str | None,
    as_json: bool,
) -> int:
    from kaizen_agentic.manifest.schedule import check_timezone

    begin = parse_at(start, "--from")
    zone = timezone or "UTC"
    problem = check_timezone(zone)
    if problem:
        raise UsageError(f"--tz: {problem}")
    found = repo_or_fleet(repo, source, begin, doing="show")
    table = build(found, start=begin, days=days, zone=zone, threshold=threshold)
    if html:
        from kaizen_agentic.atomic import write_atomic
        from kaizen_agentic.views.calendar_html import render

        write_atomic(html, render(table).encode("utf-8"))
        sys.stderr.write(f"wrote {html}\n")
    if as_json:
        sys.stdout.write(output.to_json(as_dict(table)))
    else:
        sys.stdout.write(text(table))
    return 0


def text(table: Timetable) -> str:
    colour = output.use_colour()
    end = table.end - timedelta(seconds=1)
    lines = [
        f"{table.start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({table.zone}): "
        f"{output.plural(len(table.runs), 'run')}",
        "",
        "      " + "".join(f"{h:>3}" for h in range(24)),
    ]
    top = max((max(row) for row in table.heat), default=0)
    for day, row in zip(DAYS, table.heat, strict=True):
        cells = []
        for count in row:
            cell = f"{count:>3}" if count else "  ."
            if count and count > table.threshold:
                cell = output.paint(cell, "red", colour)
            elif count and top and count * 2 >= top:
                cell = output.paint(cell, "yellow", colour)
            cells.append(cell)
        lines.append(f"{day:<6}" + "".join(cells))
    lines.append("")
    for d, h, n in table.busiest():
        who = table.who_names(d, h)
        shown = ", ".join(who[:6]) + (f" (+{len(who) - 6} more)" if len(who) > 6 else "")
        lines.append(f"busiest: {DAYS[d]} {h:02d}:00, {output.plural(n, 'run')}: {shown}")
    if table.runs and not table.busiest():
        lines.append("busiest: none; no hour of the week holds the runs of more than one agent")
    lines_, closing = advice(table)
    lines += [f"advisory: {line}" for line in lines_]
    if closing:
        lines.append(f"advisory: {closing}")
    if table.not_taking_part:
        lines += ["", "not taking part:"]
        lines += [f"  {r.slug}: {r.state} ({r.reason})" for r in table.not_taking_part]
    return "\n".join(lines) + "\n"
