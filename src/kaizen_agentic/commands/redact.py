"""``kaizen-agentic redact``: the bundle redactor on its own, for files and pipes."""

from __future__ import annotations

import os
import sys
from typing import Any

from kaizen_agentic import output
from kaizen_agentic.errors import KaizenError, UsageError

STDIN = "-"
_BINARY_SNIFF = 8192


def run(
    *,
    files: list[str],
    check: bool = False,
    in_place: bool = False,
    as_json: bool = False,
    repo: str = ".",
    rules: list[str] | None = None,
) -> int:
    """Redact, check or rewrite ``files``; 0 clean, 1 secrets found (check, in place)."""
    from kaizen_agentic.redact.engine import load_ruleset

    if files.count(STDIN) > 1:
        raise UsageError("- (standard input) can be read only once")
    if in_place and STDIN in files:
        raise UsageError("--in-place rewrites files; it cannot rewrite standard input")
    if not os.path.isdir(repo):
        raise UsageError(f"--repo {repo}: not a folder")
    ruleset = load_ruleset(repo, rules or ())
    reports = [_one(ruleset, name, check or as_json, in_place) for name in files]
    found = sum(len(r["findings"]) for r in reports)
    if as_json:
        sys.stdout.write(output.to_json(_document(reports, ruleset, check, in_place)))
    elif check or in_place:
        _print_findings(reports, in_place)
    return 1 if found and (check or in_place) else 0


def _read(name: str) -> bytes:
    if name == STDIN:
        return sys.stdin.buffer.read()
    if os.path.isdir(name):
        raise KaizenError(f"{name}: is a folder; name the files to read")
    with open(name, "rb") as handle:
        return handle.read()


def _one(ruleset: Any, name: str, locate: bool, in_place: bool) -> dict[str, Any]:
    data = _read(name)
    path = "<stdin>" if name == STDIN else name
    if b"\0" in data[:_BINARY_SNIFF]:
        return {"path": path, "skipped": "binary", "findings": [], "redactions": {}}
    report: dict[str, Any] = {"path": path, "findings": [], "redactions": {}}
    if locate or in_place:
        findings = ruleset.findings(data)  # bytes: what is not UTF-8 is kept as it is
        report["findings"] = [
            {"rule": f.rule, "line": f.line, "column": f.column} for f in findings
        ]
        for f in findings:
            report["redactions"][f.rule] = report["redactions"].get(f.rule, 0) + 1
        if in_place and findings:
            from kaizen_agentic.atomic import write_atomic
            from kaizen_agentic.redact.engine import splice

            redacted = splice(data, findings)  # the findings already located: no second scan
            write_atomic(name, redacted, os.stat(name).st_mode & 0o7777)
        return report
    redacted, report["redactions"] = ruleset.redact_bytes(data)
    sys.stdout.buffer.write(redacted)
    sys.stdout.flush()
    return report


def _print_findings(reports: list[dict[str, Any]], in_place: bool) -> None:
    lines = []
    for report in reports:
        if report.get("skipped"):
            continue
        for f in report["findings"]:
            verb = "redacted" if in_place else "secret"
            lines.append(f"{report['path']}:{f['line']}:{f['column']}: {verb}: {f['rule']}")
    total = sum(len(r["findings"]) for r in reports)
    names = sum(1 for r in reports if r["findings"])
    if total:
        what = "redacted in" if in_place else "found in"
        lines.append(
            f"{total} secret{'s' if total != 1 else ''} {what} {names} "
            f"file{'s' if names != 1 else ''}"
        )
    else:
        lines.append(f"no secrets in {len(reports)} file{'s' if len(reports) != 1 else ''}")
    sys.stdout.write("\n".join(lines) + "\n")


def _document(
    reports: list[dict[str, Any]], ruleset: Any, check: bool, in_place: bool
) -> dict[str, Any]:
    return {
        "mode": "in-place" if in_place else "check" if check else "findings",
        "rules": len(ruleset.rules),
        "rule_files": list(ruleset.sources),
        "files": reports,
        "secrets": sum(len(r["findings"]) for r in reports),
    }
