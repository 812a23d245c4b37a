"""The parsers of ``kaizen-agentic agents``, ``memory``, ``metrics`` and ``redact``."""

from __future__ import annotations

from typing import Any

from kaizen_agentic import commands
from kaizen_agentic.cli.common import add_repo, add_source, command, whole_number


def add(sub: Any) -> None:
    """The ``agents``, ``memory`` and ``metrics`` groups and the ``redact`` command."""
    _agents_parsers(sub)
    _memory_parsers(sub)
    _metrics_parsers(sub)
    _redact_parser(sub)


def _agents_parsers(sub: Any) -> None:
    group = command(
        sub,
        "agents",
        "the kaizen agents a repository can schedule",
        "Built-in agents, and the repository's own in .kaizen/agents/<name>.md.",
        "kaizen-agentic agents list",
        "kaizen-agentic agents show coach",
    )
    verbs = group.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    listing = command(
        verbs,
        "list",
        "list available agents",
        "List the agents available to a repository.",
        "kaizen-agentic agents list",
        "kaizen-agentic agents list --repo ../payments --json",
    )
    listing.add_argument("--repo", metavar="PATH", help="include this repository's own agents")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=commands.run_agents_list)
    show = command(
        verbs,
        "show",
        "show an agent's definition and prompt",
        "Show an agent's front matter and prompt (the repository's override if any).",
        "kaizen-agentic agents show coach",
        "kaizen-agentic agents show coach --json",
    )
    show.add_argument("name", metavar="NAME")
    show.add_argument("--repo", metavar="PATH", help="look for the repository's override")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=commands.run_agents_show)


def _memory_parsers(sub: Any) -> None:
    group = command(
        sub,
        "memory",
        "what an agent has learned about a repository",
        "Per-agent memory in .kaizen/memory/<agent>.md: dated entries with provenance.",
        "kaizen-agentic memory show coach",
        'kaizen-agentic memory add coach "Releases are cut on Thursdays" --pin',
    )
    verbs = group.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    show = command(
        verbs,
        "show",
        "show an agent's memory entries",
        "Show an agent's memory entries.",
        "kaizen-agentic memory show coach",
        "kaizen-agentic memory show coach --json",
    )
    show.add_argument("agent", metavar="AGENT")
    add_repo(show)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=commands.run_memory_show)
    add = command(
        verbs,
        "add",
        "add an entry to an agent's memory",
        "Append a dated entry to an agent's memory (atomic, locked).",
        'kaizen-agentic memory add coach "Prefer small PRs" --pin',
        "kaizen-agentic memory add coach --file note.md",
    )
    add.add_argument("agent", metavar="AGENT")
    add.add_argument("text", metavar="TEXT", nargs="?", help="the entry's text")
    add.add_argument("--file", metavar="FILE", help="read the text from FILE (- for stdin)")
    add.add_argument("--pin", action="store_true", help="a standing decision, dropped last")
    add.add_argument("--at", metavar="RFC3339", help="the entry's date (default: now)")
    add.add_argument("--bundle", metavar="KEY", help="provenance: the bundle or run it came from")
    add.add_argument("--commit", metavar="SHA", help="provenance: the commit it refers to")
    add_repo(add)
    add.set_defaults(func=commands.run_memory_add)


