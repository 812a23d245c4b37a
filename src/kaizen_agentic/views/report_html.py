"""The fleet report as one self-contained HTML page: no script, no network, no external asset.

Charts are inline SVG with their numbers on the marks and a legend in words, so they read in
greyscale and without colour; the colours (Okabe-Ito) stay distinct for colour-blind readers.
"""

from __future__ import annotations

from html import escape
from typing import Any, Final

from kaizen_agentic.bundle.metrics import OUTCOMES
from kaizen_agentic.views.calendar_html import CSS as BASE_CSS
from kaizen_agentic.views.report import FleetReport, as_dict

COLOURS: Final = {
    "success": "#009E73",
    "partial": "#E69F00",
    "failure": "#D55E00",
    "skipped": "#999999",
}
LETTERS: Final = {"success": "OK", "partial": "P", "failure": "F", "skipped": "SK"}
SERIES: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
CSS: Final = (
    BASE_CSS
    + """
svg { display: block; margin: .5rem 0 1rem; } svg text { font: 11px system-ui, sans-serif; }
.bad { color: #b00020; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""
)
WIDTH, HEIGHT, PAD = 760, 220, 36


def _bars(weeks: list[dict[str, Any]]) -> str:
    """Runs per week, stacked by outcome, each segment labelled with its count."""
    if not weeks:
        return "<p>No runs recorded in this period.</p>"
    top = max(sum(w["runs"].values()) for w in weeks) or 1
    step = (WIDTH - 2 * PAD) / len(weeks)
    parts = []
    for i, week in enumerate(weeks):
        x = PAD + i * step + step * 0.15
        base = HEIGHT - PAD
        for outcome in OUTCOMES:
            n = week["runs"][outcome]
            if not n:
                continue
            h = (HEIGHT - 2 * PAD) * n / top
            base -= h
            parts.append(
                f"<rect x='{x:.1f}' y='{base:.1f}' width='{step * 0.7:.1f}' height='{h:.1f}' "
                f"fill='{COLOURS[outcome]}'><title>{week['week']}: {n} {outcome}</title></rect>"
            )
            if h >= 12:
                parts.append(
                    f"<text x='{x + step * 0.35:.1f}' y='{base + h / 2 + 4:.1f}' "
                    f"text-anchor='middle' fill='#000'>{LETTERS[outcome]} {n}</text>"
                )
        total = sum(week["runs"].values())
        middle = x + step * 0.35
        parts.append(
            f"<text x='{middle:.1f}' y='{base - 4:.1f}' text-anchor='middle'>{total}</text>"
            f"<text x='{x + step * 0.35:.1f}' y='{HEIGHT - PAD + 14:.1f}' text-anchor='middle'>"
            f"{week['week'][5:]}</text>"
        )
    legend = ", ".join(f"{LETTERS[o]} = {o}" for o in OUTCOMES)
    return (
        f"<svg id='runs-per-week' width='{WIDTH}' height='{HEIGHT}' role='img' "
        f"aria-label='runs per week by outcome'>{''.join(parts)}</svg>"
        f"<p class='legend'>Letters on the bars: {legend}; the number above a bar is the "
        "week's total.</p>"
    )


def _tokens(weeks: list[dict[str, Any]]) -> str:
    """Tokens per week per agent: grouped bars with their values."""
    agents = sorted({a for w in weeks for a in w["tokens"]})
    if not agents:
        return "<p>No tokens recorded in this period.</p>"
    top = max((n for w in weeks for n in w["tokens"].values()), default=1) or 1
    step = (WIDTH - 2 * PAD) / len(weeks)
    width = step * 0.8 / len(agents)
    parts = []
    for i, week in enumerate(weeks):
        for j, agent in enumerate(agents):
            n = week["tokens"].get(agent, 0)
            h = (HEIGHT - 2 * PAD) * n / top
            x = PAD + i * step + step * 0.1 + j * width
            y = HEIGHT - PAD - h
            parts.append(
                f"<rect x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' height='{h:.1f}' "
                f"fill='{SERIES[j % len(SERIES)]}'><title>{week['week']} {escape(agent)}: "
                f"{n} tokens</title></rect>"
                f"<text x='{x + width / 2:.1f}' y='{y - 3:.1f}' text-anchor='middle'>"
                f"{_short(n)}</text>"
            )
        parts.append(
            f"<text x='{PAD + i * step + step / 2:.1f}' y='{HEIGHT - PAD + 14:.1f}' "
            f"text-anchor='middle'>{week['week'][5:]}</text>"
        )
    legend = ", ".join(f"bar {j + 1}: {escape(a)}" for j, a in enumerate(agents))
    return (
        f"<svg id='tokens-per-week' width='{WIDTH}' height='{HEIGHT}' role='img' "
        f"aria-label='tokens per week per agent'>{''.join(parts)}</svg>"
        f"<p class='legend'>In each week, left to right: {legend}.</p>"
    )


def _short(n: float) -> str:
    return (
        f"{n / 1_000_000:.1f}M" if n >= 1_000_000 else f"{n / 1000:.0f}k" if n >= 1000 else f"{n:g}"
    )


def _measure_chart(title: str, points: list[tuple[str, float]]) -> str:
    if not points:
        return ""
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    coords = [
        (PAD + i * step, HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v - lo) / span)
        for i, v in enumerate(values)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    marks = "".join(
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3' fill='#0072B2'><title>{escape(t)}: {v:g}</title>"
        f"</circle><text x='{x:.1f}' y='{y - 7:.1f}' text-anchor='middle'>{v:g}</text>"
        for (x, y), (t, v) in zip(coords, points, strict=True)
    )
    return (
        f"<h3>{escape(title)}</h3><svg class='measure' width='{WIDTH}' height='{HEIGHT}' "
        f"role='img' aria-label='{escape(title)}'><polyline points='{line}' fill='none' "
        f"stroke='#0072B2' stroke-width='2'/>{marks}"
        f"<text x='{PAD}' y='{HEIGHT - 8}'>{escape(points[0][0][:10])}</text>"
        f"<text x='{WIDTH - PAD}' y='{HEIGHT - 8}' text-anchor='end'>{escape(points[-1][0][:10])}"
        f"</text></svg>"
    )


def _table(headers: list[str], rows: list[list[str]], ident: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='list' id='{ident}'><tr>{head}</tr>{body}</table>"


def render(report: FleetReport, *, charted: int = 3) -> str:
    """The report as one self-contained HTML page."""
    doc = as_dict(report)
    attention = doc["attention"]
    rows = [
        [escape(a["repo"]), escape(a["agent"]), str(a["score"]), escape("; ".join(a["reasons"]))]
        for a in attention
    ]
    agents = [
        [
            escape(a["repo"]),
            escape(a["agent"]),
            escape(a["state"]),
            " / ".join(str(a["runs"][o]) for o in OUTCOMES),
            str(len(a["missed_slots"])),
            escape(a["last_run"] or "never"),
            str(a["tokens"]["total"]),
            str(a["memory"]["entries"]),
        ]
        for a in doc["agents"]
    ]
    chosen = [(a["repo"], a["agent"]) for a in attention[:charted]] or [
        (a.slug, a.agent) for a in report.agents[:charted]
    ]
    measures = (
        "".join(
            _measure_chart(f"{a.slug} {a.agent}: {m.name} ({m.direction})", list(m.points))
            for a in report.agents
            if (a.slug, a.agent) in chosen
            for m in a.measures
        )
        or "<p>No measures recorded for these repositories.</p>"
    )
    others = [
        [escape(r["repo"]), escape(r["state"]), escape(r["reason"])] for r in doc["not_taking_part"]
    ]
    title = "Kaizen fleet report"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><style>{CSS}</style></head><body>"
        f"<h1>{title}</h1><p class='sub'>{escape(doc['since'])} to {escape(doc['until'])}, "
        f"{escape(doc['source'])}: {len(doc['agents'])} agents</p>"
        "<h2>Needs attention first</h2>"
        + (
            _table(["repository", "agent", "score", "why"], rows, "attention")
            if rows
            else "<p>Nothing needs attention.</p>"
        )
        + f"<h2>Runs per week</h2>{_bars(doc['weeks'])}"
        f"<h2>Tokens per week</h2>{_tokens(doc['weeks'])}"
        f"<h2>Measures</h2>{measures}"
        "<h2>Every agent</h2>"
        + _table(
            [
                "repository",
                "agent",
                "state",
                "success / partial / failure / skipped",
                "missed",
                "last run",
                "tokens",
                "memory",
            ],
            agents,
            "agents",
        )
        + "<h2>Not taking part</h2>"
        + (
            _table(["repository", "state", "reason"], others, "not-taking-part")
            if others
            else "<p>Every repository on the roster takes part.</p>"
        )
        + "</body></html>\n"
    )
