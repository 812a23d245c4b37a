"""`make bench`: measure start-up and throughput, and rewrite the table in docs/performance.md.

Whole-process timings: each command runs WARMUP times, then RUNS times; the median and the 90th
percentile of wall time are reported, with the ratio to `python -c pass` and to
`pre-commit validate-config` measured in the same run on the same machine.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- BEGIN BENCH RESULTS (make bench) -->"
END = "<!-- END BENCH RESULTS -->"
RUNS = int(os.environ.get("BENCH_RUNS", "40"))
WARMUP = 5
BIN = Path(sys.executable).parent

DEPENDABOT = """\
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: weekly
      day: monday
      time: "09:00"
"""

PRE_COMMIT_CONFIG = """\
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0
    hooks:
      - id: trailing-whitespace
      - id: end-of-file-fixer
"""


# Installed packages get .pyc files from pip; measure that, not a session that disables them.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TOOL = "an interleaved Python harness (the commands take turns, run by run)"


def ensure_tools() -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    missing = [tool for tool in ("pre-commit", "check-jsonschema") if not (BIN / tool).exists()]
    if missing:  # the tools users would pick instead, measured in the same run
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *missing,
            ],
            check=True,
        )


def cold_start(work: Path) -> list[tuple[str, float, float]]:
    repo = work / "repo"
    (repo / ".kaizen").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy(ROOT / "examples" / "schedule.yml", repo / ".kaizen" / "schedule.yml")
    shutil.copytree(ROOT / "examples" / "agents", repo / ".kaizen" / "agents")  # a valid repo
    (work / ".pre-commit-config.yaml").write_text(PRE_COMMIT_CONFIG)
    (work / "dependabot.yml").write_text(DEPENDABOT)
    small = make_prepare_repo(work, "small", 10, 100)
    ka = str(BIN / "kaizen-agentic")
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("kaizen-agentic --version", [ka, "--version"]),
        (
            "kaizen-agentic schedule validate (example manifest)",
            [ka, "schedule", "validate", "repo/.kaizen/schedule.yml"],
        ),
        (
            "kaizen-agentic schedule list (example manifest)",
            [ka, "schedule", "list", "--repo", "repo", "--at", "2027-03-26T12:00:00Z"],
        ),
        (
            "kaizen-agentic schedule prepare (small repo, --force)",
            [
                ka,
                "schedule",
                "prepare",
                "coach",
                "--repo",
                str(small),
                "--at",
                "2027-03-29T12:00:00Z",
                "--out",
                str(work / "cold-out"),
                "--force",
            ],
        ),
        (
            "pre-commit validate-config (2 hooks)",
            [str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        ),
        (
            "check-jsonschema --builtin-schema vendor.dependabot (small dependabot.yml)",
            [
                str(BIN / "check-jsonschema"),
                "--builtin-schema",
                "vendor.dependabot",
                "dependabot.yml",
            ],
        ),
    ]
    return interleaved(cases, work)


def interleaved(cases: list[tuple[str, list[str]]], cwd: Path) -> list[tuple[str, float, float]]:
    """Median and p90 per command, the commands taking turns run by run: a slow spell of the
    machine then costs every command alike, so the ratios between them hold."""
    for _ in range(WARMUP):
        for _, argv in cases:
            subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=ENV)
    samples: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(RUNS):
        for name, argv in cases:
            start = time.perf_counter()
            done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=ENV)
            samples[name].append((time.perf_counter() - start) * 1000)
            if done.returncode not in (0, 1):
                raise SystemExit(f"bench: {argv} exited {done.returncode}: {done.stderr[-300:]!r}")
    out = []
    for name, _ in cases:
        times = sorted(samples[name])
        out.append((name, statistics.median(times), times[int(len(times) * 0.9) - 1]))
    return out


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=bench",
            "-c",
            "user.email=b@example.invalid",
            *args,
        ],
        check=True,
        capture_output=True,
    )


def make_prepare_repo(work: Path, name: str, memory_entries: int, metric_lines: int) -> Path:
    import json
    from datetime import timedelta

    repo = work / name
    (repo / ".kaizen" / "memory").mkdir(parents=True)
    (repo / ".kaizen" / "metrics").mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / ".kaizen" / "schedule.yml").write_text(
        "version: 1\nrepo: bench/large\nagents:\n  - agent: coach\n"
        "    schedule: {interval: daily, time: '09:00'}\n"
    )
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with open(repo / ".kaizen" / "memory" / "coach.md", "w") as handle:
        handle.write("# Memory: coach\n\n")
        for i in range(memory_entries):
            pin = " (pinned)" if i % 100 == 0 else ""
            handle.write(
                f"## {(start + timedelta(hours=i)).isoformat()}{pin}\n"
                f"Observation {i}: the retry loop backs off {i % 7} times.\n\n"
            )
    with open(repo / ".kaizen" / "metrics" / "coach.jsonl", "w") as handle:
        for i in range(metric_lines):
            handle.write(
                json.dumps(
                    {
                        "time": (start + timedelta(minutes=i)).isoformat(),
                        "outcome": "success",
                        "duration_s": 100 + i % 50,
                        "tokens": 20000 + i % 1000,
                        "measures": {"focus_items": i % 4, "coverage_pct": 60 + (i % 300) / 10},
                        "bundle": f"kz-{i:040x}",
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "bench")
    return repo


def peak(argv: list[str], runs: int = 5) -> tuple[float, float]:
    """Median wall ms and the largest peak RSS (MiB) of ``runs`` runs of a whole process."""
    walls, rss = [], []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
        _, status, usage = os.wait4(child.pid, 0)
        walls.append((time.perf_counter() - start) * 1000)
        rss.append(usage.ru_maxrss / 1024)
        if status != 0:
            raise SystemExit(f"bench: {argv} failed: {child.stderr.read() if child.stderr else ''}")
    return statistics.median(walls), max(rss)


def prepare_cases(work: Path) -> list[tuple[str, float, float]]:
    ka = str(BIN / "kaizen-agentic")
    rows = []
    for label, entries, lines in [
        ("small (10 memory entries, 100 runs)", 10, 100),
        ("large (1,000 memory entries, 100,000 runs, 20 MB)", 1000, 100_000),
        ("very large (1,000 memory entries, 500,000 runs, 100 MB)", 1000, 500_000),
    ]:
        repo = make_prepare_repo(work, f"p{entries}-{lines}", entries, lines)
        size = (repo / ".kaizen" / "metrics" / "coach.jsonl").stat().st_size / 1e6
        argv = [
            ka,
            "schedule",
            "prepare",
            "coach",
            "--repo",
            str(repo),
            "--at",
            "2027-03-29T12:00:00Z",
            "--out",
            str(work / "bundles"),
            "--force",
        ]
        median, rss = peak(argv)
        rows.append((f"{label}; metrics file {size:.0f} MB", median, rss))
    return rows


MANIFESTS = [
    "version: 1\nrepo: org/r{i:05d}\ntimezone: Europe/Berlin\nagents:\n  - agent: coach\n"
    "    schedule: {{interval: weekly, day: monday, time: '09:00'}}\n"
    "  - agent: optimization-review\n    schedule: {{interval: weekly, day: friday}}\n",
    "version: 1\nrepo: org/r{i:05d}\nagents:\n  - agent: coach\n    schedule: {{interval: daily}}\n"
    "    focus: tests\n",
    "version: 1\nrepo: org/r{i:05d}\ntimezone: America/New_York\nagents:\n  - agent: coach\n"
    "    schedule: {{interval: cron, cronjob: '30 7 * * mon-fri'}}\n",
]


DUE_MANIFEST = (
    "version: 1\nrepo: {slug}\nagents:\n  - agent: coach\n"
    "    schedule: {{interval: daily, time: '09:00'}}\n"
)


def make_fleet(work: Path, size: int) -> Path:
    """``size`` checkouts (a .git folder and a manifest each) and a JSON roster of them."""
    import json

    host = os.uname().nodename
    records = []
    for i in range(size):
        repo = work / f"fleet{size}" / f"r{i:05d}"
        (repo / ".git").mkdir(parents=True)
        (repo / ".kaizen").mkdir()
        (repo / ".kaizen" / "schedule.yml").write_text(MANIFESTS[i % 3].format(i=i))
        records.append({"slug": f"org/r{i:05d}", "host_paths": {host: str(repo)}})
    roster = work / f"fleet{size}.json"
    roster.write_text(json.dumps(records))
    return roster


FLOOR = """
import json, os, sys, time, yaml
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
roster = json.load(open(sys.argv[1]))
host = os.uname().nodename
start = time.perf_counter()
for record in roster:
    path = os.path.join(record["host_paths"][host], ".kaizen", "schedule.yml")
    with open(path, "rb") as handle:
        yaml.load(handle.read(), Loader=loader)
