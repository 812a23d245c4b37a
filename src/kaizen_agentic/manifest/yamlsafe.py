"""Strict, safe YAML loading with source locations.

libyaml (through PyYAML's event API) does the parsing; this module builds the values itself so
that the rules are ours, not PyYAML's YAML 1.1 constructor's:

* YAML 1.2 core schema for plain scalars: ``on``/``yes`` stay strings, ``10:00`` stays the
  string ``"10:00"``, ``2027-01-15`` stays a string, ``010`` is ten, ``0o10`` is eight;
* duplicate keys, anchors, aliases, merge keys (``<<``), explicit tags and non-string keys are
  reported as problems instead of being silently resolved;
* a byte cap and a nesting cap bound time and memory, and exactly one document is accepted;
* every node keeps its 1-based line and column, so later checks can point at the exact place.

Problems are collected, not raised: one pass reports everything the file gets wrong.
"""

import re
from collections.abc import Iterator
from typing import Any, Final, NamedTuple

import yaml

from kaizen_agentic.atomic import human_size as _size
from kaizen_agentic.errors import Problem

MAX_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 32


class HugeInt(NamedTuple):
    """A plain integer too long for Python to convert (over 4,300 digits): kept as its size,
    so that a schema reports it as a located problem instead of crashing."""

    digits: int


ScalarValue = str | int | float | bool | HugeInt | None


class Node:
    """A YAML node with its 1-based position."""

    __slots__ = ("col", "line")

    def __init__(self, line: int, col: int) -> None:
        self.line = line
        self.col = col


class Scalar(Node):
    """A scalar: its text, whether it was plain, and its YAML 1.2 value."""

    __slots__ = ("plain", "text", "value")

    def __init__(self, line: int, col: int, text: str, plain: bool) -> None:
        super().__init__(line, col)
        self.text = text
        self.plain = plain
        self.value: ScalarValue = resolve_plain(text) if plain else text


class Mapping(Node):
    """A mapping: its (key, value) nodes in order, duplicate keys refused."""

    __slots__ = ("_pending", "_seen", "items")

    def __init__(self, line: int, col: int) -> None:
        super().__init__(line, col)
        self.items: list[tuple[Scalar, Node]] = []
        self._pending: Scalar | None = None
        self._seen: dict[str, int] = {}

    def get(self, key: str) -> Node | None:
        for k, v in self.items:
            if k.value == key:
                return v
        return None


class Sequence(Node):
    """A sequence of nodes."""

    __slots__ = ("items",)

    def __init__(self, line: int, col: int) -> None:
        super().__init__(line, col)
        self.items: list[Node] = []


# YAML 1.2.2 core schema, section 10.3.2 (tag resolution for plain scalars).
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")


