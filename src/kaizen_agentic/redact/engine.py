"""Secret redaction: rules as data (``rules``), one keyword pass, RE2 near each hit.

A secret becomes a typed marker, ``[REDACTED:<rule-id>]``; callers get findings (rule, line,
column) and counts per rule, never the values. A marker matches no rule, so redacting twice
changes nothing.

How a text is scanned (see docs/performance.md):

1. One Aho-Corasick pass finds every rule keyword, and each rule gets windows near its hits
   (``windows``): a rule none of whose keywords occur costs nothing.
2. Rules that share their keywords share their windows; over many bytes, one RE2 set of their
   patterns reads each window first, and only the rules it names search it.
3. Patterns are RE2 (``google-re2``): linear time whatever the input, the syntax gitleaks users
   write.
4. Findings of all rules are resolved together (overlaps merge; a specific rule names the
   merged span over a generic one) and the text is rebuilt once.
"""

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Final, NamedTuple

from kaizen_agentic.redact.compiled import default_rules
from kaizen_agentic.redact.rules import (
    Allowlist,
    Index,
    Lines,
    Rule,
    RuleFile,
    RuleRows,
    allowed,
    compile_set,
    effective_rules,
)
from kaizen_agentic.redact.windows import KeywordPass

MARKER: Final = b"[REDACTED:"
_RETRIES: Final = 64  # times per rule and text a rejected match is searched again from inside
_GATE: Final = 1 << 16  # rules sharing more bytes of windows than this are gated by an RE2 set


class Finding(NamedTuple):
    """One secret found: which rule, where (1-based line and column, in characters). Never the
    value; ``start``/``end`` are UTF-8 byte offsets of the secret in the scanned text."""

    rule: str
    line: int
    column: int
    start: int
    end: int


class Leak(NamedTuple):
    """A secret found in one of several texts: the rule, the text's place, and where in it
    (in the file the text came from, when ``file`` is known)."""

    rule: str
    place: str  # what the text is, e.g. "instructions in .kaizen/schedule.yml"
    line: int
    column: int
    file: str | None = None  # set when line and column are the file's

    def __str__(self) -> str:
        if self.file:
            return f"{self.rule} at {self.file}:{self.line}:{self.column} ({self.place})"
        return f"{self.rule} in {self.place}, line {self.line}, column {self.column}"


class Redacted(NamedTuple):
    """Redacted text and how many secrets each rule removed."""

    text: str
    counts: dict[str, int]  # rule id -> how many secrets it removed


