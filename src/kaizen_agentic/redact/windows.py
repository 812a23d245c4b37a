"""Where each rule runs: one keyword pass over a text, and each rule's windows near its hits.

1. One Aho-Corasick pass over a lower-cased copy finds every rule keyword (``ahocorasick-rs``),
   the way gitleaks prefilters; a rule none of whose keywords occur costs nothing.
2. A rule runs only near its hits: from 512 bytes before a hit to the end of its line (a rule
   whose regex can cross a line end: to the end of the line 64 KiB on; the engine goes on to
   the end of the text when a match reaches that far). Close windows merge, so a rule reads
   each byte once, and rules with the same keywords share one list of windows.
"""

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, Final, NamedTuple

_BEFORE: Final = 512  # how far before a keyword hit a match may start
_MERGE: Final = 4096  # windows closer than this are scanned as one
_MULTILINE: Final = 1 << 16  # how far after a hit a rule that spans lines is run at first


_PIECE: Final = 1 << 16  # the keyword pass reads the text in pieces of this size
_DENSE: Final = _PIECE // 32  # more hits than this in a piece: one window per keyword
_LARGE: Final = 1 << 20  # texts from this size get the keyword automaton that scans fastest


_START: Final = itemgetter(1)  # of a hit: (keyword, start, end)


class _Windows:
    """Keyword hits merged into windows, first per keyword (a hit costs one comparison however
    many rules share its keyword), then handed to each rule: its keywords' windows, merged.
    Hits of one keyword come in order of position."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.spans: dict[int, list[list[int]]] = {}  # keyword -> [start, end, last hit]
        self.line_end = -1  # the end of the line of the last hit: one search per line

    def add(self, hits: Iterable[tuple[int, int, int]]) -> None:
        """Hits as (keyword, first, last): of keyword ``word`` from ``first`` to ``last`` (the
        same for a single hit), in order of ``first``. One loop with its names local: a
        text can have a hit every few bytes."""
        data, size, line_end, spans_of = self.data, self.size, self.line_end, self.spans
        for word, first, last in hits:
            if last > line_end:
                line_end = data.find(b"\n", last)
                if line_end < 0:
                    line_end = size
            end = line_end + 1  # the line end takes part in a match
            start = first - _BEFORE if first > _BEFORE else 0
            spans = spans_of.get(word)
            if spans is None:
                spans_of[word] = [[start, end, last]]
            elif start <= spans[-1][1] + _MERGE:
                span = spans[-1]
                if end > span[1]:
                    span[1] = end
                span[2] = last
            else:
                spans.append([start, end, last])
        self.line_end = line_end

    def rules(
        self,
        windows: dict[int, list[list[int]]],
        rules_of: tuple[tuple[int, ...], ...],
        multiline: frozenset[int],
    ) -> dict[int, list[list[int]]]:
        """Per rule index, its keywords' windows merged into ``windows``. A rule that may run
        over many lines reads on from its last hit, bounded, to a line end."""
        words_of: dict[int, list[int]] = {}
        for word in self.spans:
            for index in rules_of[word]:
                words_of.setdefault(index, []).append(word)
        # rules with the same keywords share one list of windows (``scan`` gates them together)
        shared: dict[tuple[tuple[int, ...], bool], list[list[int]]] = {}
        for index, words in words_of.items():
            key = (tuple(words), index in multiline)
            spans = shared.get(key)
            if spans is None:
                spans = shared[key] = self._merged(words, key[1])
            windows[index] = spans
        return windows

    def _merged(self, words: list[int], multiline: bool) -> list[list[int]]:
        if multiline:
            spans = [
                [start, line_end(self.data, min(last + _MULTILINE, self.size)) + 1]
                for word in words
                for start, _, last in self.spans[word]
            ]
        else:
            spans = [[start, end] for word in words for start, end, _ in self.spans[word]]
        if len(words) > 1:
            spans.sort()
        merged = [spans[0]]
        for start, end in spans[1:]:
            if start <= merged[-1][1] + _MERGE:
                if end > merged[-1][1]:
                    merged[-1][1] = end
            else:
                merged.append([start, end])
        return merged


class Keywords(NamedTuple):
    """The keyword pass's tables: derived from the rules once (``make schema`` stores the
    package's own, so a process start does not derive them again)."""

    always: tuple[int, ...]  # the rules with no keyword: they run on every text
    words: tuple[bytes, ...]  # every keyword once, lower case
    rules_of: tuple[tuple[int, ...], ...]  # per keyword: the rules it selects
    multiline: frozenset[int]  # the rules whose patterns may cross a line end

    @classmethod
    def of(cls, keywords: Sequence[tuple[bytes, ...]], multiline: frozenset[int]) -> "Keywords":
        """``keywords[i]``: rule ``i``'s keywords, lower case (none: it runs on every text);
        ``multiline``: the rules whose patterns may cross a line end."""
        words: dict[bytes, list[int]] = {}
        for index, own in enumerate(keywords):
            for word in own:
                words.setdefault(word, []).append(index)
        return cls(
            tuple(i for i, own in enumerate(keywords) if not own),
            tuple(words),
            tuple(tuple(rules) for rules in words.values()),
            multiline,
        )


