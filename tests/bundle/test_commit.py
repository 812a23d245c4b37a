"""complete --commit: one commit holding only the agent's memory and metrics, made through a
temporary index, once per run; the refusals; and what two hosts committing for one repository
get when they push."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kaizen_agentic.bundle import memory
from kaizen_agentic.bundle.finish import EVENT_FILE, finish
from kaizen_agentic.bundle.prepare import prepare
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.main import main
from tests.conftest import commit_all, git

MANIFEST = """\
version: 1
repo: acme/payments
timezone: Europe/Berlin
agents:
  - agent: coach
    schedule: {interval: daily, time: "09:00"}
"""
SLOT = datetime(2027, 3, 22, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
DONE = SLOT + timedelta(minutes=12)
FILES = [".kaizen/memory/coach.md", ".kaizen/metrics/coach.jsonl"]


def result(text: str) -> dict:  # type: ignore[type-arg]
    return {
        "outcome": "success",
        "summary": "s",
        "duration_s": 1.0,
        "tokens": 10,
        "measures": {},
        "learnings": [{"text": text, "pinned": False}],
    }


@pytest.fixture(autouse=True)
def no_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Git as on a fresh runner: no user configuration (the commit's fallback identity)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", "/dev/null")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GIT_COMMITTER_EMAIL", raising=False)
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "not-this-index"))  # ignored


@pytest.fixture
def checkout(make_repo: Callable[..., Path]) -> Path:
    """A checkout with a staged change, an unstaged change and an untracked file."""
    root = make_repo("payments", manifest=MANIFEST)
    (root / "README.md").write_text("payments\n")
    (root / "retry.py").write_text("ATTEMPTS = 3\n")
    commit_all(root, "start")
    (root / "README.md").write_text("payments, staged\n")
    git(root, "add", "README.md")
    (root / "retry.py").write_text("ATTEMPTS = 5\n")
    (root / "scratch.txt").write_text("mine\n")
    return root


def bundle(root: Path, out: Path, slot: datetime = SLOT) -> str:
    return prepare(str(root), "coach", at=slot, out_dir=str(out), host="runner-1").path


def status(root: Path) -> str:
    return git(root, "status", "--porcelain=v1", "--untracked-files=all")


def test_one_commit_holds_only_the_agents_files_and_the_checkout_keeps_its_changes(
    checkout: Path, tmp_path: Path
) -> None:
    before, staged, head = (
        status(checkout),
        git(checkout, "diff", "--cached"),
        git(checkout, "rev-parse", "HEAD").strip(),
    )
    path = bundle(checkout, tmp_path / "out")
    done = finish(path, result("Retries moved to 5."), at=DONE, host="runner-1", commit=True)

    key = json.loads(Path(path, "manifest.json").read_text())["key"]
    assert done.commit is not None and done.commit.status == "committed"
    assert done.commit.branch == "main"
    assert git(checkout, "rev-parse", "HEAD").strip() == done.commit.sha
    assert git(checkout, "log", "-1", "--format=%P%n%an <%ae>%n%aI%n%B", "HEAD") == (
        f"{head}\nkaizen-agentic <kaizen-agentic@runner-1>\n2027-03-22T08:12:00+00:00\n"
        "kaizen(coach): memory and metrics for 2027-03-22 09:00\n\n"
        "Kaizen-Agent: coach\n"
        "Kaizen-Slot: 2027-03-22T09:00:00+01:00\n"
        f"Kaizen-Key: {key}\n"
        f"Kaizen-Event: {key}.completed\n\n"
    )
    assert git(checkout, "show", "--name-only", "--format=", "HEAD").split() == FILES
    for name in FILES:
        assert git(checkout, "show", f"HEAD:{name}") == (checkout / name).read_text()
    # the staged change is still staged (and not in the commit), the rest as it was
    assert status(checkout) == before == "M  README.md\n M retry.py\n?? scratch.txt\n"
    assert git(checkout, "diff", "--cached") == staged


def test_a_retry_or_a_second_call_makes_no_second_commit(checkout: Path, tmp_path: Path) -> None:
    path = bundle(checkout, tmp_path / "out")
    first = finish(path, result("a"), at=DONE, host="runner-1", commit=True)
    again = finish(path, result("a"), at=DONE + timedelta(hours=1), host="runner-1", commit=True)
    assert again.status == "already-completed"
    assert again.event == first.event  # the same event, kept in the bundle
    assert again.commit is not None and first.commit is not None
    assert (again.commit.status, again.commit.sha) == ("already-committed", first.commit.sha)
    assert git(checkout, "rev-list", "--count", "HEAD").strip() == "2"


def test_a_run_recorded_but_not_committed_is_committed_by_the_retry(
    checkout: Path, tmp_path: Path
) -> None:
    """The crash between recording and committing: the retry finds the run recorded and commits
    it, dated as the run, with the kept event's id."""
    path = bundle(checkout, tmp_path / "out")
    first = finish(path, result("a"), at=DONE, host="runner-1")
    assert first.commit is None and Path(path, EVENT_FILE).exists()
    retry = finish(path, result("a"), at=DONE + timedelta(hours=1), host="runner-1", commit=True)
    assert retry.status == "already-completed" and retry.commit is not None
    assert retry.commit.status == "committed"
    assert git(checkout, "log", "-1", "--format=%aI", "HEAD") == "2027-03-22T08:12:00+00:00\n"
    third = finish(path, result("a"), at=DONE, host="runner-1", commit=True)
    assert third.commit is not None and third.commit.status == "already-committed"


