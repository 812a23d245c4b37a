"""What a runner host keeps of its ticks, under ``<out>/.ticks/`` beside its bundles.

- ``watermark.json``: the latest tick this host completed (``host_tick`` reaches back to it).
- ``<tick>.<run>.journal``: JSON lines as a tick runs: the bundles that were absent when it
  began (fsynced before any is written) and each outcome. A retry of the same run (after a
  crash, a lost worker, a lost completion) skips what is done and reports what the run did:
  a bundle it finds that an earlier attempt wrote counts as created. Events need no journal:
  a bundle is written with its event waiting inside it, and whoever meets the bundle next
  delivers what still waits (``bundle.events``), so the outbox holds each event once.
- ``<tick>.<run>.json``: the record of one run of the tick on this host: every due run's
  outcome and every checkout here that does not take part, with its reason. Per run, so that
  a second run of the same tick (a backfill, a retried schedule) keeps the first one's.
- ``lock``: held for the whole tick, so two ticks never run at once on one host's bundles.

Records and journals are kept ``KEEP_DAYS`` days.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from kaizen_agentic.fleet.due import Job, Outcome
from kaizen_agentic.output import compact_json

TICKS: Final = ".ticks"
KEEP_DAYS: Final = 7


def ticks_dir(out_dir: str) -> str:
    return os.path.join(out_dir, TICKS)


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# --- watermark -------------------------------------------------------------------------------


def read_watermark(out_dir: str) -> datetime | None:
    """The latest tick this host completed, or None."""
    try:
        with open(os.path.join(ticks_dir(out_dir), "watermark.json"), "rb") as handle:
            return datetime.fromisoformat(json.loads(handle.read())["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def advance_watermark(out_dir: str, at: datetime) -> None:
    """Move the watermark to ``at`` unless it is already later (backfills run old ticks)."""
    from kaizen_agentic.atomic import write_atomic

    current = read_watermark(out_dir)
    if current is not None and current >= at:
        return
    doc = {"at": at.astimezone(UTC).isoformat(timespec="seconds")}
    write_atomic(os.path.join(ticks_dir(out_dir), "watermark.json"), compact_json(doc).encode())


# --- the lock and the journal ---------------------------------------------------------------


@contextmanager
def host_lock(out_dir: str, waiting: Callable[[], None]) -> Iterator[None]:
    """Hold this host's tick lock; ``waiting()`` is called every half second until it is ours
    (it may raise to give up: a cancelled tick)."""
    import fcntl

    fd = os.open(os.path.join(ticks_dir(out_dir), "lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waiting()
                time.sleep(0.5)
        yield
    finally:
        os.close(fd)


def key(job: Job | Outcome) -> str:
    slot = job.slot if isinstance(job.slot, str) else job.slot.isoformat(timespec="seconds")
    return f"{job.slug} {job.agent} {slot}"


class Journal:
    """The JSON-lines journal of one tick run on this host (see the module's docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.new: set[str] = set()
        self.done: dict[str, dict[str, Any]] = {}
        try:
            with open(path, "rb") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:  # a line torn by a killed writer
                continue
            if "new" in entry:
                self.new.update(entry["new"])
            elif "done" in entry:
                self.done[entry["done"]["key"]] = entry["done"]

    def mark_new(self, keys: list[str]) -> None:
        if keys:
            self.new.update(keys)
            self._append([{"new": keys}], sync=True)

    def record(self, outcomes: list[dict[str, Any]]) -> None:
        # not synced: a killed process loses nothing the kernel has; after a power loss a lost
        # line only costs a bundle's re-reading (it is found in place)
        for entry in outcomes:
            self.done[entry["key"]] = entry
        self._append([{"done": entry} for entry in outcomes], sync=False)

    def _append(self, entries: list[dict[str, Any]], sync: bool) -> None:
        from kaizen_agentic.atomic import append_line

        if not entries:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            append_line(fd, "\n".join(compact_json(e) for e in entries).encode(), sync)
        finally:
            os.close(fd)


def entry(outcome: Outcome) -> dict[str, Any]:
    return {
        "key": key(outcome),
        "slug": outcome.slug,
        "agent": outcome.agent,
        "slot": outcome.slot,
        "status": outcome.status,
        "path": outcome.path,
        "id": outcome.key,  # the bundle's idempotency key: its events' id
        "error": outcome.error,
    }


def prune(out_dir: str, now: datetime, keep: timedelta = timedelta(days=KEEP_DAYS)) -> int:
    """Remove tick records and journals older than ``keep`` (by the tick they name)."""
    folder = ticks_dir(out_dir)
    oldest = stamp(now - keep)
    removed = 0
    for name in os.listdir(folder):
        if name.endswith((".json", ".journal")) and name[:1].isdigit() and name[:16] < oldest:
            with suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed
