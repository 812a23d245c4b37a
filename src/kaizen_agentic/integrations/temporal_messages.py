"""What crosses Temporal: the inputs and outputs of the kaizen workflows and activities, plain
dataclasses that Temporal's default converter turns into JSON.

The tick's messages are sized by the number of hosts, never by the number of repositories or
due runs: a host answers with counts, its first failures and where its full record is.
"""

# No ``from __future__ import annotations``: Temporal resolves the dataclasses' field types by
# name in their module, which a workflow sandbox that imported only ``temporal`` lacks.
from dataclasses import dataclass, field
from typing import Any

from kaizen_agentic.export.temporal import TASK_QUEUE

# --- the fleet tick ------------------------------------------------------------------------------


@dataclass
class FleetTickInput:
    """What a tick schedule passes to ``kaizen.FleetTick`` (one roster source).

    Defaults suit a 15-minute tick over 10,000 repositories per host; ``schedule export
    --format temporal --tick`` writes the ones that depend on the tick."""

    hub_url: str | None = None
    roster_file: str | None = None
    domain: str | None = None
    agent: str | None = None
    window_seconds: int = 900  # the tick; a host that missed ticks reaches back further
    task_queue: str = TASK_QUEUE
    hosts: list[str] | None = None  # default: every host named in the roster's host_paths
    out_dir: str | None = None  # default: each host worker's bundle folder
    at: str | None = None  # used only when the workflow was not started by a schedule
    root: str | None = None  # host paths must stay under it, on every host (``--root``)
    host_wait_seconds: int = 120  # how long a host may take to pick up its work
    activity_seconds: int = 60  # start-to-close of the roster read
    host_seconds: int = 840  # one host's whole share of the tick, retries included
    heartbeat_seconds: int = 30  # a host silent this long is retried (and resumes)
    catchup_seconds: int = 86_400  # how far back a host that missed ticks catches up
    failures_shown: int = 20  # failures named in the result; the hosts' records have all
    outbox: str | None = None  # default: each host worker's
    sink: str | None = None  # default: each host worker's
    hosts_per_workflow: int = 500  # above this, hosts are split over child workflows


@dataclass
class TickFailure:
    """One due run that failed, and why."""

    hostname: str
    slug: str
    agent: str
    slot: str
    error: str


@dataclass
class HostTickInput:
    """One host's share of a tick, for ``kaizen.host_tick`` on that host's queue."""

    at: str  # RFC 3339: the tick
    window_seconds: int
    hostname: str  # the host's name in the roster
    deadline: str  # RFC 3339: no prepare starts after it; the rest waits for the next tick
    hub_url: str | None = None
    roster_file: str | None = None
    domain: str | None = None
    agent: str | None = None
    hosts: list[str] = field(default_factory=list)  # only when the tick names its hosts
    root: str | None = None
    out_dir: str | None = None
    outbox: str | None = None
    sink: str | None = None
    catchup_seconds: int = 86_400
    failures_shown: int = 20


@dataclass
class HostTickOutput:
    """What one host did in one tick: counts, its first failures, where its record is."""

    hostname: str
    at: str
    since: str  # the span prepared: (since, at]
    capped: bool  # missed ticks older than catchup_seconds were left
    repos: int  # roster repositories checked out on this host
    states: dict[str, int]
    elsewhere: int  # due runs of shared checkouts left to another host
    due: int
    counts: dict[str, int]  # created, exists, replaced, failed
    deferred: int  # not started before the deadline: the next tick prepares them
    resumed: int  # due runs an earlier attempt of this run had done
    events: int
    delivery_failed: int
    failures: list[TickFailure]
    record: str  # the host's full record of the tick (a JSON file on the host)
    seconds: float
    attempt: int = 1


@dataclass
class FleetTickOutput:
    """One tick's result: totals, each host's counts, the first failures, the hosts that did
    not finish and why."""

    at: str
    window_seconds: int
    due: int
    counts: dict[str, int]
    deferred: int
    hosts: list[HostTickOutput]  # their failures are in ``failures``
    failures: list[TickFailure]
    hosts_failed: dict[str, str]  # hostname -> why it did not finish


@dataclass
class TickRun:
    """One due (repository, agent, slot) of a tick on a host, as its record has it."""

    slug: str
    agent: str
    slot: str
    hostname: str
    status: str  # created, exists, replaced or failed
    bundle_path: str | None = None
    idempotency_key: str | None = None
    error: str | None = None


@dataclass
class TickRunsInput:
    """A page of one host's record of a tick (``HostTickOutput.record``), for
    ``kaizen.tick_runs`` on that host's queue: by default the bundles the tick made."""

    record: str
    statuses: list[str] = field(default_factory=lambda: ["created", "replaced"])
    offset: int = 0
    limit: int = 500


@dataclass
class TickRunsOutput:
    """The page, and how many runs of those statuses the record holds in all."""

    runs: list[TickRun]
    total: int


@dataclass
class HostGroupInput:
    """A slice of a tick's hosts, for ``kaizen.FleetTickHosts`` (a child of a large tick)."""

    tick: FleetTickInput
    at: str
    hosts: list[str]


# --- the roster and the single activities ------------------------------------------------------


@dataclass
class RosterInput:
    """Where ``kaizen.roster_hosts`` reads the roster."""

    hub_url: str | None = None
    roster_file: str | None = None
    domain: str | None = None


@dataclass
class DiscoverInput:
    """What ``kaizen.discover_due`` resolves: the roster, the host and the tick."""

    at: str  # RFC 3339: the tick, so retries resolve the same slots
    hub_url: str | None = None
    roster_file: str | None = None
    scan_dir: str | None = None
    hostname: str | None = None
    domain: str | None = None
    agent: str | None = None
    root: str | None = None
    window_seconds: int = 3600


@dataclass
class DueRun:
    """One due (repository, agent, slot) on a host."""

    slug: str
    path: str
    agent: str
    slot: str


@dataclass
class DiscoverOutput:
    """Every roster repository's state and reason on a host, and what is due there. It grows
    with the roster: for a few repositories; the tick uses ``kaizen.host_tick``."""

    states: dict[str, str]  # slug -> state
    reasons: dict[str, str]  # slug -> reason
    due: list[DueRun] = field(default_factory=list)
    hostname: str = ""


@dataclass
class PrepareInput:
    """One bundle to prepare: the checkout, the agent and a time in its slot."""

    repo_path: str
    agent: str
    at: str  # RFC 3339: the slot (or any time in it)
    out_dir: str | None = None  # default: the host worker's bundle folder


@dataclass
class PrepareOutput:
    """A prepared bundle: its status, paths, digest, key, event and host."""

    status: str  # "created", "exists" or "replaced"
    bundle_path: str
    prompt_path: str
    digest: str
    idempotency_key: str
    event: dict[str, Any]  # the kaizen.schedule.prepared CloudEvent
    hostname: str = ""


@dataclass
class PrepareAgentInput:
    """What a per-agent calendar schedule passes to ``kaizen.PrepareAgent``."""

    repo_path: str
    agent: str
    hostname: str
    task_queue: str = TASK_QUEUE
    out_dir: str | None = None
    at: str | None = None  # used only when the workflow was not started by a schedule
    activity_seconds: int = 60