print(time.perf_counter() - start)
"""

OURS = """
import sys, time
from datetime import datetime, UTC
from kaizen_agentic import discover_kaizen_scheduled_repos
start = time.perf_counter()
found = discover_kaizen_scheduled_repos(roster_file=sys.argv[1], jobs=int(sys.argv[2]),
                                        at=datetime(2027, 3, 29, 12, tzinfo=UTC))
assert found.counts()["enrolled"] == len(found.repos), found.counts()
print(time.perf_counter() - start)
"""


OURS_HUB = """
import sys, time
from datetime import datetime, UTC
from kaizen_agentic import discover_kaizen_scheduled_repos
start = time.perf_counter()
found = discover_kaizen_scheduled_repos(hub_url=sys.argv[1], jobs=int(sys.argv[2]),
                                        at=datetime(2027, 3, 29, 12, tzinfo=UTC))
assert found.counts()["enrolled"] == len(found.repos), found.counts()
print(time.perf_counter() - start)
"""


TICK = """
import sys, time
from datetime import datetime, UTC, timedelta
from kaizen_agentic import discover_kaizen_scheduled_repos
from kaizen_agentic.fleet.due import due_jobs
start = time.perf_counter()
at = datetime(2027, 3, 29, 12, tzinfo=UTC)  # nothing in the fleet is due in (11:45, 12:00]
found = discover_kaizen_scheduled_repos(roster_file=sys.argv[1], jobs=int(sys.argv[2]), at=at,
                                        cache=sys.argv[3] or None)