class Ruleset:
    """Compiled rules and allowlists, with the keyword automaton that selects them."""

    def __init__(self, files: Iterable[RuleFile], stored: RuleRows | None = None) -> None:
        """``stored``: the rules of the one file in ``files`` as ``make schema`` compiled them,
        taken as they are (``default_ruleset``); otherwise everything is derived from
        ``files``."""
        files = tuple(files)
        self.allowlists: tuple[Allowlist, ...] = tuple(a for f in files for a in f.allowlists)
        self.sources: tuple[str, ...] = tuple(f.path for f in files)
        self._rules: Sequence[Rule]
        if stored is not None:  # nothing to derive; rows are decoded as texts need them
            self._rules, index = stored, stored.derived
            # digests of files these rules find nothing in: the built-in agents' (``prepare``)
            self.known_clean = stored.clean
        else:
            self._rules = tuple(effective_rules(files))
            index = Index.of(self._rules)
            self.known_clean = frozenset()
        self._windows = KeywordPass(index.keywords).windows
        self._ids = index.ids
        self._gates: dict[tuple[int, ...], Any] = {}

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule that applies, in order (stored rows are all decoded for it)."""
        if not isinstance(self._rules, tuple):
            self._rules = tuple(self._rules)
        return self._rules

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(rule_id.decode() for rule_id in self._ids)

    def scan(self, data: bytes) -> list[tuple[int, int, int]]:
        """(start, end, rule index) of every secret in UTF-8 ``data``, overlaps resolved.

        Rules that share their keywords share their windows; over many of them one RE2 set
        of their patterns reads each window first, and only the rules it names search it (the
        four generic rules on 8 MB of prose: one pass instead of four)."""
        found: list[tuple[int, int, int]] = []
        markers = _markers(data, self._ids)
        lines = Lines(data)
        groups: dict[int, tuple[list[list[int]], list[int]]] = {}
        for index, spans in self._windows(data).items():
            groups.setdefault(id(spans), (spans, []))[1].append(index)
        for spans, indexes in groups.values():
            retries = dict.fromkeys(indexes, _RETRIES)  # per rule and text: the worst case
            gate = None  # stays linear
            if len(indexes) > 1 and sum(end - start for start, end in spans) >= _GATE:
                gate = self._gate(tuple(indexes))
            for start, end in spans:
                chosen = indexes
                if gate is not None:
                    # a byte either side of the window: its assertions (\b, ^, $) see what a
                    # search of the window sees
                    named = gate.Match(data[start - 1 if start else 0 : end + 1])
                    if named is None:
                        continue
                    chosen = [indexes[i] for i in sorted(named)]
                for index in chosen:
                    retries[index] = self._search(
                        index, data, start, end, retries[index], found, markers, lines
                    )
        return _resolve(found, self._rules)

    def _gate(self, indexes: tuple[int, ...]) -> Any:
        if indexes not in self._gates:  # None: RE2 could not build it, so no gate
            self._gates[indexes] = compile_set([self._rules[i].source for i in indexes])
        return self._gates[indexes]

    def _search(
        self,
        index: int,
        data: bytes,
        start: int,
        end: int,
        retries: int,
        found: list[tuple[int, int, int]],
        markers: list[int],
        lines: Lines,
    ) -> int:
        """Rule ``index``'s secrets in one window, added to ``found``; returns the retries
        left."""
        rule = self._rules[index]
        size = len(data)
        position = start
        while position < end:
            match = rule.pattern.search(data, position, end)
            if match is None:
                break
            if (
                rule.multiline and end < size and match.end() > data.rfind(b"\n", 0, end - 1)
            ):  # a match that reaches the window's last line may go on
                end = size
                match = rule.pattern.search(data, match.start(), end)
                assert match is not None
            span = self._secret(rule, data, match, lines)
            if span is not None and markers and _overlaps(markers, span):
                span = None  # a marker: redacted before
            if span is not None:
                found.append((span[0], span[1], index))
            # on from the secret's end, not the match's: a character the pattern takes
            # after the secret may be the one the next secret needs before it
            after = match.end(rule.group) if rule.group else -1
            position = max(after if after >= 0 else match.end(), position + 1)
            if span is None and retries:
                # A match that is no secret (a reference, a placeholder) may hide one that
                # starts inside it: `KEY='$name = 'value''`. Look again from there.
                retries -= 1
                inner = match.start(rule.group) if rule.group else match.start()
                position = max(inner, match.start()) + 1
        return retries

    def _secret(self, rule: Rule, data: bytes, match: Any, lines: Lines) -> tuple[int, int] | None:
        start, end = match.span(rule.group)
        if start < 0 or start == end:
            return None
        secret = data[start:end]
        if rule.entropy is not None and entropy(secret) <= rule.entropy:
            return None
        if rule.shape is not None and not rule.shape.holds(secret):
            return None
        if rule.checksum is not None:
            from kaizen_agentic.redact.checksums import CHECKSUMS  # loaded by the first match

            if not CHECKSUMS[rule.checksum](secret):
                return None
        for allow in rule.allowlists:
            if allowed(allow, secret, match, lines):
                return None
        for allow in self.allowlists:
            if (not allow.rules or rule.id in allow.rules) and allowed(allow, secret, match, lines):
                return None
        return start, end

    def findings(self, text: str | bytes) -> list[Finding]:
        """Every secret in ``text`` (a str, or UTF-8 bytes), located; never the values."""
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        spans = self.scan(data)
        if not spans:
            return []
        lines = _line_starts(data)
        out = []
        for start, end, index in spans:
            line = bisect_right(lines, start)
            first = lines[line - 1]
            column = len(data[first:start].decode("utf-8", "replace")) + 1
            out.append(Finding(self._rules[index].id, line, column, start, end))
        return out

    def redact_bytes(self, data: bytes) -> tuple[bytes, dict[str, int]]:
        """UTF-8 ``data`` with every secret replaced; bytes that are not UTF-8 pass through."""
        spans = [(start, end, self._rules[index].id) for start, end, index in self.scan(data)]
        counts: dict[str, int] = {}
        for _, _, rule_id in spans:
            counts[rule_id] = counts.get(rule_id, 0) + 1
        return (splice(data, spans) if spans else data), counts

    def redact(self, text: str, counts: dict[str, int] | None = None) -> Redacted:
        """``text`` with every secret replaced by ``[REDACTED:<rule>]``; counts are accumulated
        into ``counts`` when given."""
        tally: dict[str, int] = {} if counts is None else counts
        data, found = self.redact_bytes(text.encode("utf-8", "surrogatepass"))
        if not found:
            return Redacted(text, tally)
        for rule_id, n in found.items():
            tally[rule_id] = tally.get(rule_id, 0) + n
        return Redacted(data.decode("utf-8", "surrogatepass"), tally)

    def redact_all(
        self, texts: dict[str, str], origins: dict[str, tuple[str, int]] | None = None
    ) -> tuple[dict[str, str], dict[str, int], list[Leak]]:
        """Every text redacted, keyed by its place: (texts, counts per rule, leaks located).
        ``origins``: for a text copied from a file, the file and the line it starts on.

        The one boundary a bundle's inputs cross: ``prepare`` builds a bundle only from what
        this returns."""
        counts: dict[str, int] = {}
        leaks: list[Leak] = []
        clean: dict[str, str] = {}
        for place, text in texts.items():
            found = self.findings(text) if text else []
            file, first = (origins or {}).get(place, (None, 1))
            leaks += (Leak(f.rule, place, first + f.line - 1, f.column, file) for f in found)
            if found:
                data = splice(text.encode("utf-8", "surrogatepass"), found)
                text = data.decode("utf-8", "surrogatepass")
            clean[place] = text
            for finding in found:
                counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return clean, dict(sorted(counts.items())), leaks


def splice(data: bytes, spans: Iterable[tuple[int, int, str] | Finding]) -> bytes:
    """``data`` with each secret, given in order as (start, end, rule id) or as the ``Finding``
    of ``Ruleset.findings``, replaced by its marker ``[REDACTED:<rule>]``."""
    pieces: list[bytes] = []
    cursor = 0
    for span in spans:
        start, end, rule_id = (
            (span.start, span.end, span.rule) if isinstance(span, Finding) else span
        )
        pieces += (data[cursor:start], b"[REDACTED:" + rule_id.encode() + b"]")
        cursor = end
    pieces.append(data[cursor:])
    return b"".join(pieces)


def entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte, as gitleaks computes it for ``entropy`` gates."""
    size = len(data)
    return -sum(n / size * math.log2(n / size) for n in Counter(data).values()) if size else 0.0


