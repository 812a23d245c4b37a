"""The filesystem as an attacker sees it: traversal, links out, FIFOs, huge files."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kaizen_agentic.bundle.prepare import prepare
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.main import main
from tests.conftest import commit_all

AT = datetime(2027, 3, 29, 12, tzinfo=UTC)
MANIFEST = "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily, time: '09:00'}\n"

BAD_NAMES = ["../etc", "../../x", "/etc/passwd", "a/b", "a\0b", "a\nb", "-rf", ".hidden", ""]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize(
    "argv",
    [
        ["memory", "show"],
        ["memory", "add", "{}", "x"],
        ["metrics", "show"],
        ["agents", "show"],
        ["metrics", "record", "{}", "--outcome", "success"],
    ],
)
def test_names_with_traversal_are_refused(
    name: str,
    argv: list[str],
    make_repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    args = [a.replace("{}", name) for a in argv]
    if "{}" not in " ".join(argv):
        args.append(name)
    code = main([*args, "--repo", str(repo)])
    _, err = capsys.readouterr()
    assert code in (1, 2), (args, err)
    assert "Traceback" not in err
    assert not (repo.parent / "etc").exists()


def _outside(tmp_path: Path, name: str, text: str) -> Path:
    target = tmp_path / "outside" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    return target


LINKED = [
    ("memory", ".kaizen/memory/coach.md", "## 2027-01-01\nthe secret plan\n"),
    (
        "metrics",
        ".kaizen/metrics/coach.jsonl",
        '{"time":"2027-01-01T00:00:00+00:00","outcome":"success"}\n',
    ),
    (
        "agent",
        ".kaizen/agents/coach.md",
        "---\nname: coach\nversion: 1\ndescription: d\nreturns: r\n---\nx\n",
    ),
]


@pytest.mark.parametrize(("kind", "relative", "text"), LINKED, ids=[k for k, _, _ in LINKED])
def test_files_that_link_out_of_the_repository_are_refused(
    kind: str, relative: str, text: str, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo(manifest=MANIFEST)
    commit_all(repo)
    link = repo / relative
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(_outside(tmp_path, kind, text), link)
    with pytest.raises(KaizenError, match="outside the repository"):
        prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("relative", [r for _, r, _ in LINKED])
def test_fifos_are_refused_without_blocking(
    relative: str, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo(manifest=MANIFEST)
    commit_all(repo)
    fifo = repo / relative
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    with pytest.raises(KaizenError, match="not a regular file"):
        prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")


@pytest.mark.parametrize(
    ("relative", "size", "message"),
    [
        (".kaizen/memory/coach.md", 17 * 1024 * 1024, "the limit is 16.0 MiB"),
        (".kaizen/agents/coach.md", 300 * 1024, "the limit is 256.0 KiB"),
        (".kaizen/schedule.yml", 2 * 1024 * 1024, "the limit is 1.0 MiB"),
    ],
)
def test_huge_files_are_refused(
    relative: str, size: int, message: str, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo(manifest=MANIFEST)
    commit_all(repo)
    big = repo / relative
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "ab") as handle:
        handle.write(b"#" * size)
    with pytest.raises(KaizenError) as info:
        prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    text = str(info.value) + " ".join(str(p) for p in getattr(info.value, "problems", []))
    assert message in text


@pytest.mark.parametrize("where", ["out", "out/slug", "out/slug/coach"])
def test_an_output_folder_that_is_a_symlink_is_refused(
    where: str, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo(manifest="version: 1\nrepo: slug\n" + MANIFEST.split("\n", 1)[1])
    commit_all(repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / where
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, link)
    with pytest.raises(KaizenError, match="is a symbolic link; refusing to write a bundle"):
        prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    assert list(elsewhere.iterdir()) == []