def test_branch_commits_beside_head_without_checking_it_out(checkout: Path, tmp_path: Path) -> None:
    head = git(checkout, "rev-parse", "HEAD").strip()
    index = (checkout / ".git" / "index").read_bytes()
    out = tmp_path / "out"
    one = finish(bundle(checkout, out), result("a"), at=DONE, host="h", commit=True, branch="kz")
    later = SLOT + timedelta(days=1)
    two = finish(
        bundle(checkout, out, later), result("b"), at=later, host="h", commit=True, branch="kz"
    )
    assert one.commit is not None and two.commit is not None
    assert git(checkout, "rev-parse", "HEAD", "kz").split() == [head, two.commit.sha]
    assert git(checkout, "rev-list", "--parents", f"{head}..kz").split() == [
        two.commit.sha,
        one.commit.sha,
        one.commit.sha,
        head,
    ]
    assert git(checkout, "symbolic-ref", "HEAD") == "refs/heads/main\n"
    assert (checkout / ".git" / "index").read_bytes() == index  # the index untouched
    assert git(checkout, "diff", "--name-only", "main", "kz").split() == FILES


def test_a_branch_moved_by_someone_else_meanwhile_is_built_on_again(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaizen_agentic.bundle import commit

    path = bundle(checkout, tmp_path / "out")
    before, theirs = status(checkout), []
    real = commit._commit_tree

    def racing(*args: object) -> str:
        if not theirs:  # a person's commit lands between our build and our update-ref
            tree = git(checkout, "rev-parse", "HEAD^{tree}").strip()
            theirs.append(git(checkout, "commit-tree", tree, "-p", "HEAD", "-m", "p").strip())
            git(checkout, "update-ref", "refs/heads/main", theirs[0])
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(commit, "_commit_tree", racing)
    done = finish(path, result("a"), at=DONE, host="h", commit=True)
    assert done.commit is not None and done.commit.status == "committed"
    assert git(checkout, "rev-parse", "HEAD^").strip() == theirs[0]
    assert git(checkout, "show", "--name-only", "--format=", "HEAD").split() == FILES
    assert status(checkout) == before


def detach(root: Path) -> None:
    git(root, "checkout", "-q", "--detach")


def make_bare(root: Path) -> None:
    git(root, "config", "core.bare", "true")


def link_out(root: Path) -> None:
    elsewhere = root.parent / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, root / ".kaizen" / "memory")


