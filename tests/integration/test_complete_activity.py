"""``kaizen.complete`` as an activity: idempotent per bundle, expected failures not retried, a
held git lock retried. (The loop on a real server is in test_temporal_loop.py.)"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.bundle.test_commit import DONE, bundle, checkout, detach, no_identity, result
from tests.conftest import git

pytest.importorskip("temporalio")

from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from kaizen_agentic.integrations.temporal import (
    CompleteInput,
    CompleteOutput,
    HostActivities,
)

__all__ = ["checkout", "no_identity"]  # fixtures


def run(params: CompleteInput, scheduled: datetime = DONE) -> CompleteOutput:
    """One attempt of the activity on runner-1, scheduled at ``scheduled``."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, scheduled_time=scheduled)
    done: CompleteOutput = env.run(HostActivities("runner-1").complete, params)
    return done


def test_a_retry_or_a_second_call_reports_the_same_event_and_commit(
    checkout: Path, tmp_path: Path
) -> None:
    path = bundle(checkout, tmp_path / "out")
    params = CompleteInput(path, result=json.dumps(result("a")), commit=True)
    first = run(params)
    again = run(params, DONE + timedelta(hours=1))
    assert (first.status, again.status) == ("completed", "already-completed")
    assert first.event is not None and again.event == first.event
    assert first.event["time"] == DONE.isoformat() and first.event["kaizenhost"] == "runner-1"
    assert first.event["source"] == "urn:kaizen-agentic:repo:" + first.event["subject"]
    assert (first.commit_status, again.commit_status) == ("committed", "already-committed")
    assert first.commit_sha == again.commit_sha == git(checkout, "rev-parse", "HEAD").strip()
    assert (first.branch, first.hostname) == ("main", "runner-1")
    assert first.metrics_path == f"{checkout}/.kaizen/metrics/coach.jsonl"


def test_the_answer_may_be_a_file_on_the_host(checkout: Path, tmp_path: Path) -> None:
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(result("a")))
    done = run(CompleteInput(bundle(checkout, tmp_path / "out"), result_path=str(answer)))
    assert (done.status, done.commit_status, done.memory_path) == (
        "completed",
        None,
        f"{checkout}/.kaizen/memory/coach.md",
    )


@pytest.mark.parametrize(
    ("change", "kind", "message"),
    [
        (
            lambda p, _: CompleteInput(p, result='{"outcome": "great"}'),
            "InvalidFileError",
            'result:1:13: outcome: expected one of success, partial, failure, skipped, got string "great"',
        ),
        (
            lambda p, _: CompleteInput(p),
            "KaizenError",
            "kaizen.complete needs the agent's answer: result or result_path",
        ),
        (
            lambda p, t: CompleteInput(p, result_path=f"{t}/gone.md"),
            "KaizenError",
            "{tmp}/gone.md: no such file",
        ),
        (
            lambda p, t: CompleteInput(f"{t}/nowhere", result='{"outcome": "success"}'),
            "KaizenError",
            "{tmp}/nowhere is not a bundle (no manifest.json)",
        ),
    ],
    ids=["invalid-answer", "no-answer", "answer-missing", "not-a-bundle"],
)
def test_expected_failures_are_not_retried(
    checkout: Path,
    tmp_path: Path,
    change: Callable[[str, Path], CompleteInput],
    kind: str,
    message: str,
) -> None:
    params = change(bundle(checkout, tmp_path / "out"), tmp_path)
    with pytest.raises(ApplicationError) as caught:
        run(params)
    assert (caught.value.type, caught.value.non_retryable) == (kind, True)
    assert caught.value.message == message.format(tmp=tmp_path)


def test_a_refused_commit_is_not_retried_and_records_nothing(
    checkout: Path, tmp_path: Path
) -> None:
    path = bundle(checkout, tmp_path / "out")
    detach(checkout)
    with pytest.raises(ApplicationError) as caught:
        run(CompleteInput(path, result=json.dumps(result("a")), commit=True))
    assert (caught.value.type, caught.value.non_retryable) == ("KaizenError", True)
    real = os.path.realpath(checkout)
    assert caught.value.message == (
        f"HEAD is detached in {real}; name a branch to commit on (--branch NAME)"
    )
    assert not (checkout / ".kaizen" / "metrics").exists()


def test_a_git_lock_held_by_someone_else_is_retried(checkout: Path, tmp_path: Path) -> None:
    path = bundle(checkout, tmp_path / "out")
    params = CompleteInput(path, result=json.dumps(result("a")), commit=True)
    lock = checkout / ".git" / "index.lock"
    lock.touch()  # a person's `git commit` waiting in their editor
    head = git(checkout, "rev-parse", "HEAD")
    with pytest.raises(ApplicationError) as caught:
        run(params)
    assert (caught.value.type, caught.value.non_retryable) == ("GitBusy", False)
    assert caught.value.message.startswith(
        f"git update-index failed in {os.path.realpath(checkout)}: "
    )
    assert git(checkout, "rev-parse", "HEAD") == head  # nothing moved
    lock.unlink()
    retry = run(params, DONE + timedelta(minutes=1))
    assert (retry.status, retry.commit_status) == ("already-completed", "committed")
    assert git(checkout, "log", "-1", "--format=%aI") == "2027-03-22T08:12:00+00:00\n"
