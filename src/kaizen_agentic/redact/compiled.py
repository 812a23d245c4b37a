"""The package's rules compiled for a fast start: ``redact/secrets.compiled.marshal``.

``make schema`` parses and checks ``redact/secrets.toml`` and writes its rules here, a row each,
with the ``Index`` a ruleset derives from them (the rule ids and the keyword pass's tables) and
the digests of the built-in agents' files the rules find nothing in, keyed by the TOML's
``source_key``. A process start then reads no TOML, derives no tables and decodes only the
rules a text needs (``RuleRows``). A compiled file whose key does not match (a TOML edited
since), whose checksum does not (a damaged file), or that cannot be read, is ignored: the TOML
is read instead.

The file is a line with the CRC-32 of the rest, then the ``marshal`` data (version 2: no object
references, so the bytes depend on the values alone, and every Python 3 reads it).
"""

import marshal
import os
import zlib
from collections.abc import Iterable
from functools import cache
from typing import Any, Final

from kaizen_agentic.redact.rule_files import parse_rules
from kaizen_agentic.redact.rules import (
    Allowlist,
    Index,
    Rule,
    RuleFile,
    RuleRows,
    Shape,
    effective_rules,
)
from kaizen_agentic.redact.windows import Keywords

RULES_FILE: Final = os.path.join(os.path.dirname(__file__), "secrets.toml")
COMPILED_FILE: Final = os.path.join(os.path.dirname(__file__), "secrets.compiled.marshal")
PACKAGE_RULES: Final = "kaizen_agentic/redact/secrets.toml"
_COMPILED: Final = "kaizen-agentic/compiled-rules/2"  # what the marshal data holds
_MARSHAL_VERSION: Final = 2


def source_key(data: bytes) -> str:
    """What the compiled rules are keyed by: the TOML's CRC-32 and size. It tells a TOML file
    edited since ``make schema`` from the one compiled (a cache key, not a defence: both files
    ship in the package), and needs no ``hashlib`` (4 ms to import, OpenSSL)."""
    return f"crc32:{zlib.crc32(data):08x}:{len(data)}"


@cache
def default_rules() -> RuleFile:
    """The package's own rules (``redact/secrets.toml``), read once per process.

    Their compiled form (``RuleRows``) while it is current and intact; else the TOML, read
    and checked."""
    with open(RULES_FILE, "rb") as handle:
        data = handle.read()
    try:
        with open(COMPILED_FILE, "rb") as handle:
            compiled = from_compiled(handle.read(), source_key(data))
        if compiled is not None:
            return compiled
    except (OSError, ValueError, EOFError, TypeError, MemoryError):  # read the TOML
        pass
    # Patterns are compiled when a text first needs them; the tests compile them all.
    return parse_rules(data, PACKAGE_RULES, check=False)


def _allow_row(a: Allowlist) -> tuple[Any, ...]:
    return (a.sources, a.target, a.stopwords, a.all_of, a.unusable, tuple(sorted(a.rules)),
            a.description)  # fmt: skip


def _allowlist(row: tuple[Any, ...]) -> Allowlist:
    sources, target, stopwords, all_of, unusable, rules, description = row
    return Allowlist(sources, target, stopwords, all_of, unusable, frozenset(rules), description)


def _rule_row(r: Rule) -> bytes:
    return marshal.dumps(
        (r.id, r.source, r.group, r.keywords, r.entropy, tuple(map(_allow_row, r.allowlists)),
         r.description, r.multiline, r.checksum, tuple(r.shape) if r.shape else None),
        _MARSHAL_VERSION,
    )  # fmt: skip


def _rule(row: bytes) -> Rule:
    (rule_id, source, group, keywords, entropy, lists, description, multiline, checksum,
     shape) = marshal.loads(row)  # fmt: skip
    return Rule(rule_id, source, group, keywords, entropy, tuple(map(_allowlist, lists)),
                description, multiline=multiline, checksum=checksum,
                shape=Shape(*shape) if shape else None)  # fmt: skip


def to_compiled(rule_file: RuleFile, key: str, clean: Iterable[str] = ()) -> bytes:
    """``rule_file`` compiled for a fast start: its rules that apply (``effective_rules``), a
    row each, with their ``Index`` and the ``clean`` digests, keyed by ``key``."""
    rules = effective_rules([rule_file])
    index = Index.of(rules)
    rows = tuple(map(_rule_row, rules))
    words = index.keywords
    value = (_COMPILED, key, tuple(sorted(index.ids)), words.always, words.words,
             words.rules_of, tuple(sorted(words.multiline)),
             tuple(map(_allow_row, rule_file.allowlists)), tuple(sorted(rule_file.disabled)),
             tuple(sorted(set(clean))), rows)  # fmt: skip
    data = marshal.dumps(value, _MARSHAL_VERSION)
    return b"%08x\n" % zlib.crc32(data) + data


def from_compiled(data: bytes, key: str) -> RuleFile | None:
    """The rules ``to_compiled`` wrote, if they were compiled from the rule file ``key`` names;
    raises ``ValueError`` for bytes it did not write (its checksum, its shape)."""
    payload = memoryview(data)[9:]
    if data[8:9] != b"\n" or int(data[:8], 16) != zlib.crc32(payload):
        raise ValueError("not a compiled rule file, or a damaged one")
    (kind, stored, ids, always, words, rules_of, multiline, allowlists, disabled, clean,
     rows) = marshal.loads(payload)  # fmt: skip
    if kind != _COMPILED or stored != key:
        return None
    if len(ids) != len(rows) or len(words) != len(rules_of):  # (the checksum vouches for
        raise ValueError("a compiled rule file that does not hold together")  # the rest)
    index = Index(frozenset(ids), Keywords(always, words, rules_of, frozenset(multiline)))
    out = RuleFile(PACKAGE_RULES)
    out.rules = RuleRows(rows, _rule, index, frozenset(clean))
    out.allowlists = list(map(_allowlist, allowlists))
    out.disabled = set(disabled)
    return out
