"""The schedule manifest, ``.kaizen/schedule.yml``: its schema, loading, validation and scaffold.

A repository takes part in fleet scheduling by committing a valid manifest. ``MANIFEST_SPEC`` is
the single source of truth for the format: it validates (with located errors), fills defaults,
and generates both the published JSON Schema and the field reference in the docs.
"""

import hashlib
import os
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from kaizen_agentic.errors import InvalidFileError, Problem
from kaizen_agentic.manifest import cadence as cad
from kaizen_agentic.manifest.spec import (
    Bool,
    Choice,
    Const,
    Context,
    Field,
    Int,
    List,
    Map,
    Str,
    When,
    check_document,
)
from kaizen_agentic.names import AGENT_NAME_PATTERN, SLUG_PATTERN

if TYPE_CHECKING:
    from pathlib import Path

MANIFEST_PATH: Final = ".kaizen/schedule.yml"
# The one other spelling people write; never read, always pointed out.
MISNAMED_PATH: Final = ".kaizen/schedule.yaml"
RENAME_HINT: Final = f"rename it to {MANIFEST_PATH}, the one name kaizen-agentic reads"
SCHEMA_ID: Final = "urn:kaizen-agentic:schema:schedule:v1"
DEFAULT_TOKEN_BUDGET: Final = 32_000
MIN_TOKEN_BUDGET: Final = 1_000
MAX_TOKEN_BUDGET: Final = 1_000_000
MAX_AGENTS: Final = 100
MEMO_LIMIT: Final = 200_000

# Valid manifests by the SHA-256 of their bytes (with an empty path): parsing the same bytes
# always gives the same manifest, so a fleet tick re-validates only files that changed.
# ``manifest_cache`` persists it between processes.
MEMO: "dict[str, Manifest]" = {}


def check_timezone(name: str) -> str | None:
    """Why ``name`` is not a usable IANA time zone, or None: with the zone meant, found by its
    spelling (``Europe/Berlinn``), its case (``europe/berlin``) or its city (``berlin``)."""
    from zoneinfo import ZoneInfoNotFoundError

    try:
        cad.zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        from zoneinfo import available_timezones

        from kaizen_agentic.manifest.spec import suggest

        zones = sorted(available_timezones())
        wanted = name.strip().lower().replace(" ", "_")
        by_city = [
            z for z in zones if wanted in (z.lower(), z.rsplit("/", 1)[-1].lower()) and "/" in z
        ]
        if by_city:
            return f'unknown time zone "{name}"; did you mean "{by_city[0]}"?'
        return f'unknown time zone "{name}"{suggest(name, zones)}'
    return None


