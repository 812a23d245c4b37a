"""A small declarative schema: one description that validates, fills defaults and documents.

A file format is declared once as a tree of ``Map``/``List``/``Str``/``Int``/``Bool``/``Choice``
specs. From that one declaration this module

* validates a located YAML node tree (``yamlsafe``), collecting *every* problem with its line,
  column and key path, with a did-you-mean for unknown keys and enum values;
* returns plain Python values with defaults filled in;
* generates the published JSON Schema (draft 2020-12); ``generate.markdown_tables`` writes the
  Markdown field reference from the same declaration.

Checks that JSON Schema cannot express (an IANA zone exists, a cron expression can fire) are
``check`` callables on ``Str``; they run after the structural checks pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from kaizen_agentic.errors import Problem
from kaizen_agentic.manifest import yamlsafe
from kaizen_agentic.manifest.yamlsafe import Mapping, Node, Scalar, describe

Value = Any


class Context:
    """Where problems are collected while one file is checked."""

    def __init__(self, path: str, trial: bool = False) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.trial = trial  # only whether a check passes matters, not its message

    def add(self, node: Node, key: str, message: str) -> None:
        if not self.trial:
            # Messages quote the offending value; a secret in the wrong place is not repeated.
            from kaizen_agentic.redact.engine import redact

            message = redact(message).text
        self.problems.append(Problem(self.path, node.line, node.col, key, message))


def check_document(spec: Spec, text: str, path: str) -> tuple[Value, Node, Context]:
    """Load one YAML document and check it against ``spec``: (value, root node, context).

    Raises ``InvalidFileError`` when the document cannot be built at all; otherwise every
    problem found is in ``context.problems`` for the caller to add to and raise."""
    from kaizen_agentic.errors import InvalidFileError

    root, problems = yamlsafe.load(text, path)
    if root is None:
        raise InvalidFileError(path, problems)
    ctx = Context(path)
    ctx.problems = problems
    return spec.check(root, "", ctx), root, ctx


def child_key(parent: str, name: str | int) -> str:
    """The key path of ``name`` below ``key`` (``agents[0].schedule``)."""
    if isinstance(name, int):
        return f"{parent}[{name}]"
    return f"{parent}.{name}" if parent else name


def suggest(word: str, options: Sequence[str]) -> str:
    """Return ``' (did you mean "x"?)'`` for the closest option, or an empty string."""
    import difflib  # only when there is a mistake to explain

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    if not close and word.lower() in options:
        close = [word.lower()]
    return f'; did you mean "{close[0]}"?' if close else ""


class Spec:
    """Base of every spec node."""

    title = "value"

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Value]:
        raise NotImplementedError


def _scalar(node: Node, key: str, ctx: Context, expected: str) -> Scalar | None:
    if isinstance(node, Scalar):
        return node
    ctx.add(node, key, f"expected {expected}, got {describe(node)}")
    return None


class Str(Spec):
    """A string: an enum, a pattern, a length limit and a custom check."""

    def __init__(
        self,
        *,
        pattern: str | None = None,
        hint: str = "",  # how the expected form reads in a message: '"HH:MM" (24-hour)'
        enum: tuple[str, ...] = (),
        max_length: int | None = None,
        check_value: Callable[[str], str | None] | None = None,
        fmt: str | None = None,  # JSON Schema "format"
        title: str = "string",
    ) -> None:
        self.pattern = pattern
        self.hint = hint
        self.enum = enum
        self.max_length = max_length
        self.check_value = check_value
        self.fmt = fmt
        self.title = title

    @property
    def regex(self) -> re.Pattern[str] | None:
        # Compiled on first use (re caches it): building the specs at import stays cheap.
        return re.compile(self.pattern) if self.pattern else None

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        expected = self._expected()
        scalar = _scalar(node, key, ctx, expected)
        if scalar is None:
            return None
        value = scalar.value
        if not isinstance(value, str):
            extra = ""
            if self.regex is not None and scalar.plain and self.regex.fullmatch(scalar.text):
                extra = f'; quote it: "{scalar.text}"'
            ctx.add(node, key, f"expected {expected}, got {describe(value)}{extra}")
            return None
        if self.enum and value not in self.enum:
            ctx.add(
                node, key, f"expected {expected}, got {describe(value)}{suggest(value, self.enum)}"
            )
            return None
        if self.regex is not None and not self.regex.fullmatch(value):
            ctx.add(node, key, f"expected {expected}, got {describe(value)}")
            return None
        if self.max_length is not None and len(value) > self.max_length:
            msg = f"is {len(value)} characters long; the limit is {self.max_length}"
            ctx.add(node, key, msg)
            return None
        if self.check_value is not None:
            problem = self.check_value(value)
            if problem:
                ctx.add(node, key, problem)
                return None
        return value

    def _expected(self) -> str:
        if self.enum:
            return "one of " + ", ".join(self.enum)
        return self.hint or "a string"

    def json_schema(self) -> dict[str, Value]:
        out: dict[str, Value] = {"type": "string"}
        if self.enum:
            out["enum"] = list(self.enum)
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern})$"
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.fmt:
            out["format"] = self.fmt
        return out


class Int(Spec):
    """An integer within bounds (a whole-number float counts, as in JSON Schema)."""

    title = "integer"

    def __init__(self, minimum: int | None = None, maximum: int | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        expected = self._expected()
        scalar = _scalar(node, key, ctx, expected)
        if scalar is None:
            return None
        value = scalar.value
        if isinstance(value, float) and not math.isfinite(value):
            value = scalar.text  # report .inf/.nan by their spelling
        elif isinstance(value, float) and value.is_integer():
            # JSON Schema's "integer" admits 28.0 and 1e3; an editor shows them valid, so the
            # validator agrees instead of failing the file later in pre-commit.
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            ctx.add(node, key, f"expected {expected}, got {describe(value)}")
            return None
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            shown = value if abs(value) < 10**20 else describe(value)
            ctx.add(node, key, f"expected {expected}, got {shown}")
            return None
        return value

    def _expected(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"an integer from {self.minimum} to {self.maximum}"
        return "an integer"

    def json_schema(self) -> dict[str, Value]:
        out: dict[str, Value] = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


class Bool(Spec):
    """``true`` or ``false`` (not YAML 1.1's yes/no/on/off)."""

    title = "boolean"

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        scalar = _scalar(node, key, ctx, "true or false")
        if scalar is None:
            return None
        if not isinstance(scalar.value, bool):
            extra = ""
            if scalar.plain and scalar.text.lower() in {"yes", "no", "on", "off", "y", "n"}:
                extra = " (YAML 1.2 reads yes/no/on/off as strings)"
            ctx.add(node, key, f"expected true or false, got {describe(scalar.value)}{extra}")
            return None
        return scalar.value

    def json_schema(self) -> dict[str, Value]:
        return {"type": "boolean"}


class Const(Spec):
    """Exactly one value."""

    title = "constant"

    def __init__(self, value: int | str) -> None:
        self.value = value

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        scalar = _scalar(node, key, ctx, f"{self.value}")
        if scalar is None:
            return None
        if scalar.value != self.value or isinstance(scalar.value, bool):
            msg = f"expected {self.value}, got {describe(scalar.value)}"
            ctx.add(node, key, msg + " (this tool reads version 1 manifests)")
            return None
        return scalar.value

    def json_schema(self) -> dict[str, Value]:
        return {"const": self.value}


class Choice(Spec):
    """A value that may take one of several scalar forms (``day``: a weekday or a day number)."""

    def __init__(self, options: tuple[Spec, ...], hint: str, title: str = "string or integer"):
        self.options = options
        self.hint = hint
        self.title = title

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        for option in self.options:
            trial = Context(ctx.path, trial=True)
            value = option.check(node, key, trial)
            if not trial.problems:
                return value
        scalar = node.value if isinstance(node, Scalar) else node
        meant = ""
        if isinstance(scalar, str):  # "mondey": the word among the options' words
            words = [w for o in self.options if isinstance(o, Str) for w in o.enum]
            meant = suggest(scalar, words)
        ctx.add(node, key, f"expected {self.hint}, got {describe(scalar)}{meant}")
        return None

    def json_schema(self) -> dict[str, Value]:
        return {"anyOf": [o.json_schema() for o in self.options]}


class Field:
    """One key of a mapping: its spec, its documentation and its default."""

    def __init__(
        self,
        name: str,
        spec: Spec,
        doc: str,
        *,
        required: bool = False,
        default: Value = None,
        default_doc: str = "",  # how the default reads in the docs when it is not a literal
        missing_hint: str = "",  # said after 'missing required key "x"' when it is absent
    ) -> None:
        self.name = name
        self.spec = spec
        self.doc = doc
        self.required = required
        self.default = default
        self.default_doc = default_doc
        self.missing_hint = missing_hint

    def json_schema(self) -> dict[str, Value]:
        out = {"description": self.doc, **self.spec.json_schema()}
        if self.default is not None:
            out["default"] = self.default
        return out


class When:
    """A rule over sibling keys: when ``key`` is one of ``values``, narrow or forbid others."""

    def __init__(
        self,
        key: str,
        values: tuple[str, ...],
        *,
        forbid: tuple[str, ...] = (),
        require: tuple[str, ...] = (),
        narrow: tuple[tuple[str, Spec], ...] = (),
    ) -> None:
        self.key = key
        self.values = values
        self.forbid = forbid
        self.require = require
        self.narrow = narrow

    def applies(self, got: dict[str, Value]) -> bool:
        return got.get(self.key) in self.values


class Map(Spec):
    """A mapping with known keys, defaults, did-you-mean and rules across keys."""

    title = "mapping"

    def __init__(self, fields: tuple[Field, ...], rules: tuple[When, ...] = ()) -> None:
        self.fields = fields
        self.rules = rules
        self.by_name = {f.name: f for f in fields}
        self.narrowed = {name for rule in rules for name, _ in rule.narrow}

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        if not isinstance(node, Mapping):
            ctx.add(node, key, f"expected a mapping, got {describe(_shown(node))}")
            return None
        out: dict[str, Value] = {}
        key_nodes: dict[str, Scalar] = {}
        meant: set[str] = set()  # known keys an unknown key was probably meant to be
        deferred: list[tuple[Field, Node]] = []
        for k, v in node.items:
            name = k.value
            if not isinstance(name, str) or name in key_nodes:
                continue  # a non-string or duplicate key: reported by the loader
            fld = self.by_name.get(name)
            key_nodes[name] = k
            if fld is None:
                hint = suggest(name, [f for f in self.by_name if f not in key_nodes])
                meant.update(self.by_name.keys() & {hint.partition('"')[2].partition('"')[0]})
                ctx.add(k, key, f'unknown key "{name}"{hint}')
            elif name in self.narrowed:
                deferred.append((fld, v))
            else:
                out[name] = fld.spec.check(v, child_key(key, name), ctx)
        for fld, v in deferred:  # checked by the rule that applies, if any, else by the field
            spec = next(
                (s for r in self.rules if r.applies(out) for n, s in r.narrow if n == fld.name),
                fld.spec,
            )
            out[fld.name] = spec.check(v, child_key(key, fld.name), ctx)
        self._apply_rules(node, key, ctx, out, key_nodes)
        for fld in self.fields:
            if fld.name not in key_nodes:
                if fld.required and fld.name not in meant:
                    ctx.add(node, key, f'missing required key "{fld.name}"{fld.missing_hint}')
                out.setdefault(fld.name, fld.default)
        return out

    def _apply_rules(
        self,
        node: Mapping,
        key: str,
        ctx: Context,
        out: dict[str, Value],
        key_nodes: dict[str, Scalar],
    ) -> None:
        for rule in self.rules:
            if not rule.applies(out):
                continue
            shown = f"{rule.key}: {out[rule.key]}"
            for name in rule.forbid:
                if name in key_nodes:
                    msg = f'"{name}" cannot be used with {shown}'
                    ctx.add(key_nodes[name], child_key(key, name), msg)
                    out[name] = None
            for name in rule.require:
                if name not in key_nodes:
                    ctx.add(node, key, f'{shown} needs "{name}"')

    def json_schema(self) -> dict[str, Value]:
        out: dict[str, Value] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {f.name: f.json_schema() for f in self.fields},
        }
        required = [f.name for f in self.fields if f.required]
        if required:
            out["required"] = required
        conditions = [_rule_schema(r) for r in self.rules]
        if conditions:
            out["allOf"] = conditions
        return out


