"""Reading a rule file: TOML in the shape gitleaks users know, checked into ``redact_rules``
values, with every problem located like a manifest's.

A rule file::

    [[rules]]
    id = "acme-token"                  # also the marker: [REDACTED:acme-token]
    description = "Acme API token"
    regex = '''\\b(acme_[a-z0-9]{32})\\b'''  # RE2 syntax, as in gitleaks (Go's regexp)
    secretGroup = 1                    # the secret's group (default: the only one, or all)
    keywords = ["acme_"]               # run the regex only near one of these (case-insensitive)
    entropy = 3.0                      # skip a secret whose Shannon entropy is at most this

    [rules.shape]                      # ours, optional: what the secret must look like
    minUpper = 2                       # at least this many capitals (minLower, minDigits too)
    minClassChanges = 0.45             # this share of neighbouring characters change class
    base64Text = false                 # base64 of printable text is no secret

    [[rules.allowlists]]               # per rule; `[rules.allowlist]` (one table) works too
    regexTarget = "secret"             # or "match", "line"
    regexes = ['''^acme_0+$''']
    stopwords = ["example"]
    condition = "OR"                   # or "AND": every criterion given must hold

    [[allowlists]]                     # for every rule, or the rules in `targetRules`
    regexes = ['''EXAMPLE''']

    [extend]
    disabledRules = ["generic-secret"]

gitleaks keys that have no meaning for text that is not a file in git (``path``, ``paths``,
``commits``, ``tags``, ``extend.path``, ``extend.url``, ``extend.useDefault``) are accepted and
ignored; an allowlist that needs one of them under ``condition = "AND"`` never applies, so the
text is redacted rather than let through.
"""

from __future__ import annotations

import os
import re
from typing import Any, Final

from kaizen_agentic.errors import InvalidFileError, Problem
from kaizen_agentic.redact.rules import (
    ALLOWLIST_KEYS,
    EXTEND_KEYS,
    GITLEAKS_RULES,
    REPO_RULES,
    RULE_ID,
    RULE_KEYS,
    SHAPE_KEYS,
    TARGETS,
    TOP_KEYS,
    Allowlist,
    Rule,
    RuleFile,
    Shape,
    compile_regex,
    matches_empty,
)

_UNCOMPILED: Final = object()
# Secrets of different shapes, alone and in a line: an allowlist regex that matches every one
# (``^``, ``.*``, ``\b``) would let every secret through.
_ANY_SECRET: Final = (
    b"Zq8xK2mW9vB4nR7tY3pL6sD1fG5hJ0cQ",
    b"ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    b"8f2c9e4b7a1d6f3e0b5c8a2d9e4f7b1c",
    b"TOKEN=Zq8xK2mW9vB4nR7tY3pL6sD1fG5hJ0cQ",
)


class _Locator:
    """Lines of a TOML file's tables and keys, to locate problems (tomllib gives none)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z.]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[int, dict[str, int]]] = []  # per [[rules]]: its line, its keys
        self.tables: dict[str, tuple[int, dict[str, int]]] = {}  # other tables, first of each
        self.top: dict[str, int] = {}  # keys before any table
        keys = self.top
        for number, line in enumerate(text.splitlines(), 1):
            if header := self._HEADER.match(line):
                keys = {}
                if header.group(1) == "rules":
                    self.rules.append((number, keys))
                elif header.group(1).startswith("rules."):
                    keys = self.rules[-1][1] if self.rules else keys  # a rule's sub-table
                else:
                    self.tables.setdefault(header.group(1), (number, keys))
            elif key := self._KEY.match(line):
                keys.setdefault(key.group(1), number)

    def rule(self, index: int, key: str = "") -> int:
        """The line of rule ``index``'s ``[[rules]]`` header, or of its ``key``."""
        if index >= len(self.rules):
            return 0
        line, keys = self.rules[index]
        return keys.get(key, line) if key else line

    def table(self, name: str, key: str = "") -> int:
        if name in self.tables:
            line, keys = self.tables[name]
            return keys.get(key, line) if key else line
        return self.top.get(key or name, 0)


