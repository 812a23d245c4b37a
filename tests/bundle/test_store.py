"""Prepared bundles: complete, within budget, reproducible, atomic, and free of secrets."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from kaizen_agentic.bundle.prepare import Prepared, prepare
from kaizen_agentic.bundle.prompt import PARTS, estimate_tokens
from kaizen_agentic.bundle.store import verify
from kaizen_agentic.errors import InvalidFileError, KaizenError
from tests.conftest import commit_all, git
from tests.redact.secrets_corpus import CASES, sample

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2027, 3, 30, 12, 0, tzinfo=UTC)  # a Tuesday; coach's slot is Monday 09:00 Berlin

MANIFEST = """\
version: 1
repo: acme/payments
timezone: Europe/Berlin
agents:
  - agent: coach
    schedule: {interval: weekly, day: monday, time: "09:00"}
    focus: retry paths
    token_budget: 8000
  - agent: optimization-review
    enabled: false
    schedule: {interval: weekly, day: friday}
  - agent: dependency-digest
    paused_until: 2027-06-01
    schedule: {interval: daily}
"""


def memory_file(entries: int, pinned_every: int = 100) -> str:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    parts = ["# Memory: coach\n"]
    for i in range(entries):
        when = (start + timedelta(hours=i)).isoformat()
        pin = " (pinned)" if i % pinned_every == 0 else ""
        parts.append(
            f"## {when}{pin}\n<!-- kaizen: bundle=kz-{i:040x} commit=abc{i:04d} -->\n"
            f"Observation number {i}: the retry loop in payments/retry.py backs off "
            f"{i % 7} times before giving up.\n"
        )
    return "\n".join(parts)


def metrics_file(lines: int) -> str:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    out = []
    for i in range(lines):
        record = {
            "time": (start + timedelta(hours=i)).isoformat(),
            "outcome": "success" if i % 10 else "failure",
            "duration_s": 100 + i % 50,
            "tokens": 20000 + i % 1000,
            "measures": {"focus_items": i % 4, "coverage_pct": 60 + (i % 300) / 10},
            "bundle": f"kz-{i:040x}",
        }
        out.append(json.dumps(record, separators=(",", ":")))
    return "\n".join(out) + "\n"


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    root = make_repo(
        manifest=MANIFEST,
        origin="https://github.com/acme/payments.git",
        agents=("dependency-digest",),
    )
    commit_all(root, "init")
    return root


def run_prepare(root: Path, out: Path, **kwargs: object) -> Prepared:
    return prepare(str(root), "coach", at=AT, out_dir=str(out), host="runner-1", **kwargs)  # type: ignore[arg-type]


def all_bytes(path: str) -> dict[str, bytes]:
    files = {}
    for folder, _, names in os.walk(path):
        for name in names:
            full = os.path.join(folder, name)
            files[os.path.relpath(full, path)] = Path(full).read_bytes()
    return files


def test_a_small_bundle(repo: Path, tmp_path: Path) -> None:
    result = run_prepare(repo, tmp_path / "out")
    assert result.status == "created"
    assert result.path == str(tmp_path / "out" / "acme__payments" / "coach" / "20270329T070000Z")
    assert sorted(all_bytes(result.path)) == [
        "PROMPT.md",
        "manifest.json",
        "parts/agent.md",
        "parts/memory.md",
        "parts/metrics.md",
        "parts/repository.md",
        "parts/run.md",
    ]
    assert verify(result.path) == []
    m = result.manifest
    assert m["slot"] == "2027-03-29T09:00:00+02:00"
    assert m["slot_utc"] == "2027-03-29T07:00:00+00:00"
    assert m["repo"]["slug"] == "acme/payments"
    assert m["repo"]["head"] == git(repo, "rev-parse", "HEAD").strip()
    assert m["repo"]["branch"] == "main" and m["repo"]["dirty"] is False
    assert m["agent"] == {**m["agent"], "name": "coach", "version": 1, "source": "builtin"}
    prompt = Path(result.path, "PROMPT.md").read_text()
    parts = [Path(result.path, "parts", f"{n}.md").read_text() for n in PARTS]
    assert prompt == "\n---\n\n".join(parts)
    assert "- Focus for this run: retry paths" in prompt
    assert "You are the **kaizen coach**" in prompt
    mode = os.stat(result.path).st_mode & 0o777
    assert mode == 0o700
    assert {
        os.stat(os.path.join(result.path, f)).st_mode & 0o777 for f in all_bytes(result.path)
    } == {0o600}


def test_the_large_case_fits_its_budget_and_says_what_it_dropped(
    repo: Path, tmp_path: Path
) -> None:
    (repo / ".kaizen" / "memory").mkdir()
    (repo / ".kaizen" / "memory" / "coach.md").write_text(memory_file(1000))
    (repo / ".kaizen" / "metrics").mkdir()
    (repo / ".kaizen" / "metrics" / "coach.jsonl").write_text(metrics_file(100_000))
    commit_all(repo, "history")

    first = run_prepare(repo, tmp_path / "a")
    prompt = Path(first.path, "PROMPT.md").read_text()
    assert estimate_tokens(prompt) <= 8000
    assert first.manifest["budget"] == {
        "tokens": 8000,
        "estimate": estimate_tokens(prompt),
        "method": "ceil(utf8_bytes / 4)",
    }
    dropped = first.manifest["dropped"]["memory"]
    assert 800 < len(dropped) < 1000
    assert first.manifest["dropped"]["metrics_runs"] == []  # those rows are newer than memory
    assert dropped[0] == "2024-01-01T01:00:00+00:00 (line 7)"  # the oldest unpinned goes first
    assert not any("(pinned)" in label for label in dropped)  # pinned ones are kept here
    assert "Observation number 999:" in prompt  # the newest survive
    assert "(pinned)" in prompt
    assert "Runs recorded: 100000." in prompt
    assert first.manifest["inputs"]["metrics"] == {
        "path": ".kaizen/metrics/coach.jsonl",
        "runs": 100_000,
        "window": 20,
    }
    assert first.event["data"]["truncation"]["memory_entries_dropped"] == len(dropped)

    again = run_prepare(repo, tmp_path / "b")
    assert again.digest == first.digest
    assert all_bytes(again.path) == all_bytes(first.path)  # byte-identical, every file

    commit_all(repo, "a new commit")
    moved = run_prepare(repo, tmp_path / "c")
    assert moved.digest != first.digest
    assert moved.key == first.key  # same repo, agent and slot: the same idempotency key


def test_a_memory_change_changes_the_digest(repo: Path, tmp_path: Path) -> None:
    first = run_prepare(repo, tmp_path / "a")
    (repo / ".kaizen" / "memory").mkdir()
    (repo / ".kaizen" / "memory" / "coach.md").write_text(memory_file(3))
    second = run_prepare(repo, tmp_path / "b")
    assert second.digest != first.digest
    # the tool's own notes are not a change to the code the agent reads
    assert second.manifest["repo"]["dirty"] is False


def test_preparing_a_slot_again_keeps_the_bundle_unless_forced(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_prepare(repo, out)
    assert run_prepare(repo, out) == first._replace(status="exists")
    commit_all(repo, "moved on")
    kept = run_prepare(repo, out)
    assert (kept.status, kept.digest) == ("exists", first.digest)
    assert kept.note is not None and "already prepared from other inputs" in kept.note
    rebuilt = run_prepare(repo, out, force=True)
    assert rebuilt.status == "replaced" and rebuilt.digest != first.digest
    assert verify(rebuilt.path) == []
    assert [p.name for p in (out / "acme__payments" / "coach").iterdir()] == ["20270329T070000Z"]


def test_a_later_time_in_the_same_slot_gives_the_same_bundle(repo: Path, tmp_path: Path) -> None:
    a = prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "a"), host="h")
    b = prepare(
        str(repo), "coach", at=AT + timedelta(days=5), out_dir=str(tmp_path / "b"), host="h"
    )
    assert (a.key, a.digest) == (b.key, b.digest)


@pytest.mark.parametrize(
    ("agent", "kwargs", "message"),
    [
        (
            "nope",
            {},
            'agent "nope" is not in {m} (it lists: coach, optimization-review, dependency-digest)',
        ),
        (
            "optimization-review",
            {},
            'agent "optimization-review" is disabled in {m}; use --force to prepare anyway',
        ),
        (
            "dependency-digest",
            {},
            'agent "dependency-digest" is paused until 2027-06-01 in {m}; '
            "use --force to prepare anyway",
        ),
        (
            "../etc",
            {},
            "'../etc' is not an agent name (lower-case a-z, 0-9, '.', '_', '-'; "
            "starting with a letter or digit)",
        ),
    ],
)
def test_refusals(
    repo: Path, tmp_path: Path, agent: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(KaizenError) as info:
        prepare(str(repo), agent, at=AT, out_dir=str(tmp_path / "out"), host="h", **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message.format(m=repo / ".kaizen" / "schedule.yml")
    assert not (tmp_path / "out").exists()


def test_force_prepares_a_disabled_agent(repo: Path, tmp_path: Path) -> None:
    result = prepare(
        str(repo), "optimization-review", at=AT, out_dir=str(tmp_path), host="h", force=True
    )
    assert result.status == "created"


def test_refuses_what_is_not_a_repository(tmp_path: Path, make_repo: Callable[..., Path]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(KaizenError, match="is not a git work tree"):
        prepare(str(plain), "coach", at=AT, out_dir=str(tmp_path / "o"), host="h")
    empty = make_repo(name="empty", manifest=MANIFEST)
    with pytest.raises(KaizenError, match="has no commit yet"):
        prepare(str(empty), "coach", at=AT, out_dir=str(tmp_path / "o"), host="h")
    absent = make_repo(name="absent")
    commit_all(absent)
    with pytest.raises(
        KaizenError, match="schedule.yml not found; create one with `kaizen-agentic schedule init`"
    ):
        prepare(str(absent), "coach", at=AT, out_dir=str(tmp_path / "o"), host="h")


def test_an_invalid_manifest_is_refused_with_its_problems(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    root = make_repo(manifest="version: 1\nagents:\n  - agent: coach\n")
    commit_all(root)
    with pytest.raises(InvalidFileError) as info:
        prepare(str(root), "coach", at=AT, out_dir=str(tmp_path / "o"), host="h")
    assert [str(p) for p in info.value.problems] == [
        f'{root}/.kaizen/schedule.yml:3:5: agents[0]: missing required key "schedule"'
    ]


def test_the_fixed_part_must_fit_the_budget(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    text = MANIFEST.replace("token_budget: 8000", "token_budget: 1000")
    root = make_repo(manifest=text, agents=("dependency-digest",))
    commit_all(root)
    with pytest.raises(KaizenError, match=r"alone need about \d+ tokens; the token budget is 1000"):
        prepare(str(root), "coach", at=AT, out_dir=str(tmp_path), host="h")


def test_a_repo_agent_overrides_the_builtin(repo: Path, tmp_path: Path) -> None:
    (repo / ".kaizen" / "agents").mkdir(exist_ok=True)
    (repo / ".kaizen" / "agents" / "coach.md").write_text(
        "---\nname: coach\nversion: 7\ndescription: ours\nreturns: a haiku\n---\nWrite a haiku.\n"
    )
    result = run_prepare(repo, tmp_path)
    assert result.manifest["agent"]["version"] == 7
    assert Path(result.path, "parts", "agent.md").read_text() == "Write a haiku.\n"


def test_no_secret_reaches_any_bundle_file_or_the_event(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    rng = random.Random(2027)
    made = {rule: sample(rule, rng) for rule in sorted(CASES)}
    planted = {rule: text for rule, (text, _) in made.items()}
    rules = sorted(planted)
    chunks = [rules[i::3] for i in range(3)]
    instructions = "\n".join(f"Use {planted[r]} carefully." for r in chunks[0])
    manifest = MANIFEST.replace(
        "    focus: retry paths\n",
        "    instructions: |\n" + "".join(f"      {line}\n" for line in instructions.splitlines()),
    )
    cred = sample("github-pat", rng)[0]
    root = make_repo(
        manifest=manifest,
        origin=f"https://x-access-token:{cred}@github.com/acme/p.git",
        agents=("dependency-digest",),
    )
    (root / ".kaizen" / "memory").mkdir()
    memory_text = "# Memory: coach\n\n" + "".join(
        f"## 2027-01-{i + 1:02d}\nThe key was {planted[r]} here.\n\n"
        for i, r in enumerate(chunks[1])
    )
    (root / ".kaizen" / "memory" / "coach.md").write_text(memory_text)
    (root / ".kaizen" / "metrics").mkdir()
    lines = [
        json.dumps(
            {
                "time": f"2027-02-{i + 1:02d}T00:00:00+00:00",
                "outcome": "success",
                "note": planted[r],
                "measures": {planted[r][:60]: 1},
            }
        )
        for i, r in enumerate(chunks[2])
    ]
    (root / ".kaizen" / "metrics" / "coach.jsonl").write_text("\n".join(lines) + "\n")
    commit_all(root)

    result = prepare(str(root), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    haystack = b"".join(all_bytes(result.path).values()) + json.dumps(result.event).encode()
    for rule, (_, secrets) in made.items():
        for secret in secrets:
            assert secret.encode() not in haystack, rule
    assert cred.encode() not in haystack
    assert b"Use [REDACTED:" in haystack and b"The key was [REDACTED:" in haystack
    assert result.manifest["repo"]["remote_url"] == (
        "https://x-access-token:[REDACTED:github-pat]@github.com/acme/p.git"
    )
    assert result.event["data"]["redactions"]["total"] >= len(chunks[0]) + len(chunks[1]) + 1
    assert (
        sum(result.manifest["redactions"].values()) == result.event["data"]["redactions"]["total"]
    )


def test_the_event_is_a_valid_cloudevent_and_matches_its_schema(repo: Path, tmp_path: Path) -> None:
    from cloudevents.core.formats.json import JSONFormat

    result = run_prepare(repo, tmp_path)
    raw = json.dumps(result.event)
    assert len(raw) < 64 * 1024
    parsed = JSONFormat().read(None, raw)
    assert parsed.get_specversion() == "1.0"
    assert parsed.get_type() == "kaizen.schedule.prepared"
    assert parsed.get_id() == result.key
    assert parsed.get_source() == "urn:kaizen-agentic:repo:acme/payments"
    assert parsed.get_extension("kaizenhost") == "runner-1"
    assert parsed.get_subject() == "acme/payments"
    assert parsed.get_time() == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert parsed.get_dataschema() == "urn:kaizen-agentic:schema:prepared-event:v1"
    assert parsed.get_extension("dataref") == Path(result.path, "manifest.json").as_uri()
    assert parsed.get_data() == result.event["data"]
    schema = json.loads(
        (ROOT / "src/kaizen_agentic/schemas/prepared-event.v1.schema.json").read_text()
    )
    jsonschema.validate(result.event["data"], schema, format_checker=jsonschema.FormatChecker())
    from referencing import Registry, Resource

    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    envelope = {"$ref": schema["$id"] + "#/$defs/envelope"}
    jsonschema.validate(
        result.event, envelope, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def test_a_slot_prepared_on_another_host_is_the_same_event_to_a_consumer(
    repo: Path, tmp_path: Path
) -> None:
    """Consumers deduplicate on source + id: the host is an extension attribute, not the
    source, so a checkout that moved hosts between ticks gives the same event."""
    from cloudevents.core.formats.json import JSONFormat

    one = prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "a"), host="runner-1").event
    two = prepare(str(repo), "coach", at=AT, out_dir=str(tmp_path / "b"), host="runner-2").event
    first, second = (JSONFormat().read(None, json.dumps(e)) for e in (one, two))
    assert (first.get_source(), first.get_id()) == (second.get_source(), second.get_id())
    assert (first.get_extension("kaizenhost"), second.get_extension("kaizenhost")) == (
        "runner-1",
        "runner-2",
    )


def test_a_crashed_writer_leaves_no_complete_looking_bundle(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    parent = out / "acme__payments" / "coach"
    parent.mkdir(parents=True)
    stale = parent / ".tmp-20270329T070000Z-1-deadbeef"
    (stale / "parts").mkdir(parents=True)
    (stale / "PROMPT.md").write_text("half")
    os.utime(stale, (0, 0))
    result = run_prepare(repo, out)
    assert sorted(p.name for p in parent.iterdir()) == ["20270329T070000Z"]  # swept
    assert verify(result.path) == []


def test_verify_notices_tampering(repo: Path, tmp_path: Path) -> None:
    result = run_prepare(repo, tmp_path)
    Path(result.path, "PROMPT.md").write_text("changed")
    assert verify(result.path) == ["PROMPT.md: contents do not match the manifest"]
    shutil.rmtree(Path(result.path, "parts"))
    assert "parts/agent.md: missing" in verify(result.path)


def test_prepare_needs_no_network(repo: Path, tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("unshare -rn is not permitted here")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [
            "unshare",
            "-rn",
            sys.executable,
            "-m",
            "kaizen_agentic",
            "schedule",
            "prepare",
            "coach",
            "--repo",
            str(repo),
            "--at",
            AT.isoformat(),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type"] == "kaizen.schedule.prepared"