jobs, _ = due_jobs(found, at, timedelta(minutes=15))
assert not jobs and found.counts()["enrolled"] == len(found.repos), found.counts()
print(time.perf_counter() - start)
"""


def tick_cases(work: Path, roster: Path, size: int, floor: float) -> list[tuple[str, float, float]]:
    """One 15-minute tick (discover + due decision, nothing due): cold, then with the
    manifest cache a previous tick left."""
    cache = work / f"tick-cache-{size}.json"
    cold = size / min(float(_py(TICK, str(roster), "2", "")) for _ in range(3))
    _py(TICK, str(roster), "1", str(cache))  # the previous tick
    warm = size / min(float(_py(TICK, str(roster), "1", str(cache))) for _ in range(3))
    return [
        (f"{size:,} repos, one tick, no cache, 2 processes", cold, floor),
        (f"{size:,} repos, one tick, manifest cache warm, 1 process", warm, floor),
    ]


def _serve_roster(roster: Path, page: int = 1000) -> tuple[str, object]:
    """A loopback hub serving the roster in pages of ``page`` records with `next` links."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    records = json.loads(roster.read_text())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            at = int(query.get("offset", ["0"])[0])
            chunk = records[at : at + page]
            more = at + page < len(records)
            nxt = f"/repos/?kaizen_schedule_enabled=true&offset={at + page}" if more else None
            body = json.dumps({"items": chunk, "next": nxt}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def discovery_cases(work: Path) -> list[tuple[str, float, float]]:
    """(label, repos/s, floor repos/s) for local rosters and a loopback hub."""
    rows = []
    for size in (1000, 10_000, 50_000):
        roster = make_fleet(work, size)
        floor = size / min(float(_py(FLOOR, str(roster))) for _ in range(3))
        for jobs in (1, 2):
            ours = size / min(float(_py(OURS, str(roster), str(jobs))) for _ in range(3))
            rows.append(
                (
                    f"{size:,} repos, roster file, {jobs} process{'es' if jobs > 1 else ''}",
                    ours,
                    floor,
                )
            )
        url, server = _serve_roster(roster)
        hub = size / min(float(_py(OURS_HUB, url, "2")) for _ in range(3))
        server.shutdown()  # type: ignore[attr-defined]
        rows.append((f"{size:,} repos, loopback hub (pages of 1,000), 2 processes", hub, floor))
        if size == 10_000:
            rows += tick_cases(work, roster, size, floor)
    return rows


def _py(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=ENV, check=True
    )
    return done.stdout.strip()


REPORT_MANIFEST = (
    "version: 1\nrepo: org/r{i:04d}\nagents:\n"
    "  - agent: coach\n    schedule: {{interval: daily, time: '09:00'}}\n"
    "  - agent: optimization-review\n    schedule: {{interval: weekly, day: friday}}\n"
)


def report_case(work: Path, repos: int = 1000, records: int = 10_000) -> tuple[float, float]:
    """``metrics report`` over ``repos`` x 2 agents x ``records`` records: (median ms, MiB).

    Every metrics file is a hard link to one generated file (same bytes, no 1.6 GB of disk);
    the report still opens and reads each one."""
    import json

    end = datetime(2027, 3, 29, 12, tzinfo=UTC)
    lines = []
    for k in range(records, 0, -1):  # one record every 6 hours, oldest first
        when = end - timedelta(hours=6 * k)
        lines.append(
            json.dumps(
                {
                    "time": when.isoformat(),
                    "outcome": "success" if k % 7 else "failure",
                    "tokens": 1000 + k % 500,
                    "duration_s": 60.0 + k % 30,
                    "measures": {"coverage": round(0.5 + (k % 40) / 100, 2)},
                },
                separators=(",", ":"),
            )
        )
    template = work / "report-metrics.jsonl"
    template.write_text("\n".join(lines) + "\n")
    host = os.uname().nodename
    roster = []
    for i in range(repos):
        repo = work / "report" / f"r{i:04d}"
        (repo / ".git").mkdir(parents=True)
        (repo / ".kaizen" / "metrics").mkdir(parents=True)
        (repo / ".kaizen" / "schedule.yml").write_text(REPORT_MANIFEST.format(i=i))
        for agent in ("coach", "optimization-review"):
            os.link(template, repo / ".kaizen" / "metrics" / f"{agent}.jsonl")
        roster.append({"slug": f"org/r{i:04d}", "host_paths": {host: str(repo)}})
    file = work / "report-roster.json"
    file.write_text(json.dumps(roster))
    argv = [str(BIN / "kaizen-agentic"), "metrics", "report", "--roster", str(file)]
    argv += ["--until", end.isoformat(), "--json"]
    return peak(argv, runs=3)


def fleet_prepare(work: Path) -> list[tuple[str, str]]:
    """Bundles per second: one `prepare --due` for 1,000 due pairs vs one process per bundle."""
    import json

    template = work / "fleet-template"
    (template / ".kaizen").mkdir(parents=True)
    _git(template, "init", "-q", "-b", "main")
    (template / ".kaizen" / "schedule.yml").write_text(DUE_MANIFEST.format(slug="org/template"))
    _git(template, "add", "-A")
    _git(template, "commit", "-qm", "bench")
    host = os.uname().nodename
    records = []
    for i in range(1000):
        dest = work / "due" / f"r{i:04d}"
        shutil.copytree(template, dest, symlinks=True)
        (dest / ".kaizen" / "schedule.yml").write_text(DUE_MANIFEST.format(slug=f"org/r{i:04d}"))
        records.append({"slug": f"org/r{i:04d}", "host_paths": {host: str(dest)}})
    roster = work / "due.json"
    roster.write_text(json.dumps(records))
    ka = str(BIN / "kaizen-agentic")
    at = "2027-03-29T09:30:00Z"
    start = time.perf_counter()
    subprocess.run(
        [
            ka,
            "schedule",
            "prepare",
            "--due",
            "--at",
            at,
            "--roster",
            str(roster),
            "--out",
            str(work / "due-out"),
            "--json",
        ],
        check=True,
        capture_output=True,
        env=ENV,
    )
    fleet = 1000 / (time.perf_counter() - start)
    start = time.perf_counter()
    for record in records[:100]:
        subprocess.run(
            [
                ka,
                "schedule",
                "prepare",
                "coach",
                "--repo",
                record["host_paths"][host],
                "--at",
                at,
                "--out",
                str(work / "single-out"),
            ],
            check=True,
            capture_output=True,
            env=ENV,
        )
    single = 100 / (time.perf_counter() - start)
    return [
        ("`prepare --due`, 1,000 due pairs, one process start", f"{fleet:,.0f} bundles/s"),
        ("`prepare AGENT`, one process per bundle (100 runs)", f"{single:,.0f} bundles/s"),
    ]


def _timed_once(func: object, arg: object) -> float:
    start = time.perf_counter()
    func(arg)  # type: ignore[operator]
    return time.perf_counter() - start


def redaction_rate() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from kaizen_agentic.redact.engine import redact

    line = (
        "The retry loop in payments/retry.py backs off three times; token budget is fine. "
        "See https://github.com/acme/payments/pull/42 and commit 4b825dc642cb6eb9a060.\n"
    )
    text = line * (8 * 1024 * 1024 // len(line))
    half = len(text) // 2
    text = text[:half] + "password=hunter2hunter2 ghp_" + "a" * 36 + text[half:]
    seconds = min(_timed_once(redact, text) for _ in range(7))  # best of 7: noise only slows
    return f"{len(text.encode()) / 1e6 / seconds:,.0f} MB/s"


def throughput() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "src"))
    from datetime import timedelta

    from kaizen_agentic.manifest.cadence import compile_cadence, next_runs
    from kaizen_agentic.manifest.schedule import parse_manifest

    data = (ROOT / "examples" / "schedule.yml").read_bytes()
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        parse_manifest(data, "schedule.yml")
    per_s = n / (time.perf_counter() - start)
    rows = [
        ("validate example manifest in-process (4 agents)", f"{per_s:,.0f} manifests/s"),
        ("redact 8 MB of prose with two planted secrets", redaction_rate()),
    ]
    now = datetime(2027, 3, 1, tzinfo=UTC)
    kinds = [
        ("daily", {"at": "09:00"}),
        ("weekdays", {"at": "09:00"}),
        ("weekly", {"at": "09:00", "day": "monday"}),
        ("monthly", {"at": "09:00", "day": "last"}),
        ("cron", {"cronjob": "*/15 9-17 * * mon-fri"}),
    ]
    for interval, kwargs in kinds:
        cadence = compile_cadence(interval, timezone="Europe/Berlin", **kwargs)  # type: ignore[arg-type]
        m = 2000
        afters = [now + timedelta(minutes=7 * i) for i in range(m)]  # distinct: no cache hits
        start = time.perf_counter()
        for after in afters:
            next_runs(cadence, after, 1)
        rate = m / (time.perf_counter() - start)
        rows.append((f"next run, `{interval}` in Europe/Berlin", f"{rate:,.0f} computations/s"))
    return rows


