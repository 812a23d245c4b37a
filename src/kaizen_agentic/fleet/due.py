"""Fleet runs: prepare a bundle for every enrolled (repo, agent) whose slot is due.

``prepare_due`` is what an orchestrator's timer calls: at ``at``, every enrolled agent whose
latest slot falls in ``(at - window, at]`` gets its bundle, in parallel processes, in one start
of the tool. It is idempotent: a second call for the same ``at`` finds every bundle in place,
prepares nothing and reports them as existing. One repo failing does not stop the others.
"""

import os
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kaizen_agentic.errors import KaizenError, UsageError
from kaizen_agentic.fleet.discovery import Discovery

if TYPE_CHECKING:
    from concurrent.futures import Executor

_DURATION: Final = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def tick_floor(moment: datetime, tick: timedelta) -> datetime:
    """The tick ``moment`` belongs to: ``moment`` floored to the grid of ``tick`` counted from
    the Unix epoch (UTC). A cron-like engine that starts late still names its own tick."""
    step = int(tick.total_seconds())
    if step <= 0:
        raise UsageError("the tick must be at least one second")
    seconds = int(moment.timestamp() // 1)
    return datetime.fromtimestamp(seconds - seconds % step, UTC)


def parse_duration(text: str, flag: str | None = None) -> timedelta:
    """``90m``, ``1h``, ``2h30m``, ``1d``, ``45s``. Raises ``UsageError`` naming ``flag``."""
    named = f"{flag}: " if flag else ""
    clean = text.strip()
    match = _DURATION.fullmatch(clean)
    if clean.isdigit():
        raise UsageError(f"{named}{text!r} needs a unit: {clean}m, {clean}h or {clean}d")
    if not clean or match is None or not any(match.groups()):
        raise UsageError(f"{named}{text!r} is not a duration like 90m, 1h, 2h30m or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value <= timedelta(0):
        raise UsageError(f"{named}{text!r}: a duration must be longer than zero")
    return value


class Job(NamedTuple):
    """One due (repository, agent, slot) to prepare."""

    slug: str
    path: str
    agent: str
    slot: datetime


class Outcome(NamedTuple):
    """What preparing one job gave: its status, bundle and event, or the error."""

    slug: str
    agent: str
    slot: str
    status: str  # "created", "exists", "replaced" or "failed"
    path: str | None
    key: str | None
    digest: str | None
    error: str | None
    event: dict[str, Any] | None


def due_jobs(discovery: Discovery, at: datetime, window: timedelta) -> tuple[list[Job], int]:
    """Every (repo, agent, slot) with a slot in the half-open span ``(at - window, at]``, and
    how many enrolled agents have none.

    This is the tick model's one decision: whatever engine fires the tick, our cadence engine
    alone says what is due. Consecutive ticks tile time, so each slot is due in exactly one tick
    when the window equals the tick; a longer window catches up missed ticks, and bundles being
    idempotent per slot makes the overlap harmless."""
    jobs: list[Job] = []
    not_due = 0
    at = at.astimezone(UTC)  # aware arithmetic in a zone with DST would count wall-clock time
    start = at - window
    for repo in discovery.enrolled():
        manifest = repo.manifest
        for status in repo.agents:
            if status.state != "enabled":
                continue
            entry = manifest.get(status.agent) if manifest is not None else None
            slots = entry.runs_between(start, at) if entry is not None else ()
            if slots and repo.path is not None:
                jobs.extend(Job(repo.slug, repo.path, status.agent, slot) for slot in slots)
            else:
                not_due += 1
    return jobs, not_due


Task = tuple[Job, datetime, str, str, bool, bool, bool]  # job, tick, out dir, host, durable,
# strict secrets, announce


def existing(job: Job, out_dir: str, host: str) -> Outcome | None:
    """The job's bundle when it is already on disk, read from its manifest (no git, no
    prompt): what ``prepare`` would report as ``exists``, for the cost of a ``stat``. Its
    event comes with it only while it waits for delivery (a run killed before delivering)."""
    from kaizen_agentic.bundle.events import PENDING, SENDING
    from kaizen_agentic.bundle.store import bundle_path, read_manifest

    path = bundle_path(out_dir, job.slug, job.agent, job.slot)
    if not os.path.isdir(path):
        return None
    try:
        manifest = read_manifest(path)
    except KaizenError:
        return None  # not ours to judge here: prepare reports it
    event = None
    if any(os.path.exists(os.path.join(path, name)) for name in (PENDING, SENDING)):
        from kaizen_agentic.bundle.prepare import prepared_event

        event = prepared_event(manifest, path, host)
    slot = job.slot.isoformat(timespec="seconds")
    key, digest = manifest.get("key"), manifest.get("digest")
    return Outcome(job.slug, job.agent, slot, "exists", path, key, digest, None, event)


def _run(args: Task) -> Outcome:
    from kaizen_agentic.bundle.prepare import prepare

    job, _tick, out_dir, host, durable, strict_secrets, announce = args
    found = existing(job, out_dir, host)
    if found is not None:
        return found
    slot = job.slot.isoformat(timespec="seconds")
    try:
        done = prepare(
            job.path,
            job.agent,
            at=job.slot,
            out_dir=out_dir,
            host=host,
            durable=durable,
            strict_secrets=strict_secrets,
            announce=announce,
        )
    except KaizenError as exc:
        problems = getattr(exc, "problems", ())
        message = "; ".join(str(p) for p in problems) if problems else str(exc)
        return Outcome(job.slug, job.agent, slot, "failed", None, None, None, message, None)
    except Exception as exc:  # one repo's surprise must not stop the fleet
        message = f"internal error: {type(exc).__name__}: {exc}"
        return Outcome(job.slug, job.agent, slot, "failed", None, None, None, message, None)
    return Outcome(
        job.slug, job.agent, slot, done.status, done.path, done.key, done.digest, None, done.event
    )


def _run_chunk(tasks: list[Task]) -> list[Outcome]:
    return [_run(task) for task in tasks]


def prepare_due(
    jobs: list[Job],
    *,
    at: datetime,
    out_dir: str,
    host: str,
    workers: int = 1,
    durable: bool = True,
    progress: Callable[[int, int], None] | None = None,
    strict_secrets: bool = False,
    each: Callable[[Outcome], None] | None = None,
    announce: bool = False,
) -> list[Outcome]:
    """Prepare every job; results in job order. ``progress(done, total)`` is called as they
    finish, and ``each(outcome)`` with each (to deliver its event before the next ends).
    ``strict_secrets``: a job whose inputs hold a secret fails instead. ``announce``: new
    bundles keep their event waiting until it is delivered (``prepare``'s ``announce``)."""
    results: list[Outcome | None] = [None] * len(jobs)
    stream = prepare_stream(
        jobs,
        at=at,
        out_dir=out_dir,
        host=host,
        workers=workers,
        durable=durable,
        strict_secrets=strict_secrets,
        announce=announce,
    )
    for finished, (index, outcome) in enumerate(stream, start=1):
        results[index] = outcome
        if each is not None:
            each(outcome)
        if progress is not None:
            progress(finished, len(jobs))
    done = [r for r in results if r is not None]
    sweep_after(done)
    return done


def sweep_after(results: Sequence[Outcome]) -> None:
    """Remove what writers killed during this run left (a run beside ours, SIGKILLed)."""
    from kaizen_agentic.bundle.store import sweep

    for parent in sorted({os.path.dirname(r.path) for r in results if r.path}):
        sweep(parent)


def prepare_stream(
    jobs: Sequence[Job],
    *,
    at: datetime,
    out_dir: str,
    host: str,
    workers: int = 1,
    durable: bool = True,
    strict_secrets: bool = False,
    announce: bool = False,
    pool: "Executor | None" = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """``(index, outcome)`` of every job, as they finish: in ``workers`` processes (or the
    given ``pool``), a few chunks in flight at a time. Once ``stop()`` is true no further
    chunk starts; those in flight are still reported."""
    tasks = [(job, at, out_dir, host, durable, strict_secrets, announce) for job in jobs]
    if pool is None and (workers <= 1 or len(tasks) < 8):
        for index, task in enumerate(tasks):
            if stop is not None and stop():
                return
            yield index, _run(task)
        return
    if pool is not None:
        yield from _stream(tasks, pool, workers, stop)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as own:
        yield from _stream(tasks, own, workers, stop)


def _stream(
    tasks: list[Task], pool: "Executor", workers: int, stop: Callable[[], bool] | None
) -> Iterator[tuple[int, Outcome]]:
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    size = max(1, min(32, len(tasks) // (max(workers, 1) * 4)))
    chunks = [range(i, min(i + size, len(tasks))) for i in range(0, len(tasks), size)]
    ahead = max(workers, 1) * 2  # chunks in flight: every process busy, one queued behind it
    pending: dict[Future[list[Outcome]], range] = {}
    position = 0
    try:
        while position < len(chunks) or pending:
            while position < len(chunks) and len(pending) < ahead and not (stop and stop()):
                part = chunks[position]
                pending[pool.submit(_run_chunk, [tasks[i] for i in part])] = part
                position += 1
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                part = pending.pop(future)
                yield from zip(part, future.result(), strict=True)
    finally:
        for future in pending:
            future.cancel()