class _Reader:
    """Checks one parsed rule file, collecting located problems."""

    def __init__(self, path: str, text: str, strict: bool, check: bool = True) -> None:
        self.path = path
        self.check = check  # compile every pattern now (a user's file) or on first use (ours)
        self.where = _Locator(text)
        self.strict = strict  # unknown keys are errors (our own files) or ignored (gitleaks')
        self.problems: list[Problem] = []

    def problem(self, line: int, key: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, 1 if line else 0, key, message))

    def unknown(self, table: dict[str, Any], known: frozenset[str], key: str, line: int) -> None:
        if self.strict:
            for name in sorted(set(table) - known):
                self.problem(line, f"{key}.{name}" if key else name, "unknown key")

    def read(self, data: dict[str, Any]) -> RuleFile:
        out = RuleFile(self.path)
        out.rules = found_rules = []
        self.unknown(data, TOP_KEYS, "", 1)
        extend = data.get("extend", {})
        if not isinstance(extend, dict):
            self.problem(self.where.table("extend"), "extend", "must be a table")
        else:
            self.unknown(extend, EXTEND_KEYS, "extend", self.where.table("extend"))
            disabled = extend.get("disabledRules", [])
            if self._strings(disabled, self.where.table("extend", "disabledRules"),
                             "extend.disabledRules"):  # fmt: skip
                out.disabled.update(disabled)
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            self.problem(self.where.table("rules"), "rules", "must be an array of tables")
            rules = []
        seen: dict[str, int] = {}
        for index, table in enumerate(rules):
            rule = self.rule(index, table)
            if rule is None:
                continue
            if rule.id in seen:
                self.problem(
                    self.where.rule(index, "id"),
                    f"rules[{index}].id",
                    f"{rule.id!r} is already the id of rules[{seen[rule.id]}]",
                )
            seen[rule.id] = index
            found_rules.append(rule)
        for key in ("allowlist", "allowlists"):
            if key in data:
                for number, table in enumerate(self._tables(data[key], key)):
                    line = self.where.table(key)
                    found = self.allowlist(table, f"{key}[{number}]", line, top=True)
                    if found is not None:
                        out.allowlists.append(found)
        return out

    def rule(self, index: int, table: Any) -> Rule | None:
        name = f"rules[{index}]"
        line = self.where.rule(index)
        if not isinstance(table, dict):
            self.problem(line, name, "must be a table")
            return None
        self.unknown(table, RULE_KEYS, name, line)
        rule_id = table.get("id")
        if not isinstance(rule_id, str) or not RULE_ID.fullmatch(rule_id):
            self.problem(
                self.where.rule(index, "id"),
                f"{name}.id",
                "required: letters, digits, '.', '_' or '-', at most 64"
                if rule_id is None
                else f"{rule_id!r} is not an id: letters, digits, '.', '_' or '-', at most 64",
            )
            return None
        source = table.get("regex")
        if source is None:
            if not self.strict:
                return None  # a gitleaks rule on file paths alone: nothing to find in text
            self.problem(line, f"{name}.regex", "required: the pattern to find")
            return None
        before = len(self.problems)
        pattern = self._regex(source, self.where.rule(index, "regex"), f"{name}.regex", rule=True)
        group = self._group(table, pattern, index)
        keywords = table.get("keywords", [])
        if self._strings(keywords, self.where.rule(index, "keywords"), f"{name}.keywords") and any(
            not word for word in keywords
        ):
            line = self.where.rule(index, "keywords")
            self.problem(line, f"{name}.keywords", "a keyword cannot be empty")
        entropy = table.get("entropy")
        if entropy is not None and (
            isinstance(entropy, bool) or not isinstance(entropy, int | float) or entropy < 0
        ):
            self.problem(self.where.rule(index, "entropy"), f"{name}.entropy",
                         "must be a number of bits per character, 0 or more")  # fmt: skip
        allowlists: list[Allowlist] = []
        for key in ("allowlist", "allowlists"):
            if key in table:
                for number, sub in enumerate(self._tables(table[key], f"{name}.{key}")):
                    found = self.allowlist(sub, f"{name}.{key}[{number}]", line, top=False)
                    if found is not None:
                        allowlists.append(found)
        description = table.get("description", "")
        if not isinstance(description, str):
            self.problem(self.where.rule(index, "description"), f"{name}.description",
                         "must be a string")  # fmt: skip
        checksum = table.get("checksum")
        if checksum is not None:
            from kaizen_agentic.redact.checksums import CHECKSUMS

            if checksum not in CHECKSUMS:
                known = ", ".join(sorted(CHECKSUMS))
                self.problem(self.where.rule(index, "checksum"), f"{name}.checksum",
                             f"{checksum!r} is not one of {known}")  # fmt: skip
        shape = self.shape(table.get("shape"), index) if "shape" in table else None
        if len(self.problems) > before or pattern is None:
            return None
        return Rule(
            rule_id,
            str(source),
            group=group,
            keywords=tuple(dict.fromkeys(word.lower().encode() for word in keywords)),
            entropy=float(entropy) if entropy else None,
            allowlists=tuple(allowlists),
            description=str(description),
            pattern=None if pattern is _UNCOMPILED else pattern,
            checksum=checksum,
            shape=shape,
        )

    def shape(self, table: Any, index: int) -> Shape | None:
        """A rule's ``shape`` table (``Shape``); its keys' lines are the rule's own."""
        key = f"rules[{index}].shape"
        if not isinstance(table, dict):
            self.problem(self.where.rule(index, "shape"), key, "must be a table")
            return None
        self.unknown(table, SHAPE_KEYS, key, self.where.rule(index, "shape"))
        before = len(self.problems)
        counts: list[int] = []
        for name in ("minUpper", "minLower", "minDigits"):
            value = table.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.problem(self.where.rule(index, name), f"{key}.{name}",
                             "must be a whole number, 0 or more")  # fmt: skip
            counts.append(value)
        changes = table.get("minClassChanges", 0)
        if (
            isinstance(changes, bool)
            or not isinstance(changes, int | float)
            or not 0 <= changes <= 1
        ):
            self.problem(self.where.rule(index, "minClassChanges"), f"{key}.minClassChanges",
                         "must be a share from 0 to 1")  # fmt: skip
        text = table.get("base64Text", True)
        if not isinstance(text, bool):
            self.problem(self.where.rule(index, "base64Text"), f"{key}.base64Text",
                         "must be true or false")  # fmt: skip
        if len(self.problems) > before:
            return None
        upper, lower, digits = counts
        return Shape(upper, lower, digits, float(changes), text)

    def _regex(
        self, source: Any, line: int, key: str, rule: bool = False, alone: bool = False
    ) -> Any:
        if not isinstance(source, str) or not source:
            self.problem(line, key, "must be a non-empty string (RE2 syntax)")
            return None
        if not self.check:
            return _UNCOMPILED
        try:
            pattern = compile_regex(source)
        except ValueError as exc:
            self.problem(line, key, f"not a valid RE2 pattern: {exc}")
            return None
        if rule and matches_empty(pattern):
            self.problem(line, key, "matches the empty string: it would match everywhere")
            return None
        if alone and all(pattern.search(probe) for probe in _ANY_SECRET):
            self.problem(line, key, "matches any secret: it would let every secret through")
            return None
        return pattern

    def _group(self, table: dict[str, Any], pattern: Any, index: int) -> int | None:
        group = table.get("secretGroup")
        if group is None:
            return None  # gitleaks: the only group is the secret, else the whole match
        groups = pattern.groups if pattern not in (None, _UNCOMPILED) else group
        if isinstance(group, bool) or not isinstance(group, int) or group < 0:
            self.problem(self.where.rule(index, "secretGroup"), f"rules[{index}].secretGroup",
                         "must be a whole number, 0 or more")  # fmt: skip
        elif pattern is not None and group > groups:
            self.problem(
                self.where.rule(index, "secretGroup"),
                f"rules[{index}].secretGroup",
                f"is {group} but the regex has {groups} group{'s' if groups != 1 else ''}",
            )
        return group if isinstance(group, int) else 0

    def _strings(self, value: Any, line: int, key: str) -> bool:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return True
        self.problem(line, key, "must be a list of strings")
        return False

    def _tables(self, value: Any, key: str) -> list[dict[str, Any]]:
        items = value if isinstance(value, list) else [value]
        if all(isinstance(item, dict) for item in items):
            return items
        self.problem(self.where.table(key.split("[")[0]), key, "must be a table")
        return []

    def allowlist(self, table: dict[str, Any], key: str, line: int, top: bool) -> Allowlist | None:
        known = ALLOWLIST_KEYS if top else ALLOWLIST_KEYS - {"targetRules"}
        self.unknown(table, known, key, line)
        before = len(self.problems)
        target = table.get("regexTarget", "secret")
        if target not in TARGETS:
            self.problem(
                line, f"{key}.regexTarget", f"{target!r} is not one of secret, match, line"
            )
        condition = str(table.get("condition", "OR")).upper()
        if condition not in ("OR", "AND"):
            self.problem(line, f"{key}.condition", f"{condition!r} is not OR or AND")
        sources = table.get("regexes", [])
        if self._strings(sources, line, f"{key}.regexes"):
            for number, source in enumerate(sources):  # (under AND, a criterion narrows it)
                self._regex(source, line, f"{key}.regexes[{number}]", alone=condition == "OR")
        stopwords = table.get("stopwords", [])
        if self._strings(stopwords, line, f"{key}.stopwords") and not all(stopwords):
            self.problem(line, f"{key}.stopwords", "a stopword cannot be empty")
        targets = table.get("targetRules", [])
        self._strings(targets, line, f"{key}.targetRules")
        if len(self.problems) > before:
            return None
        all_of = condition == "AND"
        return Allowlist(
            sources=tuple(sources),
            target=str(target),
            stopwords=tuple(word.lower().encode() for word in stopwords),
            all_of=all_of,
            unusable=all_of and bool(table.get("paths") or table.get("commits")),
            rules=frozenset(targets),
            description=str(table.get("description", "")),
        )


