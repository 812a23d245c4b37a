"""Prepare one bundle: resolve the repository and slot, gather the inputs and pass them all
through the redactor at one boundary, fit the prompt to the budget, write the bundle, and make
the ``kaizen.schedule.prepared`` event."""

import hashlib
from datetime import UTC, datetime
from typing import Any, NamedTuple

from kaizen_agentic.bundle import events, memory, metrics, prompt, store
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.manifest.schedule import AgentEntry
from kaizen_agentic.repo import GitState


class Prepared(NamedTuple):
    """A prepared bundle: status, path, key, digest, manifest, event and a note."""

    status: str  # "created", "exists" or "replaced"
    path: str
    key: str
    digest: str
    manifest: dict[str, Any]
    event: dict[str, Any]
    note: str | None


class Context(NamedTuple):
    """What ``prepare`` resolved about the repository and the agent."""

    root: str
    slug: str
    agent: str
    entry: AgentEntry
    slot: datetime
    schedule_digest: str
    git: GitState


def resolve(root: str, agent: str, at: datetime, force: bool) -> Context:
    """Check the repository, its manifest and the agent's entry; find the slot.

    The repository's identity is its manifest's ``repo:``, however the checkout was reached."""
    from pathlib import Path

    from kaizen_agentic.agents import check_name, load_repo_manifest
    from kaizen_agentic.manifest.cadence import previous_run
    from kaizen_agentic.manifest.schedule import manifest_path
    from kaizen_agentic.repo import git_state

    check_name(agent)
    work = Path(root)
    git = git_state(work)
    path = manifest_path(work)
    if not path.exists():
        from kaizen_agentic.manifest.schedule import missing

        raise KaizenError(missing(str(work)))
    manifest = load_repo_manifest(str(work))
    entry = manifest.get(agent)
    if entry is None:
        from kaizen_agentic.manifest.spec import suggest

        listed = [a.agent for a in manifest.agents]
        raise KaizenError(
            f'agent "{agent}" is not in {path} (it lists: {", ".join(listed)})'
            f"{suggest(agent, listed)}"
        )
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


def _run_part(ctx: Context, definition: Any, clean: dict[str, str]) -> str:
    from kaizen_agentic.manifest.cadence import describe

    source = "built in" if definition.source == "builtin" else "defined in the repository"
    run = [
        "# This run",
        "",
        f"- Repository: {ctx.slug}",
        f"- Agent: {definition.name} (version {definition.version}, {source})",
        f"- Scheduled slot: {ctx.slot.isoformat(timespec='seconds')} "
        f"({describe(ctx.entry.cadence)})",
    ]
    if clean[FOCUS]:
        run.append(f"- Focus for this run: {clean[FOCUS]}")
    if clean[INSTRUCTIONS]:
        run += ["", "## Instructions from the repository", "", clean[INSTRUCTIONS].rstrip("\n")]
    return "\n".join(run) + "\n"


def _repository_part(ctx: Context, clean: dict[str, str]) -> str:
    return (
        "\n".join(
            [
                "# Repository",
                "",
                f"- Slug: {ctx.slug}",
                f"- Local path: {clean[PATH]}",
                f"- Remote: {clean[REMOTE] or '(none)'}",
                f"- Branch: {clean[BRANCH] or '(detached HEAD)'}",
                f"- Commit: {ctx.git.head}",
                f"- Working tree: {'has uncommitted changes' if ctx.git.dirty else 'clean'}",
                f"- Schedule: .kaizen/schedule.yml ({ctx.schedule_digest})",
            ]
        )
        + "\n"
    )


# The places of the texts a bundle is made from, as --strict-secrets names them.
AGENT = "the agent's prompt"
AGENT_SOURCE = "the agent's file name"
FOCUS = "focus in .kaizen/schedule.yml"
INSTRUCTIONS = "instructions in .kaizen/schedule.yml"
REMOTE = "the remote URL"
PATH = "the checkout's path"
BRANCH = "the branch name"
METRICS = "the metrics summary"
SLUG = "the repository's slug"


