"""Output for people and for programs: stable JSON, RFC 3339 times, and terminal styling."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any, TextIO


def to_json(value: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, UTF-8 kept, a final newline."""
    import json

    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rfc3339(moment: datetime) -> str:
    """``2027-03-29T09:00:00+02:00``: seconds precision, always with an offset."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.isoformat(timespec="seconds")


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset (``Z`` allowed). Raises ``ValueError``."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; add one, e.g. Z or +02:00")
    return value


def use_colour(stream: TextIO | None = None) -> bool:
    """Whether to colour output: a terminal, and ``NO_COLOR`` unset."""
    stream = sys.stdout if stream is None else stream  # looked up now: it may be replaced
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"


_CODES = {"red": "31", "green": "32", "yellow": "33", "dim": "2", "bold": "1"}


def paint(text: str, colour: str, enabled: bool) -> str:
    """``text`` in an ANSI colour when ``enabled``."""
    return f"\033[{_CODES[colour]}m{text}\033[0m" if enabled else text


def table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned columns separated by two spaces (widths ignore ANSI codes in cells)."""
    import re

    strip = re.compile(r"\033\[[0-9;]*m")
    every = [header, *rows]
    widths = [max(len(strip.sub("", row[i])) for row in every) for i in range(len(header))]
    lines = []
    for row in every:
        cells = [cell + " " * (widths[i] - len(strip.sub("", cell))) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
