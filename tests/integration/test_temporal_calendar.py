"""Per-agent calendar exports on a real Temporal server: its ``ListScheduleMatchingTimes`` equals
``schedule list``, or every differing date is named in the item's notes; and our model of the
server (``kaizen_agentic.export.temporal_calendar``) predicts the server exactly."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kaizen_agentic.export.common import Target, horizon_end, transitions
from kaizen_agentic.export.temporal import temporal
from kaizen_agentic.export.temporal_calendar import matching_times
from kaizen_agentic.manifest import cadence as cad
from kaizen_agentic.manifest.schedule import load_manifest

pytest.importorskip("temporalio")

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
YEARS = 2


def cron(zone: str, expr: str) -> cad.Cadence:
    return cad.Cadence("cron", expr, zone, None, False, None, user_cron=expr)


def preset(zone: str, interval: str, at: str, day: str | int | None = None) -> cad.Cadence:
    return cad.compile_cadence(interval, timezone=zone, at=at, day=day)


def examples() -> list[tuple[str, cad.Cadence]]:
    out = []
    for path in [
        ROOT / "examples" / "schedule.yml",
        *sorted((ROOT / "examples/fleet").glob("*.yml")),
    ]:
        if path.name.startswith("roster"):
            continue
        try:
            manifest = load_manifest(path)
        except Exception:  # docs-site.yml is broken on purpose
            continue
        out += [(f"{manifest.repo}:{e.agent}", e.cadence) for e in manifest.agents]
    return out


DST = [
    ("Europe/Berlin", preset("Europe/Berlin", "daily", "02:30")),  # gap and fold
    ("Europe/Berlin", cron("Europe/Berlin", "*/20 * * * *")),  # wildcard hour
    ("Europe/Berlin", preset("Europe/Berlin", "monthly", "02:30", "last")),  # last day, in a gap
    ("America/New_York", preset("America/New_York", "daily", "01:30")),  # fold west of UTC
    ("America/New_York", preset("America/New_York", "daily", "02:30")),  # gap west of UTC
    ("America/New_York", cron("America/New_York", "15 * * * *")),
    ("Australia/Sydney", preset("Australia/Sydney", "daily", "02:30")),
    ("Australia/Sydney", cron("Australia/Sydney", "0 2 * * 0")),  # Sunday 02:00, both changes
    ("Africa/Cairo", preset("Africa/Cairo", "daily", "00:30")),  # DST at midnight, since 2023
    ("Africa/Cairo", cron("Africa/Cairo", "*/30 23,0 * * *")),
    ("Australia/Lord_Howe", preset("Australia/Lord_Howe", "daily", "02:15")),  # 30-minute gap
    ("Australia/Lord_Howe", preset("Australia/Lord_Howe", "daily", "01:45")),  # 30-minute fold
    ("Asia/Tehran", preset("Asia/Tehran", "daily", "00:30")),  # DST abolished in 2022
]
CASES = [(f"example {name}", c) for name, c in examples()] + [
    (f"{zone} {c.cron}", c) for zone, c in DST
]


def windows(cadence: cad.Cadence) -> list[tuple[datetime, datetime]]:
    """The first weeks, and a day either side of every DST change in the horizon."""
    spans = [(AT, AT + timedelta(days=45))]
    for moment in transitions(cadence.timezone, AT, horizon_end(AT, YEARS)):
        spans.append((moment - timedelta(hours=30), moment + timedelta(hours=30)))
    return spans


async def server_times(
    address: str, item: dict[str, Any], spans: list[tuple[datetime, datetime]]
) -> list[datetime]:
    from google.protobuf.timestamp_pb2 import Timestamp
    from temporalio.api.workflowservice.v1 import ListScheduleMatchingTimesRequest
    from temporalio.client import Client, ScheduleState

    from kaizen_agentic.integrations.temporal_schedules import schedule_from_export

    client = await Client.connect(address)
    schedule = schedule_from_export(item)
    schedule.state = ScheduleState(paused=True, note="test: matching times only")
    ident = f"{item['id']}-{abs(hash(item['kaizen']['cron'] + item['spec']['time_zone_name']))}"
    handle = await client.create_schedule(ident, schedule)
    try:
        out: list[datetime] = []
        for lo, hi in spans:
            while True:  # the server answers at most 1,000 times a request
                start, end = Timestamp(), Timestamp()
                start.FromDatetime(lo)
                end.FromDatetime(hi)
                reply = await client.workflow_service.list_schedule_matching_times(
                    ListScheduleMatchingTimesRequest(
                        namespace="default", schedule_id=ident, start_time=start, end_time=end
                    )
                )
                page = [t.ToDatetime(tzinfo=UTC) for t in reply.start_time]
                out += page
                if len(page) < 1000:
                    break
                lo = page[-1]
        return out
    finally:
        await handle.delete()


def ours(cadence: cad.Cadence, spans: list[tuple[datetime, datetime]]) -> list[datetime]:
    return [t.astimezone(UTC) for lo, hi in spans for t in cad.runs_between(cadence, lo, hi)]


@pytest.mark.parametrize(("name", "cadence"), CASES, ids=[n for n, _ in CASES])
def test_server_matches_schedule_list_or_the_notes_name_the_date(
    temporal_server: str, name: str, cadence: cad.Cadence
) -> None:
    item = temporal(
        Target("acme/dst", "/src/dst", "coach", cadence, "runner-1"), start=AT, years=YEARS
    )
    spans = windows(cadence)
    server = asyncio.run(server_times(temporal_server, item, spans))
    model = [t for lo, hi in spans for t in matching_times(item["spec"], lo, hi)]
    assert server == model, "the model of Temporal's calendar disagrees with the server"
    expected = ours(cadence, spans)
    differing = sorted(set(server) ^ set(expected)) + [
        t for t in set(server) if server.count(t) > 1
    ]
    zone = cad.zone(cadence.timezone)
    named = {m.group(1) for n in item["notes"] for m in [re.match(r"(\d{4}-\d\d-\d\d) ", n)] if m}
    for moment in differing:
        assert moment.astimezone(zone).strftime("%Y-%m-%d") in named, (name, moment, item["notes"])
    if not differing:
        assert [n for n in item["notes"] if re.match(r"\d{4}-", n)] == []


def test_the_measured_behaviour_east_and_west_of_utc(temporal_server: str) -> None:
    """What docs/reference/export.md's table says, measured: a repeated time fires at its second
    copy east of UTC and twice west of it; a skipped whole hour does not fire without our
    one-off calendar; Lord Howe's half-hour gap fires half an hour late."""
    found = {}
    for zone, at in [
        ("Europe/Berlin", "02:30"),
        ("America/New_York", "01:30"),
        ("America/New_York", "02:30"),
        ("Australia/Lord_Howe", "02:15"),
    ]:
        cadence = preset(zone, "daily", at)
        bare = temporal(Target("a/b", "/x", "coach", cadence, "h"), start=AT, years=1)
        bare["spec"]["calendars"] = [
            c for c in bare["spec"]["calendars"] if not c["comment"].startswith("DST")
        ]
        bare["spec"]["skip"] = []
        spans = [
            (m - timedelta(hours=6), m + timedelta(hours=6))
            for m in transitions(zone, AT, horizon_end(AT, 1))
        ]
        server = asyncio.run(server_times(temporal_server, bare, spans))
        found[(zone, at)] = [
            t.astimezone(cad.zone(zone)).strftime("%m-%d %H:%M %Z") for t in server
        ]
    assert found == {
        ("Europe/Berlin", "02:30"): ["10-31 02:30 CET"],
        # 6 hours either side of each change: 03-14 01:30 is an ordinary run before the gap
        ("America/New_York", "01:30"): ["03-14 01:30 EST", "11-07 01:30 EDT", "11-07 01:30 EST"],
        ("America/New_York", "02:30"): ["11-07 02:30 EST"],  # none on 03-14: skipped
        ("Australia/Lord_Howe", "02:15"): ["04-04 02:15 +1030", "10-03 02:45 +11"],
    }


def test_every_example_fires_at_least_once(temporal_server: str) -> None:
    assert all(any(itertools.islice(cad.iter_runs(c, AT), 1)) for _, c in CASES)
