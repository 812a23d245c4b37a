"""What reaches a terminal, a JSON reader and Prometheus (issue 21, rows 10, 16 and 17): control
characters escaped in all terminal output, strict JSON only, and Prometheus text that reads back
exactly the report's values."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kaizen_agentic import output
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.main import main
from kaizen_agentic.views.report import AgentReport, FleetReport, Measure, openmetrics

MANIFEST = "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily, time: '09:00'}\n"
SINCE, UNTIL = "2027-03-01T00:00:00+00:00", "2027-04-01T00:00:00+00:00"
# Escape sequences a hostile file might carry: clear the screen, retitle the window, write the
# clipboard (OSC 52), a C1 control sequence introducer, a carriage return that hides text.
ESCAPES = ["\x1b[2J", "\x1b]0;pwned\x07", "\x1b]52;c;ZXZpbA==\x07", "\x9b31m", "\rhidden"]
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def strict(text: str) -> Any:
    """JSON as a strict parser reads it: NaN and Infinity are errors."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    root = make_repo("r", manifest=MANIFEST)
    (root / ".kaizen" / "metrics").mkdir()
    (root / ".kaizen" / "memory").mkdir()
    return root


def metrics_file(root: Path, *lines: str) -> None:
    (root / ".kaizen" / "metrics" / "coach.jsonl").write_text("".join(f"{x}\n" for x in lines))


GOOD = json.dumps(
    {"time": "2027-03-29T09:10:00+00:00", "outcome": "success", "tokens": 5, "measures": {"cov": 1}}
)


# --- row 16: control characters escaped in all terminal output ----------------------------------


@pytest.mark.parametrize("escape", ESCAPES)
def test_metrics_show_prints_no_escape_sequence(
    escape: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_time = json.dumps({"time": f"2027-03-29T09:00:00+00:00{escape}", "outcome": "success"})
    bad_name = json.dumps(
        {"time": "2027-03-29T09:05:00+00:00", "outcome": "success", "measures": {escape: 1}}
    )
    metrics_file(repo, bad_time, bad_name, GOOD)
    code, out, err = run(capsys, "metrics", "show", "coach", "--repo", str(repo))
    assert (code, err) == (0, "")
    assert not RAW.search(out)
    assert "2027-03-29T09:10:00+00:00  success" in out and "cov=1" in out
    code, out, _ = run(capsys, "metrics", "show", "coach", "--repo", str(repo), "--json")
    doc = strict(out)
    assert (doc["malformed"], [r["time"] for r in doc["runs"]]) == (
        2,
        ["2027-03-29T09:10:00+00:00"],
    )


@pytest.mark.parametrize("escape", ESCAPES[:-1])  # a carriage return is a line end in memory
def test_memory_show_escapes_learnings(
    escape: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".kaizen" / "memory" / "coach.md").write_text(
        f"# Memory: coach\n\n## 2027-03-20\nKeep {escape} the retry tests.\n"
    )
    code, out, err = run(capsys, "memory", "show", "coach", "--repo", str(repo))
    assert (code, err) == (0, "")
    assert not RAW.search(out)
    assert f"Keep {output.escape(escape)} the retry tests." in out


def test_a_result_outcome_in_a_validation_error_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = "\x1b]0;pwned\x07\x1b[2J\nkaizen-agentic: all good"
    result = tmp_path / "r.json"
    result.write_text(json.dumps({"outcome": outcome}))
    code, out, err = run(capsys, "schedule", "complete", str(tmp_path), "--result", str(result))
    assert (code, out) == (1, "")
    assert err == (
        f"{result}:1:13: outcome: expected one of success, partial, failure, skipped, got string "
        '"\\x1b]0;pwned\\x07\\x1b[2J\\nkaizen-agentic: all good"\n'
        f"kaizen-agentic: error: {result}: 1 problem\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["schedule", "validate", "/nonexistent/\x1b]0;x\x07.yml"],
        ["memory", "show", "coach\x1b[2J"],
        ["schedule", "list", "--at", "2027-01-01T00:00:00\x9b2J"],
        ["schedule", "discover", "--roster", "/nonexistent/\x1b[2J.json"],
        ["no-such-verb\x1b[2J"],
    ],
)
def test_no_command_writes_a_control_character_it_was_given(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code in (1, 2)
    assert not RAW.search(out + err), out + err
    assert "\\x1b" in out + err or "\\x9b" in out + err


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_keeps_its_own_colours_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTty()
    terminal = output.Terminal(stream)
    terminal.write(output.paint("ok", "green", True) + " \x1b]0;t\x07 \x1b[31mred\x1b[0m\t\n")
    assert stream.getvalue() == "\x1b[32mok\x1b[0m \\x1b]0;t\\x07 \x1b[31mred\x1b[0m\t\n"
    plain = io.StringIO()
    output.Terminal(plain).write(output.paint("ok", "green", True) + "\r\x00\u202e\ud800")
    assert plain.getvalue() == "\\x1b[32mok\\x1b[0m\\r\\x00\\u202e\\ud800"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, é and 日本", "plain text, é and 日本"),
        ("two\nlines\tand a tab", "two\nlines\tand a tab"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x07\x08\x7f\x85\x9b", "\\x07\\x08\\x7f\\x85\\x9b"),
        ("\u2028\u2029\u202e\u2066", "\\u2028\\u2029\\u202e\\u2066"),
    ],
)
def test_escape(text: str, shown: str) -> None:
    assert output.escape(text) == shown
    assert "\n" not in output.escape(text, layout=False)


