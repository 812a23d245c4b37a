"""Hostile text and rule files against the redactor (issue 21 rows 3, 12, 13, 14 and 23): text
that looks like a marker is never trusted; a repository's rule file is read only inside the
repository, capped, parsed in bounded time, and can neither match everywhere nor let everything
through."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kaizen_agentic.errors import InvalidFileError, KaizenError
from kaizen_agentic.main import main
from kaizen_agentic.redact.engine import load_ruleset, redact
from kaizen_agentic.redact.rule_files import parse_rules
from tests.conftest import commit_all

TOKEN = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
KEY = "AKIAQ3EGRTZ7LMN4PQ2X"
AT = "2027-03-29T12:00:00+00:00"
MANIFEST = (
    "version: 1\nrepo: acme/x\nagents:\n  - agent: coach\n"
    "    schedule: {interval: daily, time: '09:00'}\n"
)

# ---- row 3: a marker is trusted only whole, naming one of the rules

LOOK_ALIKES = [
    ("an unclosed marker", f"note [REDACTED: {TOKEN} and {KEY} [link](https://x)"),
    ("a marker around a token", f"[REDACTED:{TOKEN}]"),
    ("a marker naming no rule", f"[REDACTED:no-such-rule {TOKEN}]"),
    ("a marker just before", f"[REDACTED:github-pat]{KEY}"),
]


@pytest.mark.parametrize(("kind", "text"), LOOK_ALIKES, ids=[k for k, _ in LOOK_ALIKES])
def test_text_that_looks_like_a_marker_switches_nothing_off(kind: str, text: str) -> None:
    out = redact(text)
    assert TOKEN not in out.text and KEY not in out.text, kind
    assert redact(out.text) == (out.text, {})  # and a real marker still is one


def test_an_unclosed_marker_is_caught_by_check_strict_secrets_and_prepare(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memory = f"## 2027-01-02\nSee [REDACTED: the {TOKEN} token and {KEY}, [docs](x).\n"
    root = make_repo(manifest=MANIFEST)
    (root / ".kaizen" / "memory").mkdir()
    (root / ".kaizen" / "memory" / "coach.md").write_text(memory)
    commit_all(root)
    os.chdir(root)
    assert main(["redact", "--check", ".kaizen/memory/coach.md"]) == 1
    assert capsys.readouterr().out == (
        ".kaizen/memory/coach.md:2:20: secret: github-pat\n"
        ".kaizen/memory/coach.md:2:71: secret: aws-access-key-id\n"
        "2 secrets found in 1 file\n"
    )
    out = tmp_path / "out"
    argv = ["schedule", "prepare", "coach", "--repo", str(root), "--at", AT, "--out", str(out)]
    assert main([*argv, "--strict-secrets"]) == 1
    assert "2 secrets would need redaction" in capsys.readouterr().err
    assert main(argv) == 0
    capsys.readouterr()
    for folder, _, names in os.walk(out):
        for name in names:
            text = Path(folder, name).read_text()
            assert TOKEN not in text and KEY not in text, name


# ---- row 12: a repository's rule files stay inside it and are capped

RULE = "[[rules]]\nid = 'acme'\nregex = '''acme_[a-z0-9]{8}'''\nkeywords = ['acme_']\n"


@pytest.mark.parametrize("name", [".gitleaks.toml", ".kaizen/redact.toml"])
def test_a_rule_file_linked_outside_the_repository_is_refused(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text(RULE)
    root = tmp_path / "repo"
    (root / ".kaizen").mkdir(parents=True)
    (root / name).symlink_to(outside)
    with pytest.raises(KaizenError) as caught:
        load_ruleset(str(root))
    assert str(caught.value) == (
        f"{root / name} points outside the repository ({outside}); refusing to read it"
    )


def test_a_rule_file_linked_inside_the_repository_is_read(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".kaizen").mkdir(parents=True)
    (root / "rules.toml").write_text(RULE)
    (root / ".kaizen" / "redact.toml").symlink_to(root / "rules.toml")
    assert load_ruleset(str(root)).redact("acme_k7q2m9x4").counts == {"acme": 1}


def test_a_large_rule_file_is_refused_unread(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".kaizen").mkdir(parents=True)
    with open(root / ".kaizen" / "redact.toml", "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: 300 MB that cost no disk
    with pytest.raises(KaizenError) as caught:
        load_ruleset(str(root))
    assert str(caught.value) == (
        f"{root / '.kaizen' / 'redact.toml'}: file is 300.0 MiB; the limit is 1.0 MiB"
    )


def test_a_rule_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    os.mkfifo(root / ".gitleaks.toml")
    with pytest.raises(KaizenError) as caught:
        load_ruleset(str(root))
    assert str(caught.value) == f"{root / '.gitleaks.toml'}: not a regular file"


# ---- row 13: pathological TOML gets a located error, quickly

PATHOLOGICAL = [
    (
        "arrays nested 100,000 deep",
        b"x = " + b"[" * 100_000 + b"]" * 100_000,
        "r.toml:1:1: not accepted: arrays or tables nested more than 32 deep",
    ),
    (
        "inline tables nested 5,000 deep",
        b"[[rules]]\nid = 'x'\nx = " + b"{a=" * 5_000 + b"1" + b"}" * 5_000,
        "r.toml:3:1: not accepted: arrays or tables nested more than 32 deep",
    ),
    (
        "a dotted key of 200,000 parts",
        b"title = 'x'\n" + b"a." * 200_000 + b"a = 1\n",
        "r.toml:2:1: not accepted: a dotted key of more than 32 parts",
    ),
    (
        "a quoted dotted key of 100,000 parts",
        b'"a".' * 100_000 + b'"a" = 1\n',
        "r.toml:1:1: not accepted: a dotted key of more than 32 parts",
    ),
    (
        "a 2 MiB comment",
        b"# " + b"a" * (2 << 20),
        "r.toml: is 2097154 bytes; a rule file may have at most 1024 KiB",
    ),
]


@pytest.mark.parametrize(
    ("kind", "data", "problem"), PATHOLOGICAL, ids=[k for k, _, _ in PATHOLOGICAL]
)
def test_pathological_toml_gets_a_located_error_in_bounded_time(
    kind: str, data: bytes, problem: str
) -> None:
    start = time.monotonic()
    with pytest.raises(InvalidFileError) as caught:
        parse_rules(data, "r.toml")
    assert [str(p) for p in caught.value.problems] == [problem], kind
    assert time.monotonic() - start < 10  # a guard against a hang, not a benchmark


def test_brackets_and_dots_inside_strings_are_not_structure() -> None:
    regex = "[" * 40 + "a" + "]" * 40 + " " + ".".join("abcdefghijklmnopqrstuvwxyzabcdefghij")
    data = f"[[rules]]\nid = 'x'\nregex = '''{regex}'''\ndescription = \"{'.a' * 40}\"\n"
    assert [r.id for r in parse_rules(data.encode(), "r.toml").rules] == ["x"]


def test_a_bad_rule_file_fails_its_repository_not_the_tick(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = make_repo("bad", manifest=MANIFEST.replace("acme/x", "acme/bad"))
    (bad / ".gitleaks.toml").write_bytes(b"a." * 200_000 + b"a = 1\n")
    good = make_repo("good", manifest=MANIFEST.replace("acme/x", "acme/good"))
    for root in (bad, good):
        commit_all(root)
    roster = tmp_path / "fleet.json"
    records = [{"slug": f"acme/{r.name}", "host_paths": {"runner-1": str(r)}} for r in (bad, good)]
    roster.write_text(json.dumps(records))
    argv = ["schedule", "prepare", "--due", "--at", "2027-03-29T09:30:00+00:00", "--window", "1h",
            "--roster", str(roster), "--hostname", "runner-1", "--out", str(tmp_path / "out"),
            "--json"]  # fmt: skip
    start = time.monotonic()
    assert main(argv) == 1
    assert time.monotonic() - start < 30  # a guard against a hang, not a benchmark
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["created"] == 1 and document["summary"]["failed"] == 1
    assert f"{bad / '.gitleaks.toml'}:1:1: not accepted: a dotted key of more than 32 parts" in (
        json.dumps(document)
    )


# ---- rows 14 and 23: a rule file can neither match everywhere nor let everything through

REFUSED = [
    (
        "a pattern matching the empty string",
        "[[rules]]\nid = 'x'\nkeywords = ['a']\nregex = '''a*'''\n",
        "redact.toml:4:1: rules[0].regex: matches the empty string: it would match everywhere",
    ),
    (
        "an alternation with an empty branch",
        "[[rules]]\nid = 'x'\nregex = '''secret|'''\n",
        "redact.toml:3:1: rules[0].regex: matches the empty string: it would match everywhere",
    ),
    (
        "a bare word boundary",
        "[[rules]]\nid = 'x'\nregex = '''\\b'''\n",
        "redact.toml:3:1: rules[0].regex: matches the empty string: it would match everywhere",
    ),
    (
        "an empty stopword in a rule's allowlist",
        RULE + "[[rules.allowlists]]\nstopwords = ['']\n",
        "redact.toml:1:1: rules[0].allowlists[0].stopwords: a stopword cannot be empty",
    ),
    (
        "an empty stopword in a global allowlist",
        RULE + "\n[[allowlists]]\nstopwords = ['ok', '']\n",
        "redact.toml:6:1: allowlists[0].stopwords: a stopword cannot be empty",
    ),
    (
        "an allowlist regex matching the empty string",
        RULE + "\n[[allowlists]]\nregexes = ['''^''']\n",
        "redact.toml:6:1: allowlists[0].regexes[0]: matches any secret: it would let every "
        "secret through",
    ),
    (
        "a rule's allowlist regex matching the empty string, against lines",
        RULE + "[[rules.allowlists]]\nregexTarget = 'line'\nregexes = ['''x*''']\n",
        "redact.toml:1:1: rules[0].allowlists[0].regexes[0]: matches any secret: it would let "
        "every secret through",
    ),
]


@pytest.mark.parametrize(("kind", "text", "problem"), REFUSED, ids=[k for k, _, _ in REFUSED])
def test_rules_that_match_everywhere_or_allow_everything_are_refused(
    kind: str, text: str, problem: str
) -> None:
    for strict in (True, False):  # .kaizen/redact.toml and .gitleaks.toml alike
        with pytest.raises(InvalidFileError) as caught:
            parse_rules(text.encode(), "redact.toml", strict=strict)
        assert [str(p) for p in caught.value.problems] == [problem], kind


def test_an_empty_matching_allowlist_regex_narrowed_by_and_is_kept() -> None:
    text = RULE + "\n[[allowlists]]\ncondition = 'AND'\nregexes = ['''^''']\nstopwords = ['ok']\n"
    assert len(parse_rules(text.encode(), "redact.toml").allowlists) == 1


def test_an_empty_stopword_in_a_repository_fails_the_redactor_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".gitleaks.toml").write_text("[allowlist]\nstopwords = ['']\n")
    (tmp_path / "note.md").write_text(TOKEN)
    monkeypatch.chdir(tmp_path)
    assert main(["redact", "--check", "note.md"]) == 1
    assert capsys.readouterr().err == (
        "./.gitleaks.toml:1:1: allowlist[0].stopwords: a stopword cannot be empty\n"
        "kaizen-agentic: error: ./.gitleaks.toml: 1 problem\n"
    )
