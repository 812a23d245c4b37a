"""Digests of everything the tool writes for a fixed fleet at a fixed time.

    python bench/golden.py            # one line per output: sha256 and name
    python bench/golden.py --total    # one digest over all of them

A refactor that should change no behaviour (a file move, a new option table) is checked by
running this before and after: the digests must be equal. The fleet is the demo's (its
repositories committed with fixed dates, so commit ids are stable), under a fixed folder; the
host name is this machine's, so digests compare runs on one machine only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import demo  # noqa: E402  (the demo's fleet builder)

WORK = Path("/tmp/kaizen-golden")
AT = "2027-03-29T13:00:00Z"
ENV = {
    **os.environ,
    "GIT_AUTHOR_DATE": "2027-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2027-01-01T00:00:00Z",
    "KAIZEN_CACHE_DIR": str(WORK / "cache"),
    "COLUMNS": "120",
    "NO_COLOR": "1",
}

RUNS: list[tuple[str, list[str]]] = [
    ("discover.json", ["schedule", "discover", "--roster", "roster.yml", "--at", AT, "--json"]),
    ("discover.txt", ["schedule", "discover", "--roster", "roster.yml", "--at", AT]),
    ("list.json", ["schedule", "list", "--repo", "fleet/payments", "--at", AT, "--json"]),
    ("list.txt", ["schedule", "list", "--repo", "fleet/payments", "--at", AT]),
    ("validate.json", ["schedule", "validate", "--repo", "fleet/docs-site", "--format", "json"]),
    (
        "prepare-due.json",
        [
            *("schedule", "prepare", "--due", "--at", AT, "--window", "24h"),
            *("--roster", "roster.yml", "--out", "bundles", "--outbox", "events.jsonl", "--json"),
        ],
    ),
    (
        "prepare-one.json",
        [
            *("schedule", "prepare", "coach", "--repo", "fleet/infra", "--at", AT),
            *("--out", "one", "--json"),
        ],
    ),
    (
        "complete.json",
        [
            *("schedule", "complete", "bundles/acme__payments/coach/20270329T070000Z"),
            *("--result", str(ROOT / "examples" / "coach-answer.md")),
            *("--at", "2027-03-29T09:12:00+02:00", "--outbox", "events.jsonl", "--json"),
        ],
    ),
    (
        "calendar.json",
        [
            *("schedule", "calendar", "--roster", "roster.yml"),
            *("--from", "2027-03-29T00:00:00+02:00", "--days", "7", "--tz", "Europe/Berlin"),
            *("--html", "calendar.html", "--json"),
        ],
    ),
    (
        "report.json",
        [
            *("metrics", "report", "--roster", "roster.yml", "--since", "2027-03-01T00:00:00Z"),
            *("--until", "2027-03-30T00:00:00Z", "--json", "--html", "report.html"),
            *("--openmetrics", "report.prom"),
        ],
    ),
    ("memory.txt", ["memory", "show", "coach", "--repo", "fleet/payments"]),
    ("metrics.json", ["metrics", "show", "coach", "--repo", "fleet/payments", "--json"]),
    ("agents.json", ["agents", "list", "--repo", "fleet/payments", "--json"]),
]
EXPORTS = [
    ["--format", "temporal", "--tick", "15m", "--window", "1h", "--task-queue", "kaizen"],
    ["--format", "temporal"],
    *(["--format", "k8s-cronjob", "--tick", "15m", "--image", "img:1", "--bundle-dir", "/b"],),
    ["--format", "k8s-cronjob", "--image", "img:1", "--bundle-dir", "/b"],
    ["--format", "crontab", "--tick", "15m", "--bundle-dir", "/b"],
    ["--format", "crontab", "--bundle-dir", "/b"],
]


def build() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    demo.DEMO = WORK
    os.environ.update({k: ENV[k] for k in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")})
    demo.build_fleet()


def run(name: str, args: list[str], outputs: dict[str, bytes]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kaizen_agentic", *args],
        cwd=WORK,
        env=ENV,
        capture_output=True,
        check=False,
    )
    outputs[name] = (
        done.stdout + b"\n--stderr--\n" + done.stderr + f"\nexit {done.returncode}".encode()
    )


def main() -> int:
    build()
    outputs: dict[str, bytes] = {}
    for name, args in RUNS:
        run(name, args, outputs)
    for i, extra in enumerate(EXPORTS):
        run(f"export-{i}", ["schedule", "export", "--roster", "roster.yml", *extra], outputs)
    for path in sorted(WORK.rglob("*")):
        rel = path.relative_to(WORK)
        written = rel.parts[0] not in ("fleet", "cache") or (
            ".kaizen" in rel.parts and "schedule.yml" not in rel.parts
        )
        if path.is_file() and written:
            outputs[f"file:{rel}"] = path.read_bytes()
    total = hashlib.sha256()
    for name in sorted(outputs):
        digest = hashlib.sha256(outputs[name]).hexdigest()
        total.update(f"{digest}  {name}\n".encode())
        if "--total" not in sys.argv:
            print(f"{digest}  {name}")
    print(f"{total.hexdigest()}  total ({len(outputs)} outputs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
