"""The fleet tick under faults, on a real Temporal server: a host down for a whole tick, the
server killed and restarted mid-tick on its database, a worker SIGKILLed mid-batch. Each time
every due bundle is on disk exactly once and every event is in its host's outbox exactly once.

Sized for CI: 8 to 16 checkouts over two hosts (``tests/fakefleet.py``), each due every ten
minutes, one prepare process per host."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.devserver import DevServer
from tests.fakefleet import every_ten_minutes, make_fleet, release
from tests.integration.hosts import Worker, bundles, events

pytest.importorskip("temporalio")

QUEUE = "kaizen-faults"
HOSTS = ("runner-a", "runner-b")
T0 = datetime(2027, 3, 29, 9, 15, tzinfo=UTC)
Q = timedelta(minutes=15)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Path]:
    roster = make_fleet(tmp_path / "fleet", 16, HOSTS, every_ten_minutes)
    yield roster
    release(tmp_path / "fleet")


def hosts_of(address: str, tmp_path: Path) -> dict[str, Worker]:
    out = tmp_path / "out"
    return {h: Worker(address, h, QUEUE, out / h, tmp_path / f"{h}.log") for h in HOSTS}


def expected(slugs: int, lo: datetime, hi: datetime) -> set[tuple[str, str, str]]:
    """Every (slug, agent, slot) of the ten-minute fleet in ``(lo, hi]``."""
    slots = []
    at = lo.replace(minute=lo.minute - lo.minute % 10) + timedelta(minutes=10)
    while at <= hi:
        slots.append(at.isoformat())
        at += timedelta(minutes=10)
    return {(f"org/r{i:06d}", "coach", slot) for i in range(slugs) for slot in slots}


def check_exactly_once(out: Path, want: set[tuple[str, str, str]]) -> None:
    made = bundles(out)
    runs = [m[1:] for m in made]
    assert len(runs) == len(set(runs)), "a slot was prepared twice"
    assert set(runs) == want
    holder = {f"org/r{i:06d}": HOSTS[i % 2] for i in range(64)}
    assert all(host == holder[slug] for host, slug, _, _ in made)
    ids = [e["id"] for e in events(out)]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert len(ids) == len(want)


async def start(address: str, roster: Path, at: datetime, **options: Any) -> Any:
    from temporalio.client import Client

    from kaizen_agentic.integrations.temporal import FleetTickInput, FleetTickOutput

    client = await Client.connect(address)
    params = FleetTickInput(roster_file=str(roster), task_queue=QUEUE, at=at.isoformat(), **options)
    return await client.start_workflow(
        "kaizen.FleetTick",
        params,
        id=f"tick-{at:%H%M}-{time.time_ns()}",
        task_queue=QUEUE,
        execution_timeout=timedelta(minutes=3),
        result_type=FleetTickOutput,
    )


async def result(handle: Any) -> Any:
    return await handle.result()


def by_host(out: Any) -> dict[str, Any]:
    return {h.hostname: h for h in out.hosts}


async def completed_before_timed_out(handle: Any, done: str, waited: str) -> bool:
    """In the tick's history, ``done``'s share completed before ``waited``'s timed out."""
    queues: dict[int, str] = {}
    order = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            queues[event.event_id] = event.activity_task_scheduled_event_attributes.task_queue.name
        for kind in ("completed", "timed_out"):
            name = f"activity_task_{kind}_event_attributes"
            if event.HasField(name):
                queue = queues[getattr(event, name).scheduled_event_id]
                order.append((kind, queue.partition("@")[2]))
    return order.index(("completed", done)) < order.index(("timed_out", waited))


async def children(handle: Any) -> list[str]:
    """The workflow types of the children a tick started."""
    found = []
    async for event in handle.fetch_history_events():
        if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            attrs = event.start_child_workflow_execution_initiated_event_attributes
            found.append(attrs.workflow_type.name)
    return found


