"""A rule's ``shape`` (what a secret must look like besides its pattern) and the opt-in rule
built on it, examples/redact/standalone-tokens.toml: tokens with no name beside them."""

from __future__ import annotations

import base64
import random
import string
from pathlib import Path

import pytest

from kaizen_agentic.errors import InvalidFileError
from kaizen_agentic.redact.compiled import from_compiled, to_compiled
from kaizen_agentic.redact.engine import Ruleset, default_ruleset
from kaizen_agentic.redact.rule_files import parse_rules
from kaizen_agentic.redact.rules import Shape, base64_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "redact" / "standalone-tokens.toml"
STANDALONE = Ruleset([parse_rules(EXAMPLE.read_bytes(), str(EXAMPLE))])

SHAPES = [
    # shape, secret, holds
    (Shape(upper=2), "aBcDe", True),
    (Shape(upper=3), "aBcDe", False),
    (Shape(lower=3, digits=1), "ab1c", True),
    (Shape(digits=2), "abc1", False),
    (Shape(changes=0.5), "aB3dE5", True),  # every neighbouring pair changes class
    (Shape(changes=0.5), "abcdE5", False),  # 2 changes in 5 pairs
    (Shape(changes=0.4), "abcdE5", True),
    (Shape(base64_text=False), "SGVsbG8sIHdvcmxkIQ", False),  # "Hello, world!"
    (Shape(base64_text=False), "q8Zr4LmN2xV7bT1cWp9K", True),
]


@pytest.mark.parametrize(("shape", "secret", "holds"), SHAPES)
def test_a_shape_counts_classes_changes_and_encoded_text(
    shape: Shape, secret: str, holds: bool
) -> None:
    assert shape.holds(secret.encode()) is holds


BASE64_TEXT = [
    ("SGVsbG8sIHdvcmxkIQ", True),  # ASCII
    ("eyJtZXNzYWdlIjoiSGVsbG8hIn0", True),  # JSON, unpadded
    ("w6HDoMOkw6nDqMSZw7bFkcOhw6DDpMOpw6jEmcO2xZHDocOgw6TDqcOo", True),  # UTF-8
    ("tsWRw6HDoMOkw6nDqMSZw7bFkcOhw6DDpMOpw6jEmcO2xZHDocOgw6TDqcOo", True),  # a line cut mid-char
    ("8NLP18XSy8EgzsEgxsnOwczYztnK", True),  # KOI8-R
    ("RmFsaW5hcHThciBo4Xpob3pzeuFsbO104XNz", True),  # Latin-1
    ("q8Zr4LmN2xV7bT1cWp9K", False),
    ("not base64 at all!", False),
]


@pytest.mark.parametrize(("value", "text"), BASE64_TEXT)
def test_base64_of_text_is_told_from_a_key(value: str, text: bool) -> None:
    assert base64_text(value.encode()) is text


@pytest.mark.parametrize(("length", "most"), [(20, 0.03), (32, 0.002), (56, 0.0005)])
def test_random_tokens_are_seldom_taken_for_text(length: int, most: float) -> None:
    rng = random.Random(length)
    alphabet = string.ascii_letters + string.digits
    tokens = ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(4000)]
    assert sum(base64_text(t.encode()) for t in tokens) <= most * len(tokens)


BAD_SHAPES = [
    ("shape = 3", "redact.toml:4:1: rules[0].shape: must be a table"),
    ("[rules.shape]\nminUpper = -1", "redact.toml:5:1: rules[0].shape.minUpper: must be a whole number, 0 or more"),
    ("[rules.shape]\nminDigits = 1.5", "redact.toml:5:1: rules[0].shape.minDigits: must be a whole number, 0 or more"),
    ("[rules.shape]\nminClassChanges = 2", "redact.toml:5:1: rules[0].shape.minClassChanges: must be a share from 0 to 1"),
    ("[rules.shape]\nbase64Text = 'no'", "redact.toml:5:1: rules[0].shape.base64Text: must be true or false"),
    ("[rules.shape]\nminCapitals = 1", "redact.toml:1:1: rules[0].shape.minCapitals: unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "problem"), BAD_SHAPES, ids=[p for _, p in BAD_SHAPES])
def test_a_bad_shape_is_a_located_problem(shape: str, problem: str) -> None:
    text = f"[[rules]]\nid = 'x'\nregex = 'a'\n{shape}\n"
    with pytest.raises(InvalidFileError) as caught:
        parse_rules(text.encode(), "redact.toml")
    assert [str(p) for p in caught.value.problems] == [problem]


def test_a_shape_survives_the_compiled_form() -> None:
    parsed = parse_rules(EXAMPLE.read_bytes(), "x")
    again = from_compiled(to_compiled(parsed, "0"), "0")
    assert again is not None
    assert [r.shape for r in again.rules] == [r.shape for r in parsed.rules]
    assert again.rules[0].shape == Shape(2, 2, 2, 0.45, False)


# ---- the opt-in rule: a token with no name beside it


def _token(length: int, seed: str) -> str:
    rng = random.Random(seed)
    token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))
    assert Shape(2, 2, 2, 0.45, False).holds(token.encode())  # a seed the rule takes
    return token


