"""Crashes and races: SIGKILL at random moments, and eight writers at once, lose nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kaizen_agentic.bundle.store import verify
from tests.conftest import commit_all

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
AT = "2027-03-29T12:00:00Z"
MANIFEST = "version: 1\nrepo: acme/crash\nagents:\n  - agent: coach\n    schedule: {interval: daily, time: '09:00'}\n"
KILL_TRIALS = 60
WRITERS = 8


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "kaizen_agentic", *args]


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    root = make_repo(manifest=MANIFEST)
    memory = root / ".kaizen" / "memory"
    memory.mkdir()
    (memory / "coach.md").write_text(
        "".join(f"## 2027-01-{d:02d}\nnote {d}\n\n" for d in range(1, 29))
    )
    commit_all(root)
    return root


def bundles(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_dir() and p.name.startswith("2027")]


def made_so_far(out: Path) -> int:
    """Bundles in place while a run is writing (its temporary folders come and go)."""
    return sum(name.startswith("2027") for _, folders, _ in os.walk(out) for name in folders)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_bundle_that_looks_complete(
    repo: Path, tmp_path: Path
) -> None:
    rng = random.Random(2027)
    out = tmp_path / "out"
    killed = 0
    for trial in range(KILL_TRIALS):
        target = out / f"t{trial}"
        child = subprocess.Popen(
            cli(
                "schedule",
                "prepare",
                "coach",
                "--repo",
                str(repo),
                "--at",
                AT,
                "--out",
                str(target),
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        time.sleep(rng.uniform(0.0, 0.25))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        child.wait()
        for found in bundles(target):
            assert verify(str(found)) == [], f"trial {trial}: {found} is incomplete"
    assert killed >= KILL_TRIALS // 4  # the kills really landed mid-run
    for trial in range(KILL_TRIALS):  # a re-run completes every slot
        target = out / f"t{trial}"
        done = subprocess.run(
            cli(
                "schedule",
                "prepare",
                "coach",
                "--repo",
                str(repo),
                "--at",
                AT,
                "--out",
                str(target),
                "--json",
            ),
            capture_output=True,
            text=True,
            env=ENV,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        (found,) = bundles(target)
        assert verify(str(found)) == []


@pytest.mark.slow
def test_eight_processes_preparing_one_slot(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    children = [
        subprocess.Popen(
            cli(
                "schedule",
                "prepare",
                "coach",
                "--repo",
                str(repo),
                "--at",
                AT,
                "--out",
                str(out),
                "--json",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        for _ in range(WRITERS)
    ]
    results = [c.communicate() for c in children]
    assert [c.returncode for c in children] == [0] * WRITERS, [e for _, e in results]
    events = [json.loads(o) for o, _ in results]
    assert len({e["id"] for e in events}) == 1
    assert len({e["data"]["bundle"]["digest"] for e in events}) == 1
    (found,) = bundles(out)
    assert verify(str(found)) == []
    leftovers = [p for p in found.parent.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


@pytest.mark.slow
def test_eight_processes_appending_metrics_lose_nothing(repo: Path) -> None:
    per_writer = 40
    script = (
        "import sys\n"
        "from datetime import datetime, UTC, timedelta\n"
        "from kaizen_agentic.bundle.metrics import append, make_record\n"
        "w = int(sys.argv[2])\n"
        f"for i in range({per_writer}):\n"
        "    r = make_record(time=datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=i),\n"
        "                    outcome='success', measures={'writer': w, 'i': i}, bundle=f'w{w}-{i}')\n"
        "    append(sys.argv[1], 'coach', r)\n"
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script, str(repo), str(w)], env=ENV)
        for w in range(WRITERS)
    ]
    assert [c.wait() for c in children] == [0] * WRITERS
    lines = (repo / ".kaizen" / "metrics" / "coach.jsonl").read_text().splitlines()
    assert len(lines) == WRITERS * per_writer
    seen = {json.loads(line)["bundle"] for line in lines}  # every line is whole JSON
    assert seen == {f"w{w}-{i}" for w in range(WRITERS) for i in range(per_writer)}


@pytest.mark.slow
def test_eight_processes_adding_memory_lose_nothing(repo: Path) -> None:
    children = [
        subprocess.Popen(
            cli("memory", "add", "coach", f"learning from writer {w}", "--repo", str(repo)),
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for w in range(WRITERS)
    ]
    assert [c.wait() for c in children] == [0] * WRITERS
    text = (repo / ".kaizen" / "memory" / "coach.md").read_text()
    assert all(f"learning from writer {w}" in text for w in range(WRITERS))
    assert text.count("note 1\n") == 1  # the earlier entries are still there, once


# --- issue 21, row 9: every prepared event is delivered at least once --------------------------

DUE_REPOS = 6
DUE_KILL_TRIALS = 20
DUE_CONCURRENT_TRIALS = 8


@pytest.fixture
def fleet(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    records = []
    for i in range(DUE_REPOS):
        root = make_repo(f"f{i}", manifest=MANIFEST.replace("acme/crash", f"acme/f{i}"))
        commit_all(root)
        records.append({"slug": f"acme/f{i}", "host_paths": {"h": str(root)}})
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(records))
    return roster


def due(roster: Path, out: Path, outbox: Path) -> list[str]:
    return cli(
        *("schedule", "prepare", "--due", "--at", AT, "--window", "6h", "--jobs", "1"),
        *("--roster", str(roster), "--hostname", "h", "--out", str(out), "--outbox", str(outbox)),
    )


def announced(outbox: Path) -> list[str]:
    if not outbox.exists():
        return []
    return [json.loads(line)["id"] for line in outbox.read_text().splitlines() if line]


def settled(out: Path) -> list[str]:
    """Every bundle is intact and has no event waiting; their keys."""
    keys = []
    for found in bundles(out):
        assert verify(str(found)) == [], found
        assert sorted(p.name for p in found.iterdir() if p.name.startswith(".")) == []
        keys.append(json.loads((found / "manifest.json").read_text())["key"])
    assert list(out.rglob(".tmp-*")) == []
    return sorted(keys)


@pytest.mark.slow
def test_prepare_due_killed_then_rerun_announces_every_bundle_once(
    fleet: Path, tmp_path: Path
) -> None:
    rng = random.Random(21)
    mid_run = 0
    for trial in range(DUE_KILL_TRIALS):
        out, outbox = tmp_path / f"t{trial}", tmp_path / f"t{trial}.jsonl"
        child = subprocess.Popen(
            due(fleet, out, outbox), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # Aim by progress, not by a clock (a loaded machine moves every clock): kill once a
        # random number of bundles is on disk, or at once for the trials that aim at zero.
        aim, deadline = rng.randrange(DUE_REPOS), time.monotonic() + 60
        while made_so_far(out) < aim and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
        child.wait()
        made = len(bundles(out))
        mid_run += 0 < made < DUE_REPOS
        for found in bundles(out):
            assert verify(str(found)) == [], f"trial {trial}: {found}"
        done = subprocess.run(due(fleet, out, outbox), env=ENV, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        keys = settled(out)
        assert len(keys) == DUE_REPOS
        assert sorted(announced(outbox)) == keys, f"trial {trial}: killed after {made} bundles"
    assert mid_run >= DUE_KILL_TRIALS // 4  # the kills really landed between bundles


@pytest.mark.slow
def test_three_concurrent_due_runs_one_killed_announce_nothing_twice(
    fleet: Path, tmp_path: Path
) -> None:
    rng = random.Random(2103)
    for trial in range(DUE_CONCURRENT_TRIALS):
        out, outbox = tmp_path / f"c{trial}", tmp_path / f"c{trial}.jsonl"
        children = [
            subprocess.Popen(
                due(fleet, out, outbox),
                env=ENV,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(3)
        ]
        time.sleep(rng.uniform(0.3, 2.0))
        children[rng.randrange(3)].send_signal(signal.SIGKILL)
        for child in children:
            child.wait()
        ids = announced(outbox)
        assert len(ids) == len(set(ids)), f"trial {trial}: an event twice"
        for found in bundles(out):
            assert verify(str(found)) == []
        subprocess.run(due(fleet, out, outbox), env=ENV, capture_output=True, check=True)
        assert sorted(announced(outbox)) == settled(out)  # each once, after one more run


# --- issue 21, row 21: three processes completing one bundle record it once --------------------

COMPLETE_ROUNDS = 10
COMPLETER = """
import json, sys
from datetime import datetime, UTC
from kaizen_agentic.bundle.result import complete, parse_result
result = parse_result(json.dumps({"outcome": "success",
    "learnings": [{"text": "learned once"}]}).encode(), "r")
print("ready", flush=True)
sys.stdin.readline()
done = complete(sys.argv[1], result, at=datetime(2027, 4, 1, tzinfo=UTC), host="h")
print(done.status, flush=True)
"""


@pytest.mark.slow
def test_three_processes_completing_one_bundle_record_it_once(repo: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from kaizen_agentic.bundle import memory, metrics
    from kaizen_agentic.bundle.prepare import prepare

    for day in range(COMPLETE_ROUNDS):
        at = datetime(2027, 3, 1, 12, tzinfo=UTC) + timedelta(days=day)
        bundle = prepare(str(repo), "coach", at=at, out_dir=str(tmp_path / "out"), host="h")
        children = [
            subprocess.Popen(
                [sys.executable, "-c", COMPLETER, bundle.path],
                env=ENV,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for child in children:  # all three imported and waiting: then go at once
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        statuses = sorted(child.communicate()[0].strip() for child in children)
        assert statuses == ["already-completed", "already-completed", "completed"], day
        records = metrics.summarize(str(repo), "coach", window=1000).window
        assert [r.bundle for r in records].count(bundle.key) == 1
        entries, _ = memory.read(str(repo), "coach")
        assert [e.bundle for e in entries].count(bundle.key) == 1
