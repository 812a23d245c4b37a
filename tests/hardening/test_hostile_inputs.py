"""Hostile manifests and roster files: a clean, located error, in bounded time and memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from kaizen_agentic.errors import InvalidFileError, KaizenError
from kaizen_agentic.fleet.roster import load_roster_file
from kaizen_agentic.main import main
from kaizen_agentic.manifest.schedule import parse_manifest

OK = "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily}\n"


def _bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    return ("\n".join(lines) + "\n").encode()


# (name, file bytes, a fragment of the first problem message)
HOSTILE: list[tuple[str, bytes, str]] = [
    ("duplicate keys", b"version: 1\nversion: 1\nagents: []\n", 'duplicate key "version"'),
    (
        "yaml 1.1 boolean on",
        OK.replace("daily}", "daily}\n    enabled: on").encode(),
        'got string "on"',
    ),
    (
        "yaml 1.1 boolean yes",
        OK.replace("daily}", "daily}\n    enabled: yes").encode(),
        'got string "yes"',
    ),
    (
        "sexagesimal 1:30",
        OK.replace("{interval: daily}", "{interval: daily, time: 1:30}").encode(),
        'got string "1:30"',
    ),
    (
        "octal 0777",
        OK.replace("daily}", "daily}\n    token_budget: 0777").encode(),
        "expected an integer from 1000 to 1000000, got 777",
    ),
    (
        "date that raises ValueError in PyYAML",
        OK.replace("daily}", "daily}\n    paused_until: 2027-02-30").encode(),
        "is not a calendar date",
    ),
    (
        "python tag",
        b"version: !!python/object/apply:os.system ['true']\nagents: []\n",
        "tags (!!python/object/apply:os.system) are not allowed",
    ),
    ("custom tag", b"version: !v 1\nagents: []\n", "tags (!v) are not allowed"),
    ("alias bomb", _bomb(), "anchors (&a) are not allowed"),
    ("1,000-deep nesting", b"[" * 1000 + b"]" * 1000, "nesting is deeper than 32 levels"),
    (
        "deep mapping nesting",
        ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 60))).encode(),
        "nesting is deeper than 32 levels",
    ),
    ("8 MB file", b"# " + b"x" * (8 * 1024 * 1024), "the limit is 1.0 MiB"),
    ("non-UTF-8 bytes", b"version: 1\nagents: \xff\xfe\n", "invalid UTF-8 byte 0xff"),
    ("latin-1 text", "version: 1\n# café\n".encode("latin-1"), "invalid UTF-8 byte 0xe9"),
    ("NUL byte", b"version: 1\x00\nagents: []\n", "NUL character"),
    ("UTF-16 with BOM", OK.encode("utf-16"), "file is UTF-16-encoded"),
    ("UTF-16 without BOM", OK.encode("utf-16-le"), "NUL character"),
    (
        "tab indentation",
        b"version: 1\nagents:\n\t- agent: coach\n",
        "YAML indents with spaces only",
    ),
    ("two documents", OK.encode() + b"---\n" + OK.encode(), "a second YAML document starts here"),
    (
        "merge key",
        b"base: &b {interval: daily}\nversion: 1\nagents:\n  - agent: a\n    schedule:\n"
        b"      <<: *b\n",
        "anchors (&b) are not allowed",
    ),
    (
        "non-string key",
        b"version: 1\n7: seven\nagents: []\n",
        "keys must be strings, got integer 7",
    ),
    ("complex key", b"? [a, b]\n: 1\n", "keys must be plain strings"),
    ("empty file", b"", "file is empty"),
    ("only comments", b"# nothing\n# here\n", "file is empty"),
    ("top-level list", b"- version: 1\n", "expected a mapping, got a list"),
    ("top-level scalar", b"42\n", "expected a mapping, got integer 42"),
    ("unterminated flow", b"version: 1\nagents: [\n", "YAML syntax error"),
    ("control character", b"version: 1\nagents: \x07\n", "control characters are not allowed"),
    (
        "very long line",
        b"version: 1\nrepo: " + b"a" * 500_000 + b"\nagents: []\n",
        "expected a slug like owner/name",
    ),
    (
        "many keys",
        b"version: 1\nagents: []\n" + b"".join(b"k%d: 1\n" % i for i in range(20_000)),
        'unknown key "k0"',
    ),
    (
        "huge list of agents",
        b"version: 1\nagents:\n" + b"  - {agent: a}\n" * 20_000,
        "has 20000 items; the limit is 100",
    ),
    ("BOM then garbage", b"\xef\xbb\xbf\xff", "invalid UTF-8 byte 0xff"),
]


@pytest.mark.parametrize(("name", "data", "fragment"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_manifest(name: str, data: bytes, fragment: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InvalidFileError) as info:
            parse_manifest(data, "m.yml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.problems, name
    assert fragment in str(info.value.problems[0]) or any(
        fragment in str(p) for p in info.value.problems
    ), [str(p) for p in info.value.problems]
    assert all(str(p).startswith("m.yml") for p in info.value.problems)
    assert peak < 200 * 1024 * 1024, f"{name} peaked at {peak / 1e6:.0f} MB"


@pytest.mark.parametrize(("name", "data", "fragment"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_manifest_through_the_cli(
    name: str, data: bytes, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yml"
    path.write_bytes(data)
    assert main(["schedule", "validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert out.startswith(str(path))


ROSTERS: list[tuple[str, bytes, str]] = [
    ("roster: top-level mapping without repos", b"slug: x\n", "expected a list of repos"),
    ("roster: duplicate keys", b"- {slug: a, slug: b}\n", 'duplicate key "slug"'),
    ("roster: alias", b"- &x {slug: a}\n- *x\n", "anchors (&x) are not allowed"),
    ("roster: python tag", b"- !!python/object:os.system {}\n", "tags (!!python/object:os.system)"),
    ("roster: 1,000-deep", b"[" * 1000 + b"]" * 1000, "nesting is deeper than 32 levels"),
    ("roster: UTF-16", b"\xff\xfe-\x00", "file is UTF-16-encoded"),
    ("roster: two documents", b"- {slug: a}\n---\n- {slug: b}\n", "a second YAML document"),
    ("roster: empty", b"", "file is empty"),
    ("roster: tabs", b"-\n\tslug: a\n", "YAML"),
]


@pytest.mark.parametrize(("name", "data", "fragment"), ROSTERS, ids=[r[0] for r in ROSTERS])
def test_hostile_roster(name: str, data: bytes, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "roster.yml"
    path.write_bytes(data)
    with pytest.raises(KaizenError) as info:
        load_roster_file(str(path))
    text = str(info.value) + " ".join(str(p) for p in getattr(info.value, "problems", []))
    assert fragment in text


MALFORMED_RECORDS = [
    ("not a mapping", "- just a string\n", "expected a mapping with a slug, got str"),
    ("no slug", "- {host_paths: {}}\n", '"slug" must be a non-empty string'),
    ("slug not a string", "- {slug: 7}\n", '"slug" must be a non-empty string'),
    ("host_paths a list", "- {slug: a, host_paths: [x]}\n", '"host_paths" must map host names'),
    ("host path not a string", "- {slug: a, host_paths: {h: 7}}\n", '"host_paths" must map'),
    (
        "flag not a boolean",
        "- {slug: a, kaizen_schedule_enabled: yes}\n",
        '"kaizen_schedule_enabled" must be true or false',
    ),
    ("domain a list", "- {slug: a, domain: [x]}\n", '"domain" must be a string'),
]


@pytest.mark.parametrize(
    ("name", "text", "message"), MALFORMED_RECORDS, ids=[m[0] for m in MALFORMED_RECORDS]
)
def test_a_malformed_record_is_reported_alone(
    name: str, text: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "roster.yml"
    path.write_text(text + "- {slug: good, host_paths: {h: /x}}\n")
    roster = load_roster_file(str(path))
    assert [r.slug for r in roster.records] == ["good"]
    (problem,) = roster.problems
    assert message in problem.message
    assert (problem.line, problem.col) == (1, 3) or problem.line == 1
