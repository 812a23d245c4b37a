"""Where rules run: the keyword pass's windows, and the RE2 set that reads a window first for
rules that share their keywords. Both only save work: what is found is what every rule finds
searching every window."""

import random

import pytest

from kaizen_agentic.redact import engine
from kaizen_agentic.redact.engine import Ruleset
from kaizen_agentic.redact.rule_files import default_rules
from tests.redact.secrets_corpus import CASES, NOT_SECRETS, fill


def corpus() -> bytes:
    """Every rule's samples and every near miss between lines of prose that name keys, tokens
    and passwords: the generic rules' windows then cover far more than the gate's threshold."""
    rng = random.Random("windows")
    prose = "The key to the token cache is its password policy; pass the secret on.\n" * 40
    parts = []
    for _, (templates, _misses) in sorted(CASES.items()):
        for template in templates:
            parts += [fill(template, rng)[0], "\n", prose]
    parts += [f"{text}\n" for text in NOT_SECRETS]
    return "".join(parts).encode()


def test_rules_with_the_same_keywords_share_one_list_of_windows() -> None:
    ruleset = Ruleset([default_rules()])
    windows = ruleset._windows(b"api_key = 'Xk9mP2vL8qZ3nB7w'\n")
    ids = {ruleset.rules[i].id: spans for i, spans in windows.items()}
    assert ids["generic-secret"] is ids["generic-secret-quoted"] is ids["generic-call-argument"]
    assert ids["generic-secret"] == [[0, 29]]  # the whole line, its line end included


@pytest.mark.parametrize("gate", [1, engine._GATE, 1 << 62], ids=["always", "default", "never"])
def test_the_gate_finds_what_every_rule_finds(gate: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = corpus()
    ungated = Ruleset([default_rules()])
    monkeypatch.setattr(engine, "_GATE", 1 << 62)
    expected = ungated.scan(text)
    monkeypatch.setattr(engine, "_GATE", gate)
    gated = Ruleset([default_rules()])
    assert gated.scan(text) == expected
    assert len(expected) > 1000  # the samples' secrets, found
    assert bool(gated._gates) is (gate < 1 << 62)  # the generic rules were gated


SECRET = "Xk9mP2vL8qZ3nB7wQ4"
# A value longer than its rule's maxLength is no secret, but a secret may end it: the rule
# looks again inside the value, from maxLength and a name before its end.
INSIDE_LONG_VALUES = [
    ("password=" + "ab1" * 100 + f"/token={SECRET}", "/token=[REDACTED:generic-secret]"),
    ("password=" + "ab1" * 400 + f"/token={SECRET};", "/token=[REDACTED:generic-secret];"),
    ("--password=" + "a" * 300 + f" --api-token={SECRET}", "--api-token=[REDACTED:generic-cli-secret]"),
    ("password=" + "ab1" * 400, "ab1ab1"),  # too long, and nothing inside
]  # fmt: skip


@pytest.mark.parametrize(("text", "ends"), INSIDE_LONG_VALUES)
def test_a_secret_at_the_end_of_a_too_long_value_is_found(text: str, ends: str) -> None:
    redacted = Ruleset([default_rules()]).redact(text).text
    assert redacted.endswith(ends)
    assert SECRET not in redacted


def test_a_line_that_repeats_an_assignment_is_searched_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``password=`` repeated: each match runs to the line's end and is too long; looking
    again from near the end, not from inside, keeps it to one long search per rule."""
    ruleset = Ruleset([default_rules()])
    lengths: list[int] = []
    rule = next(r for r in ruleset.rules if r.id == "generic-secret")
    pattern = rule.pattern

    class Counting:
        groups = pattern.groups

        def search(self, data: bytes, start: int, end: int) -> object:
            lengths.append(end - start)
            return pattern.search(data, start, end)

    monkeypatch.setattr(rule, "_pattern", Counting())
    ruleset.scan(b"password=" * 20_000)
    assert len(lengths) <= 66
    assert sum(1 for n in lengths if n > 2000) <= 1
