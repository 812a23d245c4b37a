"""The strict loader: YAML 1.2 values, every hazard refused with its exact located message."""

from __future__ import annotations

import math

import pytest

from kaizen_agentic.manifest import yamlsafe
from kaizen_agentic.manifest.yamlsafe import Mapping, Scalar, Sequence, decode, load, resolve_plain


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("on", "on"),
        ("yes", "yes"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("10:00", "10:00"),
        ("1:30", "1:30"),
        ("2027-01-15", "2027-01-15"),
        ("010", 10),
        ("0o10", 8),
        ("0x1F", 31),
        ("-7", -7),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("~", None),
        ("null", None),
        ("", None),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("+12", 12),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert resolve_plain(text) == value
    assert type(resolve_plain(text)) is type(value)


def test_nan_is_a_float() -> None:
    value = resolve_plain(".nan")
    assert isinstance(value, float) and math.isnan(value)


def _problems(text: str) -> list[str]:
    decoded, problems = decode(text.encode(), "f.yml")
    if decoded is not None:
        _, problems = load(decoded, "f.yml")
    return [str(p) for p in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", ['f.yml:2:1: duplicate key "a" (first defined on line 1)']),
        (
            "a: &x 1\nb: *x\n",
            [
                "f.yml:1:4: anchors (&x) are not allowed; write each value out",
                "f.yml:2:4: aliases (*x) are not allowed; write the value out",
            ],
        ),
        (
            "a: {x: 1}\nb:\n  <<: {y: 2}\n",
            ["f.yml:3:3: merge keys (<<) are not allowed; write the keys out"],
        ),
        (
            "a: !!python/object:os.system x\n",
            ["f.yml:1:4: tags (!!python/object:os.system) are not allowed"],
        ),
        ("a: !!str 3\n", ["f.yml:1:4: tags (!!str) are not allowed"]),
        ("a: !custom x\n", ["f.yml:1:4: tags (!custom) are not allowed"]),
        (
            "a: 1\n---\nb: 2\n",
            ["f.yml:2:1: a second YAML document starts here; a manifest is exactly one document"],
        ),
        ("", ["f.yml: file is empty"]),
        ("# only a comment\n", ["f.yml: file is empty"]),
        (
            "a:\n\tb: 1\n",
            ["f.yml:2:1: YAML syntax error: a tab character; YAML indents with spaces only"],
        ),
        (
            "a: [1, 2\n",
            [
                "f.yml:2:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence"
            ],
        ),
        ("1: a\n", ["f.yml:1:1: keys must be strings, got integer 1"]),
        ("true: a\n", ["f.yml:1:1: keys must be strings, got boolean true"]),
        ("? [a]\n: 1\n", ["f.yml:1:3: keys must be plain strings"]),
        ("a: \x01\n", ["f.yml:1:4: YAML syntax error: control characters are not allowed"]),
    ],
)
def test_each_hazard_is_a_located_problem(text: str, expected: list[str]) -> None:
    assert _problems(text) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xfea\x00:\x00", "f.yml:1:1: file is UTF-16-encoded; save it as UTF-8"),
        (b"\xfe\xff\x00a", "f.yml:1:1: file is UTF-16-encoded; save it as UTF-8"),
        (b"\xff\xfe\x00\x00a\x00\x00\x00", "f.yml:1:1: file is UTF-32-encoded; save it as UTF-8"),
        (b"a: 1\nb: \xe9t\xe9\n", "f.yml:2:4: invalid UTF-8 byte 0xe9; save the file as UTF-8"),
        (b"a: 1\x00\n", "f.yml:1:5: NUL character; this is not a text file"),
        (b"x" * (yamlsafe.MAX_BYTES + 1), "f.yml: file is 1.0 MiB; the limit is 1.0 MiB"),
    ],
)
def test_encoding_problems(data: bytes, expected: str) -> None:
    text, problems = decode(data, "f.yml")
    assert text is None
    assert [str(p) for p in problems] == [expected]


def test_utf8_bom_is_tolerated() -> None:
    text, problems = decode("\ufeffa: é\n".encode(), "f.yml")
    assert problems == []
    root, problems = load(text or "", "f.yml")
    assert isinstance(root, Mapping) and problems == []
    value = root.get("a")
    assert isinstance(value, Scalar) and value.value == "é"


def test_nodes_keep_1_based_positions() -> None:
    root, _ = load("a:\n  - x\n  - 'y'\n", "f.yml")
    assert isinstance(root, Mapping)
    seq = root.get("a")
    assert isinstance(seq, Sequence)
    first, second = seq.items
    assert isinstance(first, Scalar) and isinstance(second, Scalar)
    assert (first.line, first.col, first.value) == (2, 5, "x")
    assert (second.line, second.col, second.plain) == (3, 5, False)


def test_quoted_scalars_stay_strings() -> None:
    root, _ = load("a: '10'\nb: \"true\"\nc: |\n  1\n", "f.yml")
    assert isinstance(root, Mapping)
    values = [v.value for _, v in root.items if isinstance(v, Scalar)]
    assert values == ["10", "true", "1\n"]


def test_deep_nesting_is_refused_quickly() -> None:
    text = "[" * 1000 + "]" * 1000
    root, problems = load(text, "f.yml")
    assert root is None
    assert [str(p) for p in problems] == ["f.yml:1:33: nesting is deeper than 32 levels"]


def test_alias_bomb_is_refused_without_expansion() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    root, problems = load("\n".join(lines) + "\n", "f.yml")
    assert root is not None
    assert len(problems) == 9 + 8 * 9  # every anchor and alias, each reported, none expanded