def targets(
    cold: list[tuple[str, float, float]],
    prepares: list[tuple[str, float, float]],
    discovery: list[tuple[str, float, float]],
    redaction: float,
    fleet_rate: float,
) -> list[str]:
    """The issue's budgets beside what was measured, met or missed."""
    by_name = {name.split(" (")[0]: median for name, median, _ in cold}
    pre_commit = by_name["pre-commit validate-config"]
    validate = by_name["kaizen-agentic schedule validate"]
    d10k = max(r for label, r, _ in discovery if label.startswith("10,000") and "roster" in label)
    tick = next(r for label, r, _ in discovery if "tick, manifest cache warm" in label)
    floor10k = next(f for label, _, f in discovery if label.startswith("10,000"))
    _, large_ms, large_rss = prepares[-1]
    rows = [
        (
            "`validate` at most 0.5x `pre-commit validate-config`",
            f"{validate / pre_commit:.2f}x",
            validate / pre_commit <= 0.5,
        ),
        ("discovery of 10,000 repos at least 5,000 repos/s", f"{d10k:,.0f} repos/s", d10k >= 5000),
        (
            "discovery at most 1.3x the parse floor (10,000 repos)",
            f"{floor10k / d10k:.2f}x",
            floor10k / d10k <= 1.3,
        ),
        (
            "one tick over 10,000 repos (warm) at most 1.3x the parse floor",
            f"{floor10k / tick:.2f}x",
            floor10k / tick <= 1.3,
        ),
        ("prepare, 100 MB of metrics, under 1 s", f"{large_ms / 1000:.2f} s", large_ms < 1000),
        ("prepare, 100 MB of metrics, under 100 MiB", f"{large_rss:.0f} MiB", large_rss < 100),
        ("redaction at least 50 MB/s", f"{redaction:.0f} MB/s", redaction >= 50),
        ("fleet prepare at least 100 bundles/s", f"{fleet_rate:.0f} bundles/s", fleet_rate >= 100),
    ]
    lines = ["| target | measured | met |", "| --- | ---: | --- |"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in rows]
    return lines


