"""Secret redaction: compiled rules in the style of gitleaks, applied before anything is bundled.

Each rule has an id, a pattern and cheap keywords: a rule's regex runs only when one of its
keywords occurs in the text, so clean text costs a few substring searches. A match becomes a
typed marker, ``[REDACTED:<rule-id>]``; callers get counts per rule, never the values.
Markers match no rule, so redacting twice changes nothing.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple


class Rule(NamedTuple):
    id: str
    pattern: re.Pattern[str]
    keywords: tuple[str, ...]  # lower-case; the rule runs when one occurs in the lowered text
    group: int = 0  # the group that holds the secret (0: the whole match)


_END = r"(?![A-Za-z0-9_-])"  # a token's end: not followed by more token characters

# AWS's documented example credentials are not secrets; tests and docs quote them.
ALLOWED: Final = frozenset({"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})


def _rule(
    rule_id: str, pattern: str, keywords: tuple[str, ...], group: int = 0, flags: int = 0
) -> Rule:
    return Rule(rule_id, re.compile(pattern, flags), keywords, group)


RULES: Final = (
    _rule(
        "private-key",
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY"
        r"(?: BLOCK)?-----",
        ("private key",),
    ),
    _rule("url-credentials", r"(?<=://)(?!\[REDACTED)[^\s/:@]+:[^\s/@]+(?=@)", ("://",)),
    _rule(
        "aws-access-key-id",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
        ("akia", "asia", "abia", "acca", "a3t"),
    ),
    _rule(
        "aws-secret-access-key",
        r"(?i)aws_?secret_?(?:access_?)?key\W{0,4}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        ("aws",),
        group=1,
    ),
    _rule(
        "github-token",
        rf"\bgh[pousr]_[A-Za-z0-9]{{36,255}}{_END}",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _rule("github-fine-grained-token", rf"\bgithub_pat_[A-Za-z0-9_]{{82}}{_END}", ("github_pat_",)),
    _rule(
        "gitlab-token",
        rf"\bgl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{{20,}}{_END}",
        ("glpat-", "glptt-", "gldt-", "glrt-"),
    ),
    _rule(
        "slack-webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}",
        ("hooks.slack.com",),
    ),
    _rule(
        "slack-token",
        rf"\bxox[abposre]-[A-Za-z0-9-]{{10,}}{_END}",
        ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-"),
    ),
    _rule(
        "stripe-key",
        rf"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{{20,}}{_END}",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    ),
    _rule(
        "anthropic-api-key", rf"\bsk-ant-[a-z]+[0-9]{{2}}-[A-Za-z0-9_-]{{32,}}{_END}", ("sk-ant-",)
    ),
    _rule(
        "openai-api-key",
        rf"\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{{20,}}|[A-Za-z0-9]{{20}}T3BlbkFJ"
        rf"[A-Za-z0-9]{{20}}|[A-Za-z0-9]{{48}}){_END}",
        ("sk-",),
    ),
    _rule("google-api-key", rf"\bAIza[0-9A-Za-z_-]{{35}}{_END}", ("aiza",)),
    _rule("npm-token", rf"\bnpm_[A-Za-z0-9]{{36}}{_END}", ("npm_",)),
    _rule(
        "pypi-token",
        rf"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{{50,}}{_END}",
        ("pypi-ageichlwas5vcmc",),
    ),
    _rule("huggingface-token", rf"\bhf_[A-Za-z]{{34}}{_END}", ("hf_",)),
    _rule("sendgrid-api-key", rf"\bSG\.[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}}{_END}", ("sg.",)),
    _rule("twilio-api-key", r"\bSK[0-9a-f]{32}\b", ("sk",)),
    _rule(
        "shopify-token",
        r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
    ),
    _rule("digitalocean-token", r"\bdo[opr]_v1_[a-f0-9]{64}\b", ("dop_v1_", "doo_v1_", "dor_v1_")),
    _rule("hashicorp-vault-token", rf"\bhv[sb]\.[A-Za-z0-9_-]{{24,}}{_END}", ("hvs.", "hvb.")),
    _rule("databricks-token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b", ("dapi",)),
    _rule("linear-api-key", r"\blin_api_[A-Za-z0-9]{40}\b", ("lin_api_",)),
    _rule("telegram-bot-token", rf"\b[0-9]{{8,10}}:AA[A-Za-z0-9_-]{{33}}{_END}", (":aa",)),
    _rule(
        "age-secret-key",
        r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b",
        ("age-secret-key-1",),
    ),
    _rule("azure-storage-key", r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)", ("accountkey=",), 1),
    _rule(
        "jwt",
        rf"\beyJ[A-Za-z0-9_-]{{10,}}\.eyJ[A-Za-z0-9_-]{{10,}}\.[A-Za-z0-9_-]{{10,}}{_END}",
        ("eyj",),
    ),
    _rule("bearer-token", r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{20,}=*)", ("bearer",), 1),
    _rule(
        "secret-assignment",
        r"(?i)\b(?:password|passwd|pwd|passphrase|secret|client_secret|api_?key|apikey|"
        r"access_?token|auth_?token|token)\b[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED)"
        r"([^\s\"',;]{6,})",
        ("pass", "pwd", "secret", "key", "token"),
        1,
    ),
)


class Redacted(NamedTuple):
    text: str
    counts: dict[str, int]  # rule id -> how many secrets it removed


def redact(text: str, counts: dict[str, int] | None = None) -> Redacted:
    """``text`` with every secret replaced by ``[REDACTED:<rule>]``; counts are accumulated
    into ``counts`` when given."""
    tally: dict[str, int] = {} if counts is None else counts
    lowered = text.lower()
    for rule in RULES:
        if not any(k in lowered for k in rule.keywords):
            continue
        text, found = _apply(rule, text)
        if found:
            tally[rule.id] = tally.get(rule.id, 0) + found
            lowered = text.lower()
    return Redacted(text, tally)


def _apply(rule: Rule, text: str) -> tuple[str, int]:
    found = 0
    marker = f"[REDACTED:{rule.id}]"

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        secret = match.group(rule.group)
        if secret in ALLOWED:
            return match.group(0)
        found += 1
        if rule.group == 0:
            return marker
        start, end = match.span(rule.group)
        base = match.start(0)
        whole = match.group(0)
        return whole[: start - base] + marker + whole[end - base :]

    return rule.pattern.sub(replace, text), found