class Gathered(NamedTuple):
    """A bundle's inputs after the redaction boundary, and what it found."""

    inputs: prompt.Inputs
    provenance: dict[str, Any]
    focus: str | None
    counts: dict[str, int]  # rule id -> secrets replaced
    leaks: list[Any]  # redact.Leak: each secret's rule and place


def gather(ctx: Context, window: int, ruleset: Any = None) -> Gathered:
    """Read the agent, memory and metrics; pass every text through the redactor at once (the
    one boundary); assemble the inputs and their provenance from what it returns."""
    from kaizen_agentic.agents import load_definition
    from kaizen_agentic.redact.engine import load_ruleset

    rules = ruleset if ruleset is not None else load_ruleset(ctx.root)
    definition = load_definition(ctx.agent, ctx.root)
    # A built-in agent's file, as shipped, holds no secret for the package's own rules: they
    # were run on it when compiled (``make schema``) and are not run again (5 more patterns).
    builtin = definition.source == "builtin" and definition.digest in rules.known_clean
    entries, memory_digest = memory.read(ctx.root, ctx.agent)
    summary = metrics.summarize(ctx.root, ctx.agent, window)
    memory_items = prompt.memory_items(entries)
    head, metric_items = prompt.metrics_parts(summary, start=len(memory_items))
    memory_file = memory.MEMORY_DIR + f"/{ctx.agent}.md"
    metrics_file = metrics.METRICS_DIR + f"/{ctx.agent}.jsonl"
    places: dict[int, str] = {}  # unique per item
    origins: dict[str, tuple[str, int]] = {}  # where a memory entry's lines are in its file
    for item, entry in zip(memory_items, entries, strict=True):
        places[id(item)] = f"the memory entry {entry.when} from line {entry.line}"
        origins[places[id(item)]] = (memory_file, entry.line)
    places.update(
        {
            id(item): f"{metrics_file}, recent run {number} ({item.label})"
            for number, item in enumerate(metric_items, 1)
        }
    )
    texts = {
        **({} if builtin else {AGENT: definition.prompt}),
        AGENT_SOURCE: definition.source,
        FOCUS: ctx.entry.focus or "",
        INSTRUCTIONS: ctx.entry.instructions or "",
        REMOTE: ctx.git.remote_url or "",
        PATH: ctx.root,
        BRANCH: ctx.git.branch or "",
        METRICS: head,
        SLUG: ctx.slug,
    }
    for item in memory_items + metric_items:
        texts[places[id(item)]] = item.text
        texts[places[id(item)] + " (its label)"] = item.label
    # the boundary: nothing below reads `texts`
    clean, counts, leaks = rules.redact_all(texts, origins)
    if builtin:
        clean[AGENT] = definition.prompt
    if clean[SLUG] != ctx.slug:  # it names the bundle, its folder and its events: no marker
        found = ", ".join(sorted({leak.rule for leak in leaks if leak.place == SLUG}))
        raise KaizenError(
            f"the repository's slug holds what looks like a secret ({found}); bundles, their "
            "folders and events are named after it, so none is prepared: give the repository "
            "another slug (repo: in .kaizen/schedule.yml)"
        )

    def cleaned(item: prompt.Item) -> prompt.Item:
        place = places[id(item)]
        return item._replace(text=clean[place], label=clean[place + " (its label)"])

    inputs = prompt.Inputs(
        agent_text=clean[AGENT],
        run_text=_run_part(ctx, definition, clean),
        repo_text=_repository_part(ctx, clean),
        memory_items=[cleaned(item) for item in memory_items],
        memory_pinned=sum(1 for e in entries if e.pinned),
        metrics_head=clean[METRICS],
        metrics_items=[cleaned(item) for item in metric_items],
    )
    provenance = {
        "agent": {
            "name": definition.name,
            "version": definition.version,
            "source": clean[AGENT_SOURCE],
            "digest": definition.digest,
        },
        "repo": {
            "slug": ctx.slug,
            "path": clean[PATH],
            "remote_url": clean[REMOTE] or None,
            "branch": clean[BRANCH] or None,
            "head": ctx.git.head,
            "dirty": ctx.git.dirty,
            "schedule_digest": ctx.schedule_digest,
        },
        "inputs": {
            "memory": {"path": memory_file, "digest": memory_digest, "entries": len(entries)},
            "metrics": {
                "path": metrics_file,
                "runs": summary.total_runs,
                "window": len(summary.window),
            },
        },
    }
    return Gathered(inputs, provenance, clean[FOCUS] or None, counts, leaks)


