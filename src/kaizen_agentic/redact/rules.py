"""Redaction rules: the model (``Rule``, ``Allowlist``, ``RuleFile``) and the package's own.

The package's rules live in ``redact/secrets.toml``, in the shape of a gitleaks config; a
repository adds ``.kaizen/redact.toml`` and its ``.gitleaks.toml`` (``rule_files`` reads and
checks a rule file; docs/reference/redact.md describes the format and which gitleaks keys are
honoured). Patterns are RE2, compiled the first time a text needs them.
"""

import binascii
import os
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, Final, NamedTuple, overload

from kaizen_agentic.redact.windows import Keywords

REPO_RULES: Final = os.path.join(".kaizen", "redact.toml")
GITLEAKS_RULES: Final = ".gitleaks.toml"
RULE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TARGETS: Final = ("secret", "match", "line")

# Keys gitleaks defines that we accept (path, tags and skipReport have no effect here), and ours:
# checksum (a published checksum the secret must pass, see ``checksums``) and shape (``Shape``).
RULE_KEYS: Final = frozenset(
    {"id", "description", "regex", "secretGroup", "entropy", "keywords", "allowlist",
     "allowlists", "path", "tags", "skipReport", "checksum", "shape"}
)  # fmt: skip
SHAPE_KEYS: Final = frozenset(
    {"minUpper", "minLower", "minDigits", "minClassChanges", "base64Text"}
)  # fmt: skip
ALLOWLIST_KEYS: Final = frozenset(
    {"description", "condition", "regexTarget", "regexes", "stopwords", "paths", "commits",
     "targetRules"}
)  # fmt: skip
TOP_KEYS: Final = frozenset({"title", "description", "rules", "allowlist", "allowlists", "extend"})
EXTEND_KEYS: Final = frozenset({"path", "url", "useDefault", "disabledRules"})


# A-Z -> U, a-z -> l, 0-9 -> d, anything else -> o
_CLASSES: Final = bytes(
    ord("U") if 65 <= b <= 90 else ord("l") if 97 <= b <= 122 else ord("d") if 48 <= b <= 57
    else ord("o") for b in range(256)
)  # fmt: skip
_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")
_PRINTABLE: Final = bytes([9, 10, 13, *range(32, 127)])  # printable ASCII and white space
_TEXT_BYTES: Final = _PRINTABLE + bytes(range(160, 256))  # and the letters of one-byte encodings


class Shape(NamedTuple):
    """What a secret must look like besides matching its pattern (a rule's ``shape`` table):
    how many capital letters, small letters and digits it holds at least, how often
    neighbouring characters change class at least (random tokens change often, words and
    identifiers seldom), and whether it may be base64 of printable text (an encoded message
    or document is no credential)."""

    upper: int = 0  # minUpper
    lower: int = 0  # minLower
    digits: int = 0  # minDigits
    changes: float = 0.0  # minClassChanges: the least share of neighbouring pairs that differ
    base64_text: bool = True  # base64Text = false: base64 of printable text is not a secret

    def holds(self, secret: bytes) -> bool:
        classes = secret.translate(_CLASSES)
        if (
            classes.count(b"U") < self.upper
            or classes.count(b"l") < self.lower
            or classes.count(b"d") < self.digits
        ):
            return False
        if self.changes and len(secret) > 1:
            changed = sum(a != b for a, b in pairwise(classes))
            if changed < self.changes * (len(secret) - 1):
                return False
        return self.base64_text or not base64_text(secret)


def decode_base64(value: bytes, strict: bool = False) -> bytes:
    """Standard or URL-safe base64, padded or not (what ``base64.urlsafe_b64decode`` does,
    without importing ``base64``: ``struct``, 1 ms); raises ``binascii.Error``."""
    body = value.translate(_URLSAFE)
    return binascii.a2b_base64(body + b"=" * (-len(body) % 4), strict_mode=strict)


def base64_text(value: bytes) -> bool:
    """Whether ``value`` is base64 (standard or URL-safe, padded or not; a whole encoding or a
    line of one) of text: UTF-8 that is at least 90 % printable (a character cut at either end
    allowed), bytes at least 80 % printable ASCII, or bytes with no control character at all
    (text in a one-byte encoding). What a key decodes to, random bytes, is none of these: the
    last, the loosest, holds by chance for 1.2 % of 15 random bytes (a 20-character token),
    0.1 % of 24."""
    body = value.rstrip(b"=")
    body = body[: len(body) - 1] if len(body) % 4 == 1 else body
    try:
        raw = decode_base64(body, strict=True)
    except binascii.Error:
        return False
    if not raw:
        return False
    if not raw.translate(None, _TEXT_BYTES) or len(raw.translate(None, _PRINTABLE)) * 5 <= len(raw):
        return True
    for start in range(4):
        for end in range(len(raw), len(raw) - 4, -1):
            try:
                text = raw[start:end].decode("utf-8")
            except UnicodeDecodeError:
                continue
            good = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
            return bool(text) and good >= 0.9 * len(text)
    return False


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
                 "group", "id", "keywords", "multiline", "shape", "source")  # fmt: skip

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
        shape: Shape | None = None,
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
        self.shape = shape  # what the secret must look like, beyond the pattern

    @property
    def pattern(self) -> Any:
        if self._pattern is None:
            self._pattern = compile_regex(self.source)
        return self._pattern

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"


