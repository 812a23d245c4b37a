"""The command line: builds the parsers, dispatches to ``commands/``, maps failures to exit codes.

Exit codes: 0 ok, 1 invalid input or failed work, 2 usage error, 3 unexpected internal error
(the traceback goes to a log file, never to the user's terminal), 130 interrupted.
This is the only module that sees ``argv``; command modules are imported only when chosen.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kaizen_agentic import __version__, commands
from kaizen_agentic.errors import KaizenError, UsageError

PROG = "kaizen-agentic"


def _width() -> int:
    # argparse would import shutil (~4 ms) just for this; os has what it needs.
    import os

    try:
        return int(os.environ["COLUMNS"]) - 2
    except (KeyError, ValueError):
        pass
    try:
        return max(os.get_terminal_size(sys.stdout.fileno()).columns - 2, 40)
    except (OSError, ValueError, AttributeError):
        return 78


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=_width())


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        metavar="PATH",
        default=".",
        help="the repository (default: the git work tree holding the current directory)",
    )


def _parser(sub: Any, name: str, help_: str, description: str, *examples: str) -> Any:
    parser = sub.add_parser(
        name,
        help=help_,
        description=description,
        formatter_class=_Formatter,
        epilog=_examples(*examples),
    )
    return parser


def _add_source(parser: argparse.ArgumentParser, agent_dest: str = "agent") -> None:
    group = parser.add_argument_group("roster (one of)")
    group.add_argument(
        "--hub",
        metavar="URL",
        help="state hub base URL (default: $KAIZEN_HUB_URL); bearer token from $KAIZEN_HUB_TOKEN",
    )
    group.add_argument("--roster", metavar="FILE", help="a roster file (YAML or JSON)")
    group.add_argument("--scan", metavar="DIR", help="the git work trees below DIR")
    filters = parser.add_argument_group("filters")
    filters.add_argument(
        "--hostname", metavar="NAME", help="use this host's paths (default: this host)"
    )
    filters.add_argument("--domain", metavar="NAME", help="only repos of this domain")
    filters.add_argument("--agent", dest=agent_dest, metavar="NAME", help="only this agent")
    filters.add_argument("--root", metavar="DIR", help="host paths must stay under DIR")


def _add_delivery(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the event as JSON")
    parser.add_argument("--outbox", metavar="FILE", help="append the event to a JSON-lines file")
    parser.add_argument("--sink", metavar="URL", help="POST the event (CloudEvents HTTP)")


def _schedule_parsers(sub: Any) -> None:
    schedule = sub.add_parser(
        "schedule",
        help="declare, check and preview a repository's agent schedule",
        description="Declare, check and preview the agent schedule in .kaizen/schedule.yml.",
        formatter_class=_Formatter,
        epilog=_examples(
            "kaizen-agentic schedule init --agents coach,optimization-review",
            "kaizen-agentic schedule validate",
            "kaizen-agentic schedule list --count 3",
        ),
    )
    verbs = schedule.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    _init_parser(verbs)
    _validate_parser(verbs)
    _list_parser(verbs)
    _schema_parser(verbs)
    _prepare_parser(verbs)
    _discover_parser(verbs)
    _export_parser(verbs)
    _calendar_parser(verbs)
    _register_parser(verbs)
    _complete_parser(verbs)


def _init_parser(verbs: Any) -> None:
    init = verbs.add_parser(
        "init",
        help="write a commented starter .kaizen/schedule.yml",
        description="Write a commented, valid starter manifest (and its JSON Schema for editors).",
        formatter_class=_Formatter,
        epilog=_examples(
            "kaizen-agentic schedule init",
            "kaizen-agentic schedule init --agents coach --timezone Europe/Berlin",
            "kaizen-agentic schedule init --repo ../payments --force",
            "kaizen-agentic schedule init --slug acme/payments",
        ),
    )
    _add_repo(init)
    init.add_argument(
        "--agents",
        metavar="LIST",
        default="coach,optimization-review",
        help="comma-separated agent names (default: coach,optimization-review)",
    )
    init.add_argument(
        "--slug",
        metavar="OWNER/NAME",
        help="the repository's identity, as the state hub names it (default: the origin "
        "remote's owner/name, else the folder name)",
    )
    init.add_argument("--timezone", metavar="ZONE", default="UTC", help="IANA zone (default: UTC)")
    init.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    init.set_defaults(func=commands.run_schedule_init)


def _validate_parser(verbs: Any) -> None:
    validate = verbs.add_parser(
        "validate",
        help="check manifests and report every problem with its location",
        description=(
            "Check one or more schedule manifests. Every problem is reported as\n"
            "path:line:col: key.path: message. Exit 0 when all are valid, 1 when any is not."
        ),
        formatter_class=_Formatter,
        epilog=_examples(
            "kaizen-agentic schedule validate",
            "kaizen-agentic schedule validate .kaizen/schedule.yml other/schedule.yml",
            "kaizen-agentic schedule validate --repo ../payments --format json",
        ),
    )
    where = validate.add_mutually_exclusive_group()
    where.add_argument("--repo", metavar="PATH", help="validate PATH/.kaizen/schedule.yml")
    where.add_argument("files", metavar="FILE", nargs="*", default=[], help="manifest files")
    validate.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="output format (default: text); github prints ::error annotations for Actions",
    )
    validate.add_argument(
        "--json", dest="format", action="store_const", const="json", help="= --format json"
    )
    validate.set_defaults(func=commands.run_schedule_validate)


def _list_parser(verbs: Any) -> None:
    listing = verbs.add_parser(
        "list",
        help="show each agent's state, cadence and next run times",
        description="Show each agent's state, its cadence in words and its next run times.",
        formatter_class=_Formatter,
        epilog=_examples(
            "kaizen-agentic schedule list",
            "kaizen-agentic schedule list --at 2027-03-26T12:00:00+01:00 --count 5",
            "kaizen-agentic schedule list --json",
        ),
    )
    _add_repo(listing)
    listing.add_argument("--at", metavar="RFC3339", help="list runs after this time (default: now)")
    listing.add_argument(
        "--count", metavar="N", type=_count, default=3, help="runs to show per agent (default: 3)"
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=commands.run_schedule_list)


def _schema_parser(verbs: Any) -> None:
    schema = verbs.add_parser(
        "schema",
        help="print the manifest's JSON Schema",
        description="Print the JSON Schema of .kaizen/schedule.yml (draft 2020-12).",
        formatter_class=_Formatter,
        epilog=_examples(
            "kaizen-agentic schedule schema > schedule.schema.json",
            "kaizen-agentic schedule schema --output .kaizen/schedule.schema.json",
        ),
    )
    schema.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    schema.set_defaults(func=commands.run_schedule_schema)


def _prepare_parser(verbs: Any) -> None:
    prepare = _parser(
        verbs,
        "prepare",
        "prepare the bundle for an agent's current schedule slot",
        "Prepare one offline, reproducible bundle (PROMPT.md, its parts, manifest.json) for\n"
        "the agent's latest scheduled run at or before --at, and emit the\n"
        "kaizen.schedule.prepared event. The same inputs for the same slot give the same\n"
        "bytes; an existing bundle for the slot is kept unless --force.\n\n"
        "With --due and a roster, prepare every enrolled (repo, agent) slot that falls in\n"
        "(--at - --window, --at], in parallel; a re-run with the same --at prepares nothing new\n"
        "and emits no event twice. Exit 1 if any bundle failed (the others are kept).\n\n"
        "--tick 15m is for engines that fire on a fixed grid but do not pass their scheduled\n"
        "time (cron, Kubernetes): the tick is --at (default: now) floored to the 15-minute UTC\n"
        "grid, so a late start still prepares exactly that tick's slots. The window defaults\n"
        "to the tick; a longer one (--window 1h) also catches up missed ticks.",
        "kaizen-agentic schedule prepare coach",
        "kaizen-agentic schedule prepare coach --at 2027-03-29T09:00:00+02:00 --out /var/kaizen",
        "kaizen-agentic schedule prepare coach --json --outbox events.jsonl",
        "kaizen-agentic schedule prepare --due --at 2027-03-29T07:00:00Z --window 1h "
        "--roster fleet.yml --out /var/kaizen",
        "kaizen-agentic schedule prepare --due --tick 15m --window 1h --roster fleet.yml "
        "--out /var/kaizen",
    )
    prepare.add_argument(
        "agent", metavar="AGENT", nargs="?", help="the agent's name in the manifest"
    )
    _add_repo(prepare)
    prepare.add_argument("--at", metavar="RFC3339", help="prepare the slot at or before this time")
    prepare.add_argument(
        "--out",
        metavar="DIR",
        help="bundle folder root (default: $KAIZEN_BUNDLE_DIR or ~/.cache/kaizen-agentic/bundles)",
    )
    prepare.add_argument(
        "--force",
        action="store_true",
        help="prepare a disabled or paused agent, or rebuild an existing bundle",
    )
    prepare.add_argument(
        "--strict-secrets",
        action="store_true",
        help="write no bundle when an input holds a secret (exit 1, naming each rule and "
        "place) instead of redacting it",
    )
    prepare.add_argument(
        "--if-due",
        metavar="DURATION",
        help="only if the agent has a slot in the DURATION before --at (e.g. 1h); otherwise "
        "say so and exit 0 (what a per-agent cron entry runs)",
    )
    _add_delivery(prepare)
    fleet = prepare.add_argument_group("fleet (with --due)")
    fleet.add_argument("--due", action="store_true", help="prepare every due bundle of a roster")
    fleet.add_argument(
        "--tick",
        metavar="DURATION",
        help="floor --at (default: now) to this UTC grid, e.g. 15m: the tick a cron-like "
        "engine fired",
    )
    fleet.add_argument(
        "--window",
        metavar="DURATION",
        help="how far back slots count (default: the tick with --tick, else 1h)",
    )
    fleet.add_argument(
        "--jobs", metavar="N", type=_count, help="parallel processes (default: cores)"
    )
    _add_source(prepare, agent_dest="agent_filter")
    prepare.set_defaults(func=commands.run_schedule_prepare)


def _discover_parser(verbs: Any) -> None:
    discover = _parser(
        verbs,
        "discover",
        "resolve the fleet: which roster repos take part, and why not",
        "Give every roster repo exactly one state on this host, with its reason: enrolled,\n"
        "invalid, absent, no-host-path, missing-checkout, not-enabled-in-hub or paused.\n"
        "Exit 0 whatever the states; 1 only when the roster itself cannot be read.",
        "kaizen-agentic schedule discover --roster fleet.yml",
        "kaizen-agentic schedule discover --hub https://hub.example.com --domain payments --json",
        "kaizen-agentic schedule discover --scan ~/src --agent coach",
    )
    discover.add_argument(
        "--at", metavar="RFC3339", help="compute states and runs at (default: now)"
    )
    discover.add_argument(
        "--count", metavar="N", type=_count, default=1, help="next runs per agent (default: 1)"
    )
    discover.add_argument("--json", action="store_true", help="machine-readable output")
    _add_source(discover)
    discover.set_defaults(func=commands.run_schedule_discover)


def _export_parser(verbs: Any) -> None:
    export = _parser(
        verbs,
        "export",
        "translate schedules into Temporal, Kubernetes or crontab specs",
        "Print the fleet's schedule for the engine that runs it. With --tick (recommended): one\n"
        "Temporal schedule for the fleet, or per runner host one CronJob or crontab line, each\n"
        "tick preparing what our cadence says is due: exact at DST by construction. Without:\n"
        "one Temporal schedule, CronJob or crontab line per agent, on the engine's calendar;\n"
        "where the engine's DST rule differs from ours, the entry corrects it or says so.",
        "kaizen-agentic schedule export --roster /srv/fleet.yml --format temporal --tick 15m",
        "kaizen-agentic schedule export --roster /srv/fleet.yml --format crontab --tick 15m "
        "--bundle-dir /srv/kaizen/bundles",
        "kaizen-agentic schedule export --hub https://hub.example.com --format k8s-cronjob "
        "--tick 15m --image registry.example.com/kaizen-agentic:0.1 --bundle-dir /srv/bundles",
        "kaizen-agentic schedule export --repo . --format crontab --bundle-dir /srv/bundles",
    )
    export.add_argument("--repo", metavar="PATH", help="one repository (instead of a roster)")
    export.add_argument("--format", required=True, choices=("temporal", "k8s-cronjob", "crontab"))
    export.add_argument("--at", metavar="RFC3339", help="export as of this time (default: now)")
    export.add_argument(
        "--tick",
        metavar="DURATION",
        help="export the tick model: one schedule per fleet (temporal) or per runner host "
        "(k8s-cronjob, crontab) firing every DURATION, e.g. 15m (recommended)",
    )
    export.add_argument(
        "--window",
        metavar="DURATION",
        help="with --tick: how far back each tick looks (default: the tick for temporal, 1h "
        "for cron engines, so a missed tick is caught up)",
    )
    export.add_argument(
        "--bundle-dir",
        metavar="DIR",
        help="absolute bundle folder on the runner host (required for k8s-cronjob and crontab)",
    )
    export.add_argument(
        "--bin",
        metavar="PATH",
        help="crontab: absolute path of kaizen-agentic (default: the one running); "
        "k8s-cronjob: the command in the image (default: kaizen-agentic)",
    )
    temporal = export.add_argument_group("temporal")
    temporal.add_argument(
        "--task-queue",
        metavar="QUEUE",
        default="kaizen",
        help="the fleet's task queue; host queues are QUEUE@HOSTNAME (default: kaizen)",
    )
    kube = export.add_argument_group("k8s-cronjob")
    kube.add_argument(
        "--image",
        metavar="IMAGE",
        help="container image with kaizen-agentic and git (required; default: $KAIZEN_IMAGE)",
    )
    kube.add_argument(
        "--checkout-claim",
        metavar="PVC",
        help="mount the checkouts from this PersistentVolumeClaim (default: hostPath on the "
        "node that holds them, pinned with a nodeSelector)",
    )
    kube.add_argument(
        "--bundle-claim",
        metavar="PVC",
        help="mount the bundle folder from this claim (default: hostPath)",
    )
    kube.add_argument(
        "--uid", metavar="N", type=int, default=1000, help="the pod's user id (default: 1000)"
    )
    _add_source(export)
    export.set_defaults(func=commands.run_schedule_export)


def _calendar_parser(verbs: Any) -> None:
    calendar = _parser(
        verbs,
        "calendar",
        "see when the fleet's agents run and where load piles up",
        "Every enrolled agent's runs in a window, as an hour-of-week heatmap with the busiest\n"
        "hours and who is in them, a spread advisory for crowded hours, and the repositories\n"
        "not taking part. --html writes one self-contained page (no network, no assets).",
        "kaizen-agentic schedule calendar --roster fleet.yml --days 7 --timezone Europe/Berlin",
        "kaizen-agentic schedule calendar --hub https://hub.example.com --html calendar.html",
        "kaizen-agentic schedule calendar --repo . --json",
    )
    calendar.add_argument("--repo", metavar="PATH", help="one repository (instead of a roster)")
    calendar.add_argument(
        "--from", dest="start", metavar="RFC3339", help="start of the window (default: now)"
    )
    calendar.add_argument(
        "--days",
        metavar="N",
        type=_count,
        default=7,
        help="length of the window in days (default: 7)",
    )
    calendar.add_argument(
        "--timezone", "--tz", dest="tz", metavar="ZONE", help="display time zone (default: UTC)"
    )
    calendar.add_argument(
        "--threshold",
        metavar="N",
        type=_count,
        help="runs in one hour that count as crowded (default: 4x the mean, >= 5)",
    )
    calendar.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    calendar.add_argument("--json", action="store_true", help="machine-readable output")
    _add_source(calendar)
    calendar.set_defaults(func=commands.run_schedule_calendar)


def _register_parser(verbs: Any) -> None:
    register = _parser(
        verbs,
        "register",
        "set the hub's advisory kaizen_schedule_enabled flag",
        "Validate the local manifest, then PATCH {hub}/repos/{slug} with\n"
        "kaizen_schedule_enabled and kaizen_schedule_updated_at. The flag is advisory: the\n"
        "repository's .kaizen/schedule.yml always decides.",
        "kaizen-agentic schedule register --hub https://hub.example.com",
        "kaizen-agentic schedule register --hub https://hub.example.com --slug acme/pay --disable",
    )
    register.add_argument(
        "--hub", metavar="URL", help="state hub base URL (default: $KAIZEN_HUB_URL)"
    )
    _add_repo(register)
    register.add_argument(
        "--slug", metavar="SLUG", help="the hub's slug (default: repo: or detected)"
    )
    register.add_argument("--disable", action="store_true", help="set the flag to false")
    register.set_defaults(func=commands.run_schedule_register)


def _complete_parser(verbs: Any) -> None:
    complete = _parser(
        verbs,
        "complete",
        "record an agent run's result against its bundle",
        "Close the kaizen loop: append the run's metrics record, add its learnings to the\n"
        "agent's memory (with the bundle as provenance) and emit kaizen.schedule.completed.\n"
        "RESULT is JSON, or the agent's Markdown answer ending in a ```kaizen-result block.\n"
        "Completing the same bundle again changes nothing.",
        "kaizen-agentic schedule complete BUNDLE_DIR --result answer.md",
        "kaizen-agentic schedule complete BUNDLE_DIR --result - --json < result.json",
    )
    complete.add_argument("bundle", metavar="BUNDLE", help="the bundle folder")
    complete.add_argument(
        "--result", metavar="FILE", required=True, help="the result (- for stdin)"
    )
    complete.add_argument("--at", metavar="RFC3339", help="when the run finished (default: now)")
    _add_delivery(complete)
    complete.set_defaults(func=commands.run_schedule_complete)


def _agents_parsers(sub: Any) -> None:
    group = _parser(
        sub,
        "agents",
        "the kaizen agents a repository can schedule",
        "Built-in agents, and the repository's own in .kaizen/agents/<name>.md.",
        "kaizen-agentic agents list",
        "kaizen-agentic agents show coach",
    )
    verbs = group.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    listing = _parser(
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
    show = _parser(
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
    group = _parser(
        sub,
        "memory",
        "what an agent has learned about a repository",
        "Per-agent memory in .kaizen/memory/<agent>.md: dated entries with provenance.",
        "kaizen-agentic memory show coach",
        'kaizen-agentic memory add coach "Releases are cut on Thursdays" --pin',
    )
    verbs = group.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    show = _parser(
        verbs,
        "show",
        "show an agent's memory entries",
        "Show an agent's memory entries.",
        "kaizen-agentic memory show coach",
        "kaizen-agentic memory show coach --json",
    )
    show.add_argument("agent", metavar="AGENT")
    _add_repo(show)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=commands.run_memory_show)
    add = _parser(
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
    _add_repo(add)
    add.set_defaults(func=commands.run_memory_add)


def _metrics_parsers(sub: Any) -> None:
    group = _parser(
        sub,
        "metrics",
        "how an agent's runs went",
        "Per-agent run records in .kaizen/metrics/<agent>.jsonl (append-only).",
        "kaizen-agentic metrics record coach --outcome success --duration 184 --tokens 21877",
        "kaizen-agentic metrics show coach --last 10",
    )
    verbs = group.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    record = _parser(
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
    _add_repo(record)
    record.set_defaults(func=commands.run_metrics_record)
    show = _parser(
        verbs,
        "show",
        "summarise recent runs",
        "Summarise an agent's recent runs and trends.",
        "kaizen-agentic metrics show coach",
        "kaizen-agentic metrics show coach --last 50 --json",
    )
    show.add_argument("agent", metavar="AGENT")
    show.add_argument(
        "--last", metavar="N", type=_count, default=20, help="runs in the window (default: 20)"
    )
    _add_repo(show)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=commands.run_metrics_show)
    _report_parser(verbs)


def _report_parser(verbs: Any) -> None:
    report = _parser(
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
    _add_source(report)
    report.set_defaults(func=commands.run_metrics_report)


def _redact_parser(sub: Any) -> None:
    redact = _parser(
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


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected 1 to 1000, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every group, command and option."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Declare, validate, preview and prepare scheduled kaizen agent runs\n"
            "across a fleet of git repositories."
        ),
        formatter_class=_Formatter,
        epilog=_examples(
            "kaizen-agentic schedule init",
            "kaizen-agentic schedule validate",
            "kaizen-agentic schedule list",
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    _schedule_parsers(sub)
    _agents_parsers(sub)
    _memory_parsers(sub)
    _metrics_parsers(sub)
    _redact_parser(sub)
    _mark_commands(parser)
    return parser


def _mark_commands(parser: argparse.ArgumentParser) -> None:
    """Let every command know its own parser: a usage error shows that command's usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(_parser=child)  # the innermost command's default wins
                _mark_commands(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1, 2, 3 or 130)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        code: int = args.func(args)
        return code
    except UsageError as exc:
        command = getattr(args, "_parser", parser)
        _json_error(args, exc, 2)
        print(command.format_usage().rstrip("\n"), file=sys.stderr)
        print(f"{command.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KaizenError as exc:
        _json_error(args, exc, 1)
        for problem in getattr(exc, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `| head` closed the pipe: not our failure to report
        sys.stderr.close()
        return 1
    except OSError as exc:
        if exc.filename is None:
            return _crash()
        # A path the user named that cannot be read or written: their input, not our bug.
        message = f"{exc.filename}: {exc.strerror or exc}"
        _json_error(args, KaizenError(message), 1)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        return _crash()


def _json_error(args: argparse.Namespace, exc: KaizenError, code: int) -> None:
    """With ``--json`` (or ``--format json``), a failure is data on stdout too."""
    if not (getattr(args, "json", False) or getattr(args, "format", None) == "json"):
        return
    from kaizen_agentic import output

    problems = [p.as_dict() for p in getattr(exc, "problems", ())]
    doc = {"error": str(exc), "exit_code": code, "problems": problems}
    sys.stdout.write(output.to_json(doc))


def _crash() -> int:
    import tempfile
    import traceback

    fd, log = tempfile.mkstemp(prefix=f"{PROG}-crash-", suffix=".log")
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{PROG} {__version__}\nargv: {sys.argv!r}\n\n")
        traceback.print_exc(file=handle)
    kind = sys.exc_info()[0]
    name = kind.__name__ if kind else "error"
    print(
        f"{PROG}: internal error ({name}); this is a bug. The traceback is in {log}; "
        "please attach it to a report.",
        file=sys.stderr,
    )
    return 3
