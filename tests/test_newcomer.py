"""A newcomer's first hour: the ordinary mistakes, and what the tool answers.

One table of mistakes — options, values, manifests, rosters — each with its exit code and the
line the user reads: where the mistake is, and what to write instead. Then the verdicts that
must not depend on where a file sits or when a repository joined, run in real repositories.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from kaizen_agentic.cli import table
from kaizen_agentic.cli.common import Group, Verb
from kaizen_agentic.main import main
from tests.conftest import add_agent, commit_all, git

MANIFEST = """\
version: 1
repo: acme/payments
timezone: Europe/Berlin
agents:
  - agent: coach
    schedule: {interval: weekly, day: monday, time: "09:00"}
  - agent: optimization-review
    schedule: {interval: monthly, day: last}
"""
AT = "--at=2027-03-29T09:30:00+02:00"


def entry(schedule: str, agent: str = "coach", zone: str = "Europe/Berlin") -> str:
    return (
        f"version: 1\nrepo: acme/payments\ntimezone: {zone}\nagents:\n"
        f"  - agent: {agent}\n    schedule: {schedule}\n"
    )


class Mistake(NamedTuple):
    argv: tuple[str, ...]
    code: int
    line: str  # the line the user reads: where the mistake is, and the fix
    files: dict[str, str] = {}  # noqa: RUF012 (a NamedTuple's default, never mutated)


def usage(verb: str, message: str) -> str:
    return f"kaizen-agentic {verb}: error: {message}"


MISTAKES = {
    # --- options: the command's own usage, and the option meant -------------------------------
    "a misspelt option": Mistake(
        ("schedule", "validate", "--fromat", "json"),
        2,
        usage("schedule validate", "unrecognized arguments: --fromat; did you mean --format?"),
    ),
    "an option another tool has": Mistake(
        ("schedule", "prepare", "coach", "--out-dir", "x"),
        2,
        usage("schedule prepare", "unrecognized arguments: --out-dir x; did you mean --out?"),
    ),
    "a hyphen too many": Mistake(
        ("schedule", "init", "--time-zone", "UTC"),
        2,
        usage("schedule init", "unrecognized arguments: --time-zone UTC; did you mean --timezone?"),
    ),
    "an option nothing resembles": Mistake(
        ("agents", "list", "--verbose"),
        2,
        usage(
            "agents list",
            "unrecognized arguments: --verbose; see kaizen-agentic agents list --help",
        ),
    ),
    "a misspelt command": Mistake(
        ("schedule", "valdate"),
        2,
        usage(
            "schedule",
            "argument COMMAND: invalid choice: 'valdate' (choose from init, validate, list, "
            "schema, prepare, discover, export, calendar, register, complete); "
            "did you mean 'validate'?",
        ),
    ),
    "a misspelt choice": Mistake(
        ("metrics", "record", "coach", "--outcome", "sucess"),
        2,
        usage(
            "metrics record",
            "argument --outcome: invalid choice: 'sucess' (choose from success, partial, "
            "failure, skipped); did you mean 'success'?",
        ),
    ),
    "no command at all": Mistake(
        (), 2, "kaizen-agentic: error: choose a COMMAND from the list above"
    ),
    # --- values: the flag named, what is expected, an example ---------------------------------
    "a time in words": Mistake(
        ("schedule", "list", "--at", "tomorrow"),
        2,
        usage(
            "schedule list",
            "--at: expected an RFC 3339 time with a UTC offset, e.g. 2027-03-29T09:00:00+02:00 or "
            "2027-03-29T07:00:00Z; got 'tomorrow'",
        ),
    ),
    "a date without its time": Mistake(
        ("schedule", "list", "--at", "2027-03-26+02:00"),
        2,
        usage(
            "schedule list",
            "--at: '2027-03-26+02:00' has no time of day; write one, e.g. 2027-03-26T00:00:00+02:00",
        ),
    ),
    "a time without its offset": Mistake(
        ("schedule", "list", "--at", "2027-03-26T12:00"),
        2,
        usage(
            "schedule list",
            "--at: '2027-03-26T12:00' has no UTC offset; add Z for UTC or the local offset, e.g. "
            "2027-03-26T12:00Z or 2027-03-26T12:00+02:00",
        ),
    ),
    "a day February does not have": Mistake(
        ("metrics", "report", "--since", "2027-02-30T00:00:00Z"),
        2,
        usage(
            "metrics report",
            "--since: '2027-02-30T00:00:00Z' is not a time on the calendar: day is out of range "
            "for month",
        ),
    ),
    "the calendar's start in words": Mistake(
        ("schedule", "calendar", "--from", "monday"),
        2,
        usage(
            "schedule calendar",
            "--from: expected an RFC 3339 time with a UTC offset, e.g. 2027-03-29T09:00:00+02:00 "
            "or 2027-03-29T07:00:00Z; got 'monday'",
        ),
    ),
    "a window without its unit": Mistake(
        ("schedule", "prepare", "--due", AT, "--roster", "r.yml", "--window", "1"),
        2,
        usage("schedule prepare", "--window: '1' needs a unit: 1m, 1h or 1d"),
    ),
    "a tick without its unit": Mistake(
        ("schedule", "prepare", "--due", "--tick", "15", "--roster", "r.yml"),
        2,
        usage("schedule prepare", "--tick: '15' needs a unit: 15m, 15h or 15d"),
    ),
    "an export tick without its unit": Mistake(
        ("schedule", "export", "--format", "temporal", "--tick", "15"),
        2,
        usage("schedule export", "--tick: '15' needs a unit: 15m, 15h or 15d"),
    ),
    "a city for a time zone": Mistake(
        ("schedule", "init", "--force", "--timezone", "berlin"),
        2,
        usage(
            "schedule init", '--timezone: unknown time zone "berlin"; did you mean "Europe/Berlin"?'
        ),
    ),
    "an agent that does not exist": Mistake(
        ("schedule", "init", "--force", "--agents", "coach,coatch"),
        2,
        usage(
            "schedule init",
            '--agents: no agent "coatch": it is not built in and .kaizen/agents/coatch.md does not '
            'exist; did you mean "coach"? (known: coach, optimization-review)',
        ),
    ),
    "everything a CronJob needs, at once": Mistake(
        ("schedule", "export", "--format", "k8s-cronjob", "--tick", "15m", "--roster", "r.yml"),
        2,
        usage(
            "schedule export",
            "--format k8s-cronjob needs --bundle-dir DIR: the absolute bundle folder on the runner "
            "host (an exporting user's home is not the runner's); and --image IMAGE (or "
            "KAIZEN_IMAGE): an image with Python 3.11+, git and kaizen-agentic installed; see "
            "docs/reference/export.md",
        ),
    ),
    "an agent the manifest does not name": Mistake(
        ("schedule", "prepare", "cooch", AT, "--out", "../bundles"),
        1,
        'kaizen-agentic: error: agent "cooch" is not in {repo}/.kaizen/schedule.yml (it lists: '
        'coach, optimization-review); did you mean "coach"?',
    ),
    # --- manifests: located, with the value meant --------------------------------------------
    "a misspelt agent, outside .kaizen/": Mistake(
        ("schedule", "validate", "m.yml"),
        1,
        'm.yml:5:5: agents[0].agent: no agent "coatch": it is not built in and '
        '.kaizen/agents/coatch.md does not exist; did you mean "coach"?',
        {"m.yml": entry("{interval: weekly}", agent="coatch")},
    ),
    "a city for the file's zone": Mistake(
        ("schedule", "validate", "m.yml"),
        1,
        'm.yml:3:11: timezone: unknown time zone "berlin"; did you mean "Europe/Berlin"?',
        {"m.yml": entry("{interval: daily}", zone="berlin")},
    ),
    "a zone in the wrong case": Mistake(
        ("schedule", "validate", "m.yml"),
        1,
        'm.yml:3:11: timezone: unknown time zone "europe/berlin"; did you mean "Europe/Berlin"?',
        {"m.yml": entry("{interval: daily}", zone="europe/berlin")},
    ),
    "a misspelt weekday": Mistake(
        ("schedule", "validate", "m.yml"),
        1,
        "m.yml:6:39: agents[0].schedule.day: expected one of monday, tuesday, wednesday, "
        'thursday, friday, saturday, sunday, got string "mondey"; did you mean "monday"?',
        {"m.yml": entry("{interval: weekly, day: mondey}")},
    ),
    "a macro that names no time": Mistake(
        ("schedule", "validate", "m.yml"),
        1,
        'm.yml:6:41: agents[0].schedule.cronjob: "@reboot" names no time, and kaizen runs '
        'prepare on a clock; write a time, e.g. "@daily" or "0 9 * * 1"',
        {"m.yml": entry('{interval: cron, cronjob: "@reboot"}')},
    ),
    "a misspelt macro": Mistake(
        ("schedule", "validate", "m.yml"),
        1,
        'm.yml:6:41: agents[0].schedule.cronjob: unknown macro "@weekley" (cronie\'s are '
        "@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually); did you mean "
        '"@weekly"?',
        {"m.yml": entry('{interval: cron, cronjob: "@weekley"}')},
    ),
    "the last day with a weekday": Mistake(
        ("schedule", "validate", "m.yml"),
        1,
        'm.yml:6:41: agents[0].schedule.cronjob: day-of-month "L" (the month\'s last day) goes '
        'with day-of-week "*", not "5"',
        {"m.yml": entry('{interval: cron, cronjob: "0 6 L * 5"}')},
    ),
    "a manifest named .yaml": Mistake(
        ("schedule", "list"),
        1,
        "kaizen-agentic: error: {repo}/.kaizen/schedule.yml not found, but .kaizen/schedule.yaml "
        "is: rename it to .kaizen/schedule.yml, the one name kaizen-agentic reads",
        {".kaizen/schedule.yml": "", ".kaizen/schedule.yaml": MANIFEST},
    ),
    # --- rosters -------------------------------------------------------------------------------
    "a roster that is not there": Mistake(
        ("schedule", "discover", "--roster", "fleet.yml"),
        1,
        "kaizen-agentic: error: roster fleet.yml: no such file",
    ),
    "two rosters": Mistake(
        ("schedule", "discover", "--roster", "r.yml", "--scan", "."),
        2,
        usage("schedule discover", "give one roster: --hub, --roster or --scan"),
    ),
    "no roster for a fleet command": Mistake(
        ("schedule", "discover"),
        2,
        usage(
            "schedule discover",
            "no roster: give --hub URL (or set KAIZEN_HUB_URL), --roster FILE or --scan DIR",
        ),
    ),
    "a roster that is a mapping of names": Mistake(
        ("schedule", "discover", "--roster", "bad.yml"),
        1,
        'kaizen-agentic: error: roster bad.yml: expected a list of repos, or a mapping with "repos"',
        {"bad.yml": "payments: {host_paths: {}}\n"},
    ),
    "a JSON roster cut short": Mistake(
        ("schedule", "discover", "--roster", "bad.json"),
        1,
        "kaizen-agentic: error: roster bad.json: malformed JSON: Expecting value: line 1 column "
        "12 (char 11)",
        {"bad.json": '{"repos": ['},
    ),
    "a roster with a key twice": Mistake(
        ("schedule", "discover", "--roster", "bad.yml"),
        1,
        'bad.yml:3:3: duplicate key "slug" (first defined on line 1)',
        {"bad.yml": "- slug: acme/a\n  host_paths: {}\n  slug: acme/b\n"},
    ),
    "a record without a slug": Mistake(
        ("schedule", "discover", "--roster", "bad.yml", AT),
        0,
        'roster problem: bad.yml:1:3: repos[0]: "slug" must be a non-empty string',
        {"bad.yml": "- host_paths: {}\n"},
    ),
    "a record whose host paths are a list": Mistake(
        ("schedule", "discover", "--roster", "bad.yml", AT),
        0,
        'roster problem: bad.yml:1:3: repos[0]: acme/b: "host_paths" must map host names to path '
        "strings",
        {"bad.yml": "- slug: acme/b\n  host_paths: [/srv/b]\n"},
    ),
}


@pytest.fixture
def newcomer(make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with a committed manifest, a roster naming it (`r.yml`), and the user in it."""
    repo = make_repo("payments", manifest=MANIFEST, origin="git@github.com:acme/payments.git")
    commit_all(repo, "Schedule kaizen agents")
    host = os.uname().nodename
    (repo / "r.yml").write_text(f"- slug: acme/payments\n  host_paths: {{{host}: {repo}}}\n")
    monkeypatch.chdir(repo)
    monkeypatch.delenv("KAIZEN_HUB_URL", raising=False)
    monkeypatch.delenv("KAIZEN_IMAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return repo


@pytest.mark.parametrize("name", MISTAKES)
def test_an_ordinary_mistake_gets_its_place_and_its_fix(
    name: str, newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mistake = MISTAKES[name]
    for path, text in mistake.files.items():
        target = newcomer / path
        if text:
            target.write_text(text)
        else:
            target.unlink()
    code = main(list(mistake.argv))
    out, err = capsys.readouterr()
    assert code == mistake.code, err
    assert mistake.line.format(repo=newcomer) in (out + err).splitlines(), out + err
    assert "Traceback" not in err
    if code == 2 and mistake.argv:
        verb = " ".join(a for a in mistake.argv[:2] if not a.startswith("-"))
        if name == "a misspelt command":
            verb = "schedule"
        assert err.startswith(f"usage: kaizen-agentic {verb} "), err


def verbs() -> list[tuple[str, Verb]]:
    rows: list[tuple[str, Verb]] = []
    for row in table():
        if isinstance(row, Group):
            rows += [(f"{row.name} {v.name}", v) for v in row.verbs]
        else:
            rows.append((row.name, row))
    return rows


def misspelt(flag: str) -> str:
    """``--format`` -> ``--fromat``: two letters swapped, as fingers do."""
    body = flag[2:]
    i = min(1, len(body) - 2)
    return "--" + body[:i] + body[i + 1] + body[i] + body[i + 2 :]


@pytest.mark.parametrize(("name", "row"), verbs(), ids=[n for n, _ in verbs()])
def test_every_verb_answers_a_misspelt_option_with_its_usage_and_the_option(
    name: str, row: Verb, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = [f for o in row.options for f in o.flags if f.startswith("--") and len(f) > 5]
    flag = (flags or ["--help"])[0]  # a verb of positionals only has --help to be meant
    positionals = [o for o in row.options if not o.flags[0].startswith("-")]
    given = ["x"] * len(positionals)
    for option in row.options:  # what argparse requires before it looks at the rest
        if option.settings.get("required"):
            given += [option.flags[0], (option.settings.get("choices") or ["x"])[0]]
    assert main([*name.split(), *given, misspelt(flag)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: kaizen-agentic {name} "), err
    last = err.splitlines()[-1]
    assert last.startswith(f"kaizen-agentic {name}: error: unrecognized arguments: ")
    assert last.endswith(f"; did you mean {flag}?"), last


def test_a_bare_command_or_group_lists_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: kaizen-agentic [-h] [--version] COMMAND ...")
    for group in ("schedule", "agents", "memory", "metrics", "redact"):
        assert re.search(rf"^    {group} ", err, re.M), group
    assert main(["schedule"]) == 2
    err = capsys.readouterr().err
    for verb in ("init", "validate", "list", "prepare", "discover", "calendar", "complete"):
        assert re.search(rf"^    {verb} ", err, re.M), verb


def test_every_argument_says_what_it_is_in_help() -> None:
    for name, row in verbs():
        for option in row.options:
            assert option.settings.get("help"), f"{name} {option.flags[0]}"


def test_the_difflib_that_suggests_is_not_loaded_to_start() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kaizen_agentic.main import main; main(['schedule', 'schema']); "
            "print('difflib' in sys.modules, file=sys.stderr)",
        ],
        capture_output=True,
        text=True,
    )
    assert done.stderr.strip().endswith("False")


# --- one verdict for a manifest --------------------------------------------------------------


def test_a_manifest_gets_one_verdict_wherever_it_sits_in_its_repository(
    newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = entry("{interval: weekly}", agent="coatch")
    (newcomer / "m6.yml").write_text(text)
    (newcomer / "docs").mkdir()
    (newcomer / "docs" / "m6.yml").write_text(text)
    (newcomer / ".kaizen" / "schedule.yml").write_text(text)
    verdicts = []
    for path in ("m6.yml", "docs/m6.yml", ".kaizen/schedule.yml"):
        code = main(["schedule", "validate", "--format", "json", path])
        problems = json.loads(capsys.readouterr().out)["files"][0]["problems"]
        verdicts.append((code, [(p["line"], p["key"], p["message"]) for p in problems]))
    assert verdicts[0] == verdicts[1] == verdicts[2]
    assert verdicts[0][0] == 1
    add_agent(newcomer, "coatch")  # defined in the repository: valid wherever the file sits
    for path in ("m6.yml", "docs/m6.yml", ".kaizen/schedule.yml"):
        assert main(["schedule", "validate", path]) == 0, capsys.readouterr().out
    capsys.readouterr()


def test_the_cron_schedule_list_shows_can_be_pasted(
    newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "list", "--json", AT]) == 0
    listed = json.loads(capsys.readouterr().out)["agents"]
    assert "L" in listed[1]["cron"]  # monthly on the last day: what cronie cannot say
    for agent in listed:
        pasted = entry(f'{{interval: cron, cronjob: "{agent["cron"]}"}}', agent=agent["agent"])
        (newcomer / "pasted.yml").write_text(pasted)
        assert main(["schedule", "validate", "pasted.yml"]) == 0, capsys.readouterr().out
        capsys.readouterr()
        (newcomer / ".kaizen" / "schedule.yml").write_text(pasted)
        assert main(["schedule", "list", "--json", "--count", "3", AT]) == 0
        again = json.loads(capsys.readouterr().out)["agents"][0]
        assert again["next_runs"] == agent["next_runs"], agent["agent"]
    capsys.readouterr()


@pytest.mark.parametrize(
    ("macro", "cron", "described"),
    [
        ("@hourly", "0 * * * *", "at the start of every hour"),
        ("@daily", "0 0 * * *", "at 00:00 every day"),
        ("@midnight", "0 0 * * *", "at 00:00 every day"),
        ("@weekly", "0 0 * * 0", "at 00:00 on Sunday"),
        ("@monthly", "0 0 1 * *", "at 00:00 on the first day of every month"),
        ("@yearly", "0 0 1 1 *", "at 00:00 on January 1"),
        ("@annually", "0 0 1 1 *", "at 00:00 on January 1"),
    ],
)
def test_cronies_macros_are_taken(
    macro: str, cron: str, described: str, newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (newcomer / ".kaizen" / "schedule.yml").write_text(
        entry(f'{{interval: cron, cronjob: "{macro}"}}')
    )
    assert main(["schedule", "list", "--json", AT]) == 0
    coach = json.loads(capsys.readouterr().out)["agents"][0]
    assert coach["cron"] == cron
    assert coach["description"] == f'cron "{macro}" ({described}) Europe/Berlin'


def test_rfc3339_in_lower_case_is_a_time(
    newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "list", "--json", "--at", "2027-03-26t12:00:00z"]) == 0
    assert json.loads(capsys.readouterr().out)["at"] == "2027-03-26T12:00:00+00:00"


# --- answers that help -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["schedule", "calendar", "--from", "2027-03-29T00:00:00Z", "--json"],
        ["schedule", "export", "--format", "crontab", "--bundle-dir", "/srv/bundles"],
        ["metrics", "report", "--until", "2027-04-01T00:00:00Z"],
    ],
)
def test_a_fleet_command_in_a_repository_takes_that_repository(
    argv: list[str], newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "acme/payments" in out


def test_a_fleet_command_outside_any_repository_names_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAIZEN_HUB_URL", raising=False)
    assert main(["schedule", "calendar"]) == 2
    assert capsys.readouterr().err.endswith(
        "kaizen-agentic schedule calendar: error: no repository or roster: run it inside a git "
        "work tree, or give --repo PATH, --hub URL (or set KAIZEN_HUB_URL), --roster FILE or "
        "--scan DIR\n"
    )


def test_prepare_due_names_the_repositories_it_skipped(
    newcomer: Path, make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = make_repo("docs-site", manifest=entry("{interval: weekly, time: 9:30}"))
    host = os.uname().nodename
    with (newcomer / "r.yml").open("a") as roster:
        roster.write(f"- slug: acme/docs-site\n  host_paths: {{{host}: {broken}}}\n- 3\n")
    argv = ["schedule", "prepare", "--due", AT, "--roster", "r.yml", "--out", "../bundles"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "roster r.yml at 2027-03-29T09:30:00+02:00 (window 3600 s): 2 repos, 1 enrolled; "
        "1 prepared, 0 already prepared, 0 failed, 1 agent not due\n"
    )
    assert out.endswith(
        "\nskipped, until fixed:\n"
        "  acme/docs-site: invalid (1 problem in .kaizen/schedule.yml)\n"
        "  roster problem: r.yml:5:3: repos[2]: expected a mapping with a slug, got int\n"
    )
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["skipped"] == [
        {
            "repo": "acme/docs-site",
            "state": "invalid",
            "reason": "1 problem in .kaizen/schedule.yml",
        }
    ]


@pytest.mark.parametrize(
    ("argv", "warning"),
    [
        (
            ["metrics", "record", "nobody", "--outcome", "success"],
            'warning: .kaizen/schedule.yml names no agent "nobody" (it names coach, '
            "optimization-review)",
        ),
        (
            ["memory", "show", "coatch"],
            'warning: .kaizen/schedule.yml names no agent "coatch" (it names coach, '
            'optimization-review); did you mean "coach"?',
        ),
        (
            ["memory", "add", "optimisation-review", "note"],
            'warning: .kaizen/schedule.yml names no agent "optimisation-review" (it names coach, '
            'optimization-review); did you mean "optimization-review"?',
        ),
        (
            ["metrics", "show", "nobody"],
            'warning: .kaizen/schedule.yml names no agent "nobody" (it names coach, '
            "optimization-review)",
        ),
    ],
)
def test_an_agent_the_manifest_does_not_name_is_warned_about(
    argv: list[str], warning: str, newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().err == warning + "\n"
    assert main([argv[0], argv[1], "coach", *argv[3:]]) == 0
    assert capsys.readouterr().err == ""


def test_init_outside_a_git_work_tree_says_how_to_set_the_slug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notgit"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert main(["schedule", "init"]) == 0
    out, err = capsys.readouterr()
    assert "(repo: notgit)" in out
    assert err == (
        f'warning: {folder} is not a git work tree, so repo: is the folder\'s name, "notgit"; '
        "set the slug the state hub knows with --slug OWNER/NAME (or edit repo: in the file); "
        "prepare needs a git work tree (git init)\n"
    )
    git(folder, "init", "-q")
    assert main(["schedule", "init", "--force"]) == 0
    assert capsys.readouterr().err.startswith(f"warning: {folder} has no origin remote, so ")
    assert main(["schedule", "init", "--force", "--slug", "acme/notgit"]) == 0
    assert capsys.readouterr().err == ""


def test_complete_warns_when_the_run_is_recorded_before_its_slot(
    newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_readme import ROOT

    future = "2999-03-29T09:30:00+02:00"
    assert main(["schedule", "prepare", "coach", "--at", future, "--out", "../b", "--json"]) == 0
    bundle = json.loads(capsys.readouterr().out)["data"]["bundle"]["path"]
    answer = str(ROOT / "examples" / "coach-answer.md")
    assert main(["schedule", "complete", bundle, "--result", answer]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("completed: success recorded in ")
    assert re.fullmatch(
        r"warning: recorded as finished at \S+ \(now: no --at\), before its slot "
        r"2999-03-25T09:00:00\+01:00; give --at the time the run finished\n",
        err,
    ), err


def test_init_refuses_an_agent_it_cannot_schedule(
    newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (newcomer / ".kaizen" / "schedule.yml").read_text()
    assert main(["schedule", "init", "--force", "--agents", "coach,foo"]) == 2
    assert (newcomer / ".kaizen" / "schedule.yml").read_text() == before  # nothing written
    capsys.readouterr()
    add_agent(newcomer, "foo")
    assert main(["schedule", "init", "--force", "--agents", "coach,foo"]) == 0
    assert main(["schedule", "validate"]) == 0  # what init writes, validate accepts


# --- the report counts from when the repository joined ----------------------------------------


def committed_at(repo: Path, stamp: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    for args in (["add", "-A"], ["commit", "-q", "-m", "Join the kaizen schedule"]):
        subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                *args,
            ],
            check=True,
            env=env,
        )


@pytest.mark.parametrize(
    ("joined", "missed"),
    [
        ("2027-03-31T12:00:00+00:00", 0),  # opted in on the period's last day: nothing missed
        ("2027-03-20T12:00:00+00:00", 11),  # before the period: every daily slot counts
        ("2027-03-25T12:00:00+00:00", 6),  # mid-period: only the days after
    ],
)
def test_the_report_counts_missed_slots_from_the_manifests_commit(
    joined: str,
    missed: int,
    make_repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo(
        "joined",
        manifest="version: 1\nrepo: acme/joined\nagents:\n  - agent: coach\n"
        "    schedule: {interval: daily, time: '09:00'}\n",
    )
    committed_at(repo, joined)
    argv = ["metrics", "report", "--repo", str(repo), "--json"]
    assert main([*argv, "--since", "2027-03-20T00:00:00Z", "--until", "2027-04-01T00:00:00Z"]) == 0
    coach = json.loads(capsys.readouterr().out)["agents"][0]
    assert len(coach["missed_slots"]) == missed
    assert coach["due_slots"] == missed


def test_an_agent_that_never_ran_and_missed_much_comes_first() -> None:
    from kaizen_agentic.views.report import AgentReport

    def agent(name: str, missed: int, ever: bool) -> AgentReport:
        slots = tuple(f"2027-03-{d:02d}T09:00:00+00:00" for d in range(1, missed + 1))
        runs = {"success": 0 if not ever else 25, "partial": 0, "failure": 0, "skipped": 0}
        return AgentReport(
            "acme/x", name, "enabled", runs, None, None, 28, slots, 0, None, 0.0, None,
            0, None, 0, ever, (), 0, {},
        )  # fmt: skip

    silent = agent("never", 28, ever=False)
    sometimes = agent("sometimes", 3, ever=True)
    assert silent.attention() == (61, ["never ran", "28 missed slots"])
    assert sometimes.attention() == (6, ["3 missed slots"])


# --- wording -----------------------------------------------------------------------------------


def test_one_is_singular(newcomer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "discover", "--roster", "r.yml", AT]) == 0
    assert ": 1 repo (1 enrolled)\n" in capsys.readouterr().out
    argv = ["schedule", "calendar", "--from", "2027-03-29T00:00:00+02:00", "--days", "1"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(": 1 run")
    assert main(["metrics", "report", "--until", "2027-04-01T00:00:00Z"]) == 0
    assert "  coach: 1 repo, " in capsys.readouterr().out


def test_the_busiest_hours_name_each_agent_once_and_need_two(
    newcomer: Path, make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["schedule", "calendar", "--from", "2027-03-01T00:00:00+01:00", "--days", "31"]
    argv += ["--tz", "Europe/Berlin"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "busiest: none; no hour of the week holds the runs of more than one agent\n" in out
    other = make_repo("infra", manifest=entry('{interval: weekly, day: monday, time: "09:10"}'))
    host = os.uname().nodename
    with (newcomer / "r.yml").open("a") as roster:
        roster.write(f"- slug: acme/payments-infra\n  host_paths: {{{host}: {other}}}\n")
    (other / ".kaizen" / "schedule.yml").write_text(
        entry('{interval: weekly, day: monday, time: "09:10"}').replace(
            "acme/payments", "acme/payments-infra"
        )
    )
    assert main([*argv, "--roster", "r.yml"]) == 0
    busiest = [x for x in capsys.readouterr().out.splitlines() if x.startswith("busiest:")]
    assert busiest == [
        "busiest: Mon 09:00, 10 runs: acme/payments coach (5 times), "
        "acme/payments-infra coach (5 times)"
    ]


@pytest.mark.slow
def test_make_demo_writes_only_inside_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_readme import load_demo

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KAIZEN_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    demo = load_demo(tmp_path / "build" / "demo")
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert out.startswith(f"demo: writing everything under {demo.DEMO} ")
    assert f"  cache:        {demo.DEMO / 'cache'} (KAIZEN_CACHE_DIR: validated manifests)" in out
    assert (demo.DEMO / "cache" / "manifests.json").is_file()
    assert list(home.iterdir()) == []  # no ~/.cache/kaizen-agentic


# --- the roster reference lists every error, as the tool says it --------------------------------

RECORDS = ""  # the file holding every unusable record the reference shows (`_records`)
ROSTER_ERRORS = {
    # the message as docs/reference/roster.md shows it: (the files, the arguments)
    "roster fleet.yml: no such file": ({}, ["--roster", "fleet.yml"]),
    "roster fleet.yml: is a directory": ({"fleet.yml/x": ""}, ["--roster", "fleet.yml"]),
    "roster fleet.json: malformed JSON: Expecting value: line 1 column 12 (char 11)": (
        {"fleet.json": '{"repos": ['},
        ["--roster", "fleet.json"],
    ),
    'roster fleet.json: expected a list of repos, or an object with "repos"': (
        {"fleet.json": '{"repos": 3}'},
        ["--roster", "fleet.json"],
    ),
    'roster fleet.yml: expected a list of repos, or a mapping with "repos"': (
        {"fleet.yml": "repos: 3\n"},
        ["--roster", "fleet.yml"],
    ),
    'fleet.yml:3:3: duplicate key "slug" (first defined on line 1)': (
        {"fleet.yml": "- slug: acme/a\n  host_paths: {}\n  slug: acme/b\n"},
        ["--roster", "fleet.yml"],
    ),
    "--scan nowhere: not a directory": ({}, ["--scan", "nowhere"]),
    "hub https://hub.example.com/repos/ did not answer after 4 attempts: HTTP 503": (
        {},
        ["--hub", "https://hub.example.com"],
    ),
    "give one roster: --hub, --roster or --scan": ({}, ["--roster", "r.yml", "--scan", "."]),
    "no roster: give --hub URL (or set KAIZEN_HUB_URL), --roster FILE or --scan DIR": ({}, []),
    "fleet.yml:3:3: repos[1]: expected a mapping with a slug, got int": (
        {"fleet.yml": RECORDS},
        ["--roster", "fleet.yml"],
    ),
}


def _records() -> str:
    return (
        "- slug: acme/a\n  host_paths: {}\n- 3\n- slug: ''\n"
        "- slug: acme/b\n  host_paths: [a]\n- slug: acme/c\n  domain: 3\n"
        "- slug: acme/d\n  kaizen_schedule_enabled: 'yes'\n- slug: acme/e f\n"
        "- slug: acme/g\n  host_paths: {'runner 1': /srv/g}\n"
    )


RECORD_ERRORS = [
    "fleet.yml:3:3: repos[1]: expected a mapping with a slug, got int",
    'fleet.yml:4:3: repos[2]: "slug" must be a non-empty string',
    'fleet.yml:5:3: repos[3]: acme/b: "host_paths" must map host names to path strings',
    'fleet.yml:7:3: repos[4]: acme/c: "domain" must be a string without control characters',
    'fleet.yml:9:3: repos[5]: acme/d: "kaizen_schedule_enabled" must be true or false',
    "fleet.yml:11:3: repos[6]: \"slug\" 'acme/e f' is not a slug like owner/name (A-Z, a-z, 0-9, "
    "'.', '_', '/', '-')",
    "fleet.yml:12:3: repos[7]: acme/g: \"host_paths\" key 'runner 1' is not a host name "
    "(letters, digits, '.', '-', '_'; up to 253)",
]


def documented_roster_errors() -> list[str]:
    from tests.test_readme import ROOT

    text = (ROOT / "docs" / "reference" / "roster.md").read_text()
    section = text.split("## Every error a roster can get", 1)[1].split("**A record resolves", 1)[0]
    return re.findall(r"^\| [^|]+ \| `([^`]+)`", section, re.M)


def test_the_roster_reference_lists_what_the_tool_says(
    newcomer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.loopback import Reply, serve

    elsewhere = {  # tested above, with `calendar` outside a repository and in the bad table
        "no repository or roster: run it inside a git work tree, or give --repo PATH, --hub URL "
        "(or set KAIZEN_HUB_URL), --roster FILE or --scan DIR",
        "give --repo or a roster (--hub, --roster, --scan), not both",
    }
    assert set(documented_roster_errors()) == {*ROSTER_ERRORS, *RECORD_ERRORS, *elsewhere}
    with serve([Reply(503, b"", (("Retry-After", "0"),))]) as hub:
        for message, (files, argv) in ROSTER_ERRORS.items():
            for path, text in files.items():
                (newcomer / path).parent.mkdir(parents=True, exist_ok=True)
                (newcomer / path).write_text(text or _records())
            argv = [a.replace("https://hub.example.com", hub.url) for a in argv]
            main(["schedule", "discover", AT, *argv])
            out, err = capsys.readouterr()
            shown = (out + err).replace(hub.url, "https://hub.example.com")
            lines = [
                x.removeprefix("roster problem: ").split(": error: ")[-1]
                for x in shown.splitlines()
            ]
            assert message in lines, shown
            if "repos[1]" in message:
                assert [x for x in lines if "repos[" in x] == RECORD_ERRORS
            for path in files:
                shutil.rmtree(newcomer / path.split("/")[0], ignore_errors=True)
                (newcomer / path).unlink(missing_ok=True)