def resolve_plain(text: str) -> ScalarValue:
    """Resolve a plain (unquoted) scalar by the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    first = text[0]
    if first.isdigit() or first in "+-.":
        if _INT10.match(text):
            try:
                return int(text)
            except ValueError:  # sys.get_int_max_str_digits(): a denial-of-service guard
                return HugeInt(len(text.lstrip("+-")))
        if _INT8.match(text):
            return int(text[2:], 8)
        if _INT16.match(text):
            return int(text[2:], 16)
        if _FLOAT.match(text):
            return float(text)
        if _INF.match(text):
            return float("-inf") if first == "-" else float("inf")
        if _NAN.match(text):
            return float("nan")
    return text


_BOMS: Final = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def decode(data: bytes, path: str) -> tuple[str | None, list[Problem]]:
    """Decode UTF-8 (a BOM tolerated); other encodings and NUL bytes are located problems."""
    if len(data) > MAX_BYTES:
        msg = f"file is {_size(len(data))}; the limit is {_size(MAX_BYTES)}"
        return None, [Problem(path, 0, 0, "", msg)]
    for bom, name in _BOMS:
        if data.startswith(bom):
            msg = f"file is {name}-encoded; save it as UTF-8"
            return None, [Problem(path, 1, 1, "", msg)]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        msg = f"invalid UTF-8 byte 0x{data[exc.start]:02x}; save the file as UTF-8"
        return None, [Problem(path, line, col, "", msg)]
    nul = text.find("\0")
    if nul >= 0:
        line, col = _position(text, nul)
        return None, [Problem(path, line, col, "", "NUL character; this is not a text file")]
    breaks = [m.start() for m in _YAML11_BREAKS.finditer(text)][:10]
    if breaks:
        return None, [_break_problem(path, text, at) for at in breaks]
    return text, []


# Line breaks in YAML 1.1 that YAML 1.2 reads as ordinary characters. libyaml splits lines at
# them, so `a: 1<NEL>b: 2` would silently become two keys: refused, by name and place.
_YAML11_BREAKS: Final = re.compile("[\x85\u2028\u2029]")
_BREAK_NAMES: Final = {
    "\x85": ("NEXT LINE (NEL)", "\\N"),
    "\u2028": ("LINE SEPARATOR", "\\L"),
    "\u2029": ("PARAGRAPH SEPARATOR", "\\P"),
}


def _break_problem(path: str, text: str, at: int) -> Problem:
    line, col = _position(text, at)
    name, escape = _BREAK_NAMES[text[at]]
    msg = (
        f"U+{ord(text[at]):04X} {name}: YAML 1.2 reads it as an ordinary character but this "
        f'parser (libyaml) as a line break; remove it, or write "{escape}" inside a '
        "double-quoted string"
    )
    return Problem(path, line, col, "", msg)


def decode_strict(data: bytes, path: str) -> str:
    """``decode``, raising ``InvalidFileError`` when the bytes are not usable text."""
    from kaizen_agentic.errors import InvalidFileError

    text, problems = decode(data, path)
    if text is None:
        raise InvalidFileError(path, problems)
    return text


def _position(buf: str | bytes, offset: int) -> tuple[int, int]:
    nl: str | bytes = "\n" if isinstance(buf, str) else b"\n"
    head = buf[:offset]
    line = head.count(nl) + 1  # type: ignore[arg-type]
    col = offset - (head.rfind(nl) + 1) + 1  # type: ignore[arg-type]
    return line, col


def load(text: str, path: str) -> tuple[Node | None, list[Problem]]:
    """Parse one YAML document into located nodes, collecting every problem.

    Returns ``(None, problems)`` when the document cannot be built at all (a syntax error, too
    deep, an empty file); otherwise the root node and the problems that did not stop the build.
    """
    problems: list[Problem] = []
    try:
        root = _build(_events(text), path, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.problem, exc.context) if p) or "YAML syntax error"
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        if mark and "\t" in _line_text(text, mark.line)[: mark.column + 1]:
            message = "a tab character; YAML indents with spaces only"
        problems.append(Problem(path, line, col, "", f"YAML syntax error: {message}"))
        return None, problems
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", None)
        line, col = _position(text, position) if isinstance(position, int) else (0, 0)
        reason = getattr(exc, "reason", None) or str(exc)
        problems.append(Problem(path, line, col, "", f"YAML syntax error: {reason}"))
        return None, problems
    return root, problems


def _line_text(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def _events(text: str) -> Iterator[Any]:
    """libyaml's event stream, read straight from its C parser when PyYAML has one."""
    c_parser = getattr(getattr(yaml, "_yaml", None), "CParser", None)
    if c_parser is None:  # PyYAML without libyaml: the pure-Python parser, same events
        yield from yaml.parse(text, Loader=yaml.SafeLoader)
        return
    parser = c_parser(text)
    while True:
        event = parser.get_event()
        yield event
        if type(event) is yaml.StreamEndEvent:
            return


def _attach(
    stack: list[Mapping | Sequence], node: Node, path: str, problems: list[Problem]
) -> None:
    top = stack[-1]
    if type(top) is Sequence:
        top.items.append(node)
    elif top._pending is None:  # type: ignore[union-attr]
        top._pending = _key(node, top, path, problems)  # type: ignore[union-attr, arg-type]
    else:
        top.items.append((top._pending, node))  # type: ignore[union-attr, arg-type]
        top._pending = None  # type: ignore[union-attr]