def other_worktree(root: Path) -> None:
    git(root, "worktree", "add", "-q", "-b", "kz", str(root.parent / "wt"))


@pytest.mark.parametrize(
    ("spoil", "branch", "message"),
    [
        (detach, None, "HEAD is detached in {root}; name a branch to commit on (--branch NAME)"),
        (
            make_bare,
            None,
            "{root} is a bare repository; memory and metrics are committed from a checkout",
        ),
        (
            link_out,
            None,
            "{root}/.kaizen/memory/coach.md is not inside the checkout {root} (it resolves to "
            "{root}/../elsewhere/coach.md); refusing to commit it",
        ),
        (
            lambda root: shutil.rmtree(root / ".git"),
            None,
            "{root} is not a git checkout; there is nowhere to commit to",
        ),
        (lambda root: None, "-x", "--branch '-x' is not a valid branch name"),
        (lambda root: None, "a..b", "--branch 'a..b' is not a valid branch name"),
        (
            other_worktree,
            "kz",
            "branch kz is checked out in {root}/../wt; commit there, or name a branch no work "
            "tree has checked out",
        ),
    ],
    ids=["detached", "bare", "outside", "no-git", "dash", "dots", "elsewhere"],
)
def test_refusals_come_before_anything_is_recorded(
    checkout: Path,
    tmp_path: Path,
    spoil: Callable[[Path], None],
    branch: str | None,
    message: str,
) -> None:
    path = bundle(checkout, tmp_path / "out")
    spoil(checkout)
    with pytest.raises(KaizenError) as caught:
        finish(path, result("a"), at=DONE, host="h", commit=True, branch=branch)
    real = os.path.realpath(checkout)
    expected = message.format(root=checkout).replace(f"{checkout}/../", f"{checkout.parent}/")
    assert str(caught.value) == expected.replace(str(checkout), real)
    assert not (checkout / ".kaizen" / "metrics").exists()
    assert not Path(path, EVENT_FILE).exists()


def test_detached_head_commits_with_a_branch(checkout: Path, tmp_path: Path) -> None:
    detach(checkout)
    done = finish(
        bundle(checkout, tmp_path / "out"), result("a"), at=DONE, host="h", commit=True, branch="kz"
    )
    assert done.commit is not None and done.commit.status == "committed"
    assert git(checkout, "rev-parse", "kz^") == git(checkout, "rev-parse", "HEAD")


