"""Redaction rules: the model (``Rule``, ``Allowlist``, ``RuleFile``) and the package's own.

The package's rules live in ``redact/secrets.toml``, in the shape of a gitleaks config; a
repository adds ``.kaizen/redact.toml`` and its ``.gitleaks.toml`` (``rule_files`` reads and
checks a rule file; docs/reference/redact.md describes the format and which gitleaks keys are
honoured). Patterns are RE2, compiled the first time a text needs them.
"""

from __future__ import annotations

import os
import re
from typing import Any, Final

REPO_RULES: Final = os.path.join(".kaizen", "redact.toml")
GITLEAKS_RULES: Final = ".gitleaks.toml"
RULE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TARGETS: Final = ("secret", "match", "line")

# Keys gitleaks defines that we accept (path, tags and skipReport have no effect here), and ours:
# checksum (a published checksum the secret must pass, see ``checksums``).
RULE_KEYS: Final = frozenset(
    {"id", "description", "regex", "secretGroup", "entropy", "keywords", "allowlist",
     "allowlists", "path", "tags", "skipReport", "checksum"}
)  # fmt: skip
ALLOWLIST_KEYS: Final = frozenset(
    {"description", "condition", "regexTarget", "regexes", "stopwords", "paths", "commits",
     "targetRules"}
)  # fmt: skip
TOP_KEYS: Final = frozenset({"title", "description", "rules", "allowlist", "allowlists", "extend"})
EXTEND_KEYS: Final = frozenset({"path", "url", "useDefault", "disabledRules"})


class Allowlist:
    """Findings this list matches are not secrets."""

    __slots__ = ("_combined", "_compiled", "all_of", "description", "rules", "sources",
                 "stopwords", "target", "unusable")  # fmt: skip

    def __init__(
        self,
        sources: tuple[str, ...] = (),
        target: str = "secret",
        stopwords: tuple[bytes, ...] = (),
        all_of: bool = False,
        unusable: bool = False,
        rules: frozenset[str] = frozenset(),
        description: str = "",
    ) -> None:
        self.description = description
        self.sources = sources  # RE2 patterns, compiled on first use
        self.target = target  # what the patterns are matched against: secret, match or line
        self.stopwords = stopwords  # lower case
        self.all_of = all_of  # condition = "AND"
        self.unusable = unusable  # AND over a criterion we cannot check (paths, commits)
        self.rules = rules  # global lists: only these rules (empty: all)
        self._compiled: tuple[Any, ...] | None = None
        self._combined: Any = None

    @property
    def regexes(self) -> tuple[Any, ...]:
        if self._compiled is None:
            self._compiled = tuple(compile_regex(source) for source in self.sources)
        return self._compiled

    @property
    def pattern(self) -> Any:
        """The regexes as one alternation (a flag set inside one stays inside it): one search
        per finding instead of one per regex."""
        if self._combined is None:
            self._combined = compile_regex("|".join(f"(?:{source})" for source in self.sources))
        return self._combined


class Rule:
    """One rule; its pattern is compiled the first time a text needs it."""

    __slots__ = ("_pattern", "allowlists", "checksum", "description", "entropy", "generic",
                 "group", "id", "keywords", "multiline", "source")  # fmt: skip

    def __init__(
        self,
        id: str,
        source: str,
        group: int | None = None,
        keywords: tuple[bytes, ...] = (),
        entropy: float | None = None,
        allowlists: tuple[Allowlist, ...] = (),
        description: str = "",
        pattern: Any = None,
        multiline: bool | None = None,
        checksum: str | None = None,
    ) -> None:
        self.id = id
        self.description = description
        self.source = source  # the regex as written (RE2 syntax)
        self._pattern = pattern
        # The group that is the secret (0: the whole match); unset: the only group, if one.
        self.group = group if group is not None else (1 if self.pattern.groups == 1 else 0)
        self.keywords = keywords  # lower case; empty: run on every text
        self.entropy = entropy
        self.allowlists = allowlists
        # may match across a line end
        self.multiline = can_cross_lines(source) if multiline is None else multiline
        self.generic = id.startswith("generic")  # loses to any specific rule on the same span
        self.checksum = checksum  # the name of a published checksum the secret must pass

    @property
    def pattern(self) -> Any:
        if self._pattern is None:
            self._pattern = compile_regex(self.source)
        return self._pattern

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"


class RuleFile:
    """The rules, allowlists and disabled ids one file declares."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.rules: list[Rule] = []
        self.allowlists: list[Allowlist] = []
        self.disabled: set[str] = set()


def compile_regex(source: str) -> Any:
    """Compile ``source`` with RE2 (linear time, gitleaks' syntax); raises ``ValueError``."""
    import re2

    options = re2.Options()
    options.log_errors = False  # a user's bad pattern is reported as a located problem instead
    options.max_mem = 64 << 20
    try:
        return re2.compile(source.encode(), options)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else exc
        message = raw.decode() if isinstance(raw, bytes) else str(raw)
        raise ValueError(message) from None


_NEWLINE_ESCAPES: Final = frozenset("snWDpPx0123456789")


def can_cross_lines(source: str) -> bool:
    """Whether the regex may match a line end: then it runs over whole texts, not near hits.

    Conservative: outside a class or in a positive one, an escape that may stand for a newline
    (``\\s``, ``\\n``, ``\\W``, ``\\D``, ``\\p``, ``\\x``, an octal); the ``s`` flag; a POSIX
    class; a negated class that does not list ``\\n`` or ``\\s``."""
    if "[[:" in source or re.search(r"\(\?[a-zA-Z]*s", source):
        return True
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "\\":
            if i + 1 < n and source[i + 1] in _NEWLINE_ESCAPES:
                return True
            i += 2
        elif char == "[":
            negated = source.startswith("[^", i)
            end = _class_end(source, i + (2 if negated else 1))
            members = source[i:end]
            if negated:
                if "\\n" not in members and "\\s" not in members:
                    return True
            elif any(members[j] == "\\" and members[j + 1 : j + 2] in _NEWLINE_ESCAPES
                     for j in range(len(members) - 1)):  # fmt: skip
                return True
            i = end + 1
        else:
            i += 1
    return False


def _class_end(source: str, i: int) -> int:
    if i < len(source) and source[i] == "]":
        i += 1  # a leading ] is a member
    while i < len(source) and source[i] != "]":
        i += 2 if source[i] == "\\" else 1
    return i


# Texts in which a pattern that can match the empty string does so somewhere: each place
# between a word and a non-word character, at line starts and ends, and at the ends of a text.
_EMPTY_PROBES: Final = (b"", b"a", b" ", b"\n", b"a a", b" a ", b"\na\n", b"_-_")


def matches_empty(pattern: Any) -> bool:
    """Whether ``pattern`` can match the empty string (a rule would then match everywhere)."""
    for probe in _EMPTY_PROBES:
        for position in range(len(probe) + 1):
            found = pattern.match(probe, position)
            if found is not None and found.end() == position:
                return True
    return False