@pytest.mark.slow
def test_a_host_down_for_a_tick_holds_up_no_other_and_catches_up_once(
    temporal_server: str, tmp_path: Path
) -> None:
    roster = make_fleet(tmp_path / "fleet", 8, HOSTS, every_ten_minutes)
    workers = hosts_of(temporal_server, tmp_path)
    for worker in workers.values():
        worker.start()

    async def scenario() -> tuple[Any, Any, Any, bool, list[str]]:
        first = await result(await start(temporal_server, roster, T0))
        workers["runner-b"].kill()
        handle = await start(temporal_server, roster, T0 + Q, host_wait_seconds=10)
        down = await result(handle)
        in_order = await completed_before_timed_out(handle, "runner-a", "runner-b")
        workers["runner-b"].start()
        # and split over child workflows, as a tick over more than hosts_per_workflow hosts is
        handle = await start(temporal_server, roster, T0 + 2 * Q, hosts_per_workflow=1)
        back = await result(handle)
        return first, down, back, in_order, await children(handle)

    try:
        first, down, back, in_order, split = asyncio.run(scenario())
    finally:
        for worker in workers.values():
            worker.stop()
        release(tmp_path / "fleet")
    assert first.hosts_failed == {} and first.counts["created"] == 8
    assert down.hosts_failed == {
        "runner-b": "did not pick up its work within 10 s (host_wait_seconds): is its worker "
        "running? It catches up at its next tick"
    }
    assert [h.hostname for h in down.hosts] == ["runner-a"]
    assert by_host(down)["runner-a"].counts["created"] == 8  # 4 checkouts x 09:20, 09:30
    assert in_order, "runner-a waited for runner-b"
    assert split == ["kaizen.FleetTickHosts", "kaizen.FleetTickHosts"]
    b = by_host(back)["runner-b"]
    assert (b.since, b.counts["created"], b.capped) == ("2027-03-29T09:15:00+00:00", 12, False)
    a = by_host(back)["runner-a"]
    assert (a.since, a.counts["created"]) == ("2027-03-29T09:30:00+00:00", 4)
    check_exactly_once(tmp_path / "out", expected(8, T0 - Q, T0 + 2 * Q))


@pytest.mark.slow
def test_a_server_restarted_mid_tick_loses_no_bundle_and_waits_out_no_timeout(
    fleet: Path, tmp_path: Path
) -> None:
    server = DevServer(tmp_path / "server")
    server.start()
    workers = hosts_of(server.address, tmp_path)
    out = tmp_path / "out"

    async def scenario() -> Any:
        handle = await start(server.address, fleet, T0, window_seconds=3 * 3600)
        while len(list(out.glob("*/*/*/*/manifest.json"))) < 40:
            await asyncio.sleep(0.05)
        await server.restart()  # SIGKILL, then the same database file and port
        return await result(handle)

    try:
        for worker in workers.values():
            worker.start()
        tick = asyncio.run(scenario())
    finally:
        for worker in workers.values():
            worker.stop()
        server.stop()
    assert tick.hosts_failed == {}
    assert tick.counts["created"] == 16 * 18
    assert [h.attempt for h in tick.hosts] == [1, 1], "a host's share was retried"
    check_exactly_once(out, expected(16, T0 - 3 * 4 * Q, T0))


@pytest.mark.slow
def test_a_worker_killed_mid_batch_resumes_from_its_heartbeat(
    temporal_server: str, fleet: Path, tmp_path: Path
) -> None:
    workers = hosts_of(temporal_server, tmp_path)
    out = tmp_path / "out"

    async def scenario() -> Any:
        options = {"window_seconds": 3 * 3600, "heartbeat_seconds": 3}
        handle = await start(temporal_server, fleet, T0, **options)
        while len(list(out.glob("runner-b/*/*/*/manifest.json"))) < 20:
            await asyncio.sleep(0.02)
        workers["runner-b"].kill()
        await asyncio.sleep(1)
        workers["runner-b"].start()
        return await result(handle)

    try:
        for worker in workers.values():
            worker.start()
        tick = asyncio.run(scenario())
    finally:
        for worker in workers.values():
            worker.stop()
    b = by_host(tick)["runner-b"]
    assert tick.hosts_failed == {}
    assert b.attempt >= 2 and b.resumed >= 1, b
    assert b.counts["created"] == 8 * 18 and b.deferred == 0
    check_exactly_once(out, expected(16, T0 - 3 * 4 * Q, T0))
