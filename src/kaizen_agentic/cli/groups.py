"""The ``kaizen-agentic agents``, ``memory`` and ``metrics`` verbs and the ``redact`` command,
as data: each option declared once, with the command keyword it feeds."""

from __future__ import annotations

from kaizen_agentic.cli.common import JSON, ONE_REPO, REPO, SOURCE, Group, opt, verb, whole_number

AGENTS = Group(
    "agents",
    "the kaizen agents a repository can schedule",
    "Built-in agents, and the repository's own in .kaizen/agents/<name>.md.",
    ("kaizen-agentic agents list", "kaizen-agentic agents show coach"),
    (
        verb(
            "list",
            "list available agents",
            "List the agents available to a repository.",
            ("kaizen-agentic agents list", "kaizen-agentic agents list --repo ../payments --json"),
            "agents:run_list",
            opt("--repo", metavar="PATH", help="include this repository's own agents"),
            JSON,
        ),
        verb(
            "show",
            "show an agent's definition and prompt",
            "Show an agent's front matter and prompt (the repository's override if any).",
            ("kaizen-agentic agents show coach", "kaizen-agentic agents show coach --json"),
            "agents:run_show",
            opt("name", metavar="NAME", help="the agent's name, e.g. coach"),
            opt("--repo", metavar="PATH", help="look for the repository's override"),
            JSON,
        ),
    ),
)

MEMORY = Group(
    "memory",
    "what an agent has learned about a repository",
    "Per-agent memory in .kaizen/memory/<agent>.md: dated entries with provenance.",
    (
        "kaizen-agentic memory show coach",
        'kaizen-agentic memory add coach "Releases are cut on Thursdays" --pin',
    ),
    (
        verb(
            "show",
            "show an agent's memory entries",
            "Show an agent's memory entries.",
            ("kaizen-agentic memory show coach", "kaizen-agentic memory show coach --json"),
            "memory:run_show",
            opt("agent", metavar="AGENT", help="the agent whose memory to show, e.g. coach"),
            REPO,
            JSON,
        ),
        verb(
            "add",
            "add an entry to an agent's memory",
            "Append a dated entry to an agent's memory (atomic, locked).",
            (
                'kaizen-agentic memory add coach "Prefer small PRs" --pin',
                "kaizen-agentic memory add coach --file note.md",
            ),
            "memory:run_add",
            opt("agent", metavar="AGENT", help="the agent that is to remember it, e.g. coach"),
            opt("text", metavar="TEXT", nargs="?", help="the entry's text"),
            opt("--file", metavar="FILE", help="read the text from FILE (- for stdin)"),
            opt("--pin", action="store_true", help="a standing decision, dropped last"),
            opt("--at", metavar="RFC3339", help="the entry's date (default: now)"),
            opt("--bundle", metavar="KEY", help="provenance: the bundle or run it came from"),
            opt("--commit", metavar="SHA", help="provenance: the commit it refers to"),
            REPO,
        ),
        verb(
            "merge",
            "git's merge driver for memory files (merge.kaizen-memory)",
            "Merge one memory file three ways, by whole entries: the entries both sides added are\n"
            "all kept (ours, then theirs); edits and deletions merge as git merges lines. Writes\n"
            "the result into OURS; exit 0 merged, 1 conflicts (marked as git marks them).\n"
            "schedule init writes .kaizen/.gitattributes naming it; tell git once per machine.",
            (
                "git config --global merge.kaizen-memory.driver "
                '"kaizen-agentic memory merge %O %A %B"',
                "kaizen-agentic memory merge base.md ours.md theirs.md",
            ),
            "memory:run_merge",
            opt("base", metavar="BASE", help="the common ancestor's file (git's %%O)"),
            opt("ours", metavar="OURS", help="our file, overwritten by the result (%%A)"),
            opt("theirs", metavar="THEIRS", help="their file (%%B)"),
        ),
    ),
)

