"""Hostile rosters against the exports (issue 21, rows 1 and 11): no injected cron job, no pod
that mounts ``/`` or a system folder, paths checked exactly as discovery checks them, and
``--root`` applied and passed on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaizen_agentic.main import main
from tests.conftest import commit_all, usage_error
from tests.loopback import Reply, serve

GOOD = "version: 1\nagents:\n  - agent: coach\n    schedule: {interval: daily, time: '09:00'}\n"
EXPORT = ["schedule", "export", "--bundle-dir", "/srv/kaizen/bundles"]
INJECTED = "\n* * * * * touch {marker}\n#"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cron_jobs(text: str) -> list[str]:
    """The commands a crontab runs, read as cron reads it: one job per line that is not blank,
    a comment or a variable."""
    jobs = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line.startswith("CRON_TZ="):
            continue
        jobs.append(line.split(None, 5)[5])
    return jobs


def run_jobs(text: str, tmp_path: Path) -> list[list[str]]:
    """Run every job of a crontab through ``sh -c``, as cron does, with the binary a script
    that records its arguments. Returns the argument lists it was called with."""
    calls = tmp_path / "calls.jsonl"
    for job in cron_jobs(text):
        subprocess.run(["sh", "-c", job], check=False, cwd=tmp_path, timeout=30)
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text().splitlines()]


@pytest.fixture
def recorder(tmp_path: Path) -> str:
    script = tmp_path / "kaizen-agentic"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(tmp_path / 'calls.jsonl')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    script.chmod(0o755)
    return str(script)


# --- row 1: a crontab line carries one job -------------------------------------------------------


def test_a_newline_in_a_roster_host_name_injects_no_job(
    tmp_path: Path, recorder: str, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    evil = "runner-1" + INJECTED.format(marker=marker)
    roster = tmp_path / "roster.json"
    roster.write_text(
        json.dumps(
            [
                {"slug": "acme/a", "host_paths": {evil: "/srv/fleet/a"}},
                {"slug": "acme/b", "host_paths": {"runner-2": "/srv/fleet/b"}},
            ]
        )
    )
    code, out, err = run(
        capsys, *EXPORT, "--roster", str(roster), "--format", "crontab", "--tick", "15m",
        "--bin", recorder,
    )  # fmt: skip
    assert code == 0
    assert err == (
        f'note: {roster}: repos[0]: acme/a: "host_paths" key {evil!r} holds a control '
        "character (U+000A) at position 8; record left out\n"
    )
    assert len(cron_jobs(out)) == 1
    calls = run_jobs(out, tmp_path)
    assert not marker.exists()
    assert [c[c.index("--hostname") + 1] for c in calls] == ["runner-2"]


# (what, the roster record (YAML), the problem reported)
UNSAFE_RECORDS = [
    (
        "host name with a newline",
        '{slug: acme/a, host_paths: {"runner-1\\n* * * * * touch x": /srv/a}}',
        "acme/a: \"host_paths\" key 'runner-1\\n* * * * * touch x' holds a control "
        "character (U+000A) at position 8",
    ),
    (
        "host name with a carriage return",
        '{slug: acme/a, host_paths: {"runner-1\\r": /srv/a}}',
        "acme/a: \"host_paths\" key 'runner-1\\r' holds a control character (U+000D) at position 8",
    ),
    (
        "host name with a shell command",
        "{slug: acme/a, host_paths: {'runner-1;touch x': /srv/a}}",
        "acme/a: \"host_paths\" key 'runner-1;touch x' is not a host name (letters, "
        "digits, '.', '-', '_'; up to 253)",
    ),
    (
        "slug with a newline",
        '{slug: "acme/a\\n* * * * * touch x", host_paths: {runner-1: /srv/a}}',
        "\"slug\" 'acme/a\\n* * * * * touch x' holds a control character (U+000A) at position 6",
    ),
    (
        "slug with an escape sequence",
        '{slug: "acme/\\e]0;x\\a", host_paths: {runner-1: /srv/a}}',
        "\"slug\" 'acme/\\x1b]0;x\\x07' holds a control character (U+001B) at position 5",
    ),
    (
        "domain with a newline",
        '{slug: acme/a, domain: "pay\\nx", host_paths: {runner-1: /srv/a}}',
        'acme/a: "domain" must be a string without control characters',
    ),
]


@pytest.mark.parametrize(
    ("name", "record", "message"), UNSAFE_RECORDS, ids=[r[0] for r in UNSAFE_RECORDS]
)
def test_a_roster_record_with_an_unsafe_name_is_reported_alone(
    name: str, record: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.yml"
    roster.write_text(f"- {record}\n- {{slug: acme/b, host_paths: {{runner-2: /srv/b}}}}\n")
    code, out, err = run(
        capsys, *EXPORT, "--roster", str(roster), "--format", "crontab", "--tick", "15m",
        "--bin", "/usr/bin/kaizen-agentic",
    )  # fmt: skip
    assert code == 0
    assert err == f"note: {roster}:1:3: repos[0]: {message}; record left out\n"
    assert [j.split("--hostname ")[1].split()[0] for j in cron_jobs(out)] == ["runner-2"]


def test_hub_records_are_checked_the_same_way(
    tmp_path: Path,
    recorder: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = tmp_path / "pwned"
    evil = "runner-1" + INJECTED.format(marker=marker)
    records = [
        {"slug": "acme/a", "host_paths": {evil: "/srv/a"}},
        {"slug": "acme/b", "host_paths": {"runner-2": "/srv/b"}},
    ]
    monkeypatch.setenv("KAIZEN_HUB_TOKEN", "t0ken-abc")
    with serve([Reply(200, json.dumps(records).encode())]) as hub:
        code, out, err = run(
            capsys, *EXPORT, "--hub", hub.url, "--format", "crontab", "--tick", "15m",
            "--bin", recorder,
        )  # fmt: skip
    assert code == 0
    assert err.startswith(f'note: hub {hub.url}: repos[0]: acme/a: "host_paths" key ')
    run_jobs(out, tmp_path)
    assert not marker.exists() and len(cron_jobs(out)) == 1


def test_a_newline_in_a_checkout_path_injects_no_per_agent_job(
    make_repo: Callable[..., Path],
    tmp_path: Path,
    recorder: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = tmp_path / "pwned"
    repo = make_repo("co" + INJECTED.format(marker="pwned"), manifest=GOOD, slug="acme/co")
    commit_all(repo)
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps([{"slug": "acme/a", "host_paths": {"runner-1": str(repo)}}]))
    code, out, err = run(
        capsys, *EXPORT, "--roster", str(roster), "--hostname", "runner-1",
        "--format", "crontab", "--bin", recorder,
    )  # fmt: skip
    assert (code, out, err) == (0, "", "note: no enabled agents to export\n")
    code, out, err = run(
        capsys, *EXPORT, "--repo", str(repo), "--format", "crontab", "--bin", recorder
    )
    assert (code, out) == (1, "")
    assert err == (
        f"kaizen-agentic: error: {str(repo)!r} holds a control character (U+000A) at position "
        f"{len(str(tmp_path)) + 3}; refusing to write it into a crontab\n"
    )
    assert not marker.exists()


def test_discovery_states_the_same_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps([{"slug": "acme/a", "host_paths": {"runner-1": "/srv/a\nx"}}]))
    code, out, _ = run(capsys, "schedule", "discover", "--roster", str(roster),
                       "--hostname", "runner-1", "--json")  # fmt: skip
    (repo,) = json.loads(out)["repos"]
    assert (code, repo["state"]) == (0, "missing-checkout")
    assert (
        repo["reason"] == "host path '/srv/a\\nx' holds a control character (U+000A) at position 6"
    )


def test_an_unsafe_hostname_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, *EXPORT, "--roster", "/srv/r.yml", "--hostname", "r1\n* * * * * id",
        "--format", "crontab", "--tick", "15m", "--bin", "/usr/bin/kaizen-agentic",
    )  # fmt: skip
    assert code == 2
    assert usage_error(
        err,
        "schedule export",
        "--hostname 'r1\\n* * * * * id' holds a control character (U+000A) at position 2",
    )


# --- row 11: what a tick CronJob mounts ---------------------------------------------------------


def k8s_tick(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host_paths: list[str], *extra: str
) -> tuple[int, list[dict[str, Any]], str]:
    roster = tmp_path / "roster.json"
    roster.write_text(
        json.dumps(
            [
                {"slug": f"acme/r{i}", "host_paths": {"runner-1": p}}
                for i, p in enumerate(host_paths)
            ]
        )
    )
    code, out, err = run(
        capsys, *EXPORT, "--roster", str(roster), "--format", "k8s-cronjob", "--tick", "15m",
        "--image", "registry.example.com/kaizen-agentic:0.1", *extra,
    )  # fmt: skip
    return code, list(yaml.safe_load_all(out)), err


def checkout_mounts(job: dict[str, Any]) -> list[str]:
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    mounts = []
    for mount in container["volumeMounts"]:
        if mount["name"].startswith("checkouts"):
            assert mount["readOnly"] is True
            assert paths[mount["name"]] == mount["mountPath"]
            mounts.append(mount["mountPath"])
    return mounts


def args_of(job: dict[str, Any]) -> list[str]:
    return list(job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"])


# (a host's checkouts, what its tick CronJob mounts)
MOUNTS = [
    (["/srv/fleet/a", "/srv/fleet/b"], ["/srv/fleet"]),  # one folder holds them: kept
    (["/srv/fleet/a", "/home/dev/b"], ["/home/dev/b", "/srv/fleet/a"]),  # never "/"
    (["/srv/a", "/srv/b"], ["/srv/a", "/srv/b"]),  # never a top-level folder
    (["/home/a/x", "/home/b/y"], ["/home/a/x", "/home/b/y"]),  # nor every user's home
    (["/srv/fleet/a", "/srv/fleet/a/sub"], ["/srv/fleet/a"]),
    (["/srv/fleet/a/"], ["/srv/fleet/a"]),
]


@pytest.mark.parametrize(("host_paths", "mounts"), MOUNTS)
def test_a_tick_mounts_each_checkout_never_root_or_a_top_folder(
    host_paths: list[str],
    mounts: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, (job,), err = k8s_tick(tmp_path, capsys, host_paths)
    assert (code, err) == (0, "")
    assert checkout_mounts(job) == mounts


# (a host path, why a pod does not mount it)
UNMOUNTABLE = [
    ("/etc", "host path /etc is the system folder /etc; not mounted"),
    ("//etc", "host path /etc is the system folder /etc; not mounted"),  # Linux reads // as /
    (
        "/usr/lib/python3",
        "host path /usr/lib/python3 is inside the system folder /usr; not mounted",
    ),
    ("/", "host path / is a top-level folder; not mounted"),
    ("/home", "host path /home is a top-level folder; not mounted"),
    ("/home/kaizen", "host path /home/kaizen is the pod's home folder; not mounted"),
    ("srv/fleet/a", "host path 'srv/fleet/a' is not absolute; the tick will skip it"),
    ("/srv/../etc", "host path '/srv/../etc' contains '..'; the tick will skip it"),
    ("../../etc", "host path '../../etc' is not absolute; the tick will skip it"),
    (
        "/srv/a\n/etc",
        "host path '/srv/a\\n/etc' holds a control character (U+000A) at position 6; the "
        "tick will skip it",
    ),
]


@pytest.mark.parametrize(("path", "reason"), UNMOUNTABLE)
def test_a_system_relative_or_dotdot_path_is_never_mounted(
    path: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, (job,), err = k8s_tick(tmp_path, capsys, ["/srv/fleet/a", path])
    assert code == 0
    assert err == f"note: acme/r1 on runner-1: {reason}\n"
    assert checkout_mounts(job) == ["/srv/fleet/a"]


def test_paths_are_refused_for_the_reasons_discovery_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = ["srv/a", "/srv/../etc", "/srv/a\x1b]0;x", "/home/dev/b"]
    code, _, err = k8s_tick(tmp_path, capsys, ["/srv/fleet/a", *paths], "--root", "/srv")
    assert code == 0
    code, out, _ = run(capsys, "schedule", "discover", "--roster", str(tmp_path / "roster.json"),
                       "--hostname", "runner-1", "--root", "/srv", "--json")  # fmt: skip
    reasons = {r["slug"]: r["reason"] for r in json.loads(out)["repos"]}
    assert err == "".join(
        f"note: acme/r{i} on runner-1: {reasons[f'acme/r{i}']}; the tick will skip it\n"
        for i in range(1, 5)
    )


def test_root_is_applied_and_passed_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, (job,), err = k8s_tick(
        tmp_path, capsys, ["/srv/fleet/a", "/srv/fleet/b", "/home/dev/c"], "--root", "/srv/fleet/"
    )
    assert code == 0
    assert err == (
        "note: acme/r2 on runner-1: host path /home/dev/c is outside --root /srv/fleet; the "
        "tick will skip it\n"
    )
    assert checkout_mounts(job) == ["/srv/fleet"]
    args = args_of(job)
    assert args[args.index("--root") + 1] == "/srv/fleet"
    code, out, _ = run(
        capsys, *EXPORT, "--roster", str(tmp_path / "roster.json"), "--format", "crontab",
        "--tick", "15m", "--bin", "/usr/bin/kaizen-agentic", "--root", "/srv/fleet",
    )  # fmt: skip
    (job_line,) = cron_jobs(out)
    assert " --root /srv/fleet --hostname runner-1 " in job_line


def test_a_relative_root_for_a_tick_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, docs, err = k8s_tick(tmp_path, capsys, ["/srv/fleet/a"], "--root", "srv")
    assert (code, docs) == (2, [])
    assert usage_error(
        err,
        "schedule export",
        "--root 'srv' is not absolute; the tick needs the runner host's folder",
    )


@pytest.mark.parametrize("bundle_dir", ["/etc/kaizen", "/", "/srv", "/usr/local/kaizen"])
def test_the_bundle_folder_is_never_a_system_or_top_folder(
    bundle_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps([{"slug": "acme/a", "host_paths": {"runner-1": "/srv/a/b"}}]))
    code, out, err = run(
        capsys, "schedule", "export", "--roster", str(roster), "--format", "k8s-cronjob",
        "--tick", "15m", "--image", "img:1", "--bundle-dir", bundle_dir,
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert "it cannot be mounted" in err.splitlines()[-1]


def test_the_mount_rules() -> None:
    from kaizen_agentic.export import cron

    assert cron.mount_problem("/etc") == "is the system folder /etc"
    assert cron.mount_problem("/etc/kaizen/repo") == "is inside the system folder /etc"
    assert cron.mount_problem("/srv/fleet/repo") is None
    assert cron.checkout_mounts(["/srv/fleet/a", "/home/dev/b"]) == ["/home/dev/b", "/srv/fleet/a"]


def test_every_exported_manifest_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = ["/srv/fleet/a", "/home/dev/b", "/var/lib/ci/c", "/etc", "rel", "/opt/x/../y"]
    code, docs, _ = k8s_tick(tmp_path, capsys, paths)
    assert code == 0
    path = tmp_path / "out.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    cli = Path(sys.executable).parent / "kubernetes-validate"
    done = subprocess.run(
        [str(cli), "--strict", "-k", "1.29.0", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert checkout_mounts(docs[0]) == ["/home/dev/b", "/srv/fleet/a", "/var/lib/ci/c"]
    assert os.sep == "/"


def test_a_temporal_tick_passes_root_on_to_every_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kaizen_agentic.integrations.temporal import FleetTickInput

    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps([{"slug": "acme/a", "host_paths": {"runner-1": "/srv/a/b"}}]))
    argv = ["schedule", "export", "--roster", str(roster), "--format", "temporal", "--tick", "15m"]
    code, out, _ = run(capsys, *argv, "--root", "/srv/a/")
    (item,) = json.loads(out)["schedules"]
    given = item["action"]["start_workflow"]["input"]
    assert (code, given["root"]) == (0, "/srv/a")
    assert FleetTickInput(**given).root == "/srv/a"  # what the workflow hands each host
    code, _, err = run(capsys, *argv, "--root", "a")
    assert code == 2 and err.endswith(
        "--root 'a' is not absolute; the tick needs the runner host's folder\n"
    )


def test_a_backslash_before_a_percent_is_refused_for_a_crontab(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # cron reads `\%` as a literal %, and has no way to write a backslash before one: the
    # command would end inside the path's quotes
    repo = make_repo("co\\%b", manifest=GOOD, slug="acme/co")
    commit_all(repo)
    code, out, err = run(capsys, *EXPORT, "--repo", str(repo), "--format", "crontab")
    assert (code, out) == (1, "")
    assert err == (
        f"kaizen-agentic: error: {str(repo)!r} holds a backslash before a %, which a crontab "
        "cannot hold; refusing to write it into a crontab\n"
    )
