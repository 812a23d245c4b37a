"""The resolver: every roster repo gets exactly one state, with its reason."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kaizen_agentic import discover_kaizen_scheduled_repos
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.fleet.discovery import repo_state
from kaizen_agentic.fleet.roster import Record, canonical_path, load_roster_file, scan
from tests.conftest import commit_all, with_repo
from tests.loopback import Reply, serve

AT = datetime(2027, 3, 29, 6, 30, tzinfo=UTC)
HOST = "runner-1"
GOOD = "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: weekly, time: '09:00'}\n"
PAUSED = GOOD + "    paused_until: 2027-06-01\n"
DISABLED = GOOD + "    enabled: false\n"


@pytest.fixture
def fleet(make_repo: Callable[..., Path], tmp_path: Path) -> dict[str, Path]:
    repos = {
        "good": make_repo("good", manifest=GOOD),
        "paused": make_repo("paused", manifest=PAUSED),
        "disabled": make_repo("disabled", manifest=DISABLED),
        "invalid": make_repo("invalid", manifest="version: 1\nagents: []\n"),
        "absent": make_repo("absent"),
    }
    (tmp_path / "plain").mkdir()
    repos["plain"] = tmp_path / "plain"
    return repos


def record(slug: str, path: str | None, **extra: object) -> Record:
    return Record(
        slug,
        {HOST: path} if path else {},
        extra.get("domain"),  # type: ignore[arg-type]
        extra.get("flag"),
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "flag", "state", "reason"),
    [
        ("good", None, "enrolled", "runs coach"),
        ("good", True, "enrolled", "runs coach"),
        ("good", False, "not-enabled-in-hub", "the hub's kaizen_schedule_enabled is false"),
        ("paused", None, "paused", "no agent runs before 2027-06-01"),
        ("disabled", None, "paused", "every agent is disabled"),
        ("invalid", None, "invalid", "1 problem in .kaizen/schedule.yml"),
        ("absent", None, "absent", "no .kaizen/schedule.yml"),
        ("plain", None, "missing-checkout", "{path} is not a git work tree"),
        ("gone", None, "missing-checkout", "{path} does not exist"),
    ],
)
def test_each_state_with_its_reason(
    fleet: dict[str, Path], tmp_path: Path, name: str, flag: bool | None, state: str, reason: str
) -> None:
    path = fleet.get(name, tmp_path / name)
    result = repo_state(record(f"acme/{name}", str(path), flag=flag), hostname=HOST, at=AT)
    assert (result.state, result.reason) == (state, reason.format(path=path))


def test_no_host_path() -> None:
    rec = Record("acme/x", {"other-host": "/src/x", "third": "/y"}, None, None)
    result = repo_state(rec, hostname=HOST, at=AT)
    assert (result.state, result.reason) == (
        "no-host-path",
        "not checked out on runner-1 (hosts: other-host, third)",
    )


def test_a_short_hostname_matches_a_qualified_one(fleet: dict[str, Path]) -> None:
    rec = Record("acme/good", {"runner-1.example.com": str(fleet["good"])}, None, None)
    assert repo_state(rec, hostname=HOST, at=AT).state == "enrolled"


def test_an_enrolled_repo_lists_agents_and_next_runs(fleet: dict[str, Path]) -> None:
    result = repo_state(record("acme/good", str(fleet["good"])), hostname=HOST, at=AT, count=2)
    (coach,) = result.agents
    assert coach.state == "enabled"
    assert [t.isoformat() for t in coach.next_runs] == [
        "2027-03-29T09:00:00+00:00",
        "2027-04-05T09:00:00+00:00",
    ]


def test_invalid_repos_carry_their_problems(fleet: dict[str, Path]) -> None:
    result = repo_state(record("acme/invalid", str(fleet["invalid"])), hostname=HOST, at=AT)
    assert [str(p) for p in result.problems] == [
        f"{fleet['invalid']}/.kaizen/schedule.yml:2:9: agents: needs at least 1 item(s)"
    ]


def test_the_agent_filter(fleet: dict[str, Path]) -> None:
    result = repo_state(
        record("acme/good", str(fleet["good"])), hostname=HOST, at=AT, agent="optimization-review"
    )
    assert (result.state, result.reason) == (
        "absent",
        'no agent "optimization-review" in .kaizen/schedule.yml',
    )


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("/src/a", None, ("/src/a", "")),
        ("/src/a/", None, ("/src/a", "")),
        ("/src//a/./b", None, ("/src/a/b", "")),
        ("/src/../etc", None, (None, "host path '/src/../etc' contains '..'")),
        ("src/a", None, (None, "host path 'src/a' is not absolute")),
        ("/elsewhere/a", "/src", (None, "host path /elsewhere/a is outside --root /src")),
        ("/src/a", "/src", ("/src/a", "")),
    ],
)
def test_host_paths_are_canonicalised(
    path: str, root: str | None, expected: tuple[str | None, str]
) -> None:
    assert canonical_path(path, root) == expected


def test_a_symlink_out_of_root_is_refused(fleet: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(fleet["good"], root / "link")
    result = repo_state(record("acme/l", str(root / "link")), hostname=HOST, at=AT, root=str(root))
    assert result.state == "missing-checkout"
    assert result.reason == f"host path {root / 'link'} is outside --root {root}"


def write_roster(tmp_path: Path, fleet: dict[str, Path], name: str = "roster.yml") -> Path:
    records = [
        {
            "slug": f"acme/{n}",
            "host_paths": {HOST: str(p)},
            "domain": "pay" if n == "good" else "ops",
        }
        for n, p in fleet.items()
    ]
    records.append({"slug": "acme/elsewhere", "host_paths": {"other": "/x"}})
    records.append({"host_paths": {}})  # malformed: no slug
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps({"repos": records}))
    else:
        import yaml

        path.write_text(yaml.safe_dump(records))
    return path


@pytest.mark.parametrize("name", ["roster.yml", "roster.json"])
def test_discover_from_a_roster_file(fleet: dict[str, Path], tmp_path: Path, name: str) -> None:
    roster = write_roster(tmp_path, fleet, name)
    found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=HOST, at=AT)
    assert [(r.slug, r.state) for r in found.repos] == [
        ("acme/absent", "absent"),
        ("acme/disabled", "paused"),
        ("acme/elsewhere", "no-host-path"),
        ("acme/good", "enrolled"),
        ("acme/invalid", "invalid"),
        ("acme/paused", "paused"),
        ("acme/plain", "missing-checkout"),
    ]
    (problem,) = found.problems
    assert problem.key == "repos[7]" and problem.message == '"slug" must be a non-empty string'
    if name.endswith(".yml"):
        assert (problem.line, problem.col) > (1, 0)  # located in the file
    assert found.counts()["enrolled"] == 1


def test_the_domain_filter(fleet: dict[str, Path], tmp_path: Path) -> None:
    roster = write_roster(tmp_path, fleet)
    found = discover_kaizen_scheduled_repos(
        roster_file=str(roster), hostname=HOST, at=AT, domain="pay"
    )
    # records that name another domain are dropped; one that names none is kept
    assert [r.slug for r in found.repos] == ["acme/elsewhere", "acme/good"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{slug: x}\n", 'expected a list of repos, or a mapping with "repos"'),
        ("- a\n- [\n", "1 problem"),
    ],
)
def test_an_unreadable_roster_is_an_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "r.yml"
    path.write_text(content)
    with pytest.raises(KaizenError, match=message):
        load_roster_file(str(path))


def test_a_missing_roster(tmp_path: Path) -> None:
    with pytest.raises(KaizenError) as info:
        load_roster_file(str(tmp_path / "none.yml"))
    assert str(info.value) == f"roster {tmp_path / 'none.yml'}: no such file"


def test_scan_finds_work_trees(fleet: dict[str, Path], tmp_path: Path) -> None:
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    shutil.copytree(fleet["good"], nested / "copy", symlinks=True)
    roster = scan(str(tmp_path), HOST)
    assert sorted(r.slug for r in roster.records) == [
        "absent",
        "deep/er/copy",
        "disabled",
        "good",
        "invalid",
        "paused",
    ]


def test_discover_through_a_hub(fleet: dict[str, Path], make_repo: Callable[..., Path]) -> None:
    records = [
        {"slug": "acme/good", "host_paths": {HOST: str(fleet["good"])}},  # a v1 record
        {
            "slug": "acme/on",
            "host_paths": {HOST: str(make_repo("on", manifest=GOOD))},
            "kaizen_schedule_enabled": True,
        },
        {
            "slug": "acme/off",
            "host_paths": {HOST: str(make_repo("off", manifest=GOOD))},
            "kaizen_schedule_enabled": False,
        },
        {"slug": 7},
    ]
    with serve([Reply(200, json.dumps({"items": records}).encode())]) as server:
        found = discover_kaizen_scheduled_repos(
            hub_url=server.url, hub_token="t0k3n", hostname=HOST, at=AT, domain="pay"
        )
    assert [(r.slug, r.state) for r in found.repos] == [
        ("acme/good", "enrolled"),
        ("acme/off", "not-enabled-in-hub"),
        ("acme/on", "enrolled"),
    ]
    assert [p.message for p in found.problems] == ['"slug" must be a non-empty string']
    assert "kaizen_schedule_enabled=true&domain=pay" in server.seen[0].path


def test_exactly_one_source() -> None:
    with pytest.raises(KaizenError, match="exactly one roster source"):
        discover_kaizen_scheduled_repos(roster_file="a", scan_dir="b")


def test_cli_discover(
    fleet: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kaizen_agentic.main import main

    roster = write_roster(tmp_path, fleet)
    assert (
        main(
            [
                "schedule",
                "discover",
                "--roster",
                str(roster),
                "--hostname",
                HOST,
                "--at",
                AT.isoformat(),
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == {
        "absent": 1,
        "enrolled": 1,
        "conflict": 0,
        "invalid": 1,
        "missing-checkout": 1,
        "no-host-path": 1,
        "not-enabled-in-hub": 0,
        "paused": 2,
    }
    assert [r["slug"] for r in doc["repos"]] == sorted(r["slug"] for r in doc["repos"])
    assert main(["schedule", "discover", "--roster", str(roster), "--hostname", HOST]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\nacme/good +enrolled +runs coach\n", out)
    assert main(["schedule", "discover", "--roster", str(tmp_path / "none.yml")]) == 1
    assert main(["schedule", "discover"]) == 2
    assert "no roster: give --hub URL" in capsys.readouterr().err


def test_a_generated_1000_repo_roster(tmp_path: Path, make_repo: Callable[..., Path]) -> None:
    template = make_repo("template", manifest=GOOD)
    commit_all(template)
    records = []
    for i in range(1000):
        dest = tmp_path / "fleet" / f"r{i:04d}"
        if i % 10 == 9:
            dest.mkdir(parents=True)  # not a work tree
        else:
            shutil.copytree(template, dest, symlinks=True)
            manifest = dest / ".kaizen" / "schedule.yml"
            manifest.write_text(with_repo(GOOD, f"org/r{i:04d}"))
        records.append({"slug": f"org/r{i:04d}", "host_paths": {HOST: str(dest)}})
    roster = tmp_path / "fleet.json"
    roster.write_text(json.dumps(records))
    found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=HOST, at=AT, jobs=2)
    assert found.counts()["enrolled"] == 900
    assert found.counts()["missing-checkout"] == 100


def test_a_roster_slug_that_disagrees_with_the_manifest_is_a_conflict(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo("pay", manifest=GOOD, slug="acme/payments")
    result = repo_state(record("acme/billing", str(repo)), hostname=HOST, at=AT)
    assert (result.state, result.reason) == (
        "conflict",
        'the roster calls it acme/billing but .kaizen/schedule.yml says "repo: acme/payments"; '
        "make them agree",
    )


def test_two_records_reaching_one_checkout_run_it_once(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo("pay", manifest=GOOD, slug="acme/payments")
    (tmp_path / "alias").symlink_to(repo)
    roster = tmp_path / "roster.json"
    roster.write_text(
        json.dumps(
            [
                {"slug": "acme/payments", "host_paths": {HOST: str(tmp_path / "alias")}},
                {"slug": "acme/payments", "host_paths": {HOST: str(repo)}},
            ]
        )
    )
    found = discover_kaizen_scheduled_repos(roster_file=str(roster), hostname=HOST, at=AT)
    assert [(r.state, r.reason) for r in found.repos] == [
        ("enrolled", "runs coach"),
        (
            "conflict",
            f"the same checkout as acme/payments ({tmp_path / 'alias'}); only acme/payments runs",
        ),
    ]


def test_a_scan_names_repos_by_their_manifest_and_reports_two_clones_of_one(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    make_repo("src/pay", manifest=GOOD, slug="acme/payments")
    make_repo("src/pay-copy", manifest=GOOD, slug="acme/payments")
    make_repo("src/web", manifest=GOOD, slug="acme/web")
    found = discover_kaizen_scheduled_repos(scan_dir=str(tmp_path / "src"), hostname=HOST, at=AT)
    assert [(r.slug, r.state, r.reason) for r in found.repos] == [
        ("acme/payments", "enrolled", "runs coach"),
        (
            "acme/payments",
            "conflict",
            f'also "repo: acme/payments", like acme/payments ({tmp_path / "src/pay"}); '
            "only acme/payments runs",
        ),
        ("acme/web", "enrolled", "runs coach"),
    ]
