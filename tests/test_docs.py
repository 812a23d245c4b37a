"""The docs stay true: every `kaizen-agentic ...` they show parses; links and their anchors
resolve; and every example a `--help` prints, and every command of the cheat sheet, runs and
exits 0 in a sandbox fleet (the demo's repositories, its roster as a file and behind a loopback
hub; no network), so a newcomer who copies one is not met by an error."""

from __future__ import annotations

import argparse
import glob
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from kaizen_agentic.main import build_parser, main
from tests.conftest import git

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "activities").glob("*.yaml")]
)
SKIP = {ROOT / "docs" / "reference" / "cli.md"}  # generated from --help itself


SYNOPSIS = re.compile(r"[\[\]()|<>]|\.\.\.|\bFILE\b|\bPATH\b|\bAGENT\b")


def _commands(text: str) -> list[str]:
    """Invocations in fenced code, inline code and YAML `run:` lines."""
    out = []
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    for block in fenced:
        joined = block.replace("\\\n", " ")
        out += [m.group(1) for m in re.finditer(r"^\s*(?:\$ )?(kaizen-agentic .+)$", joined, re.M)]
    outside = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    out += re.findall(r"`(kaizen-agentic [^`]+)`", outside)
    out += re.findall(r"^\s*run: (kaizen-agentic .+)$", text, re.M)
    return [c.strip() for c in out]


def invocations() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        if path in SKIP:
            continue
        for command in _commands(path.read_text()):
            if SYNOPSIS.search(command):
                continue  # a synopsis such as `schedule prepare AGENT [--repo PATH]`
            found.append((str(path.relative_to(ROOT)), command))
    return found


CASES = invocations()


def test_the_docs_show_many_commands() -> None:
    assert len(CASES) > 25


@pytest.mark.parametrize(("where", "command"), CASES, ids=[f"{w}:{c[:60]}" for w, c in CASES])
def test_every_documented_invocation_parses(where: str, command: str) -> None:
    text = re.sub(r"\$\{?(\w+)\}?", r"\1", command)  # shell variables stand for values
    text = text.split(" < ")[0].split(" > ")[0]  # shell redirections are not arguments
    argv = shlex.split(text)[1:]
    if not any(a.startswith("-") for a in argv):
        argv.append("--help")  # a command named in prose: the command itself must exist
    parser = build_parser()
    try:
        parser.parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0, f"{where}: {command!r} does not parse"


MARKDOWN = [p for p in DOCS if p.suffix == ".md"] + [ROOT / "CONTRIBUTING.md", ROOT / "TODO.md"]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_relative_links_and_their_anchors_resolve(path: Path) -> None:
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", path.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        linked = (path.parent / target) if target else path
        assert linked.exists(), f"{path.name}: broken link {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{path.name}: no heading #{anchor} in {target}"


def test_the_roster_reference_is_linked_where_a_newcomer_looks() -> None:
    for doc in (
        "README.md",
        "docs/cheatsheet.md",
        "docs/design/discover-kaizen-scheduled-repos.md",
    ):
        assert "reference/roster.md" in (ROOT / doc).read_text(), doc
    assert "docs/reference/roster.md" in _help("schedule", "discover")


def test_the_pre_commit_snippets_agree() -> None:
    """One repository URL and one rev wherever the docs show the pre-commit hook."""
    shown = set()
    for path in (ROOT / "README.md", ROOT / "docs/reference/schedule-schema.md"):
        for repo, rev in re.findall(r"- repo: (.+)\n +rev: (.+)\n", path.read_text()):
            shown.add((repo.strip(), rev.strip()))
    assert len(shown) == 1, shown
    ((repo, rev),) = shown
    tags = subprocess.run(["git", "-C", str(ROOT), "tag"], capture_output=True, text=True).stdout
    assert rev in tags.split() or rev.startswith("<"), (
        f"rev {rev} is neither a tag nor a placeholder"
    )


def _help(*names: str) -> str:
    """The --help of the command ``names`` (e.g. "schedule", "discover")."""
    parser = build_parser()
    for name in names:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser.format_help()


# --- every example runs ---------------------------------------------------------------------


def help_examples() -> list[str]:
    """Every `kaizen-agentic ...` line under "examples:" of every parser's --help."""
    found: list[str] = []

    def walk(parser: argparse.ArgumentParser) -> None:
        for line in (parser.epilog or "").splitlines():
            if line.strip().startswith("kaizen-agentic "):
                found.append(line.strip())
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    walk(child)

    walk(build_parser())
    return list(dict.fromkeys(found))


def cheat_sheet() -> list[str]:
    return re.findall(r"`(kaizen-agentic [^`]+)`", (ROOT / "docs" / "cheatsheet.md").read_text())