def check_date(text: str) -> str | None:
    """Why ``text`` is not a calendar date, or None."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return f'"{text}" is not a calendar date'
    return None


_TIMEZONE = Str(
    max_length=64,
    hint="an IANA time zone name",
    check_value=check_timezone,
    title="IANA time zone",
)
_WEEKDAY = Str(enum=cad.WEEKDAYS)
_MONTH_DAY = Choice(
    (Int(1, 28), Str(enum=("last",))),
    hint='a day from 1 to 28, or "last" (29-31 would skip shorter months)',
)

SCHEDULE_SPEC: Final = Map(
    fields=(
        Field(
            "interval",
            Str(enum=cad.INTERVALS),
            "How often the agent runs. `weekdays` is Monday to Friday; `cron` takes `cronjob`.",
            required=True,
        ),
        Field(
            "day",
            Choice(
                (Str(enum=cad.WEEKDAYS), Int(1, 28), Str(enum=("last",))),
                hint='a weekday (monday..sunday), a day from 1 to 28, or "last"',
                title="weekday or day of month",
            ),
            "`weekly`: `monday`..`sunday`. `monthly`: `1`..`28` or `last` (the month's last day; "
            "29-31 would skip short months). Not used by other intervals.",
            default_doc="`monday` (weekly), `1` (monthly)",
        ),
        Field(
            "time",
            Str(
                pattern=r"([01][0-9]|2[0-3]):[0-5][0-9]",
                hint='"HH:MM" (24-hour, e.g. "09:30")',
                title='"HH:MM"',
            ),
            'Local wall-clock time, 24-hour `"HH:MM"`. Omit it and the run time is spread '
            f"deterministically over {cad.SPREAD_WINDOW} by the repo and agent, so a fleet does "
            "not fire at once. Not used with `cron`.",
            default_doc=f"spread over {cad.SPREAD_WINDOW}",
        ),
        Field(
            "cronjob",
            Str(hint="a 5-field cron expression", check_value=cad.check_cron, max_length=200),
            "5-field cron expression (minute hour day-of-month month day-of-week) in cronie "
            "syntax, over local time; only with `interval: cron`. Also taken: `L` alone in "
            "day-of-month with day-of-week `*` (the month's last day, as `schedule list --json` "
            "shows `monthly` on `day: last`), and cronie's macros `@hourly`, `@daily` "
            "(`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`); not `@reboot`, "
            "which names no time.",
        ),
        Field(
            "timezone",
            _TIMEZONE,
            "IANA time zone for this agent, overriding the file's `timezone`.",
            default_doc="the file's `timezone`",
        ),
    ),
    rules=(
        When("interval", ("cron",), forbid=("day", "time"), require=("cronjob",)),
        When("interval", ("daily", "weekdays"), forbid=("day", "cronjob")),
        When("interval", ("weekly",), forbid=("cronjob",), narrow=(("day", _WEEKDAY),)),
        When("interval", ("monthly",), forbid=("cronjob",), narrow=(("day", _MONTH_DAY),)),
    ),
)

AGENT_SPEC: Final = Map(
    fields=(
        Field(
            "agent",
            Str(pattern=AGENT_NAME_PATTERN, hint="an agent name (a-z, 0-9, '.', '_', '-')"),
            "Agent name, unique in the file: a built-in (`coach`, `optimization-review`) or one "
            "defined in `.kaizen/agents/<name>.md`.",
            required=True,
        ),
        Field(
            "enabled", Bool(), "Set to `false` to keep the entry but never run it.", default=True
        ),
        Field("schedule", SCHEDULE_SPEC, "When the agent runs.", required=True),
        Field(
            "paused_until",
            Str(
                pattern=r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
                hint="a date YYYY-MM-DD",
                check_value=check_date,
                fmt="date",
                title="date",
            ),
            "No runs before this date (in the agent's time zone); runs resume on it.",
        ),
        Field(
            "focus",
            Str(max_length=500, title="string"),
            "One line on what the agent should concentrate on; handed to the agent.",
        ),
        Field(
            "instructions",
            Str(max_length=20_000, title="string"),
            "Free-form instructions added to the agent's prompt for this repo.",
        ),
        Field(
            "token_budget",
            Int(MIN_TOKEN_BUDGET, MAX_TOKEN_BUDGET),
            "Most tokens a prepared bundle for this agent may hold; older memory and metrics are "
            "dropped, and listed, to fit.",
            default_doc="the file's `token_budget`",
        ),
    ),
)

MANIFEST_SPEC: Final = Map(
    fields=(
        Field("version", Const(1), "Manifest format version. Always `1`.", required=True),
        Field(
            "repo",
            Str(pattern=SLUG_PATTERN, hint="a slug like owner/name"),
            "The repository's slug (e.g. `acme/payments`), as the state hub and the roster name "
            "it: its one identity. Bundle paths, idempotency keys and spread run times derive "
            "from it, so a checkout has the same identity however it is reached. `schedule init` "
            "writes it.",
            required=True,
            missing_hint=' (the repository\'s slug, e.g. "repo: acme/payments", as the state hub '
            "names it)",
        ),
        Field("timezone", _TIMEZONE, "IANA time zone for every agent.", default="UTC"),
        Field(
            "token_budget",
            Int(MIN_TOKEN_BUDGET, MAX_TOKEN_BUDGET),
            "Default `token_budget` for every agent.",
            default=DEFAULT_TOKEN_BUDGET,
        ),
        Field(
            "agents",
            List(AGENT_SPEC, min_items=1, max_items=MAX_AGENTS),
            "The agents that run on this repo, one entry each.",
            required=True,
        ),
    ),
)


class AgentEntry(NamedTuple):
    """One validated ``agents:`` entry with its compiled cadence."""

    agent: str
    enabled: bool
    cadence: cad.Cadence
    paused_until: date | None
    focus: str | None
    instructions: str | None
    token_budget: int
    line: int
    col: int = 1

    def state(self, at: datetime) -> str:
        """``enabled``, ``disabled`` or ``paused`` (paused_until still ahead of ``at``)."""
        if not self.enabled:
            return "disabled"
        if self.paused_until is not None and at < self.resumes_at():
            return "paused"
        return "enabled"

    def resumes_at(self) -> datetime:
        assert self.paused_until is not None
        return cad.local_midnight(self.paused_until, self.cadence.timezone)

    def runs_between(self, start: datetime, end: datetime) -> tuple[datetime, ...]:
        """Fire times in ``(start, end]``: none when disabled, none before a pause ends."""
        if not self.enabled:
            return ()
        if self.paused_until is not None:
            resume = self.resumes_at()
            if end < resume:
                return ()
            start = max(start, resume - timedelta(microseconds=1))
        return cad.runs_between(self.cadence, start, end)

    def next_runs(self, after: datetime, count: int) -> list[datetime]:
        """The next ``count`` runs after ``after``: none when disabled; none before a pause ends."""
        if not self.enabled:
            return []
        if self.paused_until is not None:
            after = max(after, self.resumes_at() - timedelta(microseconds=1))
        return cad.next_runs(self.cadence, after, count)


class Manifest(NamedTuple):
    """A validated ``.kaizen/schedule.yml``."""

    path: str
    repo: str  # the repository's identity: bundle paths, keys and spread times derive from it
    timezone: str
    token_budget: int
    agents: tuple[AgentEntry, ...]
    digest: str  # "sha256:<hex>" of the file's bytes

    def get(self, agent: str) -> AgentEntry | None:
        for entry in self.agents:
            if entry.agent == agent:
                return entry
        return None


def parse_manifest(data: bytes, path: str) -> Manifest:
    """Validate manifest bytes. Raises ``InvalidFileError`` listing every problem found.

    The manifest's ``repo:`` is the repository's identity: it alone seeds the
    spread of run times, so a file gives the same schedule whoever reads it.
    """
    from kaizen_agentic.manifest import yamlsafe

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    known = MEMO.get(digest)
    if known is not None:
        return known._replace(path=path)
    value, root, ctx = check_document(MANIFEST_SPEC, yamlsafe.decode_strict(data, path), path)
    if isinstance(value, dict) and isinstance(value.get("agents"), list):
        _check_unique(root, value["agents"], ctx)
    if ctx.problems:
        raise InvalidFileError(path, ctx.problems)
    manifest = _build(value, root, path, digest)
    if len(MEMO) < MEMO_LIMIT:
        MEMO[digest] = manifest._replace(path="")
    return manifest


def _check_unique(root: Any, agents: list[Any], ctx: Context) -> None:
    seen: dict[str, int] = {}
    nodes = root.get("agents").items
    for index, (entry, node) in enumerate(zip(agents, nodes, strict=True)):
        name = entry.get("agent") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            msg = f'agent "{name}" is listed twice (first on line {seen[name]})'
            ctx.add(node, f"agents[{index}].agent", msg)
        else:
            seen[name] = node.line


def _build(value: dict[str, Any], root: Any, path: str, digest: str) -> Manifest:
    repo = value["repo"]
    entries = []
    for raw, node in zip(value["agents"], root.get("agents").items, strict=True):
        sched = raw["schedule"]
        zone_name = sched["timezone"] or value["timezone"]
        cadence = cad.compile_cadence(
            sched["interval"],
            timezone=zone_name,
            day=sched["day"],
            at=sched["time"],
            cronjob=sched["cronjob"],
            identity=repo,
            agent=raw["agent"],
        )
        paused = raw["paused_until"]
        entries.append(
            AgentEntry(
                agent=raw["agent"],
                enabled=raw["enabled"],
                cadence=cadence,
                paused_until=date.fromisoformat(paused) if paused else None,
                focus=raw["focus"],
                instructions=raw["instructions"],
                token_budget=raw["token_budget"] or value["token_budget"],
                line=node.line,
                col=node.col,
            )
        )
    return Manifest(path, repo, value["timezone"], value["token_budget"], tuple(entries), digest)


def load_manifest(path: str | os.PathLike[str], root: str | None = None) -> Manifest:
    """Read and validate a manifest file of the repository ``root`` (if given, one resolving
    outside it is refused unread). Raises ``InvalidFileError`` (a ``KaizenError``)."""
    return parse_manifest(read_manifest_bytes(str(path), root), str(path))


def read_manifest_bytes(path: str, root: str | None = None) -> bytes:
    """A manifest's bytes, or ``InvalidFileError`` saying why they cannot be read."""
    from kaizen_agentic import atomic
    from kaizen_agentic.repo import outside

    why = outside(root, path) if root is not None and os.path.lexists(path) else None
    if why:
        raise InvalidFileError(path, [Problem(path, 0, 0, "", f"{why}; refusing to read it")])
    try:
        return atomic.read_capped(path)
    except FileNotFoundError:
        raise InvalidFileError(path, [Problem(path, 0, 0, "", "no such file")]) from None
    except IsADirectoryError:
        raise InvalidFileError(path, [Problem(path, 0, 0, "", "is a directory")]) from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror[:1].lower() + exc.strerror[1:]
        else:
            reason = str(exc)
        raise InvalidFileError(path, [Problem(path, 0, 0, "", reason)]) from None


