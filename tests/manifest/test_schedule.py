"""The manifest: what it accepts, what it fills in, and the exact message for each mistake."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from kaizen_agentic import generate
from kaizen_agentic.errors import InvalidFileError
from kaizen_agentic.manifest.cadence import spread_time
from kaizen_agentic.manifest.schedule import (
    DEFAULT_TOKEN_BUDGET,
    json_schema,
    load_manifest,
    parse_manifest,
    scaffold,
    validate_file,
)
from kaizen_agentic.manifest.yamlsafe import MAX_BYTES, load, to_python
from tests.conftest import with_repo

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "schedule.yml"


def problems(text: str, slug: str | None = "acme/x") -> list[str]:
    """Every problem of ``text``; a ``repo:`` is appended last (lines stay put) unless
    ``slug`` is None or the text has one."""
    text = textwrap.dedent(text)
    if slug is not None:
        text = with_repo(text, slug)
    try:
        parse_manifest(text.encode(), "s.yml")
    except InvalidFileError as exc:
        return [str(p) for p in exc.problems]
    return []


def plain(text: str) -> object:
    """The file as plain data, read by the same YAML 1.2 rules as the validator."""
    root, issues = load(text, "s.yml")
    assert root is not None and issues == []
    return to_python(root)


def entry(schedule: str, extra: str = "") -> str:
    # `repo:` last, so that the line numbers below count from the agents.
    return f"version: 1\nagents:\n  - agent: coach\n    schedule: {schedule}\n{extra}"


VALID = [
    entry("{interval: daily}"),
    entry("{interval: daily, time: '00:00'}"),
    entry("{interval: weekdays, time: '23:59'}"),
    entry("{interval: weekly}"),
    entry("{interval: weekly, day: sunday, time: '09:30'}"),
    entry("{interval: monthly, day: 28}"),
    entry("{interval: monthly, day: last}"),
    entry("{interval: cron, cronjob: '0 9 * * mon-fri'}"),
    entry("{interval: cron, cronjob: '0 0 29 2 *'}"),
    entry("{interval: daily, timezone: America/New_York}"),
    entry("{interval: daily}", "    paused_until: 2027-01-15\n    enabled: false\n"),
    entry("{interval: daily}", "    focus: tests\n    instructions: |\n      be brief\n"),
    entry("{interval: daily}", "    token_budget: 1000\n"),
    "version: 1\nrepo: acme/payments\ntimezone: Europe/Berlin\ntoken_budget: 1000000\n"
    "agents:\n  - {agent: a.b_c-1, schedule: {interval: daily}}\n",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_manifests_pass_the_validator_and_the_json_schema(text: str) -> None:
    assert problems(text) == []
    jsonschema.validate(plain(with_repo(text, "acme/x")), json_schema())


INVALID = [
    (
        "version: 2\nagents: []\n",
        [
            "s.yml:1:10: version: expected 1, got integer 2 (this tool reads version 1 manifests)",
            "s.yml:2:9: agents: needs at least 1 item(s)",
        ],
    ),
    (
        "agents:\n  - agent: coach\n    schedule: {interval: daily}\n",
        [
            's.yml:1:1: missing required key "version"',
        ],
    ),
    (
        "version: 1\nagent: []\n",
        [
            's.yml:2:1: unknown key "agent"; did you mean "agents"?',
        ],
    ),
    (entry("{interval: daily, time: 10:00}"), []),  # YAML 1.2: an unquoted 10:00 is "10:00"
    (
        entry("{interval: daily, time: 0930}"),
        [
            's.yml:4:39: agents[0].schedule.time: expected "HH:MM" (24-hour, e.g. "09:30"), got integer 930',
        ],
    ),
    (
        entry("{interval: daily, time: '9:30'}"),
        [
            's.yml:4:39: agents[0].schedule.time: expected "HH:MM" (24-hour, e.g. "09:30"), got string "9:30"',
        ],
    ),
    (
        entry("{interval: daily, time: '24:00'}"),
        [
            's.yml:4:39: agents[0].schedule.time: expected "HH:MM" (24-hour, e.g. "09:30"), got string "24:00"',
        ],
    ),
    (
        entry("{interval: daily}", "    enabled: yes\n"),
        [
            's.yml:5:14: agents[0].enabled: expected true or false, got string "yes" '
            "(YAML 1.2 reads yes/no/on/off as strings)",
        ],
    ),
    (
        entry("{interval: fortnightly}"),
        [
            "s.yml:4:26: agents[0].schedule.interval: expected one of daily, weekdays, weekly, "
            'monthly, cron, got string "fortnightly"',
        ],
    ),
    (
        entry("{interval: weekley}"),
        [
            "s.yml:4:26: agents[0].schedule.interval: expected one of daily, weekdays, weekly, "
            'monthly, cron, got string "weekley"; did you mean "weekly"?',
        ],
    ),
    (
        entry("{intervall: weekly}"),
        [
            's.yml:4:16: agents[0].schedule: unknown key "intervall"; did you mean "interval"?',
        ],
    ),
    (
        entry("{interval: weekly, day: mon}"),
        [
            "s.yml:4:39: agents[0].schedule.day: expected one of monday, tuesday, wednesday, "
            'thursday, friday, saturday, sunday, got string "mon"; did you mean "monday"?',
        ],
    ),
    (
        entry("{interval: weekly, day: 3}"),
        [
            "s.yml:4:39: agents[0].schedule.day: expected one of monday, tuesday, wednesday, "
            "thursday, friday, saturday, sunday, got integer 3",
        ],
    ),
    (
        entry("{interval: monthly, day: 31}"),
        [
            's.yml:4:40: agents[0].schedule.day: expected a day from 1 to 28, or "last" '
            "(29-31 would skip shorter months), got integer 31",
        ],
    ),
    (
        entry("{interval: monthly, day: monday}"),
        [
            's.yml:4:40: agents[0].schedule.day: expected a day from 1 to 28, or "last" '
            '(29-31 would skip shorter months), got string "monday"',
        ],
    ),
    (
        entry("{interval: daily, day: 3}"),
        [
            's.yml:4:33: agents[0].schedule.day: "day" cannot be used with interval: daily',
        ],
    ),
    (
        entry("{interval: cron}"),
        [
            's.yml:4:15: agents[0].schedule: interval: cron needs "cronjob"',
        ],
    ),
    (
        entry("{interval: weekly, cronjob: '* * * * *'}"),
        [
            's.yml:4:34: agents[0].schedule.cronjob: "cronjob" cannot be used with interval: weekly',
        ],
    ),
    (
        entry("{interval: cron, cronjob: '0 9 * * *', time: '09:00'}"),
        [
            's.yml:4:54: agents[0].schedule.time: "time" cannot be used with interval: cron',
        ],
    ),
    (
        entry("{interval: cron, cronjob: '0 0 30 2 *'}"),
        [
            's.yml:4:41: agents[0].schedule.cronjob: invalid cron expression "0 0 30 2 *": '
            "bad day-of-month",
        ],
    ),
    (
        entry("{interval: cron, cronjob: '0 0 31 4,6,9,11 *'}"),
        [
            's.yml:4:41: agents[0].schedule.cronjob: invalid cron expression "0 0 31 4,6,9,11 *": '
            "bad day-of-month",
        ],
    ),
    (
        entry("{interval: cron, cronjob: '0 9 * *'}"),
        [
            "s.yml:4:41: agents[0].schedule.cronjob: expected 5 fields (minute hour day-of-month "
            "month day-of-week) or a macro such as @daily, got 4: '0 9 * *'",
        ],
    ),
    (
        entry("{interval: cron, cronjob: '0 0 L * 5'}"),
        [
            's.yml:4:41: agents[0].schedule.cronjob: day-of-month "L" (the month\'s last day) goes with day-of-week "*", not "5"',
        ],
    ),
    (
        entry("{interval: cron, cronjob: '0 0 * * MON#2'}"),
        [
            's.yml:4:41: agents[0].schedule.cronjob: day-of-week field "MON#2": "MON#2" is not '
            "cronie syntax",
        ],
    ),
    (
        entry("{interval: cron, cronjob: '60 * * * *'}"),
        [
            's.yml:4:41: agents[0].schedule.cronjob: invalid cron expression "60 * * * *": bad minute',
        ],
    ),
    (
        entry("{interval: daily, timezone: Europe/Berln}"),
        [
            's.yml:4:43: agents[0].schedule.timezone: unknown time zone "Europe/Berln"; '
            'did you mean "Europe/Berlin"?',
        ],
    ),
    (
        entry("{interval: daily, timezone: ../../etc/passwd}"),
        [
            's.yml:4:43: agents[0].schedule.timezone: unknown time zone "../../etc/passwd"',
        ],
    ),
    (
        entry("{interval: daily}", "    paused_until: 2027-02-30\n"),
        [
            's.yml:5:19: agents[0].paused_until: "2027-02-30" is not a calendar date',
        ],
    ),
    (
        entry("{interval: daily}", "    paused_until: next week\n"),
        [
            's.yml:5:19: agents[0].paused_until: expected a date YYYY-MM-DD, got string "next week"',
        ],
    ),
    (
        entry("{interval: daily}", "    token_budget: 999\n"),
        [
            "s.yml:5:19: agents[0].token_budget: expected an integer from 1000 to 1000000, got 999",
        ],
    ),
    (
        entry("{interval: daily}", "    token_budget: 5000.5\n"),
        [
            "s.yml:5:19: agents[0].token_budget: expected an integer from 1000 to 1000000, "
            "got number 5000.5",
        ],
    ),
    (
        "version: 1\nagents:\n  - agent: Coach\n    schedule: {interval: daily}\n",
        [
            "s.yml:3:12: agents[0].agent: expected an agent name (a-z, 0-9, '.', '_', '-'), "
            'got string "Coach"',
        ],
    ),
    (
        "version: 1\nagents:\n  - agent: ../etc\n    schedule: {interval: daily}\n",
        [
            "s.yml:3:12: agents[0].agent: expected an agent name (a-z, 0-9, '.', '_', '-'), "
            'got string "../etc"',
        ],
    ),
    (
        "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily}\n"
        "  - agent: coach\n    schedule: {interval: weekly}\n",
        [
            's.yml:5:5: agents[1].agent: agent "coach" is listed twice (first on line 3)',
        ],
    ),
    (
        "version: 1\nagents:\n  - coach\n",
        [
            's.yml:3:5: agents[0]: expected a mapping, got string "coach"',
        ],
    ),
    (
        "version: 1\nagents: {coach: weekly}\n",
        [
            "s.yml:2:9: agents: expected a list, got a mapping",
        ],
    ),
    ("- 1\n", ["s.yml:1:1: expected a mapping, got a list"]),
    ("just text\n", ['s.yml:1:1: expected a mapping, got string "just text"']),
]


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_each_mistake_has_its_exact_located_message(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_every_problem_in_a_file_is_reported_in_file_order() -> None:
    text = """\
        version: 1
        timezone: Mars/Olympus
        agents:
          - agent: coach
            enabled: on
            schedule:
              interval: weekly
              day: funday
              time: 9am
          - agent: coach
            schedule: {interval: monthly, day: 0}
            colour: blue
        """
    assert problems(text) == [
        's.yml:2:11: timezone: unknown time zone "Mars/Olympus"',
        's.yml:5:14: agents[0].enabled: expected true or false, got string "on" '
        "(YAML 1.2 reads yes/no/on/off as strings)",
        "s.yml:8:12: agents[0].schedule.day: expected one of monday, tuesday, wednesday, "
        'thursday, friday, saturday, sunday, got string "funday"; did you mean "sunday"?',
        's.yml:9:13: agents[0].schedule.time: expected "HH:MM" (24-hour, e.g. "09:30"), '
        'got string "9am"',
        's.yml:10:5: agents[1].agent: agent "coach" is listed twice (first on line 4)',
        's.yml:11:40: agents[1].schedule.day: expected a day from 1 to 28, or "last" '
        "(29-31 would skip shorter months), got integer 0",
        's.yml:12:5: agents[1]: unknown key "colour"',
    ]


def test_defaults_are_filled_in() -> None:
    manifest = parse_manifest(with_repo(entry("{interval: weekly}"), "acme/x").encode(), "s.yml")
    (coach,) = manifest.agents
    assert manifest.timezone == "UTC"
    assert manifest.repo == "acme/x"
    assert coach.enabled is True
    assert coach.token_budget == DEFAULT_TOKEN_BUDGET
    assert coach.cadence.day == "monday"
    assert coach.cadence.spread is True
    assert coach.paused_until is None
    assert manifest.digest.startswith("sha256:")


def test_entry_values_override_the_file_defaults() -> None:
    text = (
        "version: 1\ntimezone: Europe/Berlin\ntoken_budget: 5000\nagents:\n"
        "  - agent: coach\n    token_budget: 2000\n    paused_until: 2027-01-15\n"
        "    schedule: {interval: daily, time: '08:00', timezone: Asia/Tokyo}\nrepo: acme/x\n"
    )
    (coach,) = parse_manifest(text.encode(), "s.yml").agents
    assert coach.token_budget == 2000
    assert coach.cadence.timezone == "Asia/Tokyo"
    assert coach.paused_until == date(2027, 1, 15)


def test_files_that_cannot_be_read_are_problems_not_crashes(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    big.write_bytes(b"#" * (MAX_BYTES + 10))
    fifo = tmp_path / "fifo.yml"
    import os

    os.mkfifo(fifo)
    assert [str(p) for p in validate_file(tmp_path / "none.yml")] == [
        f"{tmp_path / 'none.yml'}: no such file"
    ]
    assert [str(p) for p in validate_file(tmp_path)] == [f"{tmp_path}: is a directory"]
    assert [str(p) for p in validate_file(big)] == [f"{big}: file is 1.0 MiB; the limit is 1.0 MiB"]
    assert [str(p) for p in validate_file(fifo)] == [f"{fifo}: not a regular file"]


def test_the_commented_example_is_valid_and_matches_the_json_schema() -> None:
    assert validate_file(EXAMPLE) == []
    jsonschema.validate(plain(EXAMPLE.read_text()), json_schema())


@pytest.mark.parametrize("agents", [["coach"], ["coach", "optimization-review"], ["my-own.agent"]])
def test_the_scaffold_is_valid(agents: list[str]) -> None:
    for repo in (None, "acme/payments"):
        manifest = parse_manifest(scaffold(agents, repo, "Europe/Berlin").encode(), "s.yml")
        assert [a.agent for a in manifest.agents] == agents


def test_committed_schema_and_field_tables_are_current() -> None:
    stale = generate.stale(ROOT / "docs")
    assert stale == [], f"run `make schema`: stale {stale}"


def test_json_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(generate.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "text",
    [
        entry("{interval: daily, day: 3}"),
        entry("{interval: cron}"),
        entry("{interval: weekly, day: 3}"),
        entry("{interval: monthly, day: 31}"),
        entry("{interval: weekly, cronjob: '* * * * *'}"),
        entry("{interval: daily, time: '9:30'}"),
        entry("{interval: daily}", "    colour: blue\n"),
        "version: 2\nagents: [{agent: a, schedule: {interval: daily}}]\n",
        "version: 1\nagents: []\n",
    ],
)
def test_json_schema_rejects_what_the_validator_rejects(text: str) -> None:
    assert problems(text) != []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(plain(text), json_schema())


def test_load_manifest_raises_a_kaizen_error_with_all_problems(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("version: 1\nrepo: acme/x\nagents:\n  - agent: x\n")
    with pytest.raises(InvalidFileError) as info:
        load_manifest(path)
    assert str(info.value) == f"{path}: 1 problem"
    assert [p.message for p in info.value.problems] == ['missing required key "schedule"']


def test_repo_is_required_and_says_what_it_is() -> None:
    text = "version: 1\nagents:\n  - {agent: coach, schedule: {interval: daily}}\n"
    assert problems(text, slug=None) == [
        's.yml:1:1: missing required key "repo" (the repository\'s slug, e.g. '
        '"repo: acme/payments", as the state hub names it)'
    ]
    with pytest.raises(jsonschema.ValidationError, match="'repo' is a required property"):
        jsonschema.validate(plain(text), json_schema())


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("acme/payments", None),
        ("a", None),
        ("/acme", 's.yml:4:7: repo: expected a slug like owner/name, got string "/acme"'),
        ("", 's.yml:4:7: repo: expected a slug like owner/name, got string ""'),
    ],
)
def test_repo_slug_shapes(slug: str, message: str | None) -> None:
    text = f"version: 1\nagents:\n  - {{agent: coach, schedule: {{interval: daily}}}}\nrepo: '{slug}'\n"
    assert problems(text, slug=None) == ([message] if message else [])


def test_the_spread_time_depends_on_repo_alone() -> None:
    """The identity is in the file: whoever loads it gets the same run time."""
    text = with_repo(entry("{interval: weekly}"), "acme/payments").encode()
    times = {parse_manifest(text, name).agents[0].cadence.time for name in ("a.yml", "b/c.yml")}
    assert times == {spread_time("acme/payments", "coach")}