class RuleRows(Sequence[Rule]):
    """Rules stored as rows (``make schema``'s compiled form of the package's rules), each
    decoded into a ``Rule`` the first time it is needed: a prepare needs a dozen of 708. They
    come with what was derived from them when they were compiled: their ``Index``, and the
    digests of the files they found no secret in (the built-in agents')."""

    __slots__ = ("_decode", "_rows", "_rules", "clean", "derived")

    def __init__(
        self,
        rows: tuple[bytes, ...],
        decode: Callable[[bytes], Rule],
        derived: "Index",
        clean: frozenset[str],
    ) -> None:
        self._rows = rows
        self._decode = decode
        self._rules: list[Rule | None] = [None] * len(rows)
        self.derived = derived
        self.clean = clean

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Rule: ...
    @overload
    def __getitem__(self, index: slice) -> list[Rule]: ...
    def __getitem__(self, index: int | slice) -> Rule | list[Rule]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._rows)))]
        rule = self._rules[index]
        if rule is None:
            rule = self._rules[index] = self._decode(self._rows[index])
        return rule


class Index(NamedTuple):
    """What a ruleset derives from its rules: their ids (to know a marker) and the keyword
    pass's tables. ``make schema`` stores the package's own with its rules."""

    ids: frozenset[bytes]
    keywords: Keywords

    @classmethod
    def of(cls, rules: Sequence[Rule]) -> "Index":
        return cls(
            frozenset(rule.id.encode() for rule in rules),
            Keywords.of(
                [rule.keywords for rule in rules],
                frozenset(i for i, rule in enumerate(rules) if rule.multiline),
            ),
        )


class RuleFile:
    """The rules, allowlists and disabled ids one file declares (``RuleRows`` for the
    package's compiled rules)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.rules: Sequence[Rule] = []
        self.allowlists: list[Allowlist] = []
        self.disabled: set[str] = set()


def effective_rules(files: Sequence[RuleFile]) -> list[Rule]:
    """The rules that apply, in order: a later file's rule replaces an earlier one with its id
    (and takes the later place); an id any file disables applies nowhere."""
    by_id: dict[str, Rule] = {}
    disabled: set[str] = set()
    for rule_file in files:
        for rule in rule_file.rules:
            by_id.pop(rule.id, None)
            by_id[rule.id] = rule
        disabled |= rule_file.disabled
    return [rule for rule in by_id.values() if rule.id not in disabled]


def compile_regex(source: str) -> Any:
    """Compile ``source`` with RE2 (linear time, gitleaks' syntax); raises ``ValueError``."""
    import re2

    try:
        return re2.compile(source.encode(), _options(re2))
    except re2.error as exc:
        raw = exc.args[0] if exc.args else exc
        message = raw.decode() if isinstance(raw, bytes) else str(raw)
        raise ValueError(message) from None


def compile_set(sources: list[str]) -> Any:
    """One RE2 set of valid ``sources``: ``Match(text)`` names those that match somewhere in
    ``text``, in one pass (the engine's gate before the rules search a window); None when RE2
    cannot build it (patterns that each compile may be too large together), and then there
    is no gate: each rule searches every window."""
    import re2

    gate = re2.Set.SearchSet(_options(re2))
    try:
        for source in sources:
            gate.Add(source.encode())
        gate.Compile()
    except re2.error:
        return None
    return gate


def _options(re2: Any) -> Any:
    options = re2.Options()
    options.log_errors = False  # a user's bad pattern is reported as a located problem instead
    options.max_mem = 64 << 20
    return options


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


def allowed(allow: Allowlist, secret: bytes, match: Any, lines: "Lines") -> bool:
    """Whether ``allow`` lets the finding ``match`` (its secret ``secret``) go."""
    if allow.unusable:
        return False
    checks: list[bool] = []
    if allow.regexes:
        if allow.target == "line":
            checks.append(lines.search(allow, match.start(), match.end()))
        else:
            target = match.group(0) if allow.target == "match" else secret
            checks.append(allow.pattern.search(target) is not None)
    if allow.stopwords:
        lowered = secret.lower()
        checks.append(any(word in lowered for word in allow.stopwords))
    if not checks:
        return False
    return all(checks) if allow.all_of else any(checks)


class Lines:
    """The lines of one text, for allowlists that look at a match's whole line(s): each line is
    searched once per allowlist, however many candidates it holds (a 1 MB line of candidates
    would otherwise be searched, and its ends found, once per candidate)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ends: list[int] | None = None  # offsets of the line ends, found on first use
        self.seen: dict[tuple[int, int, int], bool] = {}

    def search(self, allow: Allowlist, start: int, end: int) -> bool:
        if self.ends is None:
            self.ends = [m.start() for m in re.finditer(b"\n", self.data)]
        first = bisect_left(self.ends, start)  # the line holding the match's start ...
        last = bisect_left(self.ends, end, first)  # ... and the one holding its end
        key = (id(allow), first, last)
        if key not in self.seen:
            begin = self.ends[first - 1] + 1 if first else 0
            stop = self.ends[last] if last < len(self.ends) else len(self.data)
            self.seen[key] = allow.pattern.search(self.data[begin:stop]) is not None
        return self.seen[key]
