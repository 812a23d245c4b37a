"""The parsers of ``kaizen-agentic schedule``: init, validate, list, schema, prepare, discover,
export, calendar, register and complete."""

from __future__ import annotations

from typing import Any

from kaizen_agentic import commands
from kaizen_agentic.cli.common import (
    Formatter,
    add_delivery,
    add_repo,
    add_source,
    command,
    examples,
    whole_number,
)


def add(sub: Any) -> None:
    """The ``schedule`` group and its verbs."""
    _schedule_parsers(sub)


def _schedule_parsers(sub: Any) -> None:
    schedule = sub.add_parser(
        "schedule",
        help="declare, check and preview a repository's agent schedule",
        description="Declare, check and preview the agent schedule in .kaizen/schedule.yml.",
        formatter_class=Formatter,
        epilog=examples(
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
        formatter_class=Formatter,
        epilog=examples(
            "kaizen-agentic schedule init",
            "kaizen-agentic schedule init --agents coach --timezone Europe/Berlin",
            "kaizen-agentic schedule init --repo ../payments --force",
            "kaizen-agentic schedule init --slug acme/payments",
        ),
    )
    add_repo(init)
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
        formatter_class=Formatter,
        epilog=examples(
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
        formatter_class=Formatter,
        epilog=examples(
            "kaizen-agentic schedule list",
            "kaizen-agentic schedule list --at 2027-03-26T12:00:00+01:00 --count 5",
            "kaizen-agentic schedule list --json",
        ),
    )
    add_repo(listing)
    listing.add_argument("--at", metavar="RFC3339", help="list runs after this time (default: now)")
    listing.add_argument(
        "--count",
        metavar="N",
        type=whole_number,
        default=3,
        help="runs to show per agent (default: 3)",
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=commands.run_schedule_list)


def _schema_parser(verbs: Any) -> None:
    schema = verbs.add_parser(
        "schema",
        help="print the manifest's JSON Schema",
        description="Print the JSON Schema of .kaizen/schedule.yml (draft 2020-12).",
        formatter_class=Formatter,
        epilog=examples(
            "kaizen-agentic schedule schema > schedule.schema.json",
            "kaizen-agentic schedule schema --output .kaizen/schedule.schema.json",
        ),
    )
    schema.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    schema.set_defaults(func=commands.run_schedule_schema)


def _prepare_parser(verbs: Any) -> None:
    prepare = command(
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
    add_repo(prepare)
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
    add_delivery(prepare)
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
        "--jobs", metavar="N", type=whole_number, help="parallel processes (default: cores)"
    )
    add_source(prepare, agent_dest="agent_filter")
    prepare.set_defaults(func=commands.run_schedule_prepare)


def _discover_parser(verbs: Any) -> None:
    discover = command(
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
        "--count",
        metavar="N",
        type=whole_number,
        default=1,
        help="next runs per agent (default: 1)",
    )
    discover.add_argument("--json", action="store_true", help="machine-readable output")
    add_source(discover)
    discover.set_defaults(func=commands.run_schedule_discover)


def _export_parser(verbs: Any) -> None:
    export = command(
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
    add_source(export)
    export.set_defaults(func=commands.run_schedule_export)


def _calendar_parser(verbs: Any) -> None:
    calendar = command(
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
        type=whole_number,
        default=7,
        help="length of the window in days (default: 7)",
    )
    calendar.add_argument(
        "--timezone", "--tz", dest="tz", metavar="ZONE", help="display time zone (default: UTC)"
    )
    calendar.add_argument(
        "--threshold",
        metavar="N",
        type=whole_number,
        help="runs in one hour that count as crowded (default: 4x the mean, >= 5)",
    )
    calendar.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    calendar.add_argument("--json", action="store_true", help="machine-readable output")
    add_source(calendar)
    calendar.set_defaults(func=commands.run_schedule_calendar)


def _register_parser(verbs: Any) -> None:
    register = command(
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
    add_repo(register)
    register.add_argument(
        "--slug", metavar="SLUG", help="the hub's slug (default: repo: or detected)"
    )
    register.add_argument("--disable", action="store_true", help="set the flag to false")
    register.set_defaults(func=commands.run_schedule_register)


def _complete_parser(verbs: Any) -> None:
    complete = command(
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
    add_delivery(complete)
    complete.set_defaults(func=commands.run_schedule_complete)
