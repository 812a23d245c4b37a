"""`kaizen-agentic redact` and `schedule prepare --strict-secrets`, as a user runs them."""

from __future__ import annotations

import codecs
import io
import json
import os
import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from kaizen_agentic.bundle.prepare import prepare
from kaizen_agentic.main import main
from tests.conftest import commit_all, git, usage_error
from tests.redact.secrets_corpus import CASES, sample

TOKEN = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
NOTE = f'hello\ntoken = "{TOKEN}"\npassword: ${{DB_PASSWORD}}\n'


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.md").write_text(NOTE)
    (tmp_path / "b.md").write_text("nothing to see\n")
    return tmp_path


def test_prints_the_files_redacted(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redact", "a.md", "b.md"]) == 0
    out = capsys.readouterr().out
    assert out == NOTE.replace(TOKEN, "[REDACTED:github-pat]") + "nothing to see\n"


def test_check_names_rule_line_and_column_never_the_value(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["redact", "--check", "a.md", "b.md"]) == 1
    assert capsys.readouterr().out == "a.md:2:10: secret: github-pat\n1 secret found in 1 file\n"
    assert main(["redact", "--check", "b.md"]) == 0
    assert capsys.readouterr().out == "no secrets in 1 file\n"


def test_check_json(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redact", "--check", "--json", "a.md"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["files"] == [
        {
            "path": "a.md",
            "findings": [{"rule": "github-pat", "line": 2, "column": 10}],
            "redactions": {"github-pat": 1},
        }
    ]
    assert doc["secrets"] == 1 and doc["mode"] == "check" and doc["rules"] >= 200
    assert TOKEN not in json.dumps(doc)


def test_standard_input(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(NOTE.encode())))
    assert main(["redact", "--check", "-"]) == 1
    assert capsys.readouterr().out.startswith("<stdin>:2:10: secret: github-pat\n")