def validate_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem in the manifest at ``path``; an empty list when it is valid."""
    try:
        load_manifest(path)
    except InvalidFileError as exc:
        return exc.problems
    return []


def manifest_path(root: str | os.PathLike[str]) -> "Path":
    """Where the manifest of the work tree at ``root`` lives."""
    from pathlib import Path  # pathlib costs a validate of a named file ~6 ms

    return Path(root) / MANIFEST_PATH


def missing(root: str) -> str:
    """Why ``root`` has no manifest, with the fix: create one, or rename the misnamed one."""
    path = os.path.join(root, MANIFEST_PATH)
    if os.path.lexists(os.path.join(root, MISNAMED_PATH)):
        return f"{path} not found, but {MISNAMED_PATH} is: {RENAME_HINT}"
    return f"{path} not found; create one with `kaizen-agentic schedule init`"


def json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12), generated from ``MANIFEST_SPEC``."""
    schema = MANIFEST_SPEC.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "kaizen-agentic schedule manifest (.kaizen/schedule.yml), version 1",
        "description": "Declares which kaizen agents run on this repository, and when.",
        **schema,
    }


_SCAFFOLD_ENTRIES: Final = {
    "coach": (
        "weekly orientation: where the repo stands and what to focus on next",
        "weekly",
        "monday",
    ),
    "optimization-review": (
        "weekly review of metrics and past outcomes, proposing concrete improvements",
        "weekly",
        "friday",
    ),
}


