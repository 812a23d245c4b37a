"""`make demo`: the main job on the embedded example — no service, no network.

Builds a sample git repository under build/demo/, then runs the CLI as a user would:
scaffold a manifest, validate it, replace it with the commented example, list the next runs,
and show what a broken manifest reports. Each command is printed before it runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "build" / "demo"
CLI = [sys.executable, "-m", "kaizen_agentic"]
AT = "2027-03-26T12:00:00+01:00"  # a fixed demo time: the Friday before DST starts in Europe

BROKEN = """\
version: 1
agents:
  - agent: coach
    enabled: yes
    schedule:
      intervall: weekly
      time: 9:30
"""


def sh(*args: str, expect: int = 0) -> None:
    shown = " ".join(a if " " not in a else repr(a) for a in ["kaizen-agentic", *args])
    print(f"\n$ {shown}", flush=True)
    done = subprocess.run([*CLI, *args], cwd=DEMO, check=False)
    if done.returncode != expect:
        sys.exit(f"demo: expected exit {expect}, got {done.returncode}")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=demo",
            "-c",
            "user.email=demo@example.invalid",
            *args,
        ],
        check=True,
        capture_output=True,
    )


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    repo = DEMO / "payments"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://git.example.invalid/acme/payments.git")
    print(f"demo: a sample repository at {repo}")

    sh("schedule", "init", "--repo", "payments", "--timezone", "Europe/Berlin")
    sh("schedule", "validate", "--repo", "payments")
    sh("schedule", "list", "--repo", "payments", "--at", AT, "--count", "2")

    shutil.copy(ROOT / "examples" / "schedule.yml", repo / ".kaizen" / "schedule.yml")
    print("\ndemo: replaced it with examples/schedule.yml (four agents, three zones, a pause)")
    sh("schedule", "list", "--repo", "payments", "--at", AT, "--count", "3")

    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Opt in to kaizen scheduling")
    print("\ndemo: committed it; now the agent's memory and past runs, then a bundle")
    sh(
        "memory",
        "add",
        "coach",
        "Releases are cut on Thursdays.",
        "--pin",
        "--repo",
        "payments",
        "--at",
        "2027-03-01T10:00:00+01:00",
    )
    sh(
        "metrics",
        "record",
        "coach",
        "--outcome",
        "success",
        "--duration",
        "131",
        "--tokens",
        "17020",
        "--measure",
        "focus_items=2",
        "--repo",
        "payments",
        "--at",
        "2027-03-22T09:04:00+01:00",
    )
    sh(
        "schedule",
        "prepare",
        "coach",
        "--repo",
        "payments",
        "--at",
        AT,
        "--out",
        "bundles",
        "--outbox",
        "events.jsonl",
    )
    bundle_dir = "bundles/acme__payments/coach/20270322T080000Z"
    print("\ndemo: the agent answers (examples/coach-answer.md); close the loop")
    sh(
        "schedule",
        "complete",
        bundle_dir,
        "--result",
        str(ROOT / "examples" / "coach-answer.md"),
        "--at",
        "2027-03-22T09:10:00+01:00",
        "--outbox",
        "events.jsonl",
    )
    sh("metrics", "show", "coach", "--repo", "payments")
    print("\ndemo: preparing the same slot again keeps the bundle and repeats the same event id")
    sh(
        "schedule",
        "prepare",
        "coach",
        "--repo",
        "payments",
        "--at",
        AT,
        "--out",
        "bundles",
        "--outbox",
        "events.jsonl",
    )

    broken = DEMO / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")
    print("\ndemo: a manifest with three mistakes; every one is reported, with its location")
    sh("schedule", "validate", "broken.yml", expect=1)
    print(f"\ndemo: done. Bundles: {DEMO / 'bundles'}; events: {DEMO / 'events.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
