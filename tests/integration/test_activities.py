"""The ActivityDefinition drafts: valid, disabled, and every command they name runs."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from tests.conftest import commit_all
from tests.loopback import Reply, serve

from kaizen_agentic.main import main
from kaizen_agentic.manifest.yamlsafe import load, to_python

ROOT = Path(__file__).resolve().parents[2]
DRAFTS = sorted((ROOT / "activities").glob("*.yaml"))
SCHEMA = json.loads(
    (ROOT / "src/kaizen_agentic/schemas/activity-definition.v1.schema.json").read_text()
)


def draft(path: Path) -> dict:  # type: ignore[type-arg]
    root, problems = load(path.read_text(), str(path))
    assert root is not None and problems == []
    value = to_python(root)
    assert isinstance(value, dict)
    return value


def test_there_are_two_drafts() -> None:
    assert [p.name for p in DRAFTS] == [
        "weekly-coach-orientation.yaml",
        "weekly-optimization-review.yaml",
    ]


@pytest.mark.parametrize("path", DRAFTS, ids=lambda p: p.name)
def test_drafts_validate_and_are_disabled(path: Path) -> None:
    doc = draft(path)
    jsonschema.validate(doc, SCHEMA)
    assert doc["enabled"] is False
    assert doc["metadata"]["name"] == path.stem


@pytest.mark.parametrize("path", DRAFTS, ids=lambda p: p.name)
def test_every_command_runs_against_the_example_fleet(
    path: Path,
    make_repo: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = draft(path)
    agent = doc["resolver"]["args"]["agent"]
    manifest = (
        "version: 1\nrepo: acme/pilot\nagents:\n"
        "  - agent: coach\n    schedule: {interval: weekly, day: monday, time: '07:00'}\n"
        "  - agent: optimization-review\n    schedule: {interval: weekly, day: monday, time: '07:00'}\n"
    )
    repo = make_repo("pilot", manifest=manifest)
    commit_all(repo)
    records = [
        {"slug": "acme/pilot", "host_paths": {"runner-1": str(repo)}},
        {"slug": "acme/elsewhere", "host_paths": {"runner-2": "/x"}},
    ]
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"outcome": "success", "measures": {"n": 1}}))
    with serve([Reply(200, json.dumps(records).encode())]) as hub:
        values = {
            "KAIZEN_HUB_URL": hub.url,
            "RUNNER_HOSTNAME": "runner-1",
            "TICK": "2027-03-29T07:30:00Z",
            "BUNDLE_DIR": str(tmp_path / "bundles"),
            "OUTBOX": str(tmp_path / "events.jsonl"),
            "RESULT": str(answer),
            "BUNDLE": str(tmp_path / "bundles" / "acme__pilot" / agent / "20270329T070000Z"),
        }
        monkeypatch.setenv("KAIZEN_HUB_TOKEN", "t")
        ran = 0
        for step in doc["steps"]:
            if "run" not in step:
                assert step["owner"] == "activity-core"
                continue
            command = step["run"]
            for key, value in values.items():
                command = command.replace("${" + key + "}", value)
            assert "${" not in command, command
            argv = shlex.split(command)
            assert argv[0] == "kaizen-agentic"
            assert main(argv[1:]) == 0, capsys.readouterr().err
            capsys.readouterr()
            ran += 1
        # the seed's suggested filter, as the hub receives it
        assert hub.seen and all(
            "kaizen_schedule_enabled=true&domain=custodian" in r.path for r in hub.seen
        )
        assert doc["resolver"]["args"]["domain"] == "custodian"
    assert ran == 3
    events = [json.loads(x)["type"] for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events == ["kaizen.schedule.prepared", "kaizen.schedule.completed"]
    assert os.path.exists(values["BUNDLE"])
