"""The ``kaizen-agentic schedule`` verbs, as data: init, validate, list, schema, prepare,
discover, export, calendar, register and complete. Each row declares its options once, with the
keyword of the command (``commands/<module>.py``) each one feeds."""

from __future__ import annotations

from kaizen_agentic.cli.common import (
    DELIVERY,
    JSON,
    ONE_REPO,
    REPO,
    SOURCE,
    Group,
    opt,
    verb,
    whole_number,
)

INIT = verb(
    "init",
    "write a commented starter .kaizen/schedule.yml",
    "Write a commented, valid starter manifest (and its JSON Schema for editors).",
    (
        "kaizen-agentic schedule init",
        "kaizen-agentic schedule init --agents coach --timezone Europe/Berlin",
        "kaizen-agentic schedule init --repo ../payments --force",
        "kaizen-agentic schedule init --slug acme/payments",
    ),
    "schedule_init",
    REPO,
    opt(
        "--agents",
        metavar="LIST",
        default="coach,optimization-review",
        help="comma-separated agent names (default: coach,optimization-review)",
    ),
    opt(
        "--slug",
        metavar="OWNER/NAME",
        help="the repository's identity, as the state hub names it (default: the origin "
        "remote's owner/name, else the folder name)",
    ),
    opt(
        "--timezone",
        "--tz",
        metavar="ZONE",
        default="UTC",
        help="IANA zone, e.g. Europe/Berlin (default: UTC)",
    ),
    opt("--force", action="store_true", help="overwrite an existing manifest"),
)

VALIDATE = verb(
    "validate",
    "check manifests and report every problem with its location",
    "Check one or more schedule manifests. Every problem is reported as\n"
    "path:line:col: key.path: message. Exit 0 when all are valid, 1 when any is not.",
    (
        "kaizen-agentic schedule validate",
        "kaizen-agentic schedule validate .kaizen/schedule.yml other/schedule.yml",
        "kaizen-agentic schedule validate --repo ../payments --format json",
    ),
    "schedule_validate",
    opt("--repo", metavar="PATH", exclusive="where", help="validate PATH/.kaizen/schedule.yml"),
    opt("files", metavar="FILE", nargs="*", default=[], exclusive="where", help="manifest files"),
    opt(
        "--format",
        keyword="output_format",
        choices=("text", "json", "github"),
        default="text",
        help="output format (default: text); github prints ::error annotations for Actions",
    ),
    opt(
        "--json",
        keyword="output_format",
        action="store_const",
        const="json",
        help="= --format json",
    ),
)

LIST = verb(
    "list",
    "show each agent's state, cadence and next run times",
    "Show each agent's state, its cadence in words and its next run times.",
    (
        "kaizen-agentic schedule list",
        "kaizen-agentic schedule list --at 2027-03-26T12:00:00+01:00 --count 5",
        "kaizen-agentic schedule list --json",
    ),
    "schedule_list",
    REPO,
    opt("--at", metavar="RFC3339", help="list runs after this time (default: now)"),
    opt(
        "--count",
        metavar="N",
        type=whole_number,
        default=3,
        help="runs to show per agent (default: 3)",
    ),
    JSON,
)

SCHEMA = verb(
    "schema",
    "print the manifest's JSON Schema",
    "Print the JSON Schema of .kaizen/schedule.yml (draft 2020-12).",
    (
        "kaizen-agentic schedule schema > schedule.schema.json",
        "kaizen-agentic schedule schema --output .kaizen/schedule.schema.json",
    ),
    "schedule_schema",
    opt("--output", keyword="out_file", metavar="FILE", help="write to FILE instead of stdout"),
)

_FLEET = "fleet (with --due)"

PREPARE = verb(
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
    (
        "kaizen-agentic schedule prepare coach",
        "kaizen-agentic schedule prepare coach --at 2027-03-29T09:00:00+02:00 --out /var/kaizen",
        "kaizen-agentic schedule prepare coach --json --outbox events.jsonl",
        "kaizen-agentic schedule prepare --due --at 2027-03-29T07:00:00Z --window 1h "
        "--roster fleet.yml --out /var/kaizen",
        "kaizen-agentic schedule prepare --due --tick 15m --window 1h --roster fleet.yml "
        "--out /var/kaizen",
    ),
    "schedule_prepare",
    opt("agent", metavar="AGENT", nargs="?", help="the agent's name in the manifest"),
    REPO,
    opt("--at", metavar="RFC3339", help="prepare the slot at or before this time"),
    opt(
        "--out",
        metavar="DIR",
        help="bundle folder root (default: $KAIZEN_BUNDLE_DIR or ~/.cache/kaizen-agentic/bundles)",
    ),
    opt(
        "--force",
        action="store_true",
        help="prepare a disabled or paused agent, or rebuild an existing bundle",
    ),
    opt(
        "--strict-secrets",
        action="store_true",
        help="write no bundle when an input holds a secret (exit 1, naming each rule and "
        "place) instead of redacting it",
    ),
    opt(
        "--if-due",
        metavar="DURATION",
        help="only if the agent has a slot in the DURATION before --at (e.g. 1h); otherwise "
        "say so and exit 0 (what a per-agent cron entry runs)",
    ),
    *DELIVERY,
    opt("--due", group=_FLEET, action="store_true", help="prepare every due bundle of a roster"),
    opt(
        "--tick",
        metavar="DURATION",
        group=_FLEET,
        help="floor --at (default: now) to this UTC grid, e.g. 15m: the tick a cron-like "
        "engine fired",
    ),
    opt(
        "--window",
        metavar="DURATION",
        group=_FLEET,
        help="how far back slots count (default: the tick with --tick, else 1h)",
    ),
    opt(
        "--jobs",
        metavar="N",
        group=_FLEET,
        type=whole_number,
        help="parallel processes (default: cores)",
    ),
    *SOURCE,
)

