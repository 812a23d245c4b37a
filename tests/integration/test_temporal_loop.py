"""The whole loop on a real Temporal server: examples/temporal_loop.py's workflow runs a tick on
two hosts (each its own worker process), a fake agent answers each bundle, and kaizen.complete
records and commits each run on the host holding its checkout, with one host killed (SIGKILL)
between prepare and complete and started again. Every prepared bundle is completed exactly once,
each run is one commit of its agent's memory and metrics, and the checkouts' own changes (staged,
unstaged, untracked) are as they were."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import commit_all, git
from tests.integration.hosts import HostProcess

pytest.importorskip("temporalio")

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "kaizen-loop"
HOSTS = ("runner-a", "runner-b")
TICK = "2027-03-22T09:00:00+00:00"
DAILY = "    schedule: {interval: daily, time: '09:00'}\n"
REPOS = {
    # slug: (hosts holding the checkout, agents due at the tick)
    "acme/alpha": (("runner-a",), ("coach", "optimization-review")),
    "acme/beta": (("runner-b",), ("coach",)),
    "acme/shared": (("runner-a", "runner-b"), ("coach",)),  # still runs once, on runner-a
}


def loop_host(address: str, name: str, tmp: Path) -> HostProcess:
    """One runner host: tests/integration/loop_worker.py in its own process."""
    argv = [sys.executable, str(Path(__file__).with_name("loop_worker.py"))]
    for option, value in (
        ("--address", address),
        ("--hostname", name),
        ("--task-queue", QUEUE),
        ("--out", str(tmp / "out" / name)),
        ("--gate", str(tmp / "gate")),
        ("--answers", str(tmp / "answers" / name)),
    ):
        argv += [option, value]
    return HostProcess(argv, tmp / f"{name}.log")


@pytest.fixture
def fleet(make_repo: Callable[..., Path], tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """The roster, and each checkout with a staged change, an unstaged one and an untracked file."""
    records, checkouts = [], {}
    for slug, (hosts, agents) in REPOS.items():
        body = "".join(f"  - agent: {a}\n{DAILY}" for a in agents)
        manifest = f"version: 1\nrepo: {slug}\ntimezone: UTC\nagents:\n{body}"
        repo = make_repo(f"{hosts[0]}/{slug.split('/')[1]}", manifest=manifest)
        (repo / "README.md").write_text("v1\n")
        (repo / "app.py").write_text("x = 1\n")
        commit_all(repo, "start")
        (repo / "README.md").write_text("v2, staged\n")
        git(repo, "add", "README.md")
        (repo / "app.py").write_text("x = 2\n")
        (repo / "scratch.txt").write_text("mine\n")
        records.append({"slug": slug, "host_paths": {h: str(repo) for h in hosts}})
        checkouts[slug] = repo
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(records))
    return roster, checkouts


@pytest.fixture
def hosts(temporal_server: str, tmp_path: Path) -> Iterator[dict[str, HostProcess]]:
    (tmp_path / "gate").touch()  # the agents wait until the test lifts it
    out = {h: loop_host(temporal_server, h, tmp_path) for h in HOSTS}
    for host in out.values():
        host.start()
    yield out
    for host in out.values():
        host.stop()


def example() -> Any:
    """examples/temporal_loop.py, imported as the workers import it."""
    import importlib.util

    if "temporal_loop" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "temporal_loop", ROOT / "examples" / "temporal_loop.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["temporal_loop"] = module
        spec.loader.exec_module(module)
    return sys.modules["temporal_loop"]


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain=v1", "--untracked-files=all")


async def until(found: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := found()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)
    return value


async def run_loop(address: str, roster: Path, tmp: Path, hosts: dict[str, HostProcess]) -> Any:
    from temporalio.client import Client

    from kaizen_agentic.integrations.temporal import FleetTickInput

    LoopInput, LoopOutput = example().LoopInput, example().LoopOutput

    client = await Client.connect(address)
    params = LoopInput(
        tick=FleetTickInput(
            roster_file=str(roster), at=TICK, task_queue=QUEUE, activity_seconds=10
        ),
        agent_seconds=5,  # the killed host's agent is tried again 5 s after it started
    )
    start = {"task_queue": f"{QUEUE}-loop", "result_type": LoopOutput}
    handle = await client.start_workflow("example.KaizenLoop", params, id="loop-1", **start)
    await until(lambda: list(tmp.glob("started-runner-b-*")), 60)  # prepared, agent running
    assert not list((tmp / "out" / "runner-b").glob("*/*/*/completed.json"))
    hosts["runner-b"].kill()
    (tmp / "gate").unlink()
    hosts["runner-b"].start()
    first = await asyncio.wait_for(handle.result(), 120)
    # the same tick again (a retried schedule, an overlapping window): nothing runs twice
    again = await client.execute_workflow("example.KaizenLoop", params, id="loop-2", **start)
    return first, again


@pytest.mark.slow
def test_the_loop_completes_every_bundle_once_with_a_host_killed_midway(
    temporal_server: str,
    fleet: tuple[Path, dict[str, Path]],
    hosts: dict[str, HostProcess],
    tmp_path: Path,
) -> None:
    roster, checkouts = fleet
    before = {slug: status(repo) for slug, repo in checkouts.items()}
    first, again = asyncio.run(run_loop(temporal_server, roster, tmp_path, hosts))

    assert first.failed == {} and (again.completed, again.failed) == ([], {})
    runs = {(c.event["subject"], c.event["data"]["agent"]): c for c in first.completed if c.event}
    assert len(runs) == len(first.completed) == 4
    assert {run: c.hostname for run, c in runs.items()} == {
        ("acme/alpha", "coach"): "runner-a",
        ("acme/alpha", "optimization-review"): "runner-a",
        ("acme/beta", "coach"): "runner-b",  # its host was killed before its completion
        ("acme/shared", "coach"): "runner-a",
    }
    assert {(c.status, c.commit_status) for c in runs.values()} == {("completed", "committed")}

    # every prepared bundle, on the host that holds its checkout, completed once
    prepared = sorted((tmp_path / "out").glob("*/*/*/*/manifest.json"))
    keys = {json.loads(m.read_text())["key"] for m in prepared}
    assert len(prepared) == 4 and all(m.with_name("completed.json").exists() for m in prepared)
    assert keys == {c.event["data"]["idempotency_key"] for c in runs.values() if c.event}

    for slug, repo in checkouts.items():
        assert status(repo) == before[slug] == "M  README.md\n M app.py\n?? scratch.txt\n"
        mine = {k[1]: c for k, c in runs.items() if k[0] == slug}
        log = git(repo, "log", "--format=%H %(trailers:key=Kaizen-Key,valueonly,separator=)")
        made = [line.split(" ") for line in log.splitlines() if not line.endswith(" ")]
        expected = {
            c.event["data"]["idempotency_key"]: c.commit_sha for c in mine.values() if c.event
        }
        assert sorted((key, sha) for sha, key in made) == sorted(expected.items())  # one each
        for agent, done in mine.items():
            changed = git(repo, "show", "--name-only", "--format=", str(done.commit_sha)).split()
            assert changed == [f".kaizen/memory/{agent}.md", f".kaizen/metrics/{agent}.jsonl"]
            records = (repo / ".kaizen" / "metrics" / f"{agent}.jsonl").read_text().splitlines()
            assert [json.loads(r)["bundle"] for r in records] == [
                done.event["data"]["idempotency_key"] if done.event else None
            ]