# --- row 17: non-finite numbers are malformed, JSON is strict -----------------------------------

NON_FINITE = [
    '{"time": "2027-03-29T09:00:00+00:00", "outcome": "success", "duration_s": NaN}',
    '{"time": "2027-03-29T09:01:00+00:00", "outcome": "success", "measures": {"x": Infinity}}',
    '{"time": "2027-03-29T09:02:00+00:00", "outcome": "success", "tokens": -Infinity}',
    '{"time": "2027-03-29T09:03:00+00:00", "outcome": "failure", "duration_s": 1e999}',
]


def test_non_finite_numbers_are_malformed_lines(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics_file(repo, *NON_FINITE, GOOD)
    code, out, _ = run(capsys, "metrics", "show", "coach", "--repo", str(repo), "--json")
    doc = strict(out)
    assert (code, doc["malformed"], doc["total_runs"]) == (0, 4, 5)
    assert [r["outcome"] for r in doc["runs"]] == ["success"]
    assert doc["mean_duration_s"] is None and doc["outcomes"] == {"success": 1}
    code, out, _ = run(capsys, "metrics", "report", "--repo", str(repo), "--json",
                       "--since", SINCE, "--until", UNTIL)  # fmt: skip
    (agent,) = strict(out)["agents"]
    assert (code, agent["runs"]["success"], agent["malformed_lines"]) == (0, 1, 4)
    assert sum(agent["runs"].values()) == 1


def test_huge_finite_numbers_give_finite_means(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = [
        json.dumps({"time": f"2027-03-29T09:0{i}:00+00:00", "outcome": "success",
                    "duration_s": 1.5e308, "measures": {"m": 1.7e308}})
        for i in range(5)
    ]  # fmt: skip
    metrics_file(repo, *big)
    code, out, _ = run(capsys, "metrics", "show", "coach", "--repo", str(repo), "--json")
    doc = strict(out)
    assert code == 0 and doc["mean_duration_s"] == pytest.approx(1.5e308)
    assert doc["trends"] == [
        {"direction": "flat", "last": 1.7e308, "mean": 1.7e308, "measure": "m"}
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration", "nan"], "duration must be a finite number of seconds >= 0; got nan"),
        (["--duration", "inf"], "duration must be a finite number of seconds >= 0; got inf"),
        (["--measure", "x=1e999"], "measure 'x' must be a finite number; got inf"),
        (["--measure", "x=-1e999"], "measure 'x' must be a finite number; got -inf"),
    ],
)
def test_recording_a_non_finite_number_is_refused(
    argv: list[str], message: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "metrics", "record", "coach", "--repo", str(repo), "--outcome", "success", *argv
    )
    assert (code, out, err) == (1, "", f"kaizen-agentic: error: {message}\n")
    assert not (repo / ".kaizen" / "metrics" / "coach.jsonl").exists()


@pytest.mark.parametrize("value", ["nan", "-Infinity"])
def test_a_measure_that_is_not_a_number_is_a_usage_error(
    value: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "metrics", "record", "coach", "--repo", str(repo),
                       "--outcome", "success", "--measure", f"x={value}")  # fmt: skip
    assert code == 2 and err.endswith(f"error: --measure x: {value!r} is not a number\n")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_every_json_writer_refuses_non_finite_numbers(value: float) -> None:
    for write in (output.to_json, output.compact_json):
        with pytest.raises(ValueError, match="refusing to write non-standard JSON"):
            write({"x": [value]})


def test_json_output_escapes_what_a_terminal_acts_on() -> None:
    value = {"k\x85": "\x1b[2J\x9b\u2028\ud800 é"}
    for text in (output.to_json(value), output.compact_json(value)):
        assert not RAW.search(text.replace("\n", "")) and "\u2028" not in text
        assert json.loads(text) == value


def test_no_json_writer_but_output() -> None:
    """One place writes JSON: a ``json.dumps`` elsewhere would skip ``allow_nan=False``."""
    src = Path(__file__).resolve().parents[2] / "src" / "kaizen_agentic"
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "output.py" and re.search(r"json\.dumps?\(", p.read_text())
    ]
    assert offenders == []