DISCOVER = verb(
    "discover",
    "resolve the fleet: which roster repos take part, and why not",
    "Give every roster repo exactly one state on this host, with its reason: enrolled,\n"
    "conflict, invalid, absent, no-host-path, missing-checkout, not-enabled-in-hub or\n"
    "paused. Exit 0 whatever the states; 1 only when the roster itself cannot be read.\n"
    "The roster file's format: docs/reference/roster.md.",
    (
        "kaizen-agentic schedule discover --roster fleet.yml",
        "kaizen-agentic schedule discover --hub https://hub.example.com --domain payments --json",
        "kaizen-agentic schedule discover --scan ~/src --agent coach",
    ),
    "schedule_discover",
    opt("--at", metavar="RFC3339", help="compute states and runs at (default: now)"),
    opt(
        "--count",
        metavar="N",
        type=whole_number,
        default=1,
        help="next runs per agent (default: 1)",
    ),
    JSON,
    *SOURCE,
)

EXPORT = verb(
    "export",
    "translate schedules into Temporal, Kubernetes or crontab specs",
    "Print the fleet's schedule for the engine that runs it. With --tick (recommended): one\n"
    "Temporal schedule for the fleet, or per runner host one CronJob or crontab line, each\n"
    "tick preparing what our cadence says is due: exact at DST by construction. Without:\n"
    "one Temporal schedule, CronJob or crontab line per agent, on the engine's calendar;\n"
    "where the engine's DST rule differs from ours, the entry corrects it or says so.",
    (
        "kaizen-agentic schedule export --roster /srv/fleet.yml --format temporal --tick 15m",
        "kaizen-agentic schedule export --roster /srv/fleet.yml --format crontab --tick 15m "
        "--bundle-dir /srv/kaizen/bundles",
        "kaizen-agentic schedule export --hub https://hub.example.com --format k8s-cronjob "
        "--tick 15m --image registry.example.com/kaizen-agentic:0.1 --bundle-dir /srv/bundles",
        "kaizen-agentic schedule export --repo . --format crontab --bundle-dir /srv/bundles",
    ),
    "schedule_export",
    ONE_REPO,
    opt(
        "--format",
        keyword="output_format",
        required=True,
        choices=("temporal", "k8s-cronjob", "crontab"),
        help="the engine: temporal (JSON Schedules), k8s-cronjob (YAML CronJobs; needs "
        "--bundle-dir and --image) or crontab (cronie lines; needs --bundle-dir)",
    ),
    opt("--at", metavar="RFC3339", help="export as of this time (default: now)"),
    opt(
        "--tick",
        metavar="DURATION",
        help="export the tick model: one schedule per fleet (temporal) or per runner host "
        "(k8s-cronjob, crontab) firing every DURATION, e.g. 15m (recommended)",
    ),
    opt(
        "--window",
        metavar="DURATION",
        help="with --tick: how far back each tick looks (default: the tick for temporal, 1h "
        "for cron engines, so a missed tick is caught up)",
    ),
    opt(
        "--bundle-dir",
        metavar="DIR",
        help="absolute bundle folder on the runner host (required for k8s-cronjob and crontab)",
    ),
    opt(
        "--bin",
        metavar="PATH",
        help="crontab: absolute path of kaizen-agentic (default: the one running); "
        "k8s-cronjob: the command in the image (default: kaizen-agentic)",
    ),
    opt(
        "--task-queue",
        metavar="QUEUE",
        group="temporal",
        default="kaizen",
        help="the fleet's task queue; host queues are QUEUE@HOSTNAME (default: kaizen)",
    ),
    opt(
        "--host-wait",
        metavar="DURATION",
        group="temporal",
        help="with --tick: how long a host may take to pick up its share of a tick before the "
        "tick reports it in hosts_failed and goes on (default: a quarter of the tick, 10s-2m)",
    ),
    opt(
        "--catch-up",
        metavar="DURATION",
        group="temporal",
        help="with --tick: how far back a host that missed ticks prepares what it missed "
        "(default: 1d)",
    ),
    opt(
        "--image",
        metavar="IMAGE",
        group="k8s-cronjob",
        help="container image with kaizen-agentic and git (required; default: $KAIZEN_IMAGE)",
    ),
    opt(
        "--checkout-claim",
        metavar="PVC",
        group="k8s-cronjob",
        help="mount the checkouts from this PersistentVolumeClaim (default: hostPath on the "
        "node that holds them, pinned with a nodeSelector)",
    ),
    opt(
        "--bundle-claim",
        metavar="PVC",
        group="k8s-cronjob",
        help="mount the bundle folder from this claim (default: hostPath)",
    ),
    opt(
        "--uid",
        metavar="N",
        group="k8s-cronjob",
        type=int,
        default=1000,
        help="the pod's user id (default: 1000)",
    ),
    *SOURCE,
)