REPORT = verb(
    "report",
    "what the fleet's agents did, where, and whether it helps",
    "Every enrolled (repository, agent) over a period: runs by outcome, the last run, slots\n"
    "that were due but have no record, tokens and durations, memory pressure, each\n"
    "measure's movement; the fleet's totals per agent, who needs attention first and why,\n"
    "and who is not taking part. --html writes one self-contained page with charts;\n"
    "--openmetrics writes the Prometheus text format for node_exporter's textfile\n"
    "collector (atomically).",
    (
        "kaizen-agentic metrics report --repo .",
        "kaizen-agentic metrics report --roster fleet.yml --since 2027-03-01T00:00:00Z "
        "--until 2027-04-01T00:00:00Z --json",
        "kaizen-agentic metrics report --hub https://hub.example.com --html report.html "
        "--openmetrics /var/lib/node_exporter/textfile/kaizen.prom",
    ),
    "metrics_report",
    ONE_REPO,
    opt("--since", metavar="RFC3339", help="start of the period (default: 28 days before --until)"),
    opt("--until", metavar="RFC3339", help="end of the period (default: now)"),
    opt("--json", keyword="as_json", action="store_true", help="everything, as JSON"),
    opt("--html", metavar="FILE", help="write a self-contained page with charts"),
    opt("--openmetrics", metavar="FILE", help="write Prometheus text-format metrics (atomically)"),
    *SOURCE,
)

METRICS = Group(
    "metrics",
    "how an agent's runs went",
    "Per-agent run records in .kaizen/metrics/<agent>.jsonl (append-only).",
    (
        "kaizen-agentic metrics record coach --outcome success --duration 184 --tokens 21877",
        "kaizen-agentic metrics show coach --last 10",
    ),
    (
        verb(
            "record",
            "append a run record",
            "Append one run record (locked, one write).",
            (
                "kaizen-agentic metrics record coach --outcome success --measure focus_items=3",
                "kaizen-agentic metrics record coach --outcome failure --at 2027-03-29T09:14:00Z",
            ),
            "metrics:run_record",
            opt("agent", metavar="AGENT", help="the agent that ran, e.g. coach"),
            opt(
                "--outcome",
                required=True,
                choices=("success", "partial", "failure", "skipped"),
                help="how the run went",
            ),
            opt("--duration", metavar="SECONDS", type=float, help="wall time in seconds"),
            opt("--tokens", metavar="N", type=int, help="tokens used"),
            opt(
                "--measure",
                metavar="NAME=NUMBER",
                action="append",
                default=[],
                help="a numeric measure (repeatable)",
            ),
            opt("--at", metavar="RFC3339", help="when the run finished (default: now)"),
            opt("--bundle", metavar="KEY", help="the bundle the run used"),
            REPO,
        ),
        verb(
            "show",
            "summarise recent runs",
            "Summarise an agent's recent runs and trends.",
            (
                "kaizen-agentic metrics show coach",
                "kaizen-agentic metrics show coach --last 50 --json",
            ),
            "metrics:run_show",
            opt("agent", metavar="AGENT", help="the agent whose runs to show, e.g. coach"),
            opt(
                "--last",
                metavar="N",
                type=whole_number,
                default=20,
                help="runs in the window (default: 20)",
            ),
            REPO,
            JSON,
        ),
        REPORT,
    ),
)

REDACT = verb(
    "redact",
    "replace secrets in files with [REDACTED:<rule>], or --check for them",
    "Print each FILE (or - for standard input) with every secret replaced by\n"
    "[REDACTED:<rule>], using the rules every bundle is redacted with: the package's own,\n"
    "plus the repository's .kaizen/redact.toml and .gitleaks.toml. --check prints where\n"
    "each secret is (file, line, column, rule; never the value) and exits 1 if any;\n"
    "--in-place rewrites the files instead (atomically) and exits 1 if any changed.",
    (
        "kaizen-agentic redact notes.md > notes.redacted.md",
        "kaizen-agentic redact --check .kaizen/memory/*.md",
        "git diff | kaizen-agentic redact --check -",
        "kaizen-agentic redact --check --json --rules extra.toml config/*.yml",
    ),
    "redact",
    opt("files", metavar="FILE", nargs="+", help="files to read; - for stdin"),
    opt(
        "--check",
        exclusive="mode",
        action="store_true",
        help="list the secrets found; exit 1 if there are any",
    ),
    opt(
        "--in-place",
        exclusive="mode",
        action="store_true",
        help="rewrite each file with its secrets redacted",
    ),
    opt("--json", keyword="as_json", action="store_true", help="print the findings as JSON"),
    opt(
        "--skip-binary",
        action="store_true",
        help="a binary file (a NUL byte in its first 8 KiB, not UTF-16 or UTF-32) is skipped "
        "with a note, not a failure",
    ),
    opt(
        "--repo",
        metavar="PATH",
        default=".",
        help="the repository whose .kaizen/redact.toml and .gitleaks.toml apply (default: .)",
    ),
    opt(
        "--rules",
        metavar="FILE",
        action="append",
        default=[],
        help="another rule file (gitleaks' format); may be given more than once",
    ),
)
