"""A fleet of real git checkouts made fast enough for 100,000 of them.

Every checkout is a work tree whose ``.git`` is a file pointing at one shared, read-only git
directory (``gitdir: ...``, as ``git worktree`` and submodules do), holding one commit. Each
checkout has its own ``.kaizen/schedule.yml`` with its own ``repo:``, so ``git status`` sees
it modified (the bundle records ``dirty: true``) and runs exactly as it would in a real
checkout. A checkout costs two folders and two small files; the shared git directory is
read-only, so no ``git status`` ever rewrites its index under another.

Used by the Temporal fault tests and by ``bench/temporal_scale.py``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

# Repository i's manifest. ``burst``: every coach is due in the 15 minutes before 09:15 UTC
# and every optimization-review at another hour of the day, so a 15-minute tick at 09:15 has
# one run per repository and a 24-hour window two. ``spread``: one daily coach per repository,
# its minute spread over the whole day, so a 15-minute tick has 1/96 of the fleet and a 24-hour
# window all of it.
Shape = Callable[[int], str]


def burst(i: int) -> str:
    return (
        f"version: 1\nrepo: org/r{i:06d}\nagents:\n"
        f"  - agent: coach\n    schedule: {{interval: daily, time: '09:{1 + i % 14:02d}'}}\n"
        f"  - agent: optimization-review\n"
        f"    schedule: {{interval: daily, time: '{(10 + i % 23) % 24:02d}:{i % 60:02d}'}}\n"
    )


def spread(i: int) -> str:
    minute = (i * 7919) % 1440  # a prime stride: every minute of the day, evenly
    return (
        f"version: 1\nrepo: org/r{i:06d}\nagents:\n"
        f"  - agent: coach\n    schedule: {{interval: daily, time: '{minute // 60:02d}:"
        f"{minute % 60:02d}'}}\n"
    )


def every_ten_minutes(i: int) -> str:
    return (
        f"version: 1\nrepo: org/r{i:06d}\nagents:\n"
        "  - agent: coach\n    schedule: {interval: cron, cronjob: '*/10 * * * *'}\n"
    )


SHAPES: dict[str, Shape] = {"burst": burst, "spread": spread, "every10": every_ten_minutes}

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "fleet",
    "GIT_AUTHOR_EMAIL": "fleet@example.invalid",
    "GIT_COMMITTER_NAME": "fleet",
    "GIT_COMMITTER_EMAIL": "fleet@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_SYSTEM": "/dev/null",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def shared_gitdir(folder: Path) -> Path:
    """One committed repository whose ``.git`` every checkout shares, made read-only."""
    template = folder / "template"
    (template / ".kaizen").mkdir(parents=True)
    (template / ".kaizen" / "schedule.yml").write_text(spread(0))
    env = {**_GIT_ENV, "HOME": str(folder)}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "fleet"]):
        subprocess.run(["git", "-C", str(template), *args], check=True, env=env)
    gitdir = template / ".git"
    for root, dirs, files in os.walk(gitdir):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    os.chmod(gitdir, 0o555)
    return gitdir


def make_fleet(
    folder: Path,
    size: int,
    hosts: Sequence[str],
    shape: Shape = burst,
    shared_every: int = 0,
) -> Path:
    """``size`` checkouts under ``folder/<host>/``, spread round-robin over ``hosts``, and a
    JSON roster of them (returned). With ``shared_every`` > 0, every that-many-th repository
    is checked out on every host (the first host by name prepares it)."""
    gitdir = shared_gitdir(folder)
    pointer = f"gitdir: {gitdir}\n"
    records = []
    for i in range(size):
        owners = list(hosts) if shared_every and i % shared_every == 0 else [hosts[i % len(hosts)]]
        paths = {}
        for host in owners:
            repo = folder / host / f"r{i:06d}"
            os.makedirs(repo / ".kaizen")
            with open(repo / ".git", "w") as handle:
                handle.write(pointer)
            with open(repo / ".kaizen" / "schedule.yml", "w") as handle:
                handle.write(shape(i))
            paths[host] = str(repo)
        records.append({"slug": f"org/r{i:06d}", "host_paths": paths})
    roster = folder / "roster.json"
    roster.write_text(json.dumps(records))
    return roster


def release(folder: Path) -> None:
    """Make the shared git directory writable again, so the folder can be removed."""
    gitdir = folder / "template" / ".git"
    if not gitdir.exists():
        return
    os.chmod(gitdir, 0o755)
    for root, dirs, files in os.walk(gitdir):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
