"""Regenerate the files derived from the schema declarations (``make schema``).

* ``src/kaizen_agentic/schemas/schedule.v1.schema.json``: the manifest's JSON Schema;
* ``src/kaizen_agentic/schemas/result.v1.schema.json``: the run result's JSON Schema;
* the field tables in ``docs/reference/schedule-schema.md``, between the GENERATED markers;
* ``docs/reference/cli.md``, every command's ``--help``;
* ``docs/reference/redaction-rules.md``, the package's redaction rules and allowlists;
* ``src/kaizen_agentic/redact/secrets.compiled.marshal``, those rules checked, for a fast start.

The test suite calls ``stale()`` and fails when a committed file differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kaizen_agentic import output
from kaizen_agentic.manifest.schedule import MANIFEST_SPEC, json_schema
from kaizen_agentic.manifest.spec import Const, Int, List, Map, Spec, Str, Value
from kaizen_agentic.redact import compiled, rule_files

PACKAGE = Path(__file__).parent
SCHEMA_FILE = PACKAGE / "schemas" / "schedule.v1.schema.json"
RESULT_SCHEMA_FILE = PACKAGE / "schemas" / "result.v1.schema.json"
BEGIN = "<!-- BEGIN GENERATED: field tables (make schema) -->"
END = "<!-- END GENERATED -->"


def markdown_tables(root: Map) -> str:
    """The field reference for ``root`` and every mapping below it, as Markdown tables."""
    lines: list[str] = []
    pending: list[tuple[str, Map]] = [("", root)]
    while pending:
        path, spec = pending.pop(0)
        lines += [f"### `{path or '(top level)'}`", ""]
        lines += ["| key | type | required / default | meaning |", "| --- | --- | --- | --- |"]
        for fld in spec.fields:
            child = f"{path}.{fld.name}" if path else fld.name
            inner = fld.spec
            if isinstance(inner, List):
                inner = inner.item
                child += "[]"
            if isinstance(inner, Map):
                pending.append((child, inner))
            default = "required" if fld.required else (fld.default_doc or _literal(fld.default))
            doc = fld.doc.replace("|", "\\|")
            lines.append(f"| `{fld.name}` | {_type_name(fld.spec)} | {default} | {doc} |")
        lines.append("")
    return "\n".join(lines)


def _literal(value: Value) -> str:
    if value is None:
        return "optional"
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    return f"`{value}`"


def _type_name(spec: Spec) -> str:
    if isinstance(spec, List):
        return f"list of {_type_name(spec.item)}"
    if isinstance(spec, Str) and spec.enum:
        return " \\| ".join(f"`{e}`" for e in spec.enum)
    if isinstance(spec, Const):
        return f"`{spec.value}`"
    if isinstance(spec, Int) and spec.minimum is not None and spec.maximum is not None:
        return f"integer {spec.minimum}..{spec.maximum}"
    return spec.title


def cli_reference() -> str:
    """docs/reference/cli.md: every command's real ``--help``, so the page cannot drift."""
    import argparse
    import os

    from kaizen_agentic.main import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        sections: list[str] = []
        pending: list[tuple[str, argparse.ArgumentParser]] = [("kaizen-agentic", build_parser())]
        while pending:
            name, parser = pending.pop(0)
            sections.append(f"## `{name}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    pending.extend((f"{name} {verb}", sub) for verb, sub in action.choices.items())
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    head = (
        "# Command-line reference\n\n"
        "Generated from the real `--help` output by `make schema` "
        "(`python -m kaizen_agentic.generate`); a test fails when it is stale.\n"
        "Exit codes everywhere: 0 ok, 1 invalid input or failed work, 2 usage error, "
        "3 internal error, 130 interrupted.\n\n"
    )
    return head + "\n".join(sections)


def rules_reference() -> str:
    """docs/reference/redaction-rules.md: every rule of ``redact/secrets.toml``, so the page
    cannot drift from what runs."""
    from kaizen_agentic.redact.compiled import default_rules

    found = default_rules()

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Redaction rules",
        "",
        "Generated from `src/kaizen_agentic/redact/secrets.toml` by `make schema`; a test fails",
        f"when it is stale. {len(found.rules)} rules; each secret becomes `[REDACTED:<id>]`.",
        "How to add or disable rules: [redact.md](redact.md).",
        "",
        "| id | finds | keywords | entropy over |",
        "| --- | --- | --- | ---: |",
    ]
    for rule in found.rules:
        words = ", ".join(f"`{cell(w.decode())}`" for w in rule.keywords)
        entropy = f"{rule.entropy:g}" if rule.entropy else ""
        lines.append(f"| `{rule.id}` | {cell(rule.description)} | {words} | {entropy} |")
    lines += ["", "## Allowlists", "", "| applies to | what it keeps | matched against |"]
    lines += ["| --- | --- | --- |"]
    for allow in found.allowlists:
        scope = ", ".join(f"`{r}`" for r in sorted(allow.rules)) or "every rule"
        lines.append(f"| {scope} | {cell(allow.description)} | the {allow.target} |")
    return "\n".join(lines) + "\n"


def compiled_rules() -> bytes:
    """redact/secrets.compiled.marshal: the package's rules, parsed, every pattern compiled,
    and stored with their index and the digests of the built-in agents' files they find no
    secret in (``prepare`` need not scan those prompts again; ``compiled.to_compiled``)."""
    from kaizen_agentic.agents import builtin_names, load_definition
    from kaizen_agentic.redact.engine import Ruleset

    data = Path(compiled.RULES_FILE).read_bytes()
    checked = rule_files.parse_rules(data, compiled.PACKAGE_RULES, check=True)
    rules = Ruleset([checked])
    agents = [load_definition(name) for name in builtin_names()]
    clean = [agent.digest for agent in agents if not rules.findings(agent.prompt)]
    return compiled.to_compiled(checked, compiled.source_key(data), clean)


def expected(docs_root: Path) -> dict[Path, str | bytes]:
    """Each derived file's path and the exact text it should have."""
    doc = docs_root / "reference" / "schedule-schema.md"
    current = doc.read_text(encoding="utf-8") if doc.exists() else f"{BEGIN}\n{END}\n"
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    tables = markdown_tables(MANIFEST_SPEC)
    from kaizen_agentic.bundle import result

    return {
        SCHEMA_FILE: output.to_json(json_schema()),
        RESULT_SCHEMA_FILE: output.to_json(result.json_schema()),
        doc: f"{head}{BEGIN}\n\n{tables}\n{END}{tail}",
        docs_root / "reference" / "cli.md": cli_reference(),
        docs_root / "reference" / "redaction-rules.md": rules_reference(),
        Path(compiled.COMPILED_FILE): compiled_rules(),
    }


def stale(docs_root: Path) -> list[Path]:
    """The generated files that differ from what the code would write now."""
    return [
        path
        for path, content in expected(docs_root).items()
        if not path.exists()
        or (path.read_bytes() if isinstance(content, bytes) else path.read_text(encoding="utf-8"))
        != content
    ]


def main() -> int:
    """Regenerate every generated file (``make schema``)."""
    docs = PACKAGE.parent.parent / "docs"
    for path, content in expected(docs).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
