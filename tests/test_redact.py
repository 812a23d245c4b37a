"""The redactor: every format, in every placement, never survives; look-alikes do."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaizen_agentic.redact import RULE_IDS, redact
from tests.secrets_corpus import MAKERS, NOT_SECRETS, secret_part

PLACEMENTS = [
    "{s}",
    "Remember: {s} is what the deploy uses.",
    "```\nexport X={s}\n```",
    '{{"note": "{s}", "n": 1}}',
    "- item one\n- {s}\n- item three",
]


def test_the_corpus_covers_every_rule() -> None:
    assert set(MAKERS) == RULE_IDS
    assert len(MAKERS) >= 25


@pytest.mark.parametrize("rule", sorted(MAKERS))
@pytest.mark.parametrize("placement", PLACEMENTS)
def test_each_secret_format_is_redacted_in_each_placement(rule: str, placement: str) -> None:
    rng = random.Random(f"{rule}|{placement}")
    for _ in range(5):
        made = MAKERS[rule](rng)
        text = "before " + placement.format(s=made) + " after"
        out = redact(text)
        assert secret_part(rule, made) not in out.text
        assert f"[REDACTED:{rule}]" in out.text
        assert out.counts.get(rule, 0) >= 1
        assert out.text.startswith("before ") and out.text.endswith(" after")


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_look_alikes_survive_untouched(text: str) -> None:
    assert redact(text) == (text, {})


def test_counts_never_values() -> None:
    rng = random.Random(7)
    token = MAKERS["github-token"](rng)
    out = redact(f"a {token} b {token}")
    assert out.counts == {"github-token": 2}
    assert out.text == "a [REDACTED:github-token] b [REDACTED:github-token]"


def test_assignment_keeps_the_key_and_separator() -> None:
    assert redact('password = "hunter2hunter2"').text == 'password = "[REDACTED:secret-assignment]"'
    assert redact("DB_URL=postgres://app:s3cr3tpw@db:5432/x").text == (
        "DB_URL=postgres://[REDACTED:url-credentials]@db:5432/x"
    )


@settings(max_examples=200, deadline=None)
@given(
    rule=st.sampled_from(sorted(MAKERS)),
    seed=st.integers(0, 10**9),
    prefix=st.text(max_size=40),
    suffix=st.text(max_size=40),
)
def test_property_a_planted_secret_never_survives_and_redaction_is_idempotent(
    rule: str, seed: int, prefix: str, suffix: str
) -> None:
    made = MAKERS[rule](random.Random(seed))
    once = redact(f"{prefix} {made} {suffix}")
    assert secret_part(rule, made) not in once.text
    assert redact(once.text) == (once.text, {})
