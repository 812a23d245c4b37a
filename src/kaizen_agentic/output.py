"""Output for people and for programs: stable JSON, RFC 3339 times, terminal styling, and the
one writer every byte for a terminal goes through.

Text from repositories, rosters, hubs and agents ends up on the user's terminal (a metrics
record's time, a learning, a value quoted in an error). ``main`` wraps ``sys.stdout`` and
``sys.stderr`` in ``Terminal`` for the whole command, so every writer — ``sys.stdout.write``,
``print``, argparse — shows a control character as an escape (``\\x1b``) instead of sending
it: no escape sequence reaches the terminal but this module's own colours. JSON is strict
(``NaN`` and ``Infinity`` refused) and shows the same characters as ``\\u`` escapes, so it stays
the same JSON value and stays safe to print.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, Final, TextIO

if TYPE_CHECKING:
    from datetime import datetime

# The colour codes ``paint`` writes: the only escape sequences let through, on a colour terminal.
_COLOUR: Final = r"\033\[(?:0|1|2|31|32|33)m"


@cache
def _pattern(which: str) -> re.Pattern[str]:
    """The patterns, compiled on first use (most output needs none: start-up stays small)."""
    from kaizen_agentic.names import UNSAFE_CHARS

    return re.compile(
        {
            # what a terminal acts on, in text laid out in lines: all but tab and newline
            "layout": r"(?![\t\n])[" + UNSAFE_CHARS + "]",
            # what JSON leaves raw (it escapes C0 itself; ensure_ascii=False keeps the rest)
            # but a terminal or a JavaScript parser acts on
            "json": r"(?![\x00-\x1f])[" + UNSAFE_CHARS + "]",
            "colour": _COLOUR,
            "colour split": f"({_COLOUR})",
        }[which]
    )


def escape(text: str, *, layout: bool = True) -> str:
    """``text`` with every control character shown as ``\\n``, ``\\r``, ``\\xNN`` or
    ``\\uNNNN``: safe to print, and readable. ``layout`` keeps tabs and newlines (text laid
    out in lines); without it, the result is one line (a value quoted in a message)."""
    laid_out = text.replace("\n", "").replace("\t", "") if layout else text
    if laid_out.isprintable():  # nothing to escape: the common case, at C speed
        return text
    from kaizen_agentic.names import unsafe_pattern

    return (_pattern("layout") if layout else unsafe_pattern()).sub(_escaped, text)


_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _dumps(value: Any, **options: Any) -> str:
    import json

    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, **options)
    except ValueError as exc:  # NaN or Infinity: a bug upstream, never silent non-JSON
        raise ValueError(f"refusing to write non-standard JSON: {exc}") from None
    if text.isascii() and "\x7f" not in text:  # nothing to escape: the common case
        return text
    return _pattern("json").sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def to_json(value: Any) -> str:
    """Stable, strict JSON: sorted keys, two-space indent, UTF-8 kept (control characters,
    line separators and lone surrogates escaped), no NaN or Infinity, a final newline."""
    return _dumps(value, indent=2) + "\n"


def compact_json(value: Any) -> str:
    """The same strict JSON on one line, without spaces: for JSON lines, events and digests."""
    return _dumps(value, separators=(",", ":"))


def rfc3339(moment: datetime) -> str:
    """``2027-03-29T09:00:00+02:00``: seconds precision, always with an offset."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.isoformat(timespec="seconds")


_EXAMPLE = "2027-03-29T09:00:00+02:00 or 2027-03-29T07:00:00Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with its offset: ``T`` or a space between date and time,
    ``Z`` for UTC, either in lower case (as RFC 3339 allows); seconds may be left out.

    Raises ``ValueError`` saying what is expected, with an example built from ``text``."""
    from datetime import datetime

    clean = text.strip()
    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?"
        r"([Zz]|[+-]\d{2}:?\d{2})?",
        clean,
    )
    if match is None:
        raise ValueError(
            f"expected an RFC 3339 time with a UTC offset, e.g. {_EXAMPLE}; got {text!r}"
        )
    day, clock, offset = match.groups()
    if clock is None:
        shown = "Z" if offset in ("Z", "z") else offset or "+02:00"
        raise ValueError(f"{text!r} has no time of day; write one, e.g. {day}T00:00:00{shown}")
    if offset is None:
        raise ValueError(
            f"{text!r} has no UTC offset; add Z for UTC or the local offset, e.g. {day}T{clock}Z "
            f"or {day}T{clock}+02:00"
        )
    try:
        return datetime.fromisoformat(
            f"{day}T{clock}{'+00:00' if offset in ('Z', 'z') else offset}"
        )
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time on the calendar: {exc}") from None


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
    colour = _pattern("colour")
    every = [header, *rows]
    widths = [max(len(colour.sub("", row[i])) for row in every) for i in range(len(header))]
    lines = []
    for row in every:
        cells = [c + " " * (widths[i] - len(colour.sub("", c))) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


class Terminal:
    """A text stream that escapes control characters on their way out (``escape``), letting
    through only ``paint``'s colour codes, and only when the stream shows colour. Everything
    else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.colour = use_colour(stream)

    def write(self, text: str) -> int:
        if self.colour:  # split on the colour codes (kept: a group), escape what is between
            parts = _pattern("colour split").split(text)
            safe = "".join(part if i % 2 else escape(part) for i, part in enumerate(parts))
        else:
            safe = escape(text)
        self.stream.write(safe)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def terminal() -> Iterator[None]:
    """For the duration: ``sys.stdout`` and ``sys.stderr`` escape control characters."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, Terminal):
        sys.stdout = Terminal(sys.stdout)
    if not isinstance(sys.stderr, Terminal):
        sys.stderr = Terminal(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def progress(text: str) -> None:
    """Redraw a one-line progress report on stderr (``\\r``, then ``text`` escaped): the one
    carriage return this tool writes, past the ``Terminal`` filter."""
    stream = sys.stderr.stream if isinstance(sys.stderr, Terminal) else sys.stderr
    stream.write("\r" + escape(text))
    stream.flush()


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 repo``, ``2 repos``; ``many`` for the irregular (``1 entry``, ``2 entries``)."""
    return f"{count} {word if count == 1 else many or word + 's'}"