def test_the_cli_commits_and_says_so(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle(checkout, tmp_path / "out")
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(result("a")))
    argv = ["schedule", "complete", path, "--result", str(answer), "--at", DONE.isoformat()]
    assert main([*argv, "--commit"]) == 0
    key = json.loads(Path(path, "manifest.json").read_text())["key"]
    sha = git(checkout, "rev-parse", "HEAD").strip()
    assert capsys.readouterr().out == (
        f"completed: success recorded in {checkout}/.kaizen/metrics/coach.jsonl\n"
        f"  memory   1 entry added to {checkout}/.kaizen/memory/coach.md\n"
        f"  event    {key}.completed\n"
        f"  commit   {sha[:12]} on main: kaizen(coach): memory and metrics for 2027-03-22 09:00\n"
    )
    assert main([*argv, "--commit", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "already-completed" and doc["event"]["id"] == f"{key}.completed"
    assert doc["commit"] == {
        "status": "already-committed",
        "sha": sha,
        "branch": "main",
        "subject": "kaizen(coach): memory and metrics for 2027-03-22 09:00",
    }


def test_the_cli_refuses_branch_without_commit(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle(checkout, tmp_path / "out")
    argv = ["schedule", "complete", path, "--result", "-", "--branch", "kz"]
    assert main(argv) == 2
    assert capsys.readouterr().err.endswith(
        "kaizen-agentic schedule complete: error: --branch names where --commit commits; "
        "add --commit\n"
    )


def test_the_cli_reports_a_refusal_and_exits_1(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle(checkout, tmp_path / "out")
    detach(checkout)
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(result("a")))
    assert main(["schedule", "complete", path, "--result", str(answer), "--commit"]) == 1
    real = os.path.realpath(checkout)
    assert capsys.readouterr().err == (
        f"kaizen-agentic: error: HEAD is detached in {real}; name a branch to commit on (--branch NAME)\n"
    )


# --- two hosts, one repository ------------------------------------------------------------------


def pull(clone: Path, *config: str) -> subprocess.CompletedProcess[str]:
    """``git pull --rebase`` as the orchestrator runs it after a rejected push."""
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_SYSTEM": "/dev/null",
        "HOME": str(clone),
        "PATH": os.environ["PATH"],
    }
    args = [a for c in config for a in ("-c", c)]
    return subprocess.run(
        ["git", "-C", str(clone), *args, "pull", "--rebase", "-q", "origin", "main"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture
def two_hosts(make_repo: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    """One repository (``schedule init``'s .gitattributes committed), cloned on two hosts, each
    of which completed and committed one coach run; host A has pushed."""
    from kaizen_agentic.bundle.commit import GITATTRIBUTES

    seed = make_repo("seed", manifest=MANIFEST)
    (seed / ".kaizen" / ".gitattributes").write_text(GITATTRIBUTES)
    commit_all(seed, "enrol")
    earlier = SLOT - timedelta(days=1)
    finish(
        bundle(seed, tmp_path / "out-seed", earlier),
        result("First."),
        at=earlier,
        host="a",
        commit=True,
    )
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    hosts = []
    for name, day in (("a", 0), ("b", 1)):
        clone = tmp_path / f"host-{name}"
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        slot = SLOT + timedelta(days=day)
        path = bundle(clone, tmp_path / f"out-{name}", slot)
        text = f"Seen on host {name}.\nThe retry loop backs off.\nTwice.\nThen gives up.\nOK."
        finish(path, result(text), at=slot, host=name, commit=True)
        hosts.append(clone)
    git(hosts[0], "push", "-q", "origin", "main")
    return hosts[0], hosts[1]


def test_two_hosts_metrics_merge_by_union_and_memory_conflicts_without_the_driver(
    two_hosts: tuple[Path, Path],
) -> None:
    _, b = two_hosts
    done = pull(b)
    assert done.returncode != 0
    assert "CONFLICT (content): Merge conflict in .kaizen/memory/coach.md" in done.stdout
    assert "CONFLICT (content): Merge conflict in .kaizen/metrics" not in done.stdout  # union
    lines = (b / ".kaizen" / "metrics" / "coach.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["outcome"] == "success" for line in lines)


def test_two_hosts_merge_cleanly_with_the_memory_driver_and_push(
    two_hosts: tuple[Path, Path],
) -> None:
    a, b = two_hosts
    driver = f"{sys.executable} -m kaizen_agentic memory merge %O %A %B"
    done = pull(b, f"merge.kaizen-memory.driver={driver}")
    assert done.returncode == 0, done.stdout + done.stderr
    git(b, "push", "-q", "origin", "main")
    git(a, "pull", "-q", "--ff-only", "origin", "main")
    text = (a / ".kaizen" / "memory" / "coach.md").read_text()
    entries = memory.parse(text)
    assert [e.text.splitlines()[0] for e in entries] == [
        "First.",
        "Seen on host a.",
        "Seen on host b.",
    ]
    assert all(e.text.endswith("Then gives up.\nOK.\n") for e in entries[1:])  # whole, not mixed
    assert len((a / ".kaizen" / "metrics" / "coach.jsonl").read_text().splitlines()) == 3
    subjects = git(a, "log", "--format=%s", "main").splitlines()
    assert subjects == [
        "kaizen(coach): memory and metrics for 2027-03-23 09:00",
        "kaizen(coach): memory and metrics for 2027-03-22 09:00",
        "kaizen(coach): memory and metrics for 2027-03-21 09:00",
        "enrol",
    ]