def _build(events: Iterator[Any], path: str, problems: list[Problem]) -> Node | None:
    stack: list[Mapping | Sequence] = []
    root: Node | None = None
    documents = 0
    scalar_event, mapping_start = yaml.ScalarEvent, yaml.MappingStartEvent
    sequence_start, ends = yaml.SequenceStartEvent, (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    for event in events:
        kind = type(event)
        if kind is scalar_event:
            if event.anchor is not None or event.tag is not None:
                _check_properties(event, path, problems)
            mark = event.start_mark
            # The non-specific tag `!` makes a plain scalar a string (YAML 1.2, example 6.28).
            plain = not event.style and event.implicit[0] and event.tag is None
            node: Node = Scalar(mark.line + 1, mark.column + 1, event.value, plain)
        elif kind is mapping_start or kind is sequence_start:
            _check_properties(event, path, problems)
            mark = event.start_mark
            line, col = mark.line + 1, mark.column + 1
            if len(stack) >= MAX_DEPTH:
                msg = f"nesting is deeper than {MAX_DEPTH} levels"
                problems.append(Problem(path, line, col, "", msg))
                return None
            node = Mapping(line, col) if kind is mapping_start else Sequence(line, col)
        elif kind in ends:
            stack.pop()
            continue
        elif kind is yaml.AliasEvent:
            mark = event.start_mark
            msg = f"aliases (*{event.anchor}) are not allowed; write the value out"
            problems.append(Problem(path, mark.line + 1, mark.column + 1, "", msg))
            node = Scalar(mark.line + 1, mark.column + 1, "", plain=False)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                mark = event.start_mark
                msg = "a second YAML document starts here; a manifest is exactly one document"
                problems.append(Problem(path, mark.line + 1, mark.column + 1, "", msg))
                return None
            continue
        else:
            continue
        if stack:
            _attach(stack, node, path, problems)
        else:
            root = node
        if kind is mapping_start or kind is sequence_start:
            stack.append(node)  # type: ignore[arg-type]
    if root is None:
        problems.append(Problem(path, 0, 0, "", "file is empty"))
    return root


def _check_properties(event: yaml.NodeEvent, path: str, problems: list[Problem]) -> None:
    mark = event.start_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    if event.anchor is not None:
        msg = f"anchors (&{event.anchor}) are not allowed; write each value out"
        problems.append(Problem(path, line, col, "", msg))
    tag = getattr(event, "tag", None)
    if tag is not None and tag != "!":
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        problems.append(Problem(path, line, col, "", f"tags ({shown}) are not allowed"))


def _key(node: Node, mapping: Mapping, path: str, problems: list[Problem]) -> Scalar:
    if not isinstance(node, Scalar):
        problems.append(Problem(path, node.line, node.col, "", "keys must be plain strings"))
        return Scalar(node.line, node.col, "", plain=False)
    if node.plain and node.text == "<<":
        msg = "merge keys (<<) are not allowed; write the keys out"
        problems.append(Problem(path, node.line, node.col, "", msg))
        return node
    if not isinstance(node.value, str):
        msg = f"keys must be strings, got {describe(node.value)}"
        problems.append(Problem(path, node.line, node.col, "", msg))
        return node
    first = mapping._seen.get(node.value)
    if first is not None:
        msg = f'duplicate key "{node.value}" (first defined on line {first})'
        problems.append(Problem(path, node.line, node.col, "", msg))
    else:
        mapping._seen[node.value] = node.line
    return node


def to_python(node: Node) -> object:
    """Plain Python data (dicts, lists, scalars) for a node tree, without positions."""
    if isinstance(node, Scalar):
        return float(node.text) if isinstance(node.value, HugeInt) else node.value
    if isinstance(node, Mapping):
        return {k.value: to_python(v) for k, v in node.items}
    if isinstance(node, Sequence):
        return [to_python(item) for item in node.items]
    raise TypeError(type(node).__name__)


def describe(value: object) -> str:
    """Name a loaded value the way an error message should: ``integer 600``, ``string "on"``."""
    if value is None:
        return "null"
    if isinstance(value, HugeInt):
        return f"an integer of {value.digits:,} digits"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        if abs(value) >= 10**20:  # a message stays a line
            return f"an integer of {len(str(abs(value))):,} digits"
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value:g}"
    if isinstance(value, str):
        if len(value) >= 12:  # secrets are long; short values are echoed as they are
            # Messages echo values; a secret pasted into the wrong key must not be echoed.
            from kaizen_agentic.redact.engine import redact

            value = redact(value).text
        from kaizen_agentic.output import escape  # a message is one line, whatever the value

        shown = escape(value if len(value) <= 40 else value[:37], layout=False)
        return f'string "{shown}"' if len(value) <= 40 else f'string "{shown}..."'
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__
