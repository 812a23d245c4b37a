"""docs/reliability.md quotes the suite's own counts."""

from __future__ import annotations

from pathlib import Path

from tests.hardening import (
    test_crash_and_concurrency,
    test_filesystem,
    test_hostile_files,
    test_hostile_inputs,
    test_redaction_inputs,
    test_secrets,
)
from tests.redact import test_redact
from tests.redact.secrets_corpus import CASES, NOT_SECRETS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()


def test_the_table_quotes_the_suite() -> None:
    hostile = len(test_hostile_inputs.HOSTILE)
    formats = len(CASES)
    samples = sum(len(made) for made, _ in CASES.values())
    expected = [
        f"| {hostile} inputs, each through the library and the CLI ({2 * hostile}) |",
        f"| {len(test_hostile_inputs.ROSTERS)} |",
        f"| {len(test_hostile_inputs.MALFORMED_RECORDS)} |",
        f"| {len(test_filesystem.BAD_NAMES)} names x 5 commands ({len(test_filesystem.BAD_NAMES) * 5}) |",
        f"| {test_crash_and_concurrency.KILL_TRIALS} trials |",
        f"| {test_crash_and_concurrency.WRITERS} + {test_crash_and_concurrency.WRITERS * 40} + "
        f"{test_crash_and_concurrency.WRITERS} |",
        f"| Secret corpus | {formats} rules written from each provider's documented token format, "
        f"{samples} samples;",
        f"| {formats} x {len(test_secrets.PLACEMENTS)} ({formats * len(test_secrets.PLACEMENTS)}) + "
        f"{samples} x {len(test_redact.PLACEMENTS)} x 3 ({samples * len(test_redact.PLACEMENTS) * 3})",
        f"| {len(NOT_SECRETS)}, as text and inside a bundle |",
        f"| {len(test_redaction_inputs.LOOK_ALIKES)} + 4 + {len(test_redaction_inputs.PATHOLOGICAL)}"
        f" + {len(test_redaction_inputs.REFUSED)} + 1 |",
    ]
    for fragment in expected:
        assert fragment in DOC, fragment


def cases(module: object) -> int:
    """The test cases a module runs: each test function times its parameter sets."""
    total = 0
    for name in dir(module):
        test = getattr(module, name)
        if name.startswith("test_") and callable(test):
            count = 1
            for mark in getattr(test, "pytestmark", []):
                if mark.name == "parametrize":
                    count *= len(mark.args[1])
            total += count
    return total


def test_the_round_3_rows_quote_the_suite() -> None:
    from tests.hardening import test_hostile_export, test_hostile_hub, test_hostile_output

    hub, export, out = test_hostile_hub, test_hostile_export, test_hostile_output
    expected = [
        f"in {len(hub.LINKS)} forms",
        f"{len(hub.TOKENS)} malformed tokens",
        f"| {cases(hub)} | the other origin never asked",
        f"| {len(export.UNSAFE_RECORDS)} unsafe roster records",
        f"{len(export.MOUNTS)} mount layouts and {len(export.UNMOUNTABLE)} paths",
        f"| {cases(export)} | no injected job ever runs",
        f"| {len(out.ESCAPES)} escape sequences",
        f"{len(out.NON_FINITE)} non-finite metrics lines",
        f"| {cases(out)} | no raw control character",
    ]
    files = test_hostile_files
    crash = test_crash_and_concurrency
    bad = len(files.BAD_LINES)
    expected += [
        f"| {len(files.RETARGETED)} + 1 + 1 + 4 + 2 + 1 + 1 + 1 + 1 |",
        f"| 2 + {len(files.LINKS)} + 1 |",
        f"| {len(files.FORGERIES)} + 1 + 2; 300 examples |",
        f"| {bad} bad lines (",
        f"| {bad} x 3 ({bad * 3}) + 1 + 1 + 3 |",
        f"| 1 + 1 + {len(files.CAPPED)} + 1 |",
        f"| {crash.DUE_KILL_TRIALS} trials; {crash.DUE_CONCURRENT_TRIALS} trials; "
        f"{crash.COMPLETE_ROUNDS} rounds |",
    ]
    for fragment in expected:
        assert fragment in DOC, fragment
