"""Closing the loop: results validated with locations, recorded once, and announced."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from kaizen_agentic.bundle import memory, metrics
from kaizen_agentic.bundle.prepare import prepare
from kaizen_agentic.bundle.result import complete, json_schema, parse_result
from kaizen_agentic.errors import InvalidFileError, KaizenError
from kaizen_agentic.main import main
from tests.bundle.test_store import AT, MANIFEST
from tests.conftest import commit_all

ROOT = Path(__file__).resolve().parents[2]
DONE_AT = datetime(2027, 3, 29, 7, 30, tzinfo=UTC)

RESULT = {
    "outcome": "success",
    "summary": "Focus on the retry tests.",
    "duration_s": 184.2,
    "tokens": 21877,
    "measures": {"focus_items": 3, "risks": 1},
    "learnings": [
        {"text": "Focus set: retry tests in payments/retry.py.", "pinned": False},
        {"text": "The team ships on Thursdays.", "pinned": True},
    ],
}

ANSWER = """\
## Where we stand
- fine

```kaizen-result
{
  "outcome": "partial",
  "summary": "No checkout available.",
  "measures": {"focus_items": 2}
}
```
"""


def test_results_are_plain_json_or_the_last_block_of_an_answer() -> None:
    assert parse_result(json.dumps(RESULT).encode(), "r.json") == RESULT
    parsed = parse_result(ANSWER.encode(), "answer.md")
    assert parsed == {
        "outcome": "partial",
        "summary": "No checkout available.",
        "duration_s": None,
        "tokens": None,
        "measures": {"focus_items": 2},
        "learnings": [],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"outcome": "great"}',
            [
                "r:1:13: outcome: expected one of success, partial, failure, skipped, got string "
                '"great"'
            ],
        ),
        (
            '{\n  "outcome": "success",\n  "measures": {"Bad": "x"}\n}',
            ['r:3:16: measures: measure name "Bad" must be 1-64 characters of a-z, 0-9, _ . -'],
        ),
        (
            '{"outcome": "success", "measures": {"ok": "x"}}',
            ['r:1:43: measures.ok: expected a number, got string "x"'],
        ),
        (
            '{"outcome": "success", "learnings": [{"pinned": true}]}',
            ['r:1:38: learnings[0]: missing required key "text"'],
        ),
        (
            "Just prose.",
            ["r:1:1: expected a JSON object, or Markdown with a ```kaizen-result block"],
        ),
        (
            'text\n```kaizen-result\n{"outcome": "success",\n "colour": 1}\n```\n',
            ['r:4:2: unknown key "colour"'],
        ),
    ],
)
def test_invalid_results_are_located(text: str, expected: list[str]) -> None:
    with pytest.raises(InvalidFileError) as info:
        parse_result(text.encode(), "r")
    assert [str(p) for p in info.value.problems] == expected


def test_the_committed_result_schema_accepts_the_documented_example() -> None:
    schema = json.loads((ROOT / "src/kaizen_agentic/schemas/result.v1.schema.json").read_text())
    assert schema == json_schema()
    jsonschema.validate(RESULT, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"outcome": "great"}, schema)


@pytest.fixture
def prepared(make_repo: Callable[..., Path], tmp_path: Path) -> tuple[Path, str]:
    root = make_repo(manifest=MANIFEST, agents=("dependency-digest",))
    commit_all(root)
    done = prepare(str(root), "coach", at=AT, out_dir=str(tmp_path / "out"), host="h")
    return root, done.path


def test_complete_records_once(prepared: tuple[Path, str]) -> None:
    root, path = prepared
    done = complete(path, parse_result(json.dumps(RESULT).encode(), "r"), at=DONE_AT, host="h")
    assert done.status == "completed"
    summary = metrics.summarize(str(root), "coach")
    assert summary.total_runs == 1
    key = done.event["data"]["idempotency_key"] if done.event else ""
    assert summary.window[0].bundle == key
    entries, _ = memory.read(str(root), "coach")
    assert [(e.text, e.pinned, e.bundle) for e in entries] == [
        ("Focus set: retry tests in payments/retry.py.\n", False, key),
        ("The team ships on Thursdays.\n", True, key),
    ]
    assert done.event is not None and done.event["type"] == "kaizen.schedule.completed"
    assert done.event["id"] == f"{key}.completed"
    before = {p: p.read_bytes() for p in (root / ".kaizen").rglob("*") if p.is_file()}
    again = complete(path, parse_result(json.dumps(RESULT).encode(), "r"), at=DONE_AT, host="h")
    assert (again.status, again.event) == ("already-completed", None)
    assert {p: p.read_bytes() for p in (root / ".kaizen").rglob("*") if p.is_file()} == before


def test_complete_refuses_a_tampered_bundle(prepared: tuple[Path, str]) -> None:
    _, path = prepared
    Path(path, "PROMPT.md").write_text("edited")
    with pytest.raises(KaizenError, match=r"is not an intact bundle: PROMPT\.md: contents do not"):
        complete(path, RESULT, at=DONE_AT, host="h")


def test_prepare_and_complete_through_the_cli(
    capsys: pytest.CaptureFixture[str], prepared: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = prepared
    outbox = tmp_path / "events.jsonl"
    out = tmp_path / "cli-out"
    argv = [
        "schedule",
        "prepare",
        "coach",
        "--repo",
        str(root),
        "--at",
        AT.isoformat(),
        "--out",
        str(out),
        "--outbox",
        str(outbox),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("prepared: coach for acme/payments, slot 2027-03-29T09:00:00+02:00\n")
    bundle_dir = out / "acme__payments" / "coach" / "20270329T070000Z"
    assert f"  bundle   {bundle_dir}\n" in text
    assert main([*argv, "--json"]) == 0
    event = json.loads(capsys.readouterr().out)
    lines = outbox.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [event["id"], event["id"]]  # same id
    answer = tmp_path / "answer.md"
    answer.write_text(ANSWER)
    done = [
        "schedule",
        "complete",
        str(bundle_dir),
        "--result",
        str(answer),
        "--at",
        DONE_AT.isoformat(),
    ]
    assert main(done) == 0
    assert capsys.readouterr().out == (
        f"completed: partial recorded in {root}/.kaizen/metrics/coach.jsonl\n"
        f"  event    {event['id']}.completed\n"
    )
    assert main(done) == 0
    assert capsys.readouterr().out == (  # a second call reports the same event
        f"already completed: {bundle_dir} (nothing changed)\n  event    {event['id']}.completed\n"
    )


def test_cli_prepare_reports_an_invalid_manifest(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    root = make_repo(
        manifest="version: 1\nagents:\n  - agent: coach\n    schedule: {interval: weekly, day: 8}\n"
    )
    commit_all(root)
    code = main(["schedule", "prepare", "coach", "--repo", str(root), "--out", str(tmp_path / "o")])
    manifest = root / ".kaizen" / "schedule.yml"
    assert code == 1
    assert capsys.readouterr().err == (
        f"{manifest}:4:39: agents[0].schedule.day: expected one of monday, tuesday, wednesday, "
        "thursday, friday, saturday, sunday, got integer 8\n"
        f"kaizen-agentic: error: {manifest}: 1 problem\n"
    )


def test_cli_prepare_with_a_sink_that_is_down_keeps_the_bundle(
    capsys: pytest.CaptureFixture[str],
    prepared: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kaizen_agentic.bundle import events
    from tests.loopback import closed_port_url

    monkeypatch.setattr(events.time, "sleep", lambda s: None)
    root, _ = prepared
    sink = closed_port_url()
    out = tmp_path / "o"
    code = main(
        [
            "schedule",
            "prepare",
            "coach",
            "--repo",
            str(root),
            "--at",
            AT.isoformat(),
            "--out",
            str(out),
            "--sink",
            sink,
            "--outbox",
            str(tmp_path / "box"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    bundle_dir = out / "acme__payments" / "coach" / "20270329T070000Z"
    assert captured.err.startswith(
        f"kaizen-agentic: error: bundle prepared at {bundle_dir}, but could not deliver the "
        f"event to {sink} after 4 attempts: "
    )
    assert (bundle_dir / "PROMPT.md").exists()
    assert (tmp_path / "box").read_text().count("\n") == 1


def test_cli_prepare_posts_to_a_live_sink(
    capsys: pytest.CaptureFixture[str], prepared: tuple[Path, str], tmp_path: Path
) -> None:
    from tests.loopback import Reply, serve

    root, _ = prepared
    with serve([Reply(503), Reply(202)]) as sink:
        code = main(
            [
                "schedule",
                "prepare",
                "coach",
                "--repo",
                str(root),
                "--at",
                AT.isoformat(),
                "--out",
                str(tmp_path / "o"),
                "--sink",
                sink.url + "/ingest",
            ]
        )
    assert code == 0
    assert [json.loads(s.body)["type"] for s in sink.seen] == ["kaizen.schedule.prepared"] * 2