_MARKER: Final = re.compile(rb"\[REDACTED:([A-Za-z0-9][A-Za-z0-9._-]{0,63})\]")


def _markers(data: bytes, ids: frozenset[bytes]) -> list[int]:
    """Start and end offsets, flattened, of the markers already in ``data``: what is inside one
    was redacted before and is never matched again (redacting twice changes nothing).

    Only a whole marker naming one of the rules is one: text that merely starts like a marker
    (``[REDACTED:`` with no ``]``, or around something that is not a rule id) is scanned as any
    other text."""
    bounds: list[int] = []
    if MARKER not in data:
        return bounds
    for found in _MARKER.finditer(data):
        if found.group(1) in ids:
            bounds += found.span()
    return bounds


def _overlaps(bounds: list[int], span: tuple[int, int]) -> bool:
    i = bisect_right(bounds, span[0])
    return i % 2 == 1 or (i < len(bounds) and bounds[i] < span[1])


Span = tuple[int, int, int]  # start, end, rule index


def _resolve(found: list[Span], rules: Sequence[Rule]) -> list[Span]:
    """A generic match that overlaps a specific one is dropped (the specific rule knows where
    its token ends); other overlapping secrets become one span, named by the rule that matched
    more, then by the one that comes first in the rule files."""
    if len(found) < 2:
        return found
    found.sort()
    specific = [(start, end) for start, end, index in found if not rules[index].generic]
    if specific and len(specific) < len(found):  # a generic match that overlaps a specific
        bounds = [edge for span in _merged(specific) for edge in span]  # one is dropped
        found = [f for f in found if not rules[f[2]].generic or not _overlaps(bounds, (f[0], f[1]))]
    out: list[tuple[int, int, int]] = []
    best: tuple[bool, int, int] = (False, 0, 0)  # the rank of the rule naming out[-1]
    for start, end, index in found:
        rank = (rules[index].generic, start - end, index)
        if out and start < out[-1][1]:
            last_start, last_end, last_index = out[-1]
            if rank < best:
                best, last_index = rank, index
            out[-1] = (last_start, max(end, last_end), last_index)
        else:
            out.append((start, end, index))
            best = rank
    return out


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:  # sorted by start
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _line_starts(data: bytes) -> list[int]:
    starts = [0]
    position = data.find(b"\n")
    while position >= 0:
        starts.append(position + 1)
        position = data.find(b"\n", position + 1)
    return starts


@cache
def default_ruleset() -> Ruleset:
    """The package's own rules, compiled once per process: as ``make schema`` stored them
    when their compiled file is current (``redact/compiled.py``)."""
    rule_file = default_rules()
    stored = rule_file.rules if isinstance(rule_file.rules, RuleRows) else None
    return Ruleset([rule_file], stored)


def load_ruleset(root: str | None, extra: Iterable[str] = ()) -> Ruleset:
    """The package's rules plus a checkout's ``.gitleaks.toml`` and ``.kaizen/redact.toml``
    (when ``root`` is given) and any ``extra`` rule files; raises ``InvalidFileError``, or
    ``KaizenError`` for a file that cannot be read: a repository's rule file must stay inside
    the repository, and no rule file may be larger than ``rule_files.MAX_SIZE``."""
    from kaizen_agentic.redact.rule_files import parse_rules, read_rule_file, repository_rule_files

    found = repository_rule_files(root) if root else []
    if not found and not extra:
        return default_ruleset()
    files = [default_rules()]
    for path, data in [*((p, read_rule_file(p, root)) for p in found),
                       *((p, read_rule_file(p)) for p in extra)]:  # fmt: skip
        strict = not path.endswith(".gitleaks.toml")
        files.append(parse_rules(data, path, strict=strict))
    return Ruleset(files)


def redact(text: str, counts: dict[str, int] | None = None) -> Redacted:
    """``text`` redacted with the package's own rules; see ``Ruleset.redact``."""
    return default_ruleset().redact(text, counts)


def rule_ids() -> frozenset[str]:
    """The ids of the package's own rules."""
    return default_ruleset().ids
