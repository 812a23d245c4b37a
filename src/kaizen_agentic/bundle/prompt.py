"""The prompt of a bundle: its parts, the token budget and what is dropped to fit it.

Memory entries and recent-run rows are droppable items; ``fit`` keeps the most that fit the
budget, dropping whole items oldest first (pinned memory last), and ``assemble`` renders the
parts and ``PROMPT.md`` with a note of what was left out. Tokens are estimated as UTF-8 bytes
divided by four, rounded up.
"""

import math
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from kaizen_agentic.bundle import memory, metrics
from kaizen_agentic.bundle.store import PROMPT
from kaizen_agentic.errors import KaizenError

BYTES_PER_TOKEN: Final = 4
PARTS: Final = ("agent", "run", "repository", "memory", "metrics")
TOKEN_METHOD: Final = f"ceil(utf8_bytes / {BYTES_PER_TOKEN})"


def estimate_tokens(text: str) -> int:
    """Tokens in ``text``, estimated as UTF-8 bytes / 4 rounded up (see docs: bundles)."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


class Item(NamedTuple):
    """A droppable piece of the prompt: a memory entry or a recent-run row."""

    kind: str  # "memory" or "metrics"
    pinned: bool
    moment: datetime
    order: int
    text: str
    label: str  # how the manifest names it when dropped


class Inputs(NamedTuple):
    """Everything a bundle is made from, read and passed through the redactor (``prepare``
    builds it only from what ``redact.Ruleset.redact_all`` returned)."""

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


def memory_items(entries: list[memory.MemoryEntry]) -> list[Item]:
    """Memory entries as droppable prompt items, as written (not yet redacted)."""
    items = []
    for number, entry in enumerate(entries):
        text = entry.render()
        label = f"{entry.when}{' (pinned)' if entry.pinned else ''} (line {entry.line})"
        items.append(Item("memory", entry.pinned, entry.moment, number, text, label))
    return items


def metrics_parts(summary: metrics.Summary, start: int) -> tuple[str, list[Item]]:
    """The metrics summary (kept whole) and recent-run rows (droppable), not yet redacted."""
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
    head = "\n".join(lines) + "\n"
    items = []
    for offset, record in enumerate(summary.window):
        measures = ", ".join(f"{k}={v:g}" for k, v in sorted(record.measures.items()))
        row = (
            f"| {record.time} | {record.outcome} | "
            f"{'' if record.duration_s is None else f'{record.duration_s:g}'} | "
            f"{'' if record.tokens is None else record.tokens} | {measures} |\n"
        )
        items.append(
            Item("metrics", False, _utc(record.time), start + offset, row, f"run at {record.time}")
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
    """``PROMPT.md`` from its parts, in order."""
    return "\n---\n\n".join(parts[name].rstrip("\n") + "\n" for name in PARTS)
