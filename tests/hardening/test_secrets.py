"""Every secret format, in every placement, never reaches a bundle, an event or an error."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from kaizen_agentic.bundle.prepare import prepare
from kaizen_agentic.main import main
from tests.conftest import commit_all
from tests.redact.secrets_corpus import CASES, NOT_SECRETS, sample

AT = datetime(2027, 3, 29, 12, tzinfo=UTC)
PLACEMENTS = (
    "memory prose",
    "memory fenced code",
    "metrics JSON",
    "instructions",
    "focus",
    "remote URL",
    "exception text",
)


# Rules for values only quotes delimit (any character but the quote): unquoted, in a URL, such a
# value is percent-encoded.
QUOTED_ONLY = {"generic-secret-quoted", "generic-secret-single-quoted"}


def manifest(focus: str, instructions: str) -> str:
    body = "".join(f"      {line}\n" for line in instructions.splitlines())
    return (
        "version: 1\nrepo: acme/secrets\nagents:\n  - agent: coach\n"
        "    schedule: {interval: daily, time: '09:00'}\n"
        f"    focus: {json.dumps(focus)}\n    instructions: |\n{body}"
    )


def all_text(path: str) -> str:
    chunks = []
    for folder, _, names in os.walk(path):
        for name in names:
            chunks.append(Path(folder, name).read_text())
    return "\n".join(chunks)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_a_secret_in_every_placement_never_reaches_the_bundle(
    rule: str, make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(f"hardening:{rule}")
    # each placement its own sample of the rule; the focus (at most 500 characters) the first
    samples = {
        place: sample(rule, rng, n if place != "focus" else 0) for n, place in enumerate(PLACEMENTS)
    }
    made = {place: text for place, (text, _) in samples.items()}
    in_url = made["remote URL"]
    if any(c.isspace() for c in in_url):  # a header or a PEM block cannot sit in a URL as is
        secret = samples["remote URL"][1][0]
        if rule in QUOTED_ONLY:  # brackets and braces: a URL has them percent-encoded
            secret = quote(secret, safe="")
            samples["remote URL"] = (secret, [secret])
        in_url = "token=" + secret
    origin = f"https://deploy:hunter2hunter2@git.example.com/acme/secrets.git?{in_url}"
    repo = make_repo(
        manifest=manifest(made["focus"], f"Use {made['instructions']} here."), origin=origin
    )
    (repo / ".kaizen" / "memory").mkdir()
    (repo / ".kaizen" / "memory" / "coach.md").write_text(
        f"## 2027-03-01\nThe deploy key is {made['memory prose']} for now.\n\n"
        f"## 2027-03-02\n```sh\nexport KEY='{made['memory fenced code']}'\n```\n"
    )
    (repo / ".kaizen" / "metrics").mkdir()
    record = {
        "time": "2027-03-03T00:00:00+00:00",
        "outcome": "success",
        "measures": {made["metrics JSON"]: 1},
        "note": made["metrics JSON"],
    }
    (repo / ".kaizen" / "metrics" / "coach.jsonl").write_text(json.dumps(record) + "\n")
    commit_all(repo)

    done = prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    haystack = all_text(done.path) + json.dumps(done.event)
    for place in PLACEMENTS[:-1]:
        for secret in samples[place][1]:
            assert secret not in haystack, place
    assert done.manifest["redactions"].get(rule, 0) >= 3

    # exception text: the secret pasted where a time zone belongs, and a CLI error about it
    bad = repo / "bad.yml"
    bad.write_text(f"version: 1\ntimezone: {json.dumps(made['exception text'])}\nagents: []\n")
    main(["schedule", "validate", str(bad), "--format", "json"])
    out, err = capsys.readouterr()
    for secret in samples["exception text"][1]:
        assert secret not in out + err


def test_look_alikes_survive_in_a_bundle(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    # in instructions of at most 20,000 characters each
    chunks: list[list[str]] = [[]]
    for look_alike in NOT_SECRETS:
        if sum(len(s) + 3 for s in chunks[-1]) + len(look_alike) > 18_000:
            chunks.append([])
        chunks[-1].append(look_alike)
    for number, chunk in enumerate(chunks):
        repo = make_repo(
            f"repo{number}", manifest=manifest("keep these", "\n".join(f"- {s}" for s in chunk))
        )
        commit_all(repo)
        done = prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / f"out{number}"), host="h")
        prompt = Path(done.path, "PROMPT.md").read_text()
        for look_alike in chunk:
            assert look_alike in prompt, look_alike
        assert done.manifest["redactions"] == {}


def test_the_built_in_prompts_hold_no_secret_for_the_package_rules() -> None:
    # what lets a prepare with the package's rules alone skip scanning a built-in prompt: the
    # compiled rules list the built-in files they were run on (`make schema`)
    from kaizen_agentic.agents import builtin_names, load_definition
    from kaizen_agentic.redact.engine import default_ruleset

    for name in builtin_names():
        agent = load_definition(name)
        assert default_ruleset().findings(agent.prompt) == [], name
        assert agent.digest in default_ruleset().known_clean, name


def test_an_edited_built_in_prompt_is_scanned(
    make_repo: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaizen_agentic import agents

    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    edited = tmp_path / "agents"
    edited.mkdir()
    for name in agents.builtin_names():
        text = Path(agents.BUILTIN_DIR, f"{name}.md").read_text()
        (edited / f"{name}.md").write_text(f"{text}\nExample deploy key: {token}\n")
    monkeypatch.setattr(agents, "BUILTIN_DIR", str(edited))  # an installed copy, edited
    repo = make_repo(manifest=manifest("ship it", "Be brief."))
    commit_all(repo)
    done = prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    agent = Path(done.path, "parts", "agent.md").read_text()
    assert token not in agent and "Example deploy key: [REDACTED:github-pat]" in agent


def test_a_repository_rule_still_reads_the_built_in_prompt(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo(manifest=manifest("ship it", "Be brief."))
    (repo / ".kaizen" / "redact.toml").write_text(
        "[[rules]]\nid = 'house-word'\nregex = '''\\bcheckout\\b'''\nkeywords = ['checkout']\n"
    )
    commit_all(repo)
    done = prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    agent = Path(done.path, "parts", "agent.md").read_text()
    assert "checkout" not in agent.lower() and "[REDACTED:house-word]" in agent
    assert done.manifest["redactions"]["house-word"] >= 2


def test_a_slug_that_holds_a_secret_names_no_bundle(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    repo = make_repo(
        manifest=manifest("ship it", "Be brief.").replace("acme/secrets", f"acme/{token}")
    )
    commit_all(repo)
    out = tmp_path / "out"
    argv = ["schedule", "prepare", "coach", "--repo", str(repo), "--out", str(out)]
    code = main([*argv, "--at", AT.isoformat(), "--force"])
    stdout, stderr = capsys.readouterr()
    assert (code, stdout) == (1, "")
    assert stderr == (
        "kaizen-agentic: error: the repository's slug holds what looks like a secret "
        "(github-pat); bundles, their folders and events are named after it, so none is "
        "prepared: give the repository another slug (repo: in .kaizen/schedule.yml)\n"
    )
    assert not out.exists() or not any(out.rglob("*.md"))
