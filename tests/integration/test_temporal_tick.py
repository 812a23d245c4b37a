"""The tick model end to end on a real Temporal server: a roster split over two hosts, each with
its own worker process and checkouts; a tick schedule made by ``schedule_from_export`` from
``schedule export --tick``; a backfill across a DST gap and a DST fold, with one worker killed
(SIGKILL) half way and restarted. The bundles must be exactly ``schedule calendar``'s runs for
those windows: none missing, none twice, none half-written, each made on its checkout's host."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import commit_all
from tests.integration.hosts import Worker, bundles, events

from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
from kaizen_agentic.main import main
from kaizen_agentic.views.timetable import build

pytest.importorskip("temporalio")

QUEUE = "kaizen-e2e"
HOSTS = ("runner-a", "runner-b")
# Europe/Berlin skips 02:00-02:59 on 2027-03-28 (01:00 UTC); Australia/Sydney repeats
# 02:00-02:59 on 2027-04-04 (clocks go back at 16:00 UTC on 04-03).
GAP = (datetime(2027, 3, 28, 0, 0, tzinfo=UTC), datetime(2027, 3, 28, 2, 0, tzinfo=UTC))
FOLD = (datetime(2027, 4, 3, 14, 30, tzinfo=UTC), datetime(2027, 4, 3, 17, 30, tzinfo=UTC))

REPOS = {
    # slug: (hosts holding the checkout, manifest body)
    "acme/berlin-a": (
        ("runner-a",),
        "timezone: Europe/Berlin\nagents:\n"
        "  - agent: coach\n    schedule: {interval: daily, time: '02:30'}\n"
        "  - agent: optimization-review\n    schedule: {interval: cron, cronjob: '*/20 1-3 * * *'}\n",
    ),
    "acme/berlin-b": (
        ("runner-b",),
        "timezone: Europe/Berlin\nagents:\n"
        "  - agent: coach\n    schedule: {interval: cron, cronjob: '15 2 * * 0'}\n",
    ),
    "acme/sydney-b": (
        ("runner-b",),
        "timezone: Australia/Sydney\nagents:\n"
        "  - agent: coach\n    schedule: {interval: daily, time: '02:30'}\n"
        "  - agent: optimization-review\n    schedule: {interval: cron, cronjob: '*/30 2 * * *'}\n",
    ),
    "acme/shared": (  # checked out where both hosts see it: it must still run once
        ("runner-a", "runner-b"),
        "timezone: Australia/Sydney\nagents:\n"
        "  - agent: coach\n    schedule: {interval: cron, cronjob: '0,30 1-3 * * *'}\n",
    ),
}


@pytest.fixture
def fleet(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    records = []
    for slug, (hosts, body) in REPOS.items():
        name = slug.split("/")[1]
        repo = make_repo(f"{hosts[0]}/{name}", manifest=f"version: 1\nrepo: {slug}\n{body}")
        commit_all(repo)
        records.append({"slug": slug, "host_paths": {h: str(repo) for h in hosts}})
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(records))
    return roster


@pytest.fixture
def workers(temporal_server: str, tmp_path: Path) -> Iterator[dict[str, Worker]]:
    out = {
        h: Worker(temporal_server, h, QUEUE, tmp_path / "out" / h, tmp_path / f"{h}.log")
        for h in HOSTS
    }
    for worker in out.values():
        worker.start()
    yield out
    for worker in out.values():
        worker.stop()


def calendar_runs(roster: Path, lo: datetime, hi: datetime) -> set[tuple[str, str, str]]:
    """``schedule calendar``'s runs in ``(lo, hi]`` over both hosts."""
    out = set()
    for host in HOSTS:
        found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=host, at=lo)
        table = build(found, start=lo, days=1, zone="UTC")
        for run in table.runs:
            if lo < run.when <= hi:
                stamp = run.when.astimezone(UTC).isoformat(timespec="seconds")
                out.add((run.slug, run.agent, stamp))
    return out


# this schedule's ticks only: other tests share the dev server (the loop starts FleetTicks too)
OURS = 'WorkflowType = "kaizen.FleetTick" AND TemporalScheduledById = "kaizen-e2e-tick"'