class KeywordPass:
    """The rules' keywords as one automaton (built on first use), and per text the windows of
    each rule whose keywords occur."""

    def __init__(self, tables: Keywords) -> None:
        self._always = tables.always
        self._words = tables.words
        self._rules_of = tables.rules_of
        self._multiline = tables.multiline
        self._automaton: Any = None
        self._dfa = False
        self._overlap = 0

    def windows(self, data: bytes) -> dict[int, list[list[int]]]:
        """Per rule index, the merged byte ranges to run it on: near its keyword hits.

        The keyword pass runs over 64 KiB pieces, so memory stays bounded; a piece dense with
        hits (text that repeats a keyword) gives each keyword one window from its first hit to
        its last, so the time stays linear too."""
        windows: dict[int, list[list[int]]] = {index: [[0, len(data)]] for index in self._always}
        if not self._words:
            return windows
        if self._automaton is None or (len(data) >= _LARGE and not self._dfa):
            import ahocorasick_rs

            # A DFA scans twice as fast but takes 15 ms to build for the package's keywords:
            # worth it for a large text, not for the few KiB a prepare redacts (an NFA: 2 ms).
            self._dfa = len(data) >= _LARGE
            kind = ahocorasick_rs.Implementation
            self._automaton = ahocorasick_rs.BytesAhoCorasick(
                list(self._words),
                implementation=kind.DFA if self._dfa else kind.NoncontiguousNFA,
            )
            self._overlap = max(len(word) for word in self._words) - 1
        lowered = data.lower()
        size = len(data)
        adder = _Windows(data)
        for base in range(0, size, _PIECE):
            piece = lowered[base : base + _PIECE + self._overlap]
            limit = min(_PIECE, size - base)  # hits starting later belong to the next piece
            hits = self._automaton.find_matches_as_indexes(piece, overlapping=True)
            if len(hits) > _DENSE:  # (a hit past the limit is found again: no harm)
                last = {word: start for word, start, _ in hits}
                first = {word: start for word, start, _ in reversed(hits)}
                adder.add(
                    (word, base + first[word], base + last[word])
                    for word in sorted(first, key=first.__getitem__)
                )
            else:
                hits.sort(key=_START)
                adder.add((word, base + at, base + at) for word, at, _ in hits if at < limit)
        return adder.rules(windows, self._rules_of, self._multiline)


def line_end(data: bytes, position: int) -> int:
    """The offset of the first line end from ``position`` on (the text's end if none)."""
    end = data.find(b"\n", position)
    return len(data) if end < 0 else end