def render(
    cold: list[tuple[str, float, float]],
    rates: list[tuple[str, str]],
    prepares: list[tuple[str, float, float]],
    discovery: list[tuple[str, float, float]],
    fleet: list[tuple[str, str]],
    goals: list[str],
) -> str:
    base = cold[0][1]
    pre_commit = next(m for name, m, _ in cold if name.startswith("pre-commit"))
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"{RUNS} runs after {WARMUP} warm-ups per command, timed with {TOOL}.",
        "",
        *goals,
        "",
        "| command | median ms | p90 ms | x `python -c pass` | x pre-commit |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, median, p90 in cold:
        lines.append(
            f"| {name} | {median:.1f} | {p90:.1f} | {median / base:.2f} | "
            f"{median / pre_commit:.2f} |"
        )
    lines += [
        "",
        "| `schedule prepare`, whole process | median ms | peak RSS MiB |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {median:.0f} | {rss:.1f} |" for name, median, rss in prepares]
    lines += [
        "",
        "| discovery | repos/s | parse-floor repos/s | x floor (time) |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {a} | {b:,.0f} | {c:,.0f} | {c / b:.2f} |" for a, b, c in discovery]
    lines += ["", "| fleet prepare | rate |", "| --- | ---: |"]
    lines += [f"| {name} | {rate} |" for name, rate in fleet]
    lines += ["", "| in-process work | rate |", "| --- | ---: |"]
    lines += [f"| {name} | {rate} |" for name, rate in rates]
    return "\n".join(lines) + "\n"


def main() -> int:
    ensure_tools()
    with tempfile.TemporaryDirectory() as tmp:
        cold = cold_start(Path(tmp))
        prepares = prepare_cases(Path(tmp))
        discovery = discovery_cases(Path(tmp))
        fleet = fleet_prepare(Path(tmp))
        report_ms, report_mib = report_case(Path(tmp))
        fleet.append(
            (
                "metrics report, 1,000 repos x 2 agents x 10,000 records (28-day period)",
                f"{report_ms / 1000:.2f} s, {report_mib:.0f} MiB peak",
            )
        )
    rates = throughput()
    redaction = float(
        next(r for n, r in rates if n.startswith("redact")).split()[0].replace(",", "")
    )
    fleet_rate = float(fleet[0][1].split()[0].replace(",", ""))
    goals = targets(cold, prepares, discovery, redaction, fleet_rate)
    table = render(cold, rates, prepares, discovery, fleet, goals)
    from sections import replace_section

    replace_section(DOC, BEGIN, END, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
