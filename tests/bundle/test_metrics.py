"""Run metrics: validated appends, streaming summaries, trends, and damaged files."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kaizen_agentic.bundle import metrics
from kaizen_agentic.errors import KaizenError

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def record(i: int, outcome: str = "success", **measures: float) -> metrics.RunRecord:
    return metrics.make_record(
        time=T0 + timedelta(days=i),
        outcome=outcome,
        duration_s=100 + i,
        tokens=1000 * i,
        measures=measures,
    )


def test_append_and_summarize(tmp_path: Path) -> None:
    root = str(tmp_path)
    for i in range(10):
        metrics.append(
            root,
            "coach",
            record(i, "failure" if i in (3, 7) else "success", coverage=50 + i, flaky=5),
        )
    summary = metrics.summarize(root, "coach", window=8)
    assert summary.total_runs == 10
    assert [r.time[:10] for r in summary.window] == [f"2027-03-{d:02d}" for d in range(3, 11)]
    assert summary.outcomes == {"failure": 2, "success": 6}
    assert summary.success_rate == 0.75
    assert summary.mean_duration_s == pytest.approx(105.5)
    assert [(t.measure, t.last, t.direction) for t in summary.trends] == [
        ("coverage", 59.0, "rising"),
        ("flaky", 5.0, "flat"),
    ]
    line = Path(metrics.metrics_path(root, "coach")).read_text().splitlines()[0]
    assert json.loads(line) == {
        "bundle": None,
        "duration_s": 100,
        "measures": {"coverage": 50, "flaky": 5},
        "outcome": "success",
        "time": "2027-03-01T09:00:00+00:00",
        "tokens": 0,
    }


def test_no_file_is_an_empty_summary(tmp_path: Path) -> None:
    assert metrics.summarize(str(tmp_path), "coach") == metrics.Summary(
        0, (), {}, None, None, None, (), 0
    )


def test_damaged_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    root = str(tmp_path)
    metrics.append(root, "coach", record(0))
    path = Path(metrics.metrics_path(root, "coach"))
    path.write_text(path.read_text() + 'not json\n{"time": 1}\n' + '{"outcome": "succ')
    metrics.append(root, "coach", record(1))  # starts on a fresh line after the torn one
    summary = metrics.summarize(root, "coach")
    assert [r.time[:10] for r in summary.window] == ["2027-03-01", "2027-03-02"]
    assert summary.malformed == 3
    assert summary.total_runs == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"outcome": "great"},
            "outcome must be one of success, partial, failure, skipped; got 'great'",
        ),
        ({"duration_s": -1.0}, "duration must be a finite number of seconds >= 0; got -1.0"),
        (
            {"duration_s": 10**400},
            "duration must be a finite number of seconds >= 0; got an integer of 401 digits",
        ),
        ({"tokens": -5}, "tokens must be >= 0; got -5"),
        ({"tokens": 10**13}, "tokens must be at most 1000000000000; got 10000000000000"),
        (
            {"measures": {"Bad Name": 1}},
            "measure name 'Bad Name' must be 1-64 characters of a-z, 0-9, '_', '.', '-'",
        ),
        ({"measures": {"x": float("nan")}}, "measure 'x' must be a finite number; got nan"),
        (
            {"measures": {"x": -(10**400)}},
            "measure 'x' must be a finite number; got a negative integer of 401 digits",
        ),
        ({"time": datetime(2027, 1, 1)}, "a run's time needs a UTC offset"),
    ],
)
def test_invalid_records_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"time": T0, "outcome": "success", **kwargs}
    with pytest.raises(KaizenError) as info:
        metrics.make_record(**args)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_a_large_history_is_streamed(tmp_path: Path) -> None:
    folder = tmp_path / ".kaizen" / "metrics"
    folder.mkdir(parents=True)
    line = json.dumps(record(0, coverage=1).as_dict(), separators=(",", ":")) + "\n"
    with open(folder / "coach.jsonl", "w") as handle:
        for _ in range(200):
            handle.write(line * 1000)  # 200,000 lines
    size = (folder / "coach.jsonl").stat().st_size
    tracemalloc.start()
    try:
        summary = metrics.summarize(str(tmp_path), "coach", window=20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.total_runs == 200_000
    assert len(summary.window) == 20
    assert peak < size / 10  # streamed: a fraction of the file is ever in memory


def test_has_bundle(tmp_path: Path) -> None:
    root = str(tmp_path)
    assert not metrics.has_bundle(root, "coach", "kz-1")
    metrics.append(root, "coach", record(0)._replace(bundle="kz-1"))
    assert metrics.has_bundle(root, "coach", "kz-1")
    assert not metrics.has_bundle(root, "coach", "kz-2")


def test_cli(capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]) -> None:
    from kaizen_agentic.main import main
    from tests.conftest import usage_error

    repo = make_repo()
    args = ["--repo", str(repo)]
    assert main(["metrics", "show", "coach", *args]) == 0
    assert "no runs recorded for coach" in capsys.readouterr().out
    assert (
        main(
            [
                "metrics",
                "record",
                "coach",
                "--outcome",
                "success",
                "--duration",
                "12.5",
                "--tokens",
                "900",
                "--measure",
                "focus_items=3",
                "--at",
                "2027-03-29T09:00:00+02:00",
                *args,
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == (
        f"recorded success at 2027-03-29T09:00:00+02:00 in {repo}/.kaizen/metrics/coach.jsonl\n"
    )
    assert main(["metrics", "show", "coach", "--json", *args]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["total_runs"], doc["success_rate"], doc["runs"][0]["measures"]) == (
        1,
        1.0,
        {"focus_items": 3},
    )
    assert (
        main(["metrics", "record", "coach", "--outcome", "success", "--measure", "x", *args]) == 2
    )
    err = capsys.readouterr().err
    assert usage_error(err, "metrics record", "--measure takes NAME=NUMBER, got 'x'")
