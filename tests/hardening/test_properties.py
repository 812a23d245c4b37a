"""Property-based tests: loaders never crash, whatever they are fed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaizen_agentic.bundle import memory
from kaizen_agentic.errors import InvalidFileError
from kaizen_agentic.fleet.roster import parse_record
from kaizen_agentic.manifest.schedule import Manifest, parse_manifest

YAMLISH = st.text(
    alphabet=st.sampled_from(
        [*list("abcdefgv0123456789:-[]{},&*!?|>'\"#% \n\t@`~="), "\x00", "é", "\ufeff"]
    ),
    max_size=300,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**7),
    st.text(max_size=20),
    st.sampled_from(
        [
            "daily",
            "weekly",
            "cron",
            "monday",
            "last",
            "09:00",
            "UTC",
            "Europe/Berlin",
            "0 9 * * 1",
            "coach",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "version",
                    "agents",
                    "agent",
                    "schedule",
                    "interval",
                    "day",
                    "time",
                    "cronjob",
                    "timezone",
                    "enabled",
                    "paused_until",
                    "focus",
                    "token_budget",
                    "repo",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=25,
)


def outcome(data: bytes) -> Manifest | InvalidFileError:
    try:
        return parse_manifest(data, "p.yml")
    except InvalidFileError as exc:  # the only exception a user's file may cause
        return exc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=YAMLISH)
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    result = outcome(text.encode("utf-8", errors="surrogatepass"))
    if isinstance(result, InvalidFileError):
        assert result.problems
        assert all(str(p).startswith("p.yml") for p in result.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=values)
def test_arbitrary_structures_are_valid_or_located_problems(doc: Any) -> None:
    import yaml

    result = outcome(yaml.safe_dump(doc).encode())
    if isinstance(result, InvalidFileError):
        assert all(p.line >= 0 and p.col >= 0 for p in result.problems)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.sampled_from(
                    ["slug", "host_paths", "domain", "kaizen_schedule_enabled", "h", "x"]
                ),
                inner,
                max_size=4,
            ),
        ),
        max_leaves=12,
    )
)
def test_roster_records_are_accepted_or_reported_never_raise(raw: Any) -> None:
    record, problem = parse_record(raw, "roster.json", "repos[0]")
    assert (record is None) != (problem is None)
    if record is not None:
        json.dumps(record._asdict())


# --- what writers embed in another language: crontab lines, Kubernetes YAML, Prometheus text --

# Text with what breaks embedded languages: line breaks of every kind, quotes, shell and cron
# metacharacters, YAML indicators, escapes, non-ASCII.
HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(
        [*"ab/.-_ %'\"\\$`;&|*#:{}[]!\t\n\r", "\x00", "\x1b", "\x85", "\u2028", "é", "日"]
    ),
    max_size=20,
)


def _cron_commands(text: str) -> list[str]:
    """The commands of a crontab, read as cronie reads them: a backslash before a ``%`` makes
    it a literal percent sign (and is dropped); before anything else it stays, and does not
    escape the next character; an unescaped ``%`` would end the command."""
    jobs = []
    for line in text.split("\n"):
        if not line.strip() or line.startswith(("#", "CRON_TZ=")):
            continue
        command, out, escaped = line.split(" ", 5)[5], [], False
        for char in command:
            if escaped:
                out.append(char if char == "%" else "\\" + char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                assert char != "%", line  # the command would end here
                out.append(char)
        jobs.append("".join(out) + ("\\" if escaped else ""))
    return jobs


@settings(max_examples=300, deadline=None)
@given(host=HOSTILE_TEXT, bundle=HOSTILE_TEXT, roster=HOSTILE_TEXT, domain=HOSTILE_TEXT)
def test_a_crontab_tick_is_one_job_with_exactly_its_arguments(
    host: str, bundle: str, roster: str, domain: str
) -> None:
    import shlex
    from datetime import timedelta

    from kaizen_agentic import names
    from kaizen_agentic.errors import KaizenError
    from kaizen_agentic.export.cron import Deploy, crontab_tick, tick_args

    deploy = Deploy("/b" + bundle, "/usr/bin/kaizen-agentic", "/r" + roster, None, domain or None)
    tick, window = timedelta(minutes=15), timedelta(hours=1)
    try:
        text = crontab_tick(host, deploy=deploy, tick=tick, window=window)
    except KaizenError:  # a control character, or a backslash before a % (cron cannot hold it)
        assert any(names.has_unsafe(v) or "\\%" in v for v in (host, bundle, roster, domain))
        return
    assert not any(names.has_unsafe(v) for v in (host, bundle, roster, domain))
    (command,) = _cron_commands(text)
    assert shlex.split(command) == [deploy.binary, *tick_args(host, deploy, tick, window)]
    assert len(text.splitlines()) == 3


_PARTS = ["srv", "fleet", "a", "b", "etc", "usr", "home", "var", "..", ".", "", "x\n"]
PATHS = st.lists(
    st.one_of(
        st.lists(st.sampled_from(_PARTS), max_size=4).map(lambda parts: "/" + "/".join(parts)),
        st.tuples(st.sampled_from(["/srv/fleet", "/home/dev", "/var/lib/ci", "/opt"]),
                  st.sampled_from(["a", "b", "c/d"])).map("/".join),
    ),
    min_size=1, max_size=4,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(host=st.one_of(HOSTILE_TEXT, st.just("runner-1")), paths=PATHS)
def test_a_tick_cronjob_round_trips_and_never_mounts_a_system_folder(
    host: str, paths: list[str]
) -> None:
    from datetime import timedelta

    import yaml

    from kaizen_agentic import names
    from kaizen_agentic.errors import KaizenError
    from kaizen_agentic.export.cron import Deploy, Pod, k8s_tick, mount_problem

    deploy = Deploy("/srv/kaizen/bundles", "kaizen-agentic", "/srv/kaizen/roster.yml")
    try:
        job = k8s_tick(host, paths, pod=Pod("img:1"), deploy=deploy,
                       tick=timedelta(minutes=15), window=timedelta(hours=1))  # fmt: skip
    except KaizenError:
        assert names.has_unsafe(host) or any(
            names.path_problem(p) or mount_problem(p) for p in paths
        )
        return
    assert yaml.safe_load(yaml.safe_dump(job)) == job
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    mounts = [m["mountPath"] for m in pod["containers"][0]["volumeMounts"]]
    assert len(mounts) == len(set(mounts))
    checkouts = [m for m in mounts if m not in ("/srv/kaizen/bundles", "/home/kaizen", "/tmp")]
    for mount in checkouts:
        assert mount_problem(mount) is None and names.system_folder(mount) is None
    for path in paths:
        assert any(names.within(m, names.normal_path(path)) for m in checkouts)


@settings(max_examples=300, deadline=None)
@given(
    repo=st.text(max_size=12),
    agent=st.text(max_size=12),
    measures=st.dictionaries(
        st.text(max_size=12),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        max_size=4,
    ),
)
def test_openmetrics_reads_back_exactly_or_refuses(
    repo: str, agent: str, measures: dict[str, float]
) -> None:
    from datetime import UTC, datetime

    from prometheus_client.parser import text_string_to_metric_families

    from kaizen_agentic import names
    from kaizen_agentic.errors import KaizenError
    from kaizen_agentic.views.report import AgentReport, FleetReport, Measure, openmetrics

    agent_report = AgentReport(
        repo, agent, "enabled", {"success": 2}, None, None, 2, (), 9, None, 0.0, None, 0, None,
        0, True, tuple(Measure(n, v, v, "n/a", ()) for n, v in measures.items()), 0, {},
    )  # fmt: skip
    start = datetime(2027, 1, 1, tzinfo=UTC)
    report = FleetReport(start, start, "s", (agent_report,), ())
    texts = [repo, agent, *measures]
    try:
        text = openmetrics(report)
    except KaizenError:
        assert any(names.has_unsafe(t.replace("\n", " ")) for t in texts)
        return
    assert not any(names.has_unsafe(t.replace("\n", " ")) for t in texts)
    read: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert (sample.labels["repo"], sample.labels["agent"]) == (repo, agent)
            if sample.name.startswith("kaizen_measure_"):
                read[sample.labels["measure"]] = sample.value
            elif sample.name == "kaizen_runs_total":
                assert (sample.labels["outcome"], sample.value) == ("success", 2)
    assert read == measures


# What a learning may hold that the memory file's reader could take for structure, mixed with
# arbitrary text: headings, fences, provenance comments, backslashes and every kind of line end.
STRUCTURE = st.sampled_from(
    [
        "## 2099-12-31 (pinned) forged",
        "##",
        "```",
        "~~~python",
        "<!-- kaizen: bundle=kz-forged commit=0 -->",
        "  <!-- kaizen: commit=1 -->",
        "\\",
        "\\## escaped",
        "\\\\```",
        "\n",
        "\r",
        "\r\n",
        "\u2028",
        "\x0c",
        "\x00",
        "\ufeff",
        " ",
        "# Memory: x",
    ]
)
LEARNING = (
    st.lists(st.one_of(STRUCTURE, st.text(max_size=8)), min_size=1, max_size=12)
    .map("".join)
    .filter(lambda t: bool(t.strip()))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(LEARNING, min_size=1, max_size=4), pinned=st.booleans())
def test_any_learning_is_read_back_as_added_one_entry_each(texts: list[str], pinned: bool) -> None:
    """Whatever text is added is read back byte for byte (without the blank lines around it,
    which ``new_entry`` leaves out), as one entry, with its own provenance."""
    import tempfile
    from datetime import UTC, datetime

    when = datetime(2027, 3, 29, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as root:
        for number, text in enumerate(texts):
            entry = memory.new_entry(text, when=when, pinned=pinned, bundle=f"kz-{number}")
            memory.add(root, "coach", [entry])
        entries, _ = memory.read(root, "coach")
    assert [(e.text, e.pinned, e.bundle) for e in entries] == [
        (text.strip("\n") + "\n", pinned, f"kz-{number}") for number, text in enumerate(texts)
    ]
