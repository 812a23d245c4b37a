"""docs/reliability.md quotes the suite's own counts."""

from __future__ import annotations

from pathlib import Path

from tests import test_redact
from tests.hardening import (
    test_crash_and_concurrency,
    test_filesystem,
    test_hostile_inputs,
    test_secrets,
)
from tests.secrets_corpus import MAKERS, NOT_SECRETS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()


def test_the_table_quotes_the_suite() -> None:
    hostile = len(test_hostile_inputs.HOSTILE)
    formats = len(MAKERS)
    expected = [
        f"| {hostile} inputs, each through the library and the CLI ({2 * hostile}) |",
        f"| {len(test_hostile_inputs.ROSTERS)} |",
        f"| {len(test_hostile_inputs.MALFORMED_RECORDS)} |",
        f"| {len(test_filesystem.BAD_NAMES)} names x 5 commands ({len(test_filesystem.BAD_NAMES) * 5}) |",
        f"| {test_crash_and_concurrency.KILL_TRIALS} trials |",
        f"| {test_crash_and_concurrency.WRITERS} + {test_crash_and_concurrency.WRITERS * 40} + "
        f"{test_crash_and_concurrency.WRITERS} |",
        f"| {formats} formats generated",
        f"{formats} x {len(test_secrets.PLACEMENTS)} ({formats * len(test_secrets.PLACEMENTS)}) + "
        f"{formats} x {len(test_redact.PLACEMENTS)} x 5 ({formats * len(test_redact.PLACEMENTS) * 5})",
        f"| {len(NOT_SECRETS)}, as text and inside a bundle |",
    ]
    for fragment in expected:
        assert fragment in DOC, fragment
