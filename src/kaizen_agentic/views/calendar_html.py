"""The fleet calendar as one self-contained HTML file: no script, no network, no external asset.

Colours come from viridis, a sequential palette that stays readable with every common form of
colour blindness and in greyscale; every cell also prints its number.
"""

from __future__ import annotations

from html import escape
from itertools import groupby
from typing import Final

from kaizen_agentic.output import plural
from kaizen_agentic.views.timetable import DAYS, Timetable, advice

# viridis, light text on the dark half
PALETTE: Final = ("#440154", "#443983", "#31688e", "#21918c", "#35b779", "#90d743", "#fde725")

CSS: Final = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
       color: #1b1b1b; background: #fff; max-width: 72rem; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; }
table.heat td, table.heat th { width: 2.1rem; height: 1.7rem; text-align: center;
       font-variant-numeric: tabular-nums; }
table.heat td { border: 1px solid #fff; font-size: 12px; }
table.heat td.zero { background: #f2f2f2; color: #999; }
table.heat th { font-weight: 600; font-size: 12px; color: #444; }
.legend span { display: inline-block; padding: .1rem .5rem; font-size: 12px; }
.advice { border-left: 4px solid #31688e; background: #f5f8fb; padding: .6rem 1rem; }
table.list td, table.list th { border-bottom: 1px solid #e3e3e3; padding: .25rem .8rem .25rem 0;
       text-align: left; vertical-align: top; }
.day { margin-bottom: 1rem; } .day h3 { font-size: 1rem; margin: .8rem 0 .2rem; }
code { font-family: ui-monospace, monospace; font-size: 12px; }
"""


def _shade(count: int, top: int) -> tuple[str, str]:
    index = min(len(PALETTE) - 1, (count * len(PALETTE) - 1) // max(top, 1))
    return PALETTE[index], "#fff" if index < 4 else "#000"


def _heatmap(table: Timetable) -> str:
    top = max((max(row) for row in table.heat), default=0)
    head = "".join(f"<th scope='col'>{h:02d}</th>" for h in range(24))
    rows = []
    for day, row in zip(DAYS, table.heat, strict=True):
        cells = []
        for hour, count in enumerate(row):
            label = f"{day} {hour:02d}:00: {count} run{'s' if count != 1 else ''}"
            if count == 0:
                cells.append(f"<td class='zero' title='{label}'>&middot;</td>")
            else:
                bg, fg = _shade(count, top)
                cells.append(f"<td style='background:{bg};color:{fg}' title='{label}'>{count}</td>")
        rows.append(f"<tr><th scope='row'>{day}</th>{''.join(cells)}</tr>")
    legend = "".join(
        f"<span style='background:{c};color:{'#fff' if i < 4 else '#000'}'>"
        f"{'low' if i == 0 else 'high' if i == len(PALETTE) - 1 else '&nbsp;'}</span>"
        for i, c in enumerate(PALETTE)
    )
    return (
        f"<table class='heat' id='heatmap' aria-label='runs per hour of the week'>"
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p class='legend'>runs per hour, {escape(table.zone)}: {legend} (max {top})</p>"
    )


def _advice(table: Timetable) -> str:
    if not table.peaks:
        return f"<p>No hour holds more than {table.threshold} runs: the load is spread.</p>"
    lines, closing = advice(table)
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    tail = f"<p>{escape(closing)}</p>" if closing else ""
    return f"<div class='advice' id='advisory'><ul>{items}</ul>{tail}</div>"


def _agenda(table: Timetable) -> str:
    days = []
    for day, runs in groupby(table.runs, key=lambda r: r.when.date()):
        rows = "".join(
            f"<tr><td><code>{r.when:%H:%M}</code></td><td>{escape(r.slug)}</td>"
            f"<td>{escape(r.agent)}</td></tr>"
            for r in runs
        )
        days.append(
            f"<div class='day'><h3>{day:%A %Y-%m-%d}</h3><table class='list'>"
            f"<tr><th>time</th><th>repository</th><th>agent</th></tr>{rows}</table></div>"
        )
    return "".join(days) or "<p>No runs in this window.</p>"


def _others(table: Timetable) -> str:
    if not table.not_taking_part:
        return "<p>Every repository on the roster takes part.</p>"
    rows = "".join(
        f"<tr><td>{escape(r.slug)}</td><td>{escape(r.state)}</td><td>{escape(r.reason)}</td></tr>"
        for r in table.not_taking_part
    )
    return (
        f"<table class='list' id='not-taking-part'><tr><th>repository</th><th>state</th>"
        f"<th>reason</th></tr>{rows}</table>"
    )


def render(table: Timetable, title: str = "Kaizen fleet calendar") -> str:
    """The calendar as one self-contained HTML page."""
    span = f"{table.start:%Y-%m-%d %H:%M} to {table.end:%Y-%m-%d %H:%M} ({escape(table.zone)})"
    busiest = table.busiest()
    top = ", ".join(f"{DAYS[d]} {h:02d}:00 ({n})" for d, h, n in busiest) or "none"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class='sub'>{span}: {plural(len(table.runs), 'run')}; "
        f"busiest: {top}</p>"
        f"<h2>When the fleet runs</h2>{_heatmap(table)}"
        f"<h2>Load advisory</h2>{_advice(table)}"
        f"<h2>Repositories not taking part</h2>{_others(table)}"
        f"<h2>Agenda</h2>{_agenda(table)}"
        "</body></html>\n"
    )