class SecretsFound(KaizenError):
    """``--strict-secrets``: the inputs held secrets, so no bundle was written."""

    def __init__(self, leaks: list[Any]) -> None:
        self.leaks = leaks
        count = len(leaks)
        lines = "\n".join(f"  {leak}" for leak in leaks[:100])
        more = f"\n  and {count - 100} more" if count > 100 else ""
        super().__init__(
            f"refusing to write the bundle (--strict-secrets): {count} secret"
            f"{'s' if count != 1 else ''} would need redaction:\n{lines}{more}"
        )


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
    strict_secrets: bool = False,
    announce: bool = False,
) -> Prepared:
    """Prepare the bundle for ``agent``'s slot at or before ``at`` in the repo at ``root``.

    Idempotent: when the slot's bundle exists it is kept (``status="exists"``) unless
    ``force``, which rebuilds it and swaps it in atomically (``"replaced"``).
    ``strict_secrets``: raise ``SecretsFound`` (and write nothing) when any input held a
    secret, instead of writing the bundle with the secret redacted.
    ``announce``: a delivery follows (an outbox or a sink): a new bundle is written with its
    event waiting in it, so that the event is delivered at least once
    (``events.deliver_pending``), however the run ends.
    """
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    ctx = resolve(root, agent, at, force)
    inputs, provenance, focus, counts, leaks = gather(ctx, window)
    if strict_secrets and leaks:
        raise SecretsFound(leaks)
    budget = ctx.entry.token_budget
    texts, dropped = prompt.assemble(inputs, budget)
    key = store.idempotency_key(ctx.slug, agent, ctx.slot)
    files = {name: text.encode("utf-8") for name, text in texts.items()}
    manifest: dict[str, Any] = {
        "format": store.BUNDLE_FORMAT,
        "key": key,
        "slot": ctx.slot.isoformat(timespec="seconds"),
        "slot_utc": ctx.slot.astimezone(UTC).isoformat(timespec="seconds"),
        "schedule": {
            "interval": ctx.entry.cadence.interval,
            "cron": ctx.entry.cadence.cron,
            "timezone": ctx.entry.cadence.timezone,
        },
        "focus": focus,
        **provenance,
        "budget": {
            "tokens": budget,
            "estimate": prompt.estimate_tokens(texts[store.PROMPT]),
            "method": prompt.TOKEN_METHOD,
        },
        "dropped": {
            "memory": [it.label for it in dropped if it.kind == "memory"],
            "metrics_runs": [it.label for it in dropped if it.kind == "metrics"],
        },
        "redactions": counts,
        "files": {
            name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in sorted(files.items())
        },
    }
    manifest["digest"] = store.digest_of(manifest)
    files[store.MANIFEST] = store.json_bytes(manifest)
    final = store.bundle_path(out_dir, ctx.slug, agent, ctx.slot)
    store.check_out_dir(out_dir, final)
    event = prepared_event(manifest, final, host)
    if announce:  # the event waits in the bundle, written in the same rename
        files[events.PENDING] = events.encode(event) + b"\n"
    status, note = store.place(final, files, manifest["digest"], force, durable)
    if status == "exists":
        manifest = store.read_manifest(final)
        event = prepared_event(manifest, final, host)
    return Prepared(status, final, key, manifest["digest"], manifest, event, note)


def prepared_event(manifest: dict[str, Any], path: str, host: str) -> dict[str, Any]:
    """The ``kaizen.schedule.prepared`` CloudEvent for a bundle manifest."""
    from pathlib import Path

    manifest_file = Path(path, store.MANIFEST).absolute()
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
            "prompt": str(manifest_file.parent / store.PROMPT),
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
