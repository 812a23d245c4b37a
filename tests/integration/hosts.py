"""Runner hosts for the integration tests: ``examples/temporal_worker.py`` in its own process
per host, killed and restarted like a real one, and what a host leaves on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class HostProcess:
    """A runner host's worker in its own process group, killed and restarted like a real one."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv = argv
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL the worker and its prepare processes, as a crashed host."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


class Worker(HostProcess):
    """One runner host: ``examples/temporal_worker.py``."""

    def __init__(
        self, address: str, host: str, queue: str, out: Path, log: Path, jobs: int = 1
    ) -> None:
        argv = [sys.executable, str(ROOT / "examples" / "temporal_worker.py")]
        argv += ["--address", address, "--hostname", host, "--task-queue", queue]
        argv += ["--out", str(out), "--outbox", str(out / "events.jsonl")]
        argv += ["--jobs", str(jobs)]
        super().__init__(argv, log)
        self.out = out


def bundles(out: Path) -> list[tuple[str, str, str, str]]:
    """(host, slug, agent, slot in UTC) of every bundle below ``out/<host>/``, each checked
    whole; a killed write's ``.tmp-`` folder is never at a bundle's name and is left out."""
    from kaizen_agentic.bundle.store import verify

    found = []
    for manifest in sorted(out.glob("*/*/*/*/manifest.json")):
        folder = manifest.parent
        if folder.name.startswith(".tmp-"):
            continue
        assert verify(str(folder)) == [], folder
        doc = json.loads(manifest.read_text())
        host = folder.relative_to(out).parts[0]
        found.append((host, doc["repo"]["slug"], doc["agent"]["name"], doc["slot_utc"]))
    return found


def events(out: Path) -> list[dict[str, object]]:
    """Every event in every host's outbox below ``out``."""
    found = []
    for box in sorted(out.glob("*/events.jsonl")):
        found += [json.loads(x) for x in box.read_text().splitlines() if x.strip()]
    return found