def parse_rules(data: bytes, path: str, strict: bool = True, check: bool = True) -> RuleFile:
    """Read one rule file; raises ``InvalidFileError`` with every problem found.

    ``strict``: unknown keys are problems (else ignored, as for a ``.gitleaks.toml``).
    ``check``: compile every pattern now to report the bad ones (else on first use)."""
    from kaizen_agentic.redact.toml_bounds import load_toml

    text, parsed = load_toml(data, path)
    reader = _Reader(path, text, strict, check)
    found = reader.read(parsed)
    if reader.problems:
        raise InvalidFileError(path, reader.problems)
    return found


def repository_rule_files(root: str) -> list[str]:
    """The rule files a checkout adds, in the order they apply (later ones win): every one
    that exists, even as a link (``read_rule_file`` refuses one that leads outside)."""
    found = []
    for name in (GITLEAKS_RULES, REPO_RULES):
        candidate = os.path.join(root, name)
        if os.path.lexists(candidate):
            found.append(candidate)
    return found


def read_rule_file(path: str, root: str | None = None) -> bytes:
    """A rule file's bytes: a regular file of at most ``MAX_SIZE`` bytes and, for a
    repository's own (``root`` given), inside the repository; raises ``KaizenError`` (or
    ``OSError`` for a file that cannot be opened)."""
    from kaizen_agentic import atomic
    from kaizen_agentic.errors import KaizenError
    from kaizen_agentic.redact.toml_bounds import MAX_SIZE

    if root is not None:
        from kaizen_agentic.repo import check_inside

        check_inside(root, path)
    try:
        return atomic.read_capped(path, MAX_SIZE)
    except ValueError as exc:
        raise KaizenError(f"{path}: {exc}") from None
