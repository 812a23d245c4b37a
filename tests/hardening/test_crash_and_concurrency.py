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