CALENDAR = verb(
    "calendar",
    "see when the fleet's agents run and where load piles up",
    "Every enrolled agent's runs in a window, as an hour-of-week heatmap with the busiest\n"
    "hours and who is in them, a spread advisory for crowded hours, and the repositories\n"
    "not taking part. --html writes one self-contained page (no network, no assets).",
    (
        "kaizen-agentic schedule calendar --roster fleet.yml --days 7 --timezone Europe/Berlin",
        "kaizen-agentic schedule calendar --hub https://hub.example.com --html calendar.html",
        "kaizen-agentic schedule calendar --repo . --json",
    ),
    "schedule_calendar",
    ONE_REPO,
    opt("--from", keyword="start", metavar="RFC3339", help="start of the window (default: now)"),
    opt(
        "--days",
        metavar="N",
        type=whole_number,
        default=7,
        help="length of the window in days (default: 7)",
    ),
    opt("--timezone", "--tz", metavar="ZONE", help="display time zone (default: UTC)"),
    opt(
        "--threshold",
        metavar="N",
        type=whole_number,
        help="runs in one hour that count as crowded (default: 4x the mean, >= 5)",
    ),
    opt("--html", metavar="FILE", help="also write a self-contained HTML page"),
    JSON,
    *SOURCE,
)

REGISTER = verb(
    "register",
    "set the hub's advisory kaizen_schedule_enabled flag",
    "Validate the local manifest, then PATCH {hub}/repos/{slug} with\n"
    "kaizen_schedule_enabled and kaizen_schedule_updated_at. The flag is advisory: the\n"
    "repository's .kaizen/schedule.yml always decides.",
    (
        "kaizen-agentic schedule register --hub https://hub.example.com",
        "kaizen-agentic schedule register --hub https://hub.example.com --slug acme/pay --disable",
    ),
    "schedule_register",
    opt(
        "--hub",
        keyword="hub_url",
        metavar="URL",
        help="state hub base URL (default: $KAIZEN_HUB_URL)",
    ),
    REPO,
    opt("--slug", metavar="SLUG", help="the hub's slug (default: repo: or detected)"),
    opt("--disable", action="store_true", help="set the flag to false"),
)

COMPLETE = verb(
    "complete",
    "record an agent run's result against its bundle",
    "Close the kaizen loop: append the run's metrics record, add its learnings to the\n"
    "agent's memory (with the bundle as provenance) and emit kaizen.schedule.completed.\n"
    "RESULT is JSON, or the agent's Markdown answer ending in a ```kaizen-result block.\n"
    "Completing the same bundle again changes nothing. --commit makes one commit of the\n"
    "agent's memory and metrics (subject kaizen(AGENT): memory and metrics for SLOT, trailers\n"
    "Kaizen-Agent, -Slot, -Key, -Event), once per run; pushing it is the orchestrator's step.\n"
    "With --commit, --json prints {status, event, commit}.",
    (
        "kaizen-agentic schedule complete /var/kaizen/acme__payments/coach/20270329T070000Z "
        "--result answer.md",
        "kaizen-agentic schedule complete /var/kaizen/acme__payments/coach/20270329T070000Z "
        "--result - --at 2027-03-29T09:40:00+02:00 --json < result.json",
        "kaizen-agentic schedule complete /var/kaizen/acme__payments/coach/20270329T070000Z "
        "--result answer.md --commit",
        "kaizen-agentic schedule complete /var/kaizen/acme__payments/coach/20270329T070000Z "
        "--result answer.md --commit --branch kaizen/memory",
    ),
    "schedule_complete",
    opt("bundle", metavar="BUNDLE", help="the bundle folder"),
    opt("--result", metavar="FILE", required=True, help="the result (- for stdin)"),
    opt("--at", metavar="RFC3339", help="when the run finished (default: now)"),
    opt(
        "--commit",
        action="store_true",
        help="commit the agent's memory and metrics files, and nothing else, on HEAD's branch "
        "(through a temporary index: what is staged stays staged); never pushes",
    ),
    opt(
        "--branch",
        metavar="NAME",
        help="with --commit: commit on branch NAME (made from HEAD if new) without checking it out",
    ),
    *DELIVERY,
)

SCHEDULE = Group(
    "schedule",
    "declare, check and preview a repository's agent schedule",
    "Declare, check and preview the agent schedule in .kaizen/schedule.yml.",
    (
        "kaizen-agentic schedule init --agents coach,optimization-review",
        "kaizen-agentic schedule validate",
        "kaizen-agentic schedule list --count 3",
    ),
    (INIT, VALIDATE, LIST, SCHEMA, PREPARE, DISCOVER, EXPORT, CALENDAR, REGISTER, COMPLETE),
)
