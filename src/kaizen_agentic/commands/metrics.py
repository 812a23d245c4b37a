"""``kaizen-agentic metrics record | show AGENT``: how an agent's runs went."""

from __future__ import annotations

import sys

from kaizen_agentic import output
from kaizen_agentic.agents import check_name
from kaizen_agentic.bundle.metrics import append, make_record, metrics_path, summarize
from kaizen_agentic.errors import UsageError
from kaizen_agentic.repo import find_root


def _measures(pairs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--measure takes NAME=NUMBER, got {pair!r}")
        try:
            out[name.strip()] = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise UsageError(f"--measure {name}: {value!r} is not a number") from None
    return out


def run_record(
    *,
    agent: str,
    at: str | None,
    outcome: str,
    duration: float | None,
    tokens: int | None,
    measure: list[str],
    bundle: str | None,
    repo: str,
) -> int:
    check_name(agent)
    from kaizen_agentic.commands.options import parse_at

    when = parse_at(at)
    record = make_record(
        time=when,
        outcome=outcome,
        duration_s=duration,
        tokens=tokens,
        measures=_measures(measure),
        bundle=bundle,
    )
    root = str(find_root(repo))
    from kaizen_agentic.commands.options import warn_unscheduled

    warn_unscheduled(root, agent)
    path = append(root, agent, record)
    sys.stdout.write(f"recorded {record.outcome} at {record.time} in {path}\n")
    return 0


def run_show(*, agent: str, repo: str, last: int, as_json: bool) -> int:
    check_name(agent)
    root = str(find_root(repo))
    from kaizen_agentic.commands.options import warn_unscheduled

    warn_unscheduled(root, agent)
    summary = summarize(root, agent, last)
    if as_json:
        doc = {
            "agent": agent,
            "path": metrics_path(root, agent),
            "total_runs": summary.total_runs,
            "outcomes": summary.outcomes,
            "success_rate": summary.success_rate,
            "mean_duration_s": summary.mean_duration_s,
            "mean_tokens": summary.mean_tokens,
            "malformed": summary.malformed,
            "trends": [t._asdict() for t in summary.trends],
            "runs": [r.as_dict() for r in summary.window],
        }
        sys.stdout.write(output.to_json(doc))
        return 0
    if not summary.total_runs:
        sys.stdout.write(f"no runs recorded for {agent} ({metrics_path(root, agent)})\n")
        return 0
    rate = "" if summary.success_rate is None else f" (success rate {summary.success_rate:.0%})"
    runs = summary.total_runs
    head = (
        f"{metrics_path(root, agent)}: {runs} run{'' if runs == 1 else 's'} recorded; "
        f"last {len(summary.window)}: "
        + ", ".join(f"{k} {v}" for k, v in summary.outcomes.items())
        + f"{rate}\n\n"
    )
    rows = [
        [
            r.time,
            r.outcome,
            "" if r.duration_s is None else f"{r.duration_s:g}",
            "" if r.tokens is None else str(r.tokens),
            ", ".join(f"{k}={v:g}" for k, v in sorted(r.measures.items())),
        ]
        for r in summary.window
    ]
    body = output.table(rows, ["TIME", "OUTCOME", "DURATION S", "TOKENS", "MEASURES"])
    trends = "".join(
        f"{t.measure}: last {t.last:g}, mean {t.mean:.4g}, "
        f"{'no trend yet (it needs 4 runs)' if t.direction == 'n/a' else t.direction}\n"
        for t in summary.trends
    )
    sys.stdout.write(head + body + ("\n" + trends if trends else ""))
    return 0
