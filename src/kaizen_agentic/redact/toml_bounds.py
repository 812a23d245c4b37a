"""Reading a TOML file someone else wrote, in bounded time and memory, errors located.

``tomllib`` alone is not bounded: its time grows with the square of a dotted key's parts
(40,000 parts: half a minute) and deep nesting exhausts its recursion (``RecursionError``).
``load_toml`` refuses, located, a file over ``MAX_SIZE`` bytes, nesting deeper than
``MAX_DEPTH`` and a dotted key of more than ``MAX_KEY_PARTS`` parts, checked in linear time
(RE2) before the parser sees the text.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Final

from kaizen_agentic.errors import InvalidFileError, Problem
from kaizen_agentic.redact.rules import compile_regex

MAX_SIZE: Final = 1024 * 1024  # a rule file larger than this is refused unread
MAX_DEPTH: Final = 32  # arrays and inline tables nested deeper than this are refused
MAX_KEY_PARTS: Final = 32  # a dotted key of more parts than this is refused


def load_toml(data: bytes, path: str) -> tuple[str, dict[str, Any]]:
    """``data`` as text and as parsed TOML; raises ``InvalidFileError``, located."""
    import tomllib

    if len(data) > MAX_SIZE:
        limit = MAX_SIZE // 1024
        message = f"is {len(data)} bytes; a rule file may have at most {limit} KiB"
        raise InvalidFileError(path, [Problem(path, 0, 0, "", message)])
    try:
        text = data.decode("utf-8")
        _bounded(path, data)
        return text, tomllib.loads(text)
    except UnicodeDecodeError as exc:
        problem = Problem(path, 0, 0, "", f"not UTF-8: {exc.reason}")
        raise InvalidFileError(path, [problem]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidFileError(path, [_toml_problem(path, str(exc))]) from None
    except RecursionError:  # (the bounds make this unreachable; kept as a located error)
        problem = Problem(path, 0, 0, "", "not TOML: nested too deeply")
        raise InvalidFileError(path, [problem]) from None


# TOML's strings and comments, which may hold any bracket or dot
_OPAQUE: Final = (
    rb"""'''(?s:.*?)'''|\"\"\"(?s:(?:[^\\]|\\.)*?)\"\"\"|'[^'\n]*'"""
    rb"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*"""
)
_DOTTED: Final = rb"(?:[A-Za-z0-9_-]+[ \t]*\.[ \t]*){%d,}" % MAX_KEY_PARTS


@cache
def _scanners() -> tuple[Any, Any]:
    return compile_regex(_OPAQUE.decode()), compile_regex(_DOTTED.decode())


def _bounded(path: str, data: bytes) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` and dotted keys of ``MAX_KEY_PARTS`` parts or
    more, located, before the TOML parser is given them."""
    opaque, dotted = _scanners()
    bare = opaque.sub(b"s", data)  # every string a bare word: what is left is structure
    if too_long := dotted.search(bare):
        line = bare.count(b"\n", 0, too_long.start()) + 1
        message = f"a dotted key of more than {MAX_KEY_PARTS} parts"
        raise InvalidFileError(path, [Problem(path, line, 1, "", f"not accepted: {message}")])
    depth = 0
    for index, char in enumerate(bare.translate(None, _NOT_BRACKETS)):
        if char in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                where = _nth_bracket(bare, index)
                line = bare.count(b"\n", 0, where) + 1
                message = f"arrays or tables nested more than {MAX_DEPTH} deep"
                raise InvalidFileError(
                    path, [Problem(path, line, 1, "", f"not accepted: {message}")]
                )
        else:
            depth = max(depth - 1, 0)


_NOT_BRACKETS: Final = bytes(c for c in range(256) if c not in b"[]{}")


def _nth_bracket(data: bytes, n: int) -> int:
    """The offset of the ``n``-th (0-based) bracket or brace in ``data``."""
    count = -1
    for offset, char in enumerate(data):
        if char in b"[]{}":
            count += 1
            if count == n:
                return offset
    return len(data)


def _toml_problem(path: str, message: str) -> Problem:
    where = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if where:
        message = message[: where.start()].strip()
        return Problem(path, int(where.group(1)), int(where.group(2)), "", f"not TOML: {message}")
    return Problem(path, 0, 0, "", f"not TOML: {message}")
