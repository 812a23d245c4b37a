"""Property-based tests: loaders never crash, whatever they are fed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