def test_bytes_that_are_not_utf8_pass_through(
    files: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    (files / "latin1.txt").write_bytes(b"caf\xe9 " + TOKEN.encode() + b"\n")
    assert main(["redact", "latin1.txt"]) == 0
    assert capsysbinary.readouterr().out == b"caf\xe9 [REDACTED:github-pat]\n"


WIDE = f"caf\u00e9\ntoken: {TOKEN}\n"
ENCODINGS = [
    ("UTF-16 with its byte-order mark", "utf-16", WIDE.encode("utf-16")),
    (
        "UTF-16 big-endian with its mark",
        "utf-16",
        codecs.BOM_UTF16_BE + WIDE.encode("utf-16-be"),
    ),
    ("UTF-16 little-endian, no mark", "utf-16-le", WIDE.encode("utf-16-le")),
    ("UTF-16 big-endian, no mark", "utf-16-be", WIDE.encode("utf-16-be")),
    ("UTF-32 with its byte-order mark", "utf-32", WIDE.encode("utf-32")),
    ("UTF-32 little-endian, no mark", "utf-32-le", WIDE.encode("utf-32-le")),
    ("UTF-8 with a byte-order mark", "utf-8-sig", WIDE.encode("utf-8-sig")),
]


@pytest.mark.parametrize(("kind", "codec", "data"), ENCODINGS, ids=[k for k, _, _ in ENCODINGS])
def test_utf16_and_utf32_files_are_read_and_written_back_in_their_encoding(
    files: Path, capsys: pytest.CaptureFixture[str], kind: str, codec: str, data: bytes
) -> None:
    (files / "wide.txt").write_bytes(data)
    assert main(["redact", "--check", "wide.txt"]) == 1, kind
    assert capsys.readouterr() == (
        "wide.txt:2:8: secret: github-pat\n1 secret found in 1 file\n",
        "",
    )
    assert main(["redact", "--in-place", "wide.txt"]) == 1
    capsys.readouterr()
    redacted = (files / "wide.txt").read_bytes()
    assert redacted.decode(codec) == WIDE.replace(TOKEN, "[REDACTED:github-pat]")
    assert redacted.startswith(data[:2])  # the byte-order mark (or its absence) is kept


NOT_TEXT = [
    (
        "a NUL byte",
        b"\0\x01" + TOKEN.encode(),
        "binary: a NUL byte in its first 8 KiB, and not UTF-16 or UTF-32",
    ),
    (
        "an image",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + TOKEN.encode(),
        "binary: a NUL byte in its first 8 KiB, and not UTF-16 or UTF-32",
    ),
    (
        "a broken UTF-16 file",
        codecs.BOM_UTF16_LE + b"\x00\xd8a\x00",
        "not valid UTF-16 little-endian after its byte-order mark",
    ),
    (
        "UTF-16 holding control characters",
        "a\x01b\x02c\x03d".encode("utf-16-le"),
        "binary: a NUL byte in its first 8 KiB, and not UTF-16 or UTF-32",
    ),
]


@pytest.mark.parametrize(("kind", "data", "why"), NOT_TEXT, ids=[k for k, _, _ in NOT_TEXT])
def test_a_file_that_is_not_text_is_skipped_out_loud_and_fails_unless_told(
    files: Path, capsys: pytest.CaptureFixture[str], kind: str, data: bytes, why: str
) -> None:
    (files / "blob.bin").write_bytes(data)
    note = f"kaizen-agentic: skipped blob.bin: {why}\n"
    tail = "kaizen-agentic: 1 file skipped (not text): exit 1 unless --skip-binary\n"
    for mode in (["--check"], ["--in-place"], []):
        assert main(["redact", *mode, "blob.bin", "b.md"]) == 1, (kind, mode)
        out, err = capsys.readouterr()
        assert err == note + tail
        assert TOKEN not in out
    assert main(["redact", "--check", "--skip-binary", "blob.bin", "b.md"]) == 0
    assert capsys.readouterr() == ("no secrets in 1 file\n", note)
    assert (files / "blob.bin").read_bytes() == data  # never rewritten
    assert main(["redact", "--check", "--json", "--skip-binary", "blob.bin"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["skipped"] == 1 and document["files"][0]["skipped"] == why


def test_in_place_rewrites_atomically_and_keeps_the_mode(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chmod(files / "a.md", 0o600)
    assert main(["redact", "--in-place", "a.md", "b.md"]) == 1
    assert (
        capsys.readouterr().out == "a.md:2:10: redacted: github-pat\n1 secret redacted in 1 file\n"
    )
    assert (files / "a.md").read_text() == NOTE.replace(TOKEN, "[REDACTED:github-pat]")
    assert (files / "a.md").stat().st_mode & 0o777 == 0o600
    assert main(["redact", "--in-place", "a.md"]) == 0  # nothing left to do


def test_the_repository_rules_apply(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (files / ".kaizen").mkdir()
    (files / ".kaizen" / "redact.toml").write_text(
        "[[rules]]\nid = 'acme-token'\nregex = '''\\b(acme_[a-z0-9]{24})\\b'''\n"
        "keywords = ['acme_']\n"
    )
    (files / "c.md").write_text("use acme_a1b2c3d4e5f6g7h8i9j0k1l2\n")
    assert main(["redact", "--check", "c.md"]) == 1
    assert capsys.readouterr().out.startswith("c.md:1:5: secret: acme-token\n")
    extra = files / "extra.toml"
    extra.write_text("[extend]\ndisabledRules = ['acme-token']\n")
    assert main(["redact", "--check", "--rules", str(extra), "c.md"]) == 0


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["redact", "--check", "-", "-"], 2, "- (standard input) can be read only once"),
        (
            ["redact", "--in-place", "-"],
            2,
            "--in-place rewrites files; it cannot rewrite standard input",
        ),
        (["redact", "--repo", "nowhere", "a.md"], 2, "--repo nowhere: not a folder"),
    ],
)
def test_usage_errors(
    files: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    assert main(argv) == code
    assert usage_error(capsys.readouterr().err, "redact", message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["redact", "missing.md"],
            "kaizen-agentic: error: missing.md: No such file or directory\n",
        ),
        (["redact", "."], "kaizen-agentic: error: .: is a folder; name the files to read\n"),
        (
            ["redact", "--rules", "bad.toml", "a.md"],
            "bad.toml:3:1: rules[0].regex: not a valid RE2 pattern: missing ): (\n"
            "kaizen-agentic: error: bad.toml: 1 problem\n",
        ),
    ],
)
def test_input_errors_exit_1_with_the_place(
    files: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (files / "bad.toml").write_text("[[rules]]\nid = 'x'\nregex = '('\n")
    assert main(argv) == 1
    assert capsys.readouterr().err == message


def test_the_pre_commit_hook_is_declared() -> None:
    hooks = yaml.safe_load(Path(__file__).parents[2].joinpath(".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "kaizen-redact")
    assert hook["entry"] == "kaizen-agentic redact --check"
    assert hook["files"] == r"^\.kaizen/memory/"


# ---- through schedule prepare

MANIFEST = """version: 1
repo: acme/secrets
agents:
  - agent: coach
    schedule: {{interval: daily, time: '09:00'}}
    instructions: |
{instructions}"""
AT = "2027-03-29T12:00:00+00:00"


def _repo_with_every_rule(make_repo: Callable[..., Path]) -> tuple[Path, dict[str, list[str]]]:
    rng = random.Random(13)
    made = {rule: sample(rule, rng) for rule in sorted(CASES)}
    rules = sorted(made)
    # a quarter in the instructions (at most 20,000 characters), the rest in memory
    in_instructions = rules[::4]
    in_memory = [r for r in rules if r not in set(in_instructions)]
    instructions = "\n".join(f"Step: {made[r][0]}" for r in in_instructions)
    root = make_repo(
        manifest=MANIFEST.format(
            instructions="".join(f"      {line}\n" for line in instructions.splitlines())
        )
    )
    (root / ".kaizen" / "memory").mkdir()
    (root / ".kaizen" / "memory" / "coach.md").write_text(
        "".join(
            f"## 2027-01-{1 + n % 28:02d}\nWe used {made[r][0]} then.\n\n"
            for n, r in enumerate(in_memory)
        )
    )
    commit_all(root)
    return root, {rule: secrets for rule, (_, secrets) in made.items()}


def test_prompt_md_holds_no_sample_of_any_rule(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, secrets = _repo_with_every_rule(make_repo)
    out = tmp_path / "out"
    argv = ["schedule", "prepare", "coach", "--repo", str(root), "--at", AT, "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    event = json.loads(capsys.readouterr().out)
    bundle = Path(event["data"]["bundle"]["path"])
    prompt = (bundle / "PROMPT.md").read_text()
    everything = "".join(p.read_text() for p in bundle.rglob("*") if p.is_file())
    for rule, values in secrets.items():
        for value in values:
            assert value not in everything, rule
    by_rule = event["data"]["redactions"]["by_rule"]
    assert set(by_rule) >= set(CASES) - {"generic-secret"}  # a generic name may be claimed
    assert prompt.count("[REDACTED:") >= len(CASES)
    assert json.loads((bundle / "manifest.json").read_text())["redactions"] == by_rule


def test_strict_secrets_writes_nothing_and_names_rule_and_place(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(
        manifest=MANIFEST.format(instructions=f"      Deploy with {TOKEN}.\n"),
    )
    (root / ".kaizen" / "memory").mkdir()
    (root / ".kaizen" / "memory" / "coach.md").write_text(
        "## 2027-01-02\nfine\n\n## 2027-01-03 rotation\nold key:\nAKIAQ3EGRTZ7LMN4PQ2X\n"
    )
    commit_all(root)
    out = tmp_path / "out"
    argv = ["schedule", "prepare", "coach", "--repo", str(root), "--at", AT, "--out", str(out)]
    assert main([*argv, "--strict-secrets"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "kaizen-agentic: error: refusing to write the bundle (--strict-secrets): 2 secrets "
        "would need redaction:\n"
        "  github-pat in instructions in .kaizen/schedule.yml, line 1, column 13\n"
        "  aws-access-key-id at .kaizen/memory/coach.md:6:1 (the memory entry 2027-01-03 "
        "from line 4)\n"
    )
    assert not out.exists()
    assert main(argv) == 0  # without it, the bundle is written with both redacted
    assert "secrets  2 redacted (aws-access-key-id 1, github-pat 1)" in capsys.readouterr().out


def test_the_boundary_is_the_only_way_in(
    make_repo: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository rule that redacts one word, planted in every input a repository controls:
    no file of the bundle and no field of the event may hold it."""
    word = "PLANTEDxyz"
    root = make_repo(
        name=f"repo-{word}",
        manifest=(
            "version: 1\nrepo: acme/planted\nagents:\n  - agent: coach\n"
            "    schedule: {interval: daily, time: '09:00'}\n"
            f"    focus: the {word} focus\n    instructions: |\n      the {word} steps\n"
        ),
        origin=f"https://git.example.com/acme/{word}.git",
    )
    (root / ".kaizen" / "redact.toml").write_text(
        f"[[rules]]\nid = 'planted'\nregex = '''{word}'''\nkeywords = ['{word.lower()}']\n"
    )
    (root / ".kaizen" / "agents").mkdir()
    (root / ".kaizen" / "agents" / "coach.md").write_text(
        f"---\nname: coach\nversion: 2\ndescription: d {word}\nreturns: r\n---\nCoach {word}.\n"
    )
    (root / ".kaizen" / "memory").mkdir()
    (root / ".kaizen" / "memory" / "coach.md").write_text(
        f"## 2027-01-02 {word} title\n<!-- kaizen: bundle={word} commit={word} -->\n{word}\n"
    )
    (root / ".kaizen" / "metrics").mkdir()
    record = {"time": "2027-01-03T00:00:00+00:00", "outcome": "success", "measures": {word: 1}}
    (root / ".kaizen" / "metrics" / "coach.jsonl").write_text(json.dumps(record) + "\n")
    commit_all(root)
    git(root, "checkout", "-q", "-b", f"feature/{word}")
    at = datetime.fromisoformat(AT)
    done = prepare(str(root), "coach", at=at, out_dir=str(tmp_path / "o"), host="h")
    for path in Path(done.path).rglob("*"):
        if path.is_file():
            assert word not in path.read_text(), path.name
    # the bundle's own folder is named by slug, agent and slot: nothing of the word
    assert word not in json.dumps(done.event).replace(str(tmp_path), "")
    assert done.manifest["redactions"]["planted"] >= 8
