"""`make demo`: the main job on the embedded example fleet — no service, no network.

1. One repository: scaffold a manifest, validate it, list its next runs, and see how a broken
   manifest is reported.
2. The fleet: build example repositories from examples/fleet/ (several enrolled with different
   cadences and time zones, one paused, one invalid, one without a manifest, one checked out
   on another host), discover them from a local roster, prepare every due bundle at a fixed
   time, run it again (nothing new, no event twice), and close the loop for one run.

Each command is printed before it runs. Everything is written under build/demo/, the manifest
cache included (KAIZEN_CACHE_DIR points there): nothing outside the clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO = ROOT / "build" / "demo"
CLI = [sys.executable, "-m", "kaizen_agentic"]
TICK = "2027-03-29T13:00:00Z"  # a Monday afternoon in Europe, morning in New York
HOST = os.uname().nodename

BROKEN = """\
version: 1
agents:
  - agent: coach
    enabled: yes
    schedule:
      intervall: weekly
      time: 9:30
repo: acme/payments
"""


def sh(*args: str, expect: int = 0) -> None:
    shown = " ".join(a if " " not in a else repr(a) for a in ["kaizen-agentic", *args])
    print(f"\n$ {shown}", flush=True)
    # The tool's own cache (validated manifests) stays in the demo's folder, not in ~/.cache.
    env = {**os.environ, "KAIZEN_CACHE_DIR": str(DEMO / "cache")}
    done = subprocess.run([*CLI, *args], cwd=DEMO, check=False, env=env)
    if done.returncode != expect:
        sys.exit(f"demo: expected exit {expect}, got {done.returncode}")


def say(text: str) -> None:
    print(f"\n### {text}", flush=True)


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


def new_repo(path: Path, manifest: Path | None, agents: list[Path] | None = None) -> None:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text(f"# {path.name}\n")
    if manifest is not None:
        (path / ".kaizen").mkdir()
        shutil.copy(manifest, path / ".kaizen" / "schedule.yml")
    for agent in agents or []:
        (path / ".kaizen" / "agents").mkdir(exist_ok=True)
        shutil.copy(agent, path / ".kaizen" / "agents" / agent.name)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "Initial commit")


def one_repository() -> None:
    say("Part 1: one repository")
    repo = DEMO / "sandbox"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    sh("schedule", "init", "--repo", "sandbox", "--timezone", "Europe/Berlin")
    sh("schedule", "validate", "--repo", "sandbox")
    sh("schedule", "list", "--repo", "sandbox", "--at", TICK, "--count", "2")
    (DEMO / "broken.yml").write_text(BROKEN, encoding="utf-8")
    say("A manifest with three mistakes: every one is reported, with its place")
    sh("schedule", "validate", "broken.yml", expect=1)


def build_fleet() -> Path:
    fleet = DEMO / "fleet"
    new_repo(
        fleet / "payments",
        EXAMPLES / "schedule.yml",
        agents=[EXAMPLES / "agents" / "dependency-digest.md"],
    )
    for name in ("web-frontend", "data-pipeline", "infra", "ml-platform", "docs-site"):
        new_repo(fleet / name, EXAMPLES / "fleet" / f"{name}.yml")
    new_repo(fleet / "mobile-app", None)
    template = (EXAMPLES / "fleet" / "roster.template.yml").read_text()
    roster = DEMO / "roster.yml"
    roster.write_text(template.replace("{root}", str(fleet)).replace("{host}", HOST))
    return roster


def the_fleet() -> None:
    say("Part 2: a fleet of eight registered repositories")
    build_fleet()
    print(f"built example repositories under {DEMO / 'fleet'}; roster: {DEMO / 'roster.yml'}")
    sh("schedule", "discover", "--roster", "roster.yml", "--at", TICK)
    say(f"The orchestrator's tick at {TICK}: prepare every bundle due in the last 24 hours")
    due = [
        "schedule",
        "prepare",
        "--due",
        "--at",
        TICK,
        "--window",
        "24h",
        "--roster",
        "roster.yml",
        "--out",
        "bundles",
        "--outbox",
        "events.jsonl",
    ]
    sh(*due)
    say("The same tick again: nothing new is prepared, no event is emitted twice")
    sh(*due)
    say("When does the fleet run? (also written as a self-contained HTML page)")
    sh(
        "schedule",
        "calendar",
        "--roster",
        "roster.yml",
        "--from",
        "2027-03-29T00:00:00+02:00",
        "--days",
        "7",
        "--tz",
        "Europe/Berlin",
        "--html",
        "calendar.html",
    )
    say("The coach of acme/payments answered; close the loop")
    bundle = "bundles/acme__payments/coach/20270329T070000Z"
    sh(
        "schedule",
        "complete",
        bundle,
        "--result",
        str(EXAMPLES / "coach-answer.md"),
        "--at",
        "2027-03-29T09:12:00+02:00",
        "--outbox",
        "events.jsonl",
    )
    sh("memory", "show", "coach", "--repo", "fleet/payments")
    events = (DEMO / "events.jsonl").read_text().splitlines()
    print(
        f"\ndemo: done. It wrote only under {DEMO}:\n"
        f"  repositories: {DEMO / 'sandbox'} and {DEMO / 'fleet'}/\n"
        f"  roster:       {DEMO / 'roster.yml'}\n"
        f"  bundles:      {DEMO / 'bundles'}\n"
        f"  events:       {DEMO / 'events.jsonl'} ({len(events)} events)\n"
        f"  a prompt:     {DEMO / bundle / 'PROMPT.md'}\n"
        f"  calendar:     {DEMO / 'calendar.html'}\n"
        f"  cache:        {DEMO / 'cache'} (KAIZEN_CACHE_DIR: validated manifests)\n"
        "Remove it all with `rm -rf build/demo`; `make demo` starts afresh each time."
    )


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    print(f"demo: writing everything under {DEMO} (repositories, bundles, events, cache)")
    one_repository()
    the_fleet()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