def _shown(node: Node) -> object:
    return node.value if isinstance(node, Scalar) else node


def _rule_schema(rule: When) -> dict[str, Value]:
    then: dict[str, Value] = {}
    if rule.require:
        then["required"] = list(rule.require)
    if rule.narrow:
        then["properties"] = {name: spec.json_schema() for name, spec in rule.narrow}
    if rule.forbid:
        then["not"] = {"anyOf": [{"required": [name]} for name in rule.forbid]}
    return {
        "if": {"properties": {rule.key: {"enum": list(rule.values)}}, "required": [rule.key]},
        "then": then,
    }


class List(Spec):
    """A list of items of one spec, with length bounds."""

    title = "list"

    def __init__(self, item: Spec, min_items: int = 0, max_items: int | None = None) -> None:
        self.item = item
        self.min_items = min_items
        self.max_items = max_items

    def check(self, node: Node, key: str, ctx: Context) -> Value:
        if not isinstance(node, yamlsafe.Sequence):
            ctx.add(node, key, f"expected a list, got {describe(_shown(node))}")
            return None
        if len(node.items) < self.min_items:
            ctx.add(node, key, f"needs at least {self.min_items} item(s)")
        if self.max_items is not None and len(node.items) > self.max_items:
            ctx.add(node, key, f"has {len(node.items)} items; the limit is {self.max_items}")
            return None
        return [self.item.check(item, child_key(key, i), ctx) for i, item in enumerate(node.items)]

    def json_schema(self) -> dict[str, Value]:
        out: dict[str, Value] = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            out["minItems"] = self.min_items
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        return out