async def backfill_and_wait(
    address: str, item: dict[str, Any], out: Path, kill: Callable[[], None]
) -> list[Any]:
    from temporalio.client import (
        Client,
        ScheduleBackfill,
        ScheduleOverlapPolicy,
        ScheduleState,
    )

    from kaizen_agentic.integrations.temporal import FleetTickOutput
    from kaizen_agentic.integrations.temporal_schedules import schedule_from_export

    client = await Client.connect(address)
    schedule = schedule_from_export(item)
    schedule.state = ScheduleState(paused=True, note="driven by backfill only")
    handle = await client.create_schedule("kaizen-e2e-tick", schedule)
    try:
        await handle.backfill(
            *(
                ScheduleBackfill(lo, hi, overlap=ScheduleOverlapPolicy.ALLOW_ALL)
                for lo, hi in (GAP, FOLD)
            )
        )
        killed = False
        deadline = time.monotonic() + 240
        stable = 0
        last: list[Any] = []
        while time.monotonic() < deadline:
            if not killed and len(list(out.glob("runner-b/*/*/*/manifest.json"))) >= 2:
                kill()  # half way through the backfill: SIGKILL one host's worker, restart it
                killed = True
            runs = [w async for w in client.list_workflows(OURS)]
            done = [w for w in runs if w.status is not None and w.status.name == "COMPLETED"]
            if runs and len(done) == len(runs) and len(runs) == len(last):
                stable += 1
                if stable >= 3 and killed:
                    break
            else:
                stable = 0
            last = runs
            await asyncio.sleep(1)
        assert killed, "the backfill finished before a worker could be killed"
        results = []
        for w in last:
            assert w.status is not None and w.status.name == "COMPLETED", w
            results.append(
                await client.get_workflow_handle(
                    w.id, run_id=w.run_id, result_type=FleetTickOutput
                ).result()
            )
        return results
    finally:
        await handle.delete()


@pytest.mark.slow
def test_a_backfill_over_dst_on_two_hosts_prepares_exactly_the_calendar(
    temporal_server: str,
    fleet: Path,
    workers: dict[str, Worker],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export = ["schedule", "export", "--roster", str(fleet), "--format", "temporal"]
    code = main([*export, "--tick", "15m", "--task-queue", QUEUE])
    assert code == 0
    (item,) = json.loads(capsys.readouterr().out)["schedules"]
    assert item["spec"]["intervals"] == [{"every": "900s", "offset": "0s"}]
    tick_input = item["action"]["start_workflow"]["input"]
    assert (tick_input["host_wait_seconds"], tick_input["host_seconds"]) == (120, 840)
    tick_input["heartbeat_seconds"] = 3  # retry a killed host fast
    tick_input["catchup_seconds"] = 0  # the backfill's windows alone: no catch-up between them

    def kill_and_restart() -> None:
        workers["runner-b"].kill()
        time.sleep(1)
        workers["runner-b"].start()

    out = tmp_path / "out"
    results = asyncio.run(backfill_and_wait(temporal_server, item, out, kill_and_restart))

    ticks = sorted(datetime.fromisoformat(r.at) for r in results)
    assert all(r.hosts_failed == {} for r in results)
    assert len(ticks) == len(set(ticks))
    for lo, hi in (GAP, FOLD):  # every tick of each window ran: they tile (lo', hi]
        inside = [t for t in ticks if lo <= t <= hi]
        assert inside and all(b - a == timedelta(minutes=15) for a, b in pairwise(inside))
    spans = []
    for lo, hi in (GAP, FOLD):
        inside = [t for t in ticks if lo <= t <= hi]
        spans.append((inside[0] - timedelta(minutes=15), inside[-1]))
    expected = set().union(*(calendar_runs(fleet, lo, hi) for lo, hi in spans))

    made = bundles(out)
    assert len(made) == len({m[1:] for m in made}), "a slot was prepared twice"
    assert {m[1:] for m in made} == expected
    ids = [e["id"] for e in events(out)]  # one event per bundle, whatever was killed
    assert len(ids) == len(set(ids)) == len(made)
    assert sum(r.counts["created"] for r in results) == len(made)
    holder = {slug: hosts[0] for slug, (hosts, _) in REPOS.items()}
    assert all(host == holder[slug] for host, slug, _, _ in made)
    # the DST days are in it: the gap's 02:30 Berlin run at 03:00 CEST, the fold's first 02:30
    assert ("acme/berlin-a", "coach", "2027-03-28T01:00:00+00:00") in expected
    assert ("acme/sydney-b", "coach", "2027-04-03T15:30:00+00:00") in expected
    assert ("acme/sydney-b", "coach", "2027-04-03T16:30:00+00:00") not in expected