TOKEN, SHORTEST, LONGEST = _token(32, "standalone"), _token(20, "20a"), _token(56, "56a")

FOUND = [
    ("alone in a sentence", f"I pasted {TOKEN} by mistake."),
    ("after a neutral key", f"value: {TOKEN}"),
    ("at the end of a sentence", f"The key is {TOKEN}."),
    ("in quotes", f'x = "{TOKEN}"'),
    ("alone on a line", f"{TOKEN}\n"),
    ("in a table cell", f"| staging | {TOKEN} |"),
    ("20 characters", f"use {SHORTEST} now"),
    ("56 characters", f"use {LONGEST} now"),
]
KEPT = [
    ("an identifier", "class Bzip2TestZip64InSmallFiles(unittest.TestCase):"),
    ("an identifier with short words", "function uint8ArrayToBase64url(bytes) {}"),
    ("a piece of a path", f"see /srv/{TOKEN}/index.html"),
    ("glued to a dotted name", f"module.{TOKEN}"),
    ("after an escape", f"b'\\x11{TOKEN}'"),
    ("base64 of text", "eyJtZXNzYWdlIjoiSGVsbG8hIn0 is the payload"),
    ("a line of a base64 blob, too long", base64.b64encode(bytes(range(200, 245))).decode()),
    ("part of a run with + and /", f"{TOKEN}+/{TOKEN}"),
    ("labelled an identifier", f"build id: {TOKEN}"),
    ("labelled a digest", f"sha256={TOKEN}"),
    ("labelled a version", f"version: {TOKEN}"),
    ("too short", f"use {SHORTEST[:19]} now"),
    ("too long", f"use {LONGEST}x now"),
    ("no digits", "use XkamPbvLcqZdRtewNfbJ now"),
    ("no capitals", "use xk9mp2vl8qz7rt4wn6bj now"),
    ("hex", "commit 3f6c2a9d1b8e4f7a0c5d2e9b1a4f8c3d in the log"),
    ("a UUID", "id 9b2f4c1e-8a7d-4e3b-9c6f-2d1a5b8e7f40 in the log"),
    ("a minisign public key", "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3"),
    ("a word", "supercalifragilisticexpialidocious"),
]


@pytest.mark.parametrize(("where", "text"), FOUND, ids=[w for w, _ in FOUND])
def test_a_random_token_is_found_with_no_name_beside_it(where: str, text: str) -> None:
    found = STANDALONE.findings(text)
    assert [f.rule for f in found] == ["generic-standalone-token"], text
    assert STANDALONE.redact(text).text.count("[REDACTED:generic-standalone-token]") == 1


@pytest.mark.parametrize(("what", "text"), KEPT, ids=[w for w, _ in KEPT])
def test_what_only_resembles_a_token_is_kept(what: str, text: str) -> None:
    assert STANDALONE.redact(text).text == text


def test_a_repository_turns_the_rule_on_with_its_own_rule_file(tmp_path: Path) -> None:
    from kaizen_agentic.redact.engine import load_ruleset

    (tmp_path / ".kaizen").mkdir()
    (tmp_path / ".kaizen" / "redact.toml").write_bytes(EXAMPLE.read_bytes())
    text = f"I pasted {TOKEN} by mistake."
    assert default_ruleset().redact(text).text == text  # off by default
    out = load_ruleset(str(tmp_path)).redact(text)
    assert out == ("I pasted [REDACTED:generic-standalone-token] by mistake.",
                   {"generic-standalone-token": 1})  # fmt: skip


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * (1 << 20),
        "\n".join(base64.b64encode(random.Random(1).randbytes(57)).decode() for _ in range(2000)),
        " ".join(TOKEN for _ in range(20000)),
    ],
    ids=["one character", "a base64 blob", "tokens back to back"],
)
def test_hostile_input_is_scanned_to_the_end(hostile: str) -> None:
    out = STANDALONE.redact(hostile + f"\nI pasted {TOKEN} by mistake.\n").text
    assert out.endswith("I pasted [REDACTED:generic-standalone-token] by mistake.\n")
