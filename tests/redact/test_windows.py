"""Where rules run: the keyword pass's windows, and the RE2 set that reads a window first for
rules that share their keywords. Both only save work: what is found is what every rule finds
searching every window."""

import random
from pathlib import Path

import pytest

from kaizen_agentic.redact import engine
from kaizen_agentic.redact.compiled import default_rules
from kaizen_agentic.redact.engine import Ruleset, load_ruleset
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
TOKEN_250 = ("Xk9mP2vL8qZ3nB7wQ4rT" * 13)[:250]
# A value longer than the generic rules take (256) is no secret, but a secret may end it, start
# before it, or sit in another reading of the same line.
INSIDE_LONG_VALUES = [
    ("password=" + "ab1" * 100 + f"/token={SECRET}", "/token=[REDACTED:generic-secret]"),
    ("password=" + "ab1" * 400 + f"/token={SECRET};", "/token=[REDACTED:generic-secret];"),
    ("--password=" + "a" * 300 + f" --api-token={SECRET}", "--api-token=[REDACTED:generic-cli-secret]"),
    ("password=" + "ab1" * 400, "ab1ab1"),  # too long, and nothing inside
    (f"PASSWORD= SERVICE_TOKEN={TOKEN_250} ./deploy.sh\n", "SERVICE_TOKEN=[REDACTED:generic-secret] ./deploy.sh\n"),
    ("token: Xk9mP2vL8qZ3nB7w = " + "aB3" * 100 + "\n", "aB3aB3\n"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "ends"), INSIDE_LONG_VALUES)
def test_a_secret_at_the_end_of_a_too_long_value_is_found(text: str, ends: str) -> None:
    redacted = Ruleset([default_rules()]).redact(text).text
    assert redacted.endswith(ends)
    assert SECRET not in redacted


def test_a_line_that_repeats_an_assignment_is_searched_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``password=`` repeated: the value would run to the line's end, longer than the rule
    takes, so there is no match and one search reads the line."""
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


def test_rules_that_make_too_large_a_set_are_not_gated(tmp_path: Path) -> None:
    """Two patterns that each compile may be too large for one RE2 set: then no gate, and
    every rule searches every window (it was an internal error)."""
    rules = tmp_path / "big.toml"
    rules.write_text(
        "[[rules]]\nid = 'letters-eq'\nregex = '''apikey=(\\pL{10,1000})'''\n"
        "keywords = ['apikey']\n"
        "[[rules]]\nid = 'letters-colon'\nregex = '''apikey:\\s*(\\pL{10,1000})'''\n"
        "keywords = ['apikey']\n",
        encoding="utf-8",
    )
    text = ("apikey=ÄbcdéfghijKLMNÖ\n" + "filler line\n" * 5) * 1200
    assert load_ruleset(None, [str(rules)]).redact(text).counts == {"letters-eq": 1200}


def test_the_gate_sees_the_byte_after_a_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search of a window sees the byte after it (``\\b`` after a line end): so does the
    gate."""
    rules = tmp_path / "nl.toml"
    rules.write_text(
        '[[rules]]\nid = "zz-eq"\nregex = "zzkey=([A-Za-z0-9]{10,})\\n\\\\b"\nkeywords = ["zzkey"]\n'
        '[[rules]]\nid = "zz-colon"\nregex = "zzkey: ([A-Za-z0-9]{10,})\\n\\\\b"\n'
        'keywords = ["zzkey"]\n',
        encoding="utf-8",
    )
    text = "zzkey=Xk9mP2vL8qZ3nB7w\nnext line\n" + "filler\n" * 1000
    monkeypatch.setattr(engine, "_GATE", 1 << 62)
    expected = load_ruleset(None, [str(rules)]).redact(text).counts
    monkeypatch.setattr(engine, "_GATE", 1)
    assert expected == {"zz-eq": 1}
    assert load_ruleset(None, [str(rules)]).redact(text).counts == expected
