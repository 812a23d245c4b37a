"""Agent memory: readable Markdown entries with provenance; atomic, locked, deduplicated."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kaizen_agentic.bundle import memory
from kaizen_agentic.errors import KaizenError

TEXT = """\
# Memory: coach

Anything before the first heading is a preamble.

## 2027-03-01T09:00:00+01:00 (pinned)
<!-- kaizen: bundle=kz-aaa commit=abc123 -->
Release branches are cut on Thursdays.

## 2027-03-08 focus
Focus: retry paths.

```
## not a heading: inside a fence
```

## sometime
Undated entries sort oldest.
"""


def test_parse_entries_with_provenance_and_fences() -> None:
    entries = memory.parse(TEXT)
    assert [(e.when, e.pinned, e.title, e.bundle, e.commit, e.line) for e in entries] == [
        ("2027-03-01T09:00:00+01:00", True, "", "kz-aaa", "abc123", 5),
        ("2027-03-08", False, "focus", None, None, 9),
        ("sometime", False, "", None, None, 16),
    ]
    assert entries[0].text == "Release branches are cut on Thursdays.\n"
    assert "## not a heading: inside a fence" in entries[1].text
    assert entries[1].moment == datetime(2027, 3, 8, tzinfo=UTC)
    assert entries[2].moment == datetime(1970, 1, 1, tzinfo=UTC)


def test_render_round_trips() -> None:
    entries = memory.parse(TEXT)
    assert memory.parse("\n".join(e.render() for e in entries)) == [
        e._replace(line=n) for e, n in zip(entries, (1, 5, 12), strict=True)
    ]


def test_add_creates_appends_and_deduplicates(tmp_path: Path) -> None:
    when = datetime(2027, 3, 29, 9, 0, tzinfo=UTC)
    first = memory.new_entry(
        "Prefer small PRs.", when=when, pinned=True, bundle="kz-1", commit="abc"
    )
    path = memory.add(str(tmp_path), "coach", [first])
    text = Path(path).read_text()
    assert text.startswith("# Memory: coach\n")
    assert text.endswith(
        "## 2027-03-29T09:00:00+00:00 (pinned)\n<!-- kaizen: bundle=kz-1 commit=abc -->\n"
        "Prefer small PRs.\n"
    )
    memory.add(str(tmp_path), "coach", [first])  # the same learning from the same bundle
    assert Path(path).read_text() == text
    second = memory.new_entry("Another.", when=when)
    memory.add(str(tmp_path), "coach", [second])
    entries, digest = memory.read(str(tmp_path), "coach")
    assert [e.text for e in entries] == ["Prefer small PRs.\n", "Another.\n"]
    assert digest is not None and digest.startswith("sha256:")


def test_add_keeps_hand_edits(tmp_path: Path) -> None:
    folder = tmp_path / ".kaizen" / "memory"
    folder.mkdir(parents=True)
    (folder / "coach.md").write_text(TEXT)
    memory.add(
        str(tmp_path), "coach", [memory.new_entry("New.", when=datetime(2027, 4, 1, tzinfo=UTC))]
    )
    assert (folder / "coach.md").read_text().startswith(TEXT.rstrip("\n") + "\n\n## 2027-04-01")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "a memory entry needs some text"),
        ("x" * 20_001, "a memory entry is 20001 characters; the limit is 20000"),
    ],
)
def test_add_refuses(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(KaizenError) as info:
        memory.add(str(tmp_path), "coach", [memory.new_entry(text, when=datetime.now(UTC))])
    assert str(info.value) == message


def test_a_memory_file_linking_out_of_the_repo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.md").write_text("## 2027-01-01\nsecret\n")
    repo = tmp_path / "repo"
    (repo / ".kaizen" / "memory").mkdir(parents=True)
    os.symlink(tmp_path / "secret.md", repo / ".kaizen" / "memory" / "coach.md")
    with pytest.raises(KaizenError, match="points outside the repository"):
        memory.read(str(repo), "coach")


def test_cli(capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]) -> None:
    from kaizen_agentic.main import main
    from tests.conftest import usage_error

    repo = make_repo()
    assert main(["memory", "show", "coach", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == (
        f"no memory yet for coach ({repo}/.kaizen/memory/coach.md)\n"
    )
    assert (
        main(
            [
                "memory",
                "add",
                "coach",
                "Ship on Thursdays.",
                "--pin",
                "--repo",
                str(repo),
                "--at",
                "2027-03-29T09:00:00+02:00",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == f"added a pinned entry to {repo}/.kaizen/memory/coach.md\n"
    assert main(["memory", "show", "coach", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == (
        f"{repo}/.kaizen/memory/coach.md: 1 entry (1 pinned)\n\n"
        "## 2027-03-29T09:00:00+02:00 (pinned)\nShip on Thursdays.\n"
    )
    assert main(["memory", "add", "coach", "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert usage_error(err, "memory add", "give the entry's TEXT or --file FILE (one of them)")


# --- memory merge: git's merge driver for memory files -------------------------------------------

HEAD = "# Memory: coach\n\n"
OLD = "## 2027-03-01T09:00:00+01:00\n<!-- kaizen: bundle=kz-0 -->\nFirst.\n"
A = "## 2027-03-22T09:00:00+01:00\n<!-- kaizen: bundle=kz-a -->\nOn a.\nr1\nr2\nr3\nr4\nEnd a.\n"
B = "## 2027-03-23T09:00:00+01:00\n<!-- kaizen: bundle=kz-b -->\nOn b.\nr1\nr2\nr3\nr4\nEnd b.\n"
OLD_EDITED = OLD.replace("First.", "First, edited.")


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "expected", "clean"),
    [
        # both added an entry (sharing four lines: git's union would interleave them)
        (
            HEAD + OLD,
            HEAD + OLD + "\n" + A,
            HEAD + OLD + "\n" + B,
            HEAD + OLD + "\n" + A + "\n" + B,
            True,
        ),
        # a person edited an old entry, a host added one
        (HEAD + OLD, HEAD + OLD + "\n" + A, HEAD + OLD_EDITED, HEAD + OLD_EDITED + "\n" + A, True),
        # a person deleted an old entry, a host added one
        (
            HEAD + OLD + "\n" + A,
            HEAD + OLD + "\n" + A + "\n" + B,
            HEAD + A,
            HEAD + A + "\n" + B,
            True,
        ),
        # both created the file (git gives an empty base)
        ("", HEAD + A, HEAD + B, HEAD + A + "\n" + B, True),
        # the same entry on both sides is kept once
        (HEAD + OLD, HEAD + OLD + "\n" + A, HEAD + OLD + "\n" + A, HEAD + OLD + "\n" + A, True),
    ],
    ids=["both-added", "edited-and-added", "deleted-and-added", "both-created", "same-entry"],
)
def test_merge_keeps_every_new_entry_whole(
    base: str, ours: str, theirs: str, expected: str, clean: bool
) -> None:
    assert memory.merge(base, ours, theirs) == (expected, clean)


def test_merge_marks_conflicting_edits_and_still_keeps_new_entries() -> None:
    ours = HEAD + OLD.replace("First.", "First, ours.") + "\n" + A
    theirs = HEAD + OLD.replace("First.", "First, theirs.") + "\n" + B
    text, clean = memory.merge(HEAD + OLD, ours, theirs)
    assert not clean
    assert text == (
        HEAD
        + "## 2027-03-01T09:00:00+01:00\n<!-- kaizen: bundle=kz-0 -->\n"
        + "<<<<<<< ours\nFirst, ours.\n=======\nFirst, theirs.\n>>>>>>> theirs\n\n"
        + A
        + "\n"
        + B
    )


def test_merge_driver_command_writes_ours_and_exits_1_on_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kaizen_agentic.main import main

    files = {}
    for name, text in (("base", HEAD + OLD), ("ours", HEAD + OLD + "\n" + A), ("theirs", HEAD + B)):
        files[name] = tmp_path / name
        files[name].write_text(text)
    argv = ["memory", "merge", *(str(files[n]) for n in ("base", "ours", "theirs"))]
    assert main(argv) == 0
    assert files["ours"].read_text() == HEAD + A + "\n" + B
    files["ours"].write_text(HEAD + OLD.replace("First.", "Mine.") + "\n" + A)
    files["theirs"].write_text(HEAD + OLD.replace("First.", "Yours."))
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        f"kaizen-agentic: error: {files['ours']}: conflicting edits to the same entries; "
        "marked for a person\n"
    )
    assert "<<<<<<< ours\nMine.\n=======\nYours.\n>>>>>>> theirs\n" in files["ours"].read_text()
