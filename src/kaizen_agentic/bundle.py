"""Prepared bundles: one offline, complete, reproducible input per scheduled run.

A bundle is a folder holding ``PROMPT.md`` (ready for any LLM runtime), the ``parts/`` it was
assembled from, and ``manifest.json`` (provenance, budget, what was dropped, redaction counts,
every file's SHA-256, and the bundle digest). The same inputs for the same schedule slot give
the same bytes. A bundle is written in a temporary sibling folder and renamed into place, so a
folder with the final name is always complete; a crash leaves only a ``.tmp-`` folder, swept
later.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import shutil
import time
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from kaizen_agentic import events, memory, metrics
from kaizen_agentic.atomic import fsync_dir
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.redact import redact

BUNDLE_FORMAT: Final = 1
BYTES_PER_TOKEN: Final = 4
MANIFEST: Final = "manifest.json"
PROMPT: Final = "PROMPT.md"
PARTS: Final = ("agent", "run", "repository", "memory", "metrics")
STALE_TMP_SECONDS: Final = 3600
TOKEN_METHOD: Final = f"ceil(utf8_bytes / {BYTES_PER_TOKEN})"


def estimate_tokens(text: str) -> int:
    """Tokens in ``text``, estimated as UTF-8 bytes / 4 rounded up (see docs: bundles)."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def default_out_dir() -> str:
    """Where bundles go when no folder is named: ``$KAIZEN_BUNDLE_DIR``, else the user's cache."""
    explicit = os.environ.get("KAIZEN_BUNDLE_DIR")
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "kaizen-agentic", "bundles")


def idempotency_key(slug: str, agent: str, slot: datetime) -> str:
    """Stable id of one (repo, agent, slot): the event id and the bundle's identity."""
    slot_utc = slot.astimezone(UTC).isoformat(timespec="seconds")
    digest = hashlib.sha256(f"{slug}\n{agent}\n{slot_utc}".encode()).hexdigest()
    return f"kz-{digest[:40]}"


