"""Secret redaction: compiled rules in the style of gitleaks, applied before anything is bundled.

A match becomes a typed marker, ``[REDACTED:<rule-id>]``; callers get counts per rule, never
the values. Markers match no rule, so redacting twice changes nothing.

Speed (see docs/performance.md): rules run on the UTF-8 bytes, and every rule starts with a
literal, so Python's regex engine skips to candidates with a fast prefix search; a rule that
needs a word boundary before its prefix checks it in the replacement callback instead of with
a leading word-boundary escape (which would disable that search). Case-insensitive rules
(``password=``, ``Bearer``) match a lower-cased copy, written in lower case themselves.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple


class Rule(NamedTuple):
    """One redaction rule: its pattern, the group that holds the secret and its checks."""

    id: str
    pattern: re.Pattern[bytes]
    group: int = 0  # the group that holds the secret (0: the whole match)
    word_start: bool = False  # the match must not follow a letter or digit (or "_" for tokens)
    lowered: bool = False  # match a lower-cased copy: the case-insensitive rules
    after_digits: int = 0  # the match must follow at least this many digits
    family: tuple[str, ...] = ()  # ids of the named alternatives t0, t1, ... of one pattern


_END = r"(?![A-Za-z0-9_-])"  # a token's end: not followed by more token characters
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")

# AWS's documented example credentials are not secrets; tests and docs quote them.
ALLOWED: Final = frozenset({b"AKIAIOSFODNN7EXAMPLE", b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})


def _re(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode())


def _token(rule_id: str, pattern: str, group: int = 0) -> Rule:
    return Rule(rule_id, _re(pattern), group, word_start=True)


def _family(prefix: str, members: tuple[tuple[str, str], ...]) -> Rule:
    """Token rules sharing a literal prefix, in one pass: ``prefix(?:(?P<t0>...)|...)``."""
    alternatives = "|".join(f"(?P<t{i}>{body})" for i, (_, body) in enumerate(members))
    return Rule(
        "",
        _re(f"{prefix}(?:{alternatives})"),
        0,
        word_start=True,
        family=tuple(rule_id for rule_id, _ in members),
    )


def _lower(rule_id: str, pattern: str, group: int = 1) -> Rule:
    # Written in lower case and matched against a lower-cased copy of the text, so the regex
    # keeps its literal prefix (re.IGNORECASE would lose it); spans map back one to one.
    return Rule(rule_id, _re(pattern), group, word_start=True, lowered=True)


_ASSIGN = r"[\"']?[ \t]*[:=][ \t]*[\"']?(?!\[redacted)([^\s\"',;]{6,})"


RULES: Final = (
    Rule(
        "private-key",
        _re(
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[ A-Z0-9]*PRIVATE "
            r"KEY(?: BLOCK)?-----"
        ),
    ),
    Rule("url-credentials", _re(r"://(?!\[REDACTED)([^\s/:@]+:[^\s/@]+)@"), group=1),
    _token("aws-access-key-id", r"A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])"),
    _token("github-token", rf"gh[pousr]_[A-Za-z0-9]{{36,255}}{_END}"),
    _token("github-fine-grained-token", rf"github_pat_[A-Za-z0-9_]{{82}}{_END}"),
    _token("gitlab-token", rf"gl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{{20,}}{_END}"),
    Rule(
        "slack-webhook",
        _re(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}"),
    ),
    _token("slack-token", rf"xox[abposre]-[A-Za-z0-9-]{{10,}}{_END}"),
    _family(
        "sk",
        (
            ("stripe-key", rf"_(?:live|test)_[A-Za-z0-9]{{20,}}{_END}"),
            ("anthropic-api-key", rf"-ant-[a-z]+[0-9]{{2}}-[A-Za-z0-9_-]{{32,}}{_END}"),
            (
                "openai-api-key",
                rf"-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{{20,}}|[A-Za-z0-9]{{20}}"
                rf"T3BlbkFJ[A-Za-z0-9]{{20}}|[A-Za-z0-9]{{48}}){_END}",
            ),
        ),
    ),
    _token("stripe-key", rf"rk_(?:live|test)_[A-Za-z0-9]{{20,}}{_END}"),
    _token("google-api-key", rf"AIza[0-9A-Za-z_-]{{35}}{_END}"),
    _token("npm-token", rf"npm_[A-Za-z0-9]{{36}}{_END}"),
    _token("pypi-token", rf"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{{50,}}{_END}"),
    _token("huggingface-token", rf"hf_[A-Za-z]{{34}}{_END}"),
    _token("sendgrid-api-key", rf"SG\.[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}}{_END}"),
    _token("twilio-api-key", r"SK[0-9a-f]{32}(?![A-Za-z0-9_])"),
    _token("shopify-token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9_])"),
    _token("digitalocean-token", r"do[opr]_v1_[a-f0-9]{64}(?![A-Za-z0-9_])"),
    _token("hashicorp-vault-token", rf"hv[sb]\.[A-Za-z0-9_-]{{24,}}{_END}"),
    _token("databricks-token", r"dapi[a-f0-9]{32}(?:-[0-9])?(?![A-Za-z0-9_])"),
    _token("linear-api-key", r"lin_api_[A-Za-z0-9]{40}(?![A-Za-z0-9_])"),
    # The secret is the part after the bot id (8-10 digits, checked in the callback).
    Rule("telegram-bot-token", _re(rf":(AA[A-Za-z0-9_-]{{33}}){_END}"), 1, after_digits=8),
    _token("age-secret-key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Z0-9])"),
    _token("jwt", rf"eyJ[A-Za-z0-9_-]{{10,}}\.eyJ[A-Za-z0-9_-]{{10,}}\.[A-Za-z0-9_-]{{10,}}{_END}"),
    _lower(
        "aws-secret-access-key",
        r"aws_?secret_?(?:access_?)?key\W{0,4}([a-z0-9/+]{40})(?![a-z0-9/+])",
    ),
    _lower("azure-storage-key", r"accountkey=([a-z0-9+/]{86}==)"),
    _lower("bearer-token", r"bearer[ \t]+([a-z0-9._~+/-]{20,}=*)"),
    # `password=...`, `DB_PASSWORD: ...`, `"api_key": "..."`: one rule, a literal per keyword.
    *(
        _lower("secret-assignment", keyword + _ASSIGN)
        for keyword in ("pass(?:word|wd|phrase)", "pwd", "secret", "api[_-]?key", "token")
    ),
)


RULE_IDS: Final = frozenset(rule_id for rule in RULES for rule_id in (rule.family or (rule.id,)))


class Redacted(NamedTuple):
    """Redacted text and how many secrets each rule removed."""

    text: str
    counts: dict[str, int]  # rule id -> how many secrets it removed


def redact(text: str, counts: dict[str, int] | None = None) -> Redacted:
    """``text`` with every secret replaced by ``[REDACTED:<rule>]``; counts are accumulated
    into ``counts`` when given."""
    tally: dict[str, int] = {} if counts is None else counts
    # Work on UTF-8 bytes: the rules are ASCII, a bytes regex scans one byte per character
    # whatever else the text holds, and bytes.lower() never changes a length.
    data = text.encode("utf-8", "surrogatepass")
    lowered: bytes | None = None
    changed = False
    for rule in RULES:
        if rule.lowered:
            if lowered is None:
                lowered = data.lower()
            result, found = _apply_lowered(rule, data, lowered)
        else:
            result, found = _apply(rule, data)
        if found:
            data, lowered, changed = result, None, True
            for rule_id, n in found.items():
                tally[rule_id] = tally.get(rule_id, 0) + n
    return Redacted(data.decode("utf-8", "surrogatepass") if changed else text, tally)


def _marked(rule_id: str, whole: bytes, start: int, group: tuple[int, int]) -> bytes:
    marker = f"[REDACTED:{rule_id}]".encode()
    return whole[: group[0] - start] + marker + whole[group[1] - start :]


def _apply(rule: Rule, data: bytes) -> tuple[bytes, dict[str, int]]:
    found: dict[str, int] = {}

    def replace(match: re.Match[bytes]) -> bytes:
        start = match.start()
        if rule.word_start and start and data[start - 1] in _WORD:
            return match.group(0)
        if rule.after_digits and not data[max(start - rule.after_digits, 0) : start].isdigit():
            return match.group(0)
        rule_id, group = rule.id, rule.group
        if rule.family:  # which alternative matched names the rule; the whole match is secret
            rule_id, group = rule.family[int((match.lastgroup or "t0")[1:])], 0
        if match.group(group) in ALLOWED:
            return match.group(0)
        found[rule_id] = found.get(rule_id, 0) + 1
        return _marked(rule_id, match.group(0), start, match.span(group))

    return rule.pattern.sub(replace, data), found


def _apply_lowered(rule: Rule, data: bytes, lowered: bytes) -> tuple[bytes, dict[str, int]]:
    pieces: list[bytes] = []
    cursor = 0
    for match in rule.pattern.finditer(lowered):
        start, end = match.span()
        if start and lowered[start - 1] in _ALNUM:
            continue
        secret_start, secret_end = match.span(rule.group)
        if data[secret_start:secret_end] in ALLOWED:
            continue
        pieces.append(data[cursor:start])
        pieces.append(_marked(rule.id, data[start:end], start, (secret_start, secret_end)))
        cursor = end
    if not pieces:
        return data, {}
    pieces.append(data[cursor:])
    return b"".join(pieces), {rule.id: (len(pieces) - 1) // 2}