def scaffold(agents: list[str], repo: str, timezone: str = "UTC") -> str:
    """A commented starter manifest for ``agents``; it validates as it is."""
    lines = [
        "# yaml-language-server: $schema=./schedule.schema.json",
        "# Kaizen agent schedule: which agents run on this repository, and when.",
        "# Check it with `kaizen-agentic schedule validate`; preview runs with",
        "# `kaizen-agentic schedule list`. Every field: docs/reference/schedule-schema.md",
        "version: 1",
        "",
        "# This repository's identity, as the state hub's roster names it (its slug). Bundles,",
        "# idempotency keys and spread run times derive from it.",
        f"repo: {repo}",
    ]
    lines += [
        "",
        "# IANA time zone for every agent; a schedule can override it with its own `timezone`.",
        f"timezone: {timezone}",
        "",
        "agents:",
    ]
    for name in agents:
        what, interval, day = _SCAFFOLD_ENTRIES.get(name, ("a custom agent", "weekly", "monday"))
        lines += [
            f"  # {what}",
            f"  - agent: {name}",
            "    schedule:",
            f"      interval: {interval}     # daily | weekdays | weekly | monthly | cron",
            f"      day: {day}",
            f'      # time: "09:00"       # omit: spread over {cad.SPREAD_WINDOW} local time',
            "    # focus: one line the agent should concentrate on",
            "    # paused_until: 2027-01-15   # no runs before this date",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"