RESULT = """{"outcome": "success", "summary": "ok", "duration_s": 60, "tokens": 900,
 "measures": {"focus_items": 1}, "learnings": [{"text": "Keep the retry tests.", "pinned": false}]}
"""
RULES = """[[rules]]
id = "acme-token"
description = "Acme API token"
regex = '''\\b(acme_[a-z0-9]{32})\\b'''
keywords = ["acme_"]
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox every example starts from: the demo's fleet under ~/src/fleet (payments with
    its own agent, memory and an answer to record), its roster as fleet.yml and /srv/fleet.yml,
    a fresh repository for `init`, and the small files the examples name."""
    from tests.test_readme import load_demo

    base = tmp_path_factory.mktemp("sandbox")
    home = base / "home"
    demo = load_demo(home / "src")
    demo.build_fleet()
    payments = home / "src" / "fleet" / "payments"
    (payments / ".kaizen" / "memory").mkdir()
    (payments / ".kaizen" / "memory" / "coach.md").write_text(
        "# Memory: coach\n\n## 2027-03-20\nKeep the retry tests.\n"
    )
    (payments / "other").mkdir()
    shutil.copy(payments / ".kaizen" / "schedule.yml", payments / "other" / "schedule.yml")
    (payments / "config").mkdir()
    (payments / "config" / "app.yml").write_text("retries: 5\n")
    (payments / "notes.md").write_text("Releases are cut on Thursdays.\n")
    (payments / "note.md").write_text("Prefer small PRs.\n")
    (payments / "extra.toml").write_text(RULES)
    (payments / "result.json").write_text(RESULT)
    memory = "# Memory: coach\n\n## 2027-03-20T09:00:00+00:00\nKeep the retry tests.\n"
    (payments / "base.md").write_text(memory)  # git's three versions for `memory merge`
    (payments / "ours.md").write_text(memory + "\n## 2027-03-27T09:00:00+00:00\nOurs.\n")
    (payments / "theirs.md").write_text(memory + "\n## 2027-03-28T09:00:00+00:00\nTheirs.\n")
    shutil.copy(ROOT / "examples" / "coach-answer.md", payments / "answer.md")
    fresh = home / "src" / "fleet" / "new"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "main")
    git(fresh, "remote", "add", "origin", "git@github.com:acme/new.git")
    return base


class Sandbox(NamedTuple):
    root: Path
    cwd: Path
    argv: list[str]
    stdin: bytes


def sandbox(template: Path, command: str, where: Path, hub: str) -> Sandbox:
    """A copy of the template for one command, and the command as a shell would run it there:
    `~` is the sandbox's home, an absolute path lives under the sandbox's root, the example hub
    is the loopback one; `< file`, `> file` and `... |` are the shell's."""
    root = where / "s"
    shutil.copytree(template, root, symlinks=True)
    home = root / "home"
    roster = (home / "src" / "roster.yml").read_text().replace(str(template), str(root))
    payments = home / "src" / "fleet" / "payments"
    for path in (home / "src" / "roster.yml", payments / "fleet.yml", root / "srv" / "fleet.yml"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(roster)
    stdin = b""
    if " | " in command:
        command = command.split(" | ", 1)[1]
    if " > " in command:
        command = command.split(" > ", 1)[0]
    if " < " in command:
        command, _, source = command.partition(" < ")
        stdin = (payments / source.strip()).read_bytes()
    command = command.replace("https://hub.example.com", hub)
    argv = []
    for word in shlex.split(command)[1:]:
        if word.startswith("/"):
            word = str(root) + word
            Path(word).parent.mkdir(parents=True, exist_ok=True)
        word = word.replace("~", str(home))
        if "*" in word:
            argv += sorted(glob.glob(word, root_dir=payments)) or [word]
        else:
            argv.append(word)
    cwd = payments
    if argv[:2] == ["schedule", "init"] and "--force" not in argv:
        cwd = home / "src" / "fleet" / "new"  # a repository that has no manifest yet
    return Sandbox(root, cwd, argv, stdin)


def hub_records(root: Path) -> bytes:
    import yaml

    records = yaml.safe_load((root / "home" / "src" / "roster.yml").read_text())
    return json.dumps(records).encode()


EXAMPLES = [("--help", c) for c in help_examples()] + [("cheat sheet", c) for c in cheat_sheet()]


def test_there_are_examples_to_run() -> None:
    assert len(help_examples()) > 35 and len(cheat_sheet()) > 25


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "command"), EXAMPLES, ids=[f"{w}: {c[15:70]}" for w, c in EXAMPLES]
)
def test_every_example_runs(
    where: str,
    command: str,
    template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.loopback import Reply, Seen, serve

    current: list[Path] = []

    def hub(request: Seen) -> Reply:
        if request.method == "GET" and request.path.startswith("/repos/"):
            return Reply(200, hub_records(current[0]), (("Content-Type", "application/json"),))
        return Reply(200, b"{}", (("Content-Type", "application/json"),))

    with serve(hub) as server:
        box = sandbox(template, command, tmp_path, server.url)
        current.append(box.root)
        monkeypatch.setenv("HOME", str(box.root / "home"))
        monkeypatch.setenv("KAIZEN_BUNDLE_DIR", str(box.root / "bundles"))
        monkeypatch.delenv("KAIZEN_HUB_URL", raising=False)
        monkeypatch.delenv("KAIZEN_IMAGE", raising=False)
        monkeypatch.chdir(box.cwd)
        if box.argv[:2] == ["schedule", "complete"]:  # the bundle it names, prepared first
            bundles = box.argv[2].split("/acme__payments/")[0]
            at = "2027-03-29T09:00:00+02:00"
            assert main(["schedule", "prepare", "coach", "--at", at, "--out", bundles]) == 0
            capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(box.stdin)))
        code = main(box.argv)
    out, err = capsys.readouterr()
    assert code == 0, f"{where}: {command}\n{out}\n{err}"
    assert "Traceback" not in err


def test_the_readme_links_the_doc_set() -> None:
    readme = (ROOT / "README.md").read_text()
    for doc in [
        "docs/adr/ADR-005-scheduled-agent-execution.md",
        "docs/design/activity-core-handoff.md",
        "docs/INTEGRATION_PATTERNS.md",
        "docs/agency-framework.md",
        "docs/reference/cli.md",
        "docs/PACKAGE_RELEASE.md",
        "docs/EcosystemIntegration.md",
        "TODO.md",
        "docs/reference/export.md",
        "docs/cheatsheet.md",
        "docs/workplans/WP-0006.md",
    ]:
        assert f"({doc})" in readme, doc