def _metrics_parsers(sub: Any) -> None:
    group = command(
        sub,
        "metrics",
        "how an agent's runs went",
        "Per-agent run records in .kaizen/metrics/<agent>.jsonl (append-only).",
        "kaizen-agentic metrics record coach --outcome success --duration 184 --tokens 21877",
        "kaizen-agentic metrics show coach --last 10",
    )
    verbs = group.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    record = command(
        verbs,
        "record",
        "append a run record",
        "Append one run record (locked, one write).",
        "kaizen-agentic metrics record coach --outcome success --measure focus_items=3",
        "kaizen-agentic metrics record coach --outcome failure --at 2027-03-29T09:14:00Z",
    )
    record.add_argument("agent", metavar="AGENT")
    record.add_argument(
        "--outcome", required=True, choices=("success", "partial", "failure", "skipped")
    )
    record.add_argument("--duration", metavar="SECONDS", type=float, help="wall time in seconds")
    record.add_argument("--tokens", metavar="N", type=int, help="tokens used")
    record.add_argument(
        "--measure",
        metavar="NAME=NUMBER",
        action="append",
        default=[],
        help="a numeric measure (repeatable)",
    )
    record.add_argument("--at", metavar="RFC3339", help="when the run finished (default: now)")
    record.add_argument("--bundle", metavar="KEY", help="the bundle the run used")
    add_repo(record)
    record.set_defaults(func=commands.run_metrics_record)
    show = command(
        verbs,
        "show",
        "summarise recent runs",
        "Summarise an agent's recent runs and trends.",
        "kaizen-agentic metrics show coach",
        "kaizen-agentic metrics show coach --last 50 --json",
    )
    show.add_argument("agent", metavar="AGENT")
    show.add_argument(
        "--last",
        metavar="N",
        type=whole_number,
        default=20,
        help="runs in the window (default: 20)",
    )
    add_repo(show)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=commands.run_metrics_show)
    _report_parser(verbs)


def _report_parser(verbs: Any) -> None:
    report = command(
        verbs,
        "report",
        "what the fleet's agents did, where, and whether it helps",
        "Every enrolled (repository, agent) over a period: runs by outcome, the last run, slots\n"
        "that were due but have no record, tokens and durations, memory pressure, each\n"
        "measure's movement; the fleet's totals per agent, who needs attention first and why,\n"
        "and who is not taking part. --html writes one self-contained page with charts;\n"
        "--openmetrics writes the Prometheus text format for node_exporter's textfile\n"
        "collector (atomically).",
        "kaizen-agentic metrics report --repo .",
        "kaizen-agentic metrics report --roster fleet.yml --since 2027-03-01T00:00:00Z --json",
        "kaizen-agentic metrics report --hub https://hub.example.com --html report.html "
        "--openmetrics /var/lib/node_exporter/textfile/kaizen.prom",
    )
    report.add_argument("--repo", metavar="PATH", help="one repository (instead of a roster)")
    report.add_argument(
        "--since", metavar="RFC3339", help="start of the period (default: 28 days before --until)"
    )
    report.add_argument("--until", metavar="RFC3339", help="end of the period (default: now)")
    report.add_argument("--json", action="store_true", help="everything, as JSON")
    report.add_argument("--html", metavar="FILE", help="write a self-contained page with charts")
    report.add_argument(
        "--openmetrics", metavar="FILE", help="write Prometheus text-format metrics (atomically)"
    )
    add_source(report)
    report.set_defaults(func=commands.run_metrics_report)


def _redact_parser(sub: Any) -> None:
    redact = command(
        sub,
        "redact",
        "replace secrets in files with [REDACTED:<rule>], or --check for them",
        "Print each FILE (or - for standard input) with every secret replaced by\n"
        "[REDACTED:<rule>], using the rules every bundle is redacted with: the package's own,\n"
        "plus the repository's .kaizen/redact.toml and .gitleaks.toml. --check prints where\n"
        "each secret is (file, line, column, rule; never the value) and exits 1 if any;\n"
        "--in-place rewrites the files instead (atomically) and exits 1 if any changed.",
        "kaizen-agentic redact notes.md > notes.redacted.md",
        "kaizen-agentic redact --check .kaizen/memory/*.md",
        "git diff | kaizen-agentic redact --check -",
        "kaizen-agentic redact --check --json --rules extra.toml config/*.yml",
    )
    redact.add_argument("files", metavar="FILE", nargs="+", help="files to read; - for stdin")
    mode = redact.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="list the secrets found; exit 1 if there are any"
    )
    mode.add_argument(
        "--in-place", action="store_true", help="rewrite each file with its secrets redacted"
    )
    redact.add_argument("--json", action="store_true", help="print the findings as JSON")
    redact.add_argument(
        "--repo",
        metavar="PATH",
        default=".",
        help="the repository whose .kaizen/redact.toml and .gitleaks.toml apply (default: .)",
    )
    redact.add_argument(
        "--rules",
        metavar="FILE",
        action="append",
        default=[],
        help="another rule file (gitleaks' format); may be given more than once",
    )
    redact.set_defaults(func=commands.run_redact)