def safe_name(text: str) -> str:
    """A single path segment for ``text`` (a slug): no separators, no leading dot."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", text.replace("/", "__")).lstrip(".")
    return name[:150] or "_"


def bundle_path(out_dir: str, slug: str, agent: str, slot: datetime) -> str:
    stamp = slot.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(out_dir, safe_name(slug), agent, stamp)


def check_out_dir(out_dir: str, final: str) -> None:
    """Refuse an output folder, or a folder below it, that is a symbolic link: a planted link
    could send a bundle (repository content) anywhere."""
    current = out_dir
    for part in ["", *os.path.relpath(final, out_dir).split(os.sep)]:
        current = os.path.join(current, part) if part else current
        if os.path.islink(current.rstrip(os.sep) or os.sep):
            raise KaizenError(
                f"{current} is a symbolic link; refusing to write a bundle through it"
            )


class Prepared(NamedTuple):
    status: str  # "created", "exists" or "replaced"
    path: str
    key: str
    digest: str
    manifest: dict[str, Any]
    event: dict[str, Any]
    note: str | None


class Item(NamedTuple):
    """A droppable piece of the prompt: a memory entry or a recent-run row."""

    kind: str  # "memory" or "metrics"
    pinned: bool
    moment: datetime
    order: int
    text: str
    label: str  # how the manifest names it when dropped


class Inputs(NamedTuple):
    """Everything a bundle is made from, already read and redacted."""

    agent_text: str
    run_text: str
    repo_text: str
    memory_items: list[Item]
    memory_pinned: int
    metrics_head: str
    metrics_items: list[Item]


def _utc(moment: str) -> datetime:
    try:
        value = datetime.fromisoformat(moment)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fit(fixed: str, items: list[Item], budget: int, render: Any) -> tuple[list[Item], list[Item]]:
    """Keep the most items that fit ``budget`` tokens; drop whole items, oldest first, pinned
    last. Returns (kept, dropped), each in their original order."""
    fixed_tokens = estimate_tokens(fixed)
    if fixed_tokens > budget:
        raise KaizenError(
            f"the agent prompt and run details alone need about {fixed_tokens} tokens; the "
            f"token budget is {budget}. Raise token_budget in .kaizen/schedule.yml."
        )
    drop_order = sorted(items, key=lambda it: (it.pinned, it.moment, it.order))
    sizes = {it.order: len(it.text.encode("utf-8")) for it in items}
    total = len(fixed.encode("utf-8")) + sum(sizes.values()) + 400  # notes about what was dropped
    dropped: set[int] = set()
    index = 0
    while total > budget * BYTES_PER_TOKEN and index < len(drop_order):
        dropped.add(drop_order[index].order)
        total -= sizes[drop_order[index].order]
        index += 1
    while True:
        kept = [it for it in items if it.order not in dropped]
        if estimate_tokens(render(kept, [it for it in items if it.order in dropped])) <= budget:
            break
        if index >= len(drop_order):  # cannot happen: the fixed part fits with room for notes
            raise KaizenError("could not fit the bundle into its token budget")
        dropped.add(drop_order[index].order)
        index += 1
    return kept, [it for it in items if it.order in dropped]


def _memory_items(entries: list[memory.MemoryEntry], counts: dict[str, int]) -> list[Item]:
    items = []
    for number, entry in enumerate(entries):
        text = redact(entry.render(), counts).text
        label = f"{entry.when}{' (pinned)' if entry.pinned else ''} (line {entry.line})"
        items.append(Item("memory", entry.pinned, entry.moment, number, text, label))
    return items


def _metrics_parts(
    summary: metrics.Summary, counts: dict[str, int], start: int
) -> tuple[str, list[Item]]:
    lines = [f"Runs recorded: {summary.total_runs}."]
    if summary.window:
        n = len(summary.window)
        outcomes = ", ".join(f"{k} {v}" for k, v in summary.outcomes.items())
        lines.append(f"Last {n} run{'s' if n != 1 else ''}: {outcomes}.")
        if summary.success_rate is not None:
            lines.append(f"Success rate over them: {summary.success_rate:.0%}.")
        if summary.mean_duration_s is not None:
            lines.append(f"Mean duration: {summary.mean_duration_s:.1f} s.")
        if summary.mean_tokens is not None:
            lines.append(f"Mean tokens: {summary.mean_tokens:.0f}.")
    if summary.malformed:
        lines.append(f"Unreadable lines skipped near the end of the file: {summary.malformed}.")
    if summary.trends:
        lines += [
            "",
            "| measure | last | mean | trend over the window |",
            "| --- | ---: | ---: | --- |",
        ]
        lines += [
            f"| {t.measure} | {t.last:g} | {t.mean:.4g} | {t.direction} |" for t in summary.trends
        ]
    head = redact("\n".join(lines) + "\n", counts).text
    items = []
    for offset, record in enumerate(summary.window):
        measures = ", ".join(f"{k}={v:g}" for k, v in sorted(record.measures.items()))
        row = (
            f"| {record.time} | {record.outcome} | "
            f"{'' if record.duration_s is None else f'{record.duration_s:g}'} | "
            f"{'' if record.tokens is None else record.tokens} | {measures} |\n"
        )
        text = redact(row, counts).text
        items.append(
            Item("metrics", False, _utc(record.time), start + offset, text, f"run at {record.time}")
        )
    return head, items


def _render_memory(kept: list[Item], dropped: list[Item], pinned: int, total: int) -> str:
    if not total:
        return "# Memory\n\nNo memory yet: this is the first run, or nothing has been recorded.\n"
    lines = [
        f"# Memory\n\n{total} entr{'y' if total == 1 else 'ies'} ({pinned} pinned), oldest "
        "first. Pinned entries are standing decisions."
    ]
    if dropped:
        lines.append(
            f" {len(dropped)} older entr{'y was' if len(dropped) == 1 else 'ies were'} "
            "left out to fit the token budget; the bundle manifest lists them."
        )
    return "".join(lines) + "\n\n" + "\n".join(it.text for it in kept)


def _render_metrics(head: str, kept: list[Item], dropped: list[Item]) -> str:
    text = "# Metrics\n\n" + head
    if kept or dropped:
        text += (
            "\nRecent runs, oldest first:\n\n| time | outcome | duration s | tokens | measures |\n"
        )
        text += "| --- | --- | ---: | ---: | --- |\n" + "".join(it.text for it in kept)
        if dropped:
            text += (
                f"\n{len(dropped)} older run row{'s were' if len(dropped) != 1 else ' was'} "
                "left out to fit the token budget.\n"
            )
    return text


def assemble(inputs: Inputs, budget: int) -> tuple[dict[str, str], list[Item]]:
    """The parts and the prompt, fitted to ``budget``. Returns (files, dropped items)."""
    items = inputs.memory_items + inputs.metrics_items
    total_memory = len(inputs.memory_items)

    def parts(kept: list[Item], dropped: list[Item]) -> dict[str, str]:
        mem_kept = [it for it in kept if it.kind == "memory"]
        mem_dropped = [it for it in dropped if it.kind == "memory"]
        return {
            "agent": inputs.agent_text,
            "run": inputs.run_text,
            "repository": inputs.repo_text,
            "memory": _render_memory(mem_kept, mem_dropped, inputs.memory_pinned, total_memory),
            "metrics": _render_metrics(
                inputs.metrics_head,
                [it for it in kept if it.kind == "metrics"],
                [it for it in dropped if it.kind == "metrics"],
            ),
        }

    def prompt(kept: list[Item], dropped: list[Item]) -> str:
        return join_prompt(parts(kept, dropped))

    fixed = prompt([], [])
    kept, dropped = fit(fixed, items, budget, prompt)
    files = {f"parts/{name}.md": text for name, text in parts(kept, dropped).items()}
    files[PROMPT] = prompt(kept, dropped)
    return files, dropped


def join_prompt(parts: dict[str, str]) -> str:
    return "\n---\n\n".join(parts[name].rstrip("\n") + "\n" for name in PARTS)


def digest_of(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write_bundle(final: str, files: dict[str, bytes], durable: bool = True) -> bool:
    """Write ``files`` into a new folder at ``final`` atomically (0700 folders, 0600 files).

    Returns False, writing nothing, when ``final`` already exists (another writer won).
    """
    parent = os.path.dirname(final)
    os.makedirs(parent, mode=0o700, exist_ok=True)
    sweep(parent)
    tmp = os.path.join(
        parent, f".tmp-{os.path.basename(final)}-{os.getpid()}-{secrets.token_hex(4)}"
    )
    os.mkdir(tmp, 0o700)
    try:
        for relative, data in sorted(files.items()):
            path = os.path.join(tmp, relative)
            folder = os.path.dirname(path)
            if not os.path.isdir(folder):
                os.mkdir(folder, 0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        if durable:
            for folder in {os.path.dirname(os.path.join(tmp, r)) for r in files}:
                fsync_dir(folder)
        try:
            os.rename(tmp, final)
        except OSError as exc:
            if os.path.isdir(final):
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            raise KaizenError(f"could not move the bundle into {final}: {exc.strerror}") from None
        if durable:
            fsync_dir(parent)
        return True
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep(parent: str, older_than: float = STALE_TMP_SECONDS) -> int:
    """Remove temporary folders that crashed writers left in ``parent``. Returns how many."""
    removed = 0
    now = time.time()
    try:
        names = os.listdir(parent)
    except OSError:
        return 0
    for name in names:
        if not (name.startswith(".tmp-") or name.startswith(".old-")):
            continue
        path = os.path.join(parent, name)
        try:
            if now - os.lstat(path).st_mtime < older_than:
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def read_manifest(path: str) -> dict[str, Any]:
    """The manifest of the bundle at ``path``. Raises ``KaizenError`` when it is unreadable."""
    try:
        with open(os.path.join(path, MANIFEST), "rb") as handle:
            value = json.loads(handle.read())
    except FileNotFoundError:
        raise KaizenError(f"{path} is not a bundle (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise KaizenError(f"{path}/{MANIFEST} is unreadable: {exc}") from None
    if not isinstance(value, dict) or value.get("format") != BUNDLE_FORMAT:
        raise KaizenError(f"{path}/{MANIFEST} is not a kaizen-agentic bundle manifest")
    return value


def verify(path: str) -> list[str]:
    """Problems with the bundle at ``path``: missing or altered files, a wrong digest."""
    try:
        manifest = read_manifest(path)
    except KaizenError as exc:
        return [str(exc)]
    problems = []
    if digest_of(manifest) != manifest.get("digest"):
        problems.append(f"{MANIFEST}: digest does not match its contents")
    for relative, info in sorted(manifest.get("files", {}).items()):
        try:
            with open(os.path.join(path, relative), "rb") as handle:
                data = handle.read()
        except OSError:
            problems.append(f"{relative}: missing")
            continue
        if hashlib.sha256(data).hexdigest() != info.get("sha256"):
            problems.append(f"{relative}: contents do not match the manifest")
    return problems


class Context(NamedTuple):
    """What ``prepare`` resolved about the repository and the agent."""

    root: str
    slug: str
    agent: str
    entry: Any  # schedule.AgentEntry
    slot: datetime
    schedule_digest: str
    git: Any  # repo.GitState


def resolve(root: str, agent: str, at: datetime, force: bool) -> Context:
    """Check the repository, its manifest and the agent's entry; find the slot.

    The repository's identity is its manifest's ``repo:``, however the checkout was reached."""
    from pathlib import Path

    from kaizen_agentic.agents import check_name
    from kaizen_agentic.cadence import previous_run
    from kaizen_agentic.repo import git_state
    from kaizen_agentic.schedule import load_repo_manifest, manifest_path

    check_name(agent)
    work = Path(root)
    git = git_state(work)
    path = manifest_path(work)
    if not path.exists():
        from kaizen_agentic.schedule import missing

        raise KaizenError(missing(str(work)))
    manifest = load_repo_manifest(str(work))
    entry = manifest.get(agent)
    if entry is None:
        names = ", ".join(a.agent for a in manifest.agents)
        raise KaizenError(f'agent "{agent}" is not in {path} (it lists: {names})')
    state = entry.state(at)
    if state != "enabled" and not force:
        why = "disabled" if state == "disabled" else f"paused until {entry.paused_until}"
        raise KaizenError(f'agent "{agent}" is {why} in {path}; use --force to prepare anyway')
    slot = previous_run(entry.cadence, at)
    if slot is None:
        if not force:
            raise KaizenError(f'agent "{agent}" has no scheduled run at or before {at.isoformat()}')
        slot = at.astimezone(entry.cadence.zone).replace(microsecond=0)
    return Context(str(work), manifest.repo, agent, entry, slot, manifest.digest, git)


def _run_part(ctx: Context, definition: Any) -> str:
    from kaizen_agentic.cadence import describe

    source = "built in" if definition.source == "builtin" else "defined in the repository"
    run = [
        "# This run",
        "",
        f"- Repository: {ctx.slug}",
        f"- Agent: {definition.name} (version {definition.version}, {source})",
        f"- Scheduled slot: {ctx.slot.isoformat(timespec='seconds')} "
        f"({describe(ctx.entry.cadence)})",
    ]
    if ctx.entry.focus:
        run.append(f"- Focus for this run: {ctx.entry.focus}")
    if ctx.entry.instructions:
        run += ["", "## Instructions from the repository", "", ctx.entry.instructions.rstrip("\n")]
    return "\n".join(run) + "\n"


def _repository_part(ctx: Context, remote: str | None) -> str:
    return (
        "\n".join(
            [
                "# Repository",
                "",
                f"- Slug: {ctx.slug}",
                f"- Local path: {ctx.root}",
                f"- Remote: {remote or '(none)'}",
                f"- Branch: {ctx.git.branch or '(detached HEAD)'}",
                f"- Commit: {ctx.git.head}",
                f"- Working tree: {'has uncommitted changes' if ctx.git.dirty else 'clean'}",
                f"- Schedule: .kaizen/schedule.yml ({ctx.schedule_digest})",
            ]
        )
        + "\n"
    )


def gather(ctx: Context, window: int, counts: dict[str, int]) -> tuple[Inputs, dict[str, Any]]:
    """Read the agent, memory and metrics; redact; return the inputs and their provenance."""
    from kaizen_agentic.agents import load_definition

    definition = load_definition(ctx.agent, ctx.root)
    entries, memory_digest = memory.read(ctx.root, ctx.agent)
    summary = metrics.summarize(ctx.root, ctx.agent, window)
    remote = redact(ctx.git.remote_url, counts).text if ctx.git.remote_url else None
    memory_items = _memory_items(entries, counts)
    head, metric_items = _metrics_parts(summary, counts, start=len(memory_items))
    inputs = Inputs(
        agent_text=redact(definition.prompt, counts).text,
        run_text=redact(_run_part(ctx, definition), counts).text,
        repo_text=redact(_repository_part(ctx, remote), counts).text,
        memory_items=memory_items,
        memory_pinned=sum(1 for e in entries if e.pinned),
        metrics_head=head,
        metrics_items=metric_items,
    )
    provenance = {
        "agent": {
            "name": definition.name,
            "version": definition.version,
            "source": definition.source,
            "digest": definition.digest,
        },
        "repo": {
            "slug": ctx.slug,
            "path": ctx.root,
            "remote_url": remote,
            "branch": ctx.git.branch,
            "head": ctx.git.head,
            "dirty": ctx.git.dirty,
            "schedule_digest": ctx.schedule_digest,
        },
        "inputs": {
            "memory": {
                "path": memory.MEMORY_DIR + f"/{ctx.agent}.md",
                "digest": memory_digest,
                "entries": len(entries),
            },
            "metrics": {
                "path": metrics.METRICS_DIR + f"/{ctx.agent}.jsonl",
                "runs": summary.total_runs,
                "window": len(summary.window),
            },
        },
    }
    return inputs, provenance


def prepare(
    root: str,
    agent: str,
    *,
    at: datetime,
    out_dir: str,
    host: str,
    force: bool = False,
    window: int = metrics.DEFAULT_WINDOW,
    durable: bool = True,
) -> Prepared:
    """Prepare the bundle for ``agent``'s slot at or before ``at`` in the repo at ``root``.

    Idempotent: when the slot's bundle exists it is kept (``status="exists"``) unless
    ``force``, which rebuilds it and swaps it in atomically (``"replaced"``).
    """
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    ctx = resolve(root, agent, at, force)
    counts: dict[str, int] = {}
    inputs, provenance = gather(ctx, window, counts)
    budget = ctx.entry.token_budget
    texts, dropped = assemble(inputs, budget)
    key = idempotency_key(ctx.slug, agent, ctx.slot)
    files = {name: text.encode("utf-8") for name, text in texts.items()}
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "key": key,
        "slot": ctx.slot.isoformat(timespec="seconds"),
        "slot_utc": ctx.slot.astimezone(UTC).isoformat(timespec="seconds"),
        "schedule": {
            "interval": ctx.entry.cadence.interval,
            "cron": ctx.entry.cadence.cron,
            "timezone": ctx.entry.cadence.timezone,
        },
        "focus": redact(ctx.entry.focus, counts).text if ctx.entry.focus else None,
        **provenance,
        "budget": {
            "tokens": budget,
            "estimate": estimate_tokens(texts[PROMPT]),
            "method": TOKEN_METHOD,
        },
        "dropped": {
            "memory": [it.label for it in dropped if it.kind == "memory"],
            "metrics_runs": [it.label for it in dropped if it.kind == "metrics"],
        },
        "redactions": dict(sorted(counts.items())),
        "files": {
            name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in sorted(files.items())
        },
    }
    manifest["digest"] = digest_of(manifest)
    files[MANIFEST] = _json_bytes(manifest)
    final = bundle_path(out_dir, ctx.slug, agent, ctx.slot)
    check_out_dir(out_dir, final)
    status, note = _place(final, files, manifest["digest"], force, durable)
    if status == "exists":
        manifest = read_manifest(final)
    event = prepared_event(manifest, final, host)
    return Prepared(status, final, key, manifest["digest"], manifest, event, note)


def _place(
    final: str, files: dict[str, bytes], digest: str, force: bool, durable: bool
) -> tuple[str, str | None]:
    if os.path.isdir(final) and not force:
        return "exists", _compare(final, digest)
    if write_bundle(final, files, durable):
        return "created", None
    if not force:
        return "exists", _compare(final, digest)
    # --force over an existing bundle: move it aside, move ours in, then delete the old one.
    parent = os.path.dirname(final)
    aside = os.path.join(parent, f".old-{os.path.basename(final)}-{secrets.token_hex(4)}")
    os.rename(final, aside)
    if not write_bundle(final, files, durable):
        shutil.rmtree(aside, ignore_errors=True)
        return "exists", _compare(final, digest)
    shutil.rmtree(aside, ignore_errors=True)
    return "replaced", None


def _compare(final: str, digest: str) -> str | None:
    existing = read_manifest(final).get("digest")
    if existing == digest:
        return None
    return (
        "the slot was already prepared from other inputs (the repository changed since); "
        "kept the existing bundle. Use --force to rebuild it."
    )


def prepared_event(manifest: dict[str, Any], path: str, host: str) -> dict[str, Any]:
    """The ``kaizen.schedule.prepared`` CloudEvent for a bundle manifest."""
    from pathlib import Path

    manifest_file = Path(path, MANIFEST).absolute()
    repo = manifest["repo"]
    data = {
        "agent": manifest["agent"]["name"],
        "agent_version": manifest["agent"]["version"],
        "idempotency_key": manifest["key"],
        "repo": repo,
        "slot": manifest["slot"],
        "slot_utc": manifest["slot_utc"],
        "schedule": manifest["schedule"],
        "bundle": {
            "path": str(manifest_file.parent),
            "manifest": str(manifest_file),
            "digest": manifest["digest"],
            "prompt": str(manifest_file.parent / PROMPT),
        },
        "tokens": {
            "estimate": manifest["budget"]["estimate"],
            "budget": manifest["budget"]["tokens"],
        },
        "truncation": {
            "memory_entries_dropped": len(manifest["dropped"]["memory"]),
            "metric_runs_dropped": len(manifest["dropped"]["metrics_runs"]),
        },
        "redactions": {
            "total": sum(manifest["redactions"].values()),
            "by_rule": manifest["redactions"],
        },
    }
    return events.cloudevent(
        kind=events.PREPARED,
        event_id=manifest["key"],
        host=host,
        time_=manifest["slot"],
        subject=repo["slug"],
        schema=events.PREPARED_SCHEMA,
        data=data,
        dataref=manifest_file.as_uri(),
    )