# --- row 10: the Prometheus text reads back exactly the report's values ------------------------


def prom_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text):
        assert family.documentation.startswith(("Runs", "Slots", "Tokens", "When", "The last"))
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, key
            out[key] = s.value
    return out


def expected_samples(doc: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from datetime import datetime

    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for a in doc["agents"]:
        labels = (("agent", a["agent"]), ("repo", a["repo"]))

        def put(name: str, value: float, *extra: tuple[str, str], base: Any = labels) -> None:
            out[(name, tuple(sorted((*base, *extra))))] = value

        for outcome, n in a["runs"].items():
            put("kaizen_runs_total", n, ("outcome", outcome))
        put("kaizen_missed_slots", len(a["missed_slots"]))
        put("kaizen_tokens_total", a["tokens"]["total"])
        if a["last_run"]:
            put(
                "kaizen_last_run_timestamp_seconds",
                datetime.fromisoformat(a["last_run"]).timestamp(),
            )
        for m in a["measures"]:
            name = "kaizen_measure_" + re.sub(r"[^a-zA-Z0-9_]", "_", m["name"])
            put(name, m["last"], ("measure", m["name"]))
    return out


def test_a_measure_name_cannot_forge_a_sample(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = 'x\nkaizen_runs_total{repo="acme/other",agent="coach",outcome="success"} 99\n# x'
    evil = json.dumps(
        {"time": "2027-03-29T09:00:00+00:00", "outcome": "failure", "measures": {forged: 1}}
    )
    dotted = json.dumps(
        {
            "time": "2027-03-29T09:20:00+00:00",
            "outcome": "success",
            "measures": {"a.b": 2, "a_b": 3},
        }
    )
    metrics_file(repo, evil, GOOD, dotted)
    prom = tmp_path / "kaizen.prom"
    code, out, err = run(capsys, "metrics", "report", "--repo", str(repo), "--json",
                         "--since", SINCE, "--until", UNTIL, "--openmetrics", str(prom))  # fmt: skip
    assert (code, err) == (0, f"wrote {prom}\n")
    doc = strict(out)
    assert doc["agents"][0]["malformed_lines"] == 1
    samples = prom_samples(prom.read_text())
    assert samples == expected_samples(doc)  # exactly: no forged sample, nothing missing
    assert not any(dict(labels).get("repo") == "acme/other" for _, labels in samples)
    assert (
        samples[
            ("kaizen_measure_a_b", (("agent", "coach"), ("measure", "a.b"), ("repo", "acme/r")))
        ]
        == 2
    )


def agent_report(slug: str, agent: str, measures: dict[str, float]) -> AgentReport:
    return AgentReport(
        slug, agent, "enabled", {"success": 1}, None, None, 1, (), 7, None, 0.0, None, 0, None, 0,
        True, tuple(Measure(n, v, v, "n/a", ()) for n, v in measures.items()), 0, {},
    )  # fmt: skip


def test_hostile_names_are_escaped_and_read_back_exactly() -> None:
    from datetime import UTC, datetime

    names = ['quote"d', "back\\slash", "new\nline", "brace}{", "sp ace", "é日本", "a.b", "a_b"]
    agent = agent_report('acme/"x"\\y', "co\nach", {n: float(i) for i, n in enumerate(names)})
    report = FleetReport(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), "s",
                         (agent,), ())  # fmt: skip
    samples = prom_samples(openmetrics(report))
    measured = {
        dict(labels)["measure"]: value
        for (name, labels), value in samples.items()
        if name.startswith("kaizen_measure_")
    }
    assert measured == {n: float(i) for i, n in enumerate(names)}
    assert {dict(labels)["repo"] for _, labels in samples} == {'acme/"x"\\y'}
    assert {dict(labels)["agent"] for _, labels in samples} == {"co\nach"}


@pytest.mark.parametrize("char", ["\r", "\x1b", "\x00", "\x85", "\u2028", "\ud800"])
def test_a_label_the_format_cannot_carry_is_refused(char: str) -> None:
    from datetime import UTC, datetime

    agent = agent_report("acme/a", "coach", {f"m{char}": 1.0})
    report = FleetReport(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), "s",
                         (agent,), ())  # fmt: skip
    with pytest.raises(KaizenError) as info:
        openmetrics(report)
    assert str(info.value) == (
        f"cannot write the Prometheus text: label measure {'m' + char!r} holds a control "
        f"character (U+{ord(char):04X}) at position 1"
    )
