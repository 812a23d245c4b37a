"""One host's share of a fleet tick, without an orchestrator: the span (window, watermark,
cap), exactly-once bundles and events across missed ticks and crashes, the deadline, the lock,
the record. Real git checkouts (``tests/fakefleet.py``), real processes."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kaizen_agentic.errors import KaizenError
from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
from kaizen_agentic.fleet.host_tick import HostResult, Plan, run_host_tick, span
from kaizen_agentic.fleet.ticks import prune, read_watermark
from tests.fakefleet import burst, every_ten_minutes, make_fleet, release

HOSTS = ("runner-a", "runner-b")
AT = datetime(2027, 3, 29, 9, 15, tzinfo=UTC)
Q = timedelta(minutes=15)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Path]:
    """12 checkouts over two hosts; repositories 0, 5 and 10 are checked out on both."""
    roster = make_fleet(tmp_path / "fleet", 12, HOSTS, burst, shared_every=5)
    yield roster
    release(tmp_path / "fleet")


@pytest.fixture
def ticking(tmp_path: Path) -> Iterator[Path]:
    """4 checkouts on runner-a, each due every ten minutes."""
    roster = make_fleet(tmp_path / "fleet", 4, HOSTS[:1], every_ten_minutes)
    yield roster
    release(tmp_path / "fleet")


def tick(
    roster: Path, out: Path, at: datetime = AT, host: str = "runner-a", **options: object
) -> HostResult:
    plan = Plan(
        at=at,
        window=options.pop("window", Q),  # type: ignore[arg-type]
        hostname=host,
        out_dir=str(out),
        outbox=str(out / "events.jsonl"),
        **options,  # type: ignore[arg-type]
    )
    return run_host_tick(plan, discoverer(roster, host))


def discoverer(roster: Path, host: str) -> Callable[[datetime], object]:
    return lambda at: discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=host, at=at)


def events(out: Path) -> list[str]:
    box = out / "events.jsonl"
    return [json.loads(x)["id"] for x in box.read_text().splitlines()] if box.exists() else []


def bundles(out: Path) -> list[tuple[str, str, str]]:
    """(repository, agent, slot) of every whole bundle (a killed write's ``.tmp-`` aside)."""
    from kaizen_agentic.bundle.store import verify

    found = []
    for manifest in out.glob("*/*/*/manifest.json"):
        if not manifest.parent.name.startswith(".tmp-"):
            assert verify(str(manifest.parent)) == []
            found.append((manifest.parts[-4], manifest.parts[-3], manifest.parts[-2]))
    return sorted(found)


SPANS = [
    # (watermark, window, catchup, expected start, capped)
    (None, Q, timedelta(days=1), AT - Q, False),
    (AT - Q, Q, timedelta(days=1), AT - Q, False),
    (AT, Q, timedelta(days=1), AT - Q, False),  # a backfill of an older tick: its window
    (AT - 3 * Q, Q, timedelta(days=1), AT - 3 * Q, False),  # two ticks missed: both caught up
    (AT - timedelta(days=3), Q, timedelta(days=1), AT - timedelta(days=1), True),
    (AT - 3 * Q, Q, Q, AT - Q, False),  # a cap no longer than the window: no catch-up
    (AT - 3 * Q, 4 * Q, timedelta(days=1), AT - 4 * Q, False),  # the window reaches further
]


@pytest.mark.parametrize(("mark", "window", "catchup", "start", "capped"), SPANS)
def test_the_span_reaches_back_to_the_watermark_within_the_cap(
    mark: datetime | None, window: timedelta, catchup: timedelta, start: datetime, capped: bool
) -> None:
    plan = Plan(at=AT, window=window, hostname="h", out_dir="/x", catchup=catchup)
    assert span(plan, mark) == (start, capped)


def test_a_tick_prepares_its_share_once_with_one_event_per_new_bundle(
    fleet: Path, tmp_path: Path
) -> None:
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    a = tick(fleet, out_a)
    b = tick(fleet, out_b, host="runner-b")
    # runner-a: the even repositories and 5 (shared, and runner-a is first by name)
    assert (a.due, a.elsewhere, a.counts["created"], a.events) == (7, 0, 7, 7)
    assert (b.due, b.elsewhere, b.counts["created"], b.events) == (5, 3, 5, 5)
    slugs = sorted({s for s, _, _ in bundles(out_a)} | {s for s, _, _ in bundles(out_b)})
    assert slugs == [f"org__r{i:06d}" for i in range(12)]
    assert len(bundles(out_a)) + len(bundles(out_b)) == 12
    assert sorted(events(out_a)) == sorted(set(events(out_a))) and len(events(out_a)) == 7
    assert (a.since, a.at, a.capped, a.deferred) == (
        "2027-03-29T09:00:00+00:00",
        "2027-03-29T09:15:00+00:00",
        False,
        0,
    )
    assert read_watermark(str(out_a)) == AT
    record = json.loads(Path(a.record).read_text())
    assert record["counts"] == {"created": 7, "exists": 0, "failed": 0, "replaced": 0}
    assert [r["repo"] if "repo" in r else r["slug"] for r in record["runs"]][:2] == [
        "org/r000000",
        "org/r000002",
    ]

    again = tick(fleet, out_a)  # the same tick again: nothing new, no event twice
    assert (again.counts["exists"], again.counts["created"], again.events) == (7, 0, 0)
    assert len(events(out_a)) == 7


def test_missed_ticks_are_caught_up_once_from_the_watermark(ticking: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = tick(ticking, out, AT)  # (09:00, 09:15]: 09:10
    # the 09:30 tick never reached this host; the 09:45 tick reaches back to 09:15
    late = tick(ticking, out, AT + 2 * Q)
    assert (first.counts["created"], late.counts["created"]) == (4, 12)
    assert late.since == "2027-03-29T09:15:00+00:00"
    slots = sorted({slot for _, _, slot in bundles(out)})
    assert slots == ["20270329T091000Z", "20270329T092000Z", "20270329T093000Z", "20270329T094000Z"]
    assert len(bundles(out)) == 16 and len(events(out)) == len(set(events(out))) == 16
    # the schedule's own catch-up runs the missed 09:30 tick after all: nothing twice
    backfill = tick(ticking, out, AT + Q)
    assert (backfill.since, backfill.counts["exists"], backfill.events) == (
        "2027-03-29T09:15:00+00:00",
        8,
        0,
    )
    assert read_watermark(str(out)) == AT + 2 * Q  # it never moves back


def test_a_long_absence_is_caught_up_as_far_as_the_cap(ticking: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tick(ticking, out, AT - timedelta(days=2))
    back = tick(ticking, out, AT, catchup=timedelta(hours=1))
    assert (back.since, back.capped, back.counts["created"]) == (
        "2027-03-29T08:15:00+00:00",
        True,
        24,
    )


def test_past_the_deadline_the_rest_waits_for_the_next_tick(ticking: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tick(ticking, out, AT - Q)
    late = tick(ticking, out, AT, deadline=time.monotonic() - 1)
    assert (late.due, late.deferred, sum(late.counts.values()), late.events) == (4, 4, 0, 0)
    assert read_watermark(str(out)) == AT - Q  # not moved: the work is still owed
    nxt = tick(ticking, out, AT + Q)
    assert (nxt.since, nxt.counts["created"]) == ("2027-03-29T09:00:00+00:00", 12)  # 3 slots


def test_a_first_tick_that_runs_out_of_time_leaves_the_rest_to_the_next(
    ticking: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    late = tick(ticking, out, AT, deadline=time.monotonic() - 1)
    assert (late.deferred, read_watermark(str(out))) == (4, AT - Q)
    nxt = tick(ticking, out, AT + Q)
    assert (nxt.since, nxt.counts["created"]) == ("2027-03-29T09:00:00+00:00", 12)


def test_a_resumed_run_delivers_exactly_the_events_a_crash_left_waiting(
    ticking: Path, tmp_path: Path
) -> None:
    """The state a crash leaves between writing bundles and delivering their events: the
    journal knew which bundles were new and recorded two outcomes; of the other two bundles,
    one's event still waits in it, the other's delivery was cut after its outbox line."""
    from kaizen_agentic.bundle.events import PENDING, SENDING

    out = tmp_path / "out"
    tick(ticking, out, AT - Q)
    full = tick(ticking, out, AT, run="r1")
    record = json.loads(Path(full.record).read_text())
    runs = [{**r, "key": f"{r['slug']} {r['agent']} {r['slot']}"} for r in record["runs"]]
    journal = [{"new": [r["key"] for r in runs]}, *({"done": r} for r in runs[:2])]
    (out / ".ticks" / "20270329T091500Z.r2.journal").write_text(
        "".join(json.dumps(x) + "\n" for x in journal) + '{"done": {"key": "torn'
    )
    lines = (out / "events.jsonl").read_text().splitlines(keepends=True)
    waiting = next(x for x in lines if runs[2]["id"] in x)
    (out / "events.jsonl").write_text("".join(x for x in lines if x is not waiting))
    Path(runs[2]["path"], PENDING).write_text(waiting)
    Path(runs[3]["path"], SENDING).write_text(next(x for x in lines if runs[3]["id"] in x))
    (out / ".ticks" / "watermark.json").write_text(json.dumps({"at": (AT - Q).isoformat()}))

    resumed = tick(ticking, out, AT, run="r2")
    # two journaled, two found written: all four done by the first attempt, two delivered now
    assert (resumed.resumed, resumed.counts["created"], resumed.events) == (4, 4, 2)
    ids = events(out)
    assert len(ids) == len(set(ids)) == 12  # every bundle's event once: 8 + 4
    assert not list(out.glob("*/*/*/.event.*"))
    assert read_watermark(str(out)) == AT
    # its completion lost, the run is retried once more: it reports what it did, sends nothing
    lost = tick(ticking, out, AT, run="r2")
    assert (lost.resumed, lost.counts["created"], lost.events) == (4, 4, 0)


KILLED = """
import sys
from datetime import datetime, timedelta
from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
from kaizen_agentic.fleet.host_tick import Plan, run_host_tick
roster, out = sys.argv[1], sys.argv[2]
at = datetime.fromisoformat(sys.argv[3])
plan = Plan(at=at, window=timedelta(hours=3), hostname="runner-a", out_dir=out,
            outbox=out + "/events.jsonl", run="killed")
run_host_tick(plan, lambda when: discover_kaizen_scheduled_repos(
    roster_file=roster, hostname="runner-a", at=when))
"""


def test_a_host_killed_mid_batch_resumes_without_a_duplicate(ticking: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(ticking), str(out), AT.isoformat()],
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(list(out.glob("*/*/*/manifest.json"))) < 12 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 6 <= len(bundles(out)) < 72, "the batch finished before it could be killed"

    resumed = tick(ticking, out, AT, run="killed", window=timedelta(hours=3))
    assert resumed.counts["created"] == 72  # 4 repositories x 18 slots, all made by this run
    assert len(bundles(out)) == 72
    ids = events(out)
    assert len(ids) == len(set(ids)) == 72


def test_a_failing_checkout_is_named_and_the_others_go_on(fleet: Path, tmp_path: Path) -> None:
    broken = tmp_path / "fleet" / "runner-a" / "r000002" / ".git"
    broken.write_text("gitdir: /nonexistent\n")
    result = tick(fleet, tmp_path / "a", failures_shown=1)
    assert (result.counts["created"], result.counts["failed"]) == (6, 1)
    (failure,) = result.failures
    assert failure[:3] == ("org/r000002", "coach", "2027-03-29T09:03:00+00:00")
    assert failure.error.startswith("git status failed in ")
    record = json.loads(Path(result.record).read_text())
    assert [r["status"] for r in record["runs"]].count("failed") == 1


def test_two_ticks_never_run_at_once_on_one_host(ticking: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / ".ticks").mkdir(parents=True)
    fd = os.open(out / ".ticks" / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(KaizenError) as caught:
            tick(ticking, out, deadline=time.monotonic() + 1)
    finally:
        os.close(fd)
    assert str(caught.value) == "runner-a: another tick held this host until the deadline"
    assert bundles(out) == []


def test_records_and_journals_older_than_a_week_are_pruned(tmp_path: Path) -> None:
    ticks = tmp_path / ".ticks"
    ticks.mkdir()
    names = [
        "20270320T091500Z.json",
        "20270320T091500Z.r.journal",
        "20270325T091500Z.json",
        "watermark.json",
        "lock",
    ]
    for name in names:
        (ticks / name).write_text("{}")
    assert prune(str(tmp_path), AT) == 2
    assert sorted(p.name for p in ticks.iterdir()) == sorted(names[2:])
